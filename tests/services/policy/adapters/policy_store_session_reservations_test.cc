// The PolicyStore contract (services/policy/core/ports.h) for reservations held against an agent
// session (tenant and session together or not at all) and for approvals, against
// InMemoryPolicyStore and PgPolicyStore alike.
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/core/reservation_layer.h"
#include "tests/services/policy/adapters/store_test_env.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::MemoryStoreEnv;
using testing::PgStoreEnv;
using testing::UniqueId;
using testing::UniqueKeyHash;

constexpr MicroUsd kUsd = 1'000'000;
constexpr int64_t kNow = 1'735'689'600'000;

TenantRecord NewTenant(PolicyStore& store, MicroUsd budget) {
  TenantRecord t;
  t.id = UniqueId("t");
  t.name = "Tenant " + t.id;
  t.limits.budget_micro_usd = budget;
  t.created_unix_ms = kNow;
  REQUIRE_THAT(store.CreateTenant(t), IsOk());
  return t;
}

SessionRecord NewSession(PolicyStore& store, const std::string& tenant_id, MicroUsd budget,
                         int64_t expires = kNow + 3'600'000) {
  SessionRecord s;
  s.id = UniqueId("sess");
  s.tenant_id = tenant_id;
  s.token_hash = UniqueKeyHash();
  s.token_prefix = "sk-p402-sess-ab12";
  s.budget_micro_usd = budget;
  s.created_unix_ms = kNow;
  s.expires_unix_ms = expires;
  REQUIRE_THAT(store.CreateSession(s), IsOk());
  return s;
}

ReservationRecord Draft(const TenantRecord& t, const SessionRecord& s, MicroUsd amount,
                        int64_t created = kNow) {
  ReservationRecord r;
  r.id = NewReservationId();
  r.tenant_id = t.id;
  r.session_id = s.id;
  r.amount_micro_usd = amount;
  r.created_unix_ms = created;
  r.expires_unix_ms = kNow + 1000;
  return r;
}

ReservationRecord Hold(PolicyStore& store, const TenantRecord& t, const SessionRecord& s,
                       MicroUsd amount) {
  auto out = store.ReserveBudget(Draft(t, s, amount));
  REQUIRE_THAT(out.status(), IsOk());
  REQUIRE(out->granted);
  CHECK(out->reservation.session_id == s.id);
  CHECK(out->reservation.status == ReservationStatus::kReserved);
  return out->reservation;
}

// Spent and reserved of the tenant and of the session.
struct Counters {
  MicroUsd tenant_spent = 0, tenant_reserved = 0, session_spent = 0, session_reserved = 0;
  friend bool operator==(const Counters&, const Counters&) = default;
};

Counters Read(PolicyStore& store, const TenantRecord& t, const SessionRecord& s) {
  auto tenant = store.GetTenant(t.id);
  REQUIRE_THAT(tenant.status(), IsOk());
  auto session = store.GetSession(t.id, s.id);
  REQUIRE_THAT(session.status(), IsOk());
  return {tenant->spent_micro_usd, tenant->reserved_micro_usd, session->spent_micro_usd,
          session->reserved_micro_usd};
}

TEMPLATE_TEST_CASE("PolicyStore: a session reservation holds tenant and session together",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 10 * kUsd);
  const SessionRecord s = NewSession(env.first(), t.id, 3 * kUsd);

  const ReservationRecord r = Hold(env.first(), t, s, 2 * kUsd);
  CHECK(Read(env.second(), t, s) == Counters{0, 2 * kUsd, 0, 2 * kUsd});
  auto stored = env.second().GetReservation(r.id);
  REQUIRE_THAT(stored.status(), IsOk());
  CHECK(stored->session_id == s.id);
  CHECK(stored->provider.empty());

  // The session is the tighter budget: refused, available = min(tenant 8, session 1).
  auto refused = env.second().ReserveBudget(Draft(t, s, kUsd + 1));
  REQUIRE_THAT(refused.status(), IsOk());
  CHECK_FALSE(refused->granted);
  CHECK(refused->available_micro_usd == kUsd);
  CHECK(refused->session_unavailable.empty());
  CHECK(Read(env.first(), t, s) == Counters{0, 2 * kUsd, 0, 2 * kUsd});

  // Exactly the rest fits.
  Hold(env.second(), t, s, kUsd);
  CHECK(Read(env.first(), t, s) == Counters{0, 3 * kUsd, 0, 3 * kUsd});
  auto exhausted = env.first().ReserveBudget(Draft(t, s, 1));
  REQUIRE_THAT(exhausted.status(), IsOk());
  CHECK_FALSE(exhausted->granted);
  CHECK(exhausted->available_micro_usd == 0);
}

TEMPLATE_TEST_CASE("PolicyStore: a tenant refusal undoes the session hold", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 5 * kUsd);
  const SessionRecord s = NewSession(env.first(), t.id, 100 * kUsd);
  // Another session of the tenant (and a plain reservation) use up most of the tenant's budget.
  const SessionRecord s2 = NewSession(env.first(), t.id, 100 * kUsd);
  Hold(env.first(), t, s2, 4 * kUsd);
  auto plain = env.first().ReserveBudget({.id = NewReservationId(),
                                          .tenant_id = t.id,
                                          .amount_micro_usd = kUsd / 2,
                                          .created_unix_ms = kNow,
                                          .expires_unix_ms = kNow + 1000});
  REQUIRE_THAT(plain.status(), IsOk());
  REQUIRE(plain->granted);

  auto refused = env.second().ReserveBudget(Draft(t, s, kUsd));
  REQUIRE_THAT(refused.status(), IsOk());
  CHECK_FALSE(refused->granted);
  CHECK(refused->available_micro_usd == kUsd / 2);  // the tenant is the tighter one now
  CHECK(refused->session_unavailable.empty());
  // Nothing held on the session: the whole reservation was undone.
  CHECK(Read(env.first(), t, s) == Counters{0, 4 * kUsd + kUsd / 2, 0, 0});
}

TEMPLATE_TEST_CASE("PolicyStore: unavailable sessions refuse reservations", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);  // unlimited tenant
  const TenantRecord other = NewTenant(env.first(), 0);

  const SessionRecord revoked = NewSession(env.first(), t.id, 5 * kUsd);
  REQUIRE_THAT(env.first().RevokeSession(t.id, revoked.id, kNow - 1).status(), IsOk());
  auto out = env.second().ReserveBudget(Draft(t, revoked, kUsd));
  REQUIRE_THAT(out.status(), IsOk());
  CHECK_FALSE(out->granted);
  CHECK(out->session_unavailable == "session_revoked");

  // Expired at the reservation's time (expires <= created), not merely later.
  const SessionRecord expiring = NewSession(env.first(), t.id, 5 * kUsd, kNow + 500);
  Hold(env.first(), t, expiring, kUsd);  // created kNow < expires
  out = env.second().ReserveBudget(Draft(t, expiring, kUsd, kNow + 500));
  REQUIRE_THAT(out.status(), IsOk());
  CHECK_FALSE(out->granted);
  CHECK(out->session_unavailable == "session_expired");
  CHECK(Read(env.first(), t, expiring) == Counters{0, kUsd, 0, kUsd});
  CHECK(Read(env.first(), t, revoked) == Counters{0, kUsd, 0, 0});

  // Unknown session, or one of another tenant: NotFound.
  SessionRecord ghost;
  ghost.id = UniqueId("sess");
  auto missing = env.first().ReserveBudget(Draft(t, ghost, 1));
  CHECK_THAT(missing.status(), StatusIs(absl::StatusCode::kNotFound));
  const SessionRecord foreign = NewSession(env.first(), other.id, 5 * kUsd);
  CHECK_THAT(env.second().ReserveBudget(Draft(t, foreign, 1)).status(),
             StatusIs(absl::StatusCode::kNotFound));
  TenantRecord nobody;
  nobody.id = UniqueId("missing");
  CHECK_THAT(env.second().ReserveBudget(Draft(nobody, foreign, 1)).status(),
             StatusIs(absl::StatusCode::kNotFound));
  CHECK(Read(env.first(), other, foreign) == Counters{0, 0, 0, 0});

  // A taken reservation id holds nothing.
  const SessionRecord s = NewSession(env.first(), t.id, 5 * kUsd);
  const ReservationRecord first = Hold(env.first(), t, s, kUsd);
  ReservationRecord again = Draft(t, s, kUsd);
  again.id = first.id;
  CHECK_THAT(env.second().ReserveBudget(again).status(),
             StatusIs(absl::StatusCode::kAlreadyExists));
  CHECK(Read(env.first(), t, s) == Counters{0, 2 * kUsd, 0, kUsd});
}

TEMPLATE_TEST_CASE("PolicyStore: commit moves session spend and provider spend",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 50 * kUsd);
  const SessionRecord s = NewSession(env.first(), t.id, 10 * kUsd);
  const ReservationRecord a = Hold(env.first(), t, s, 3 * kUsd);
  const ReservationRecord b = Hold(env.first(), t, s, 2 * kUsd);
  const ReservationRecord c = Hold(env.first(), t, s, 2 * kUsd);

  auto ca = env.second().CommitReservation(a.id, kUsd + 7, "openai", kNow + 1);
  REQUIRE_THAT(ca.status(), IsOk());
  CHECK(ca->reservation.provider == "openai");
  CHECK(ca->reservation.actual_micro_usd == kUsd + 7);
  CHECK(Read(env.first(), t, s) == Counters{kUsd + 7, 4 * kUsd, kUsd + 7, 4 * kUsd});
  // Clamped to the amount; same provider accumulates.
  REQUIRE_THAT(env.first().CommitReservation(b.id, 9 * kUsd, "openai", kNow + 2).status(), IsOk());
  // No provider named: spent moves, provider_spent does not.
  REQUIRE_THAT(env.second().CommitReservation(c.id, 5, "", kNow + 3).status(), IsOk());
  CHECK(Read(env.first(), t, s) == Counters{3 * kUsd + 12, 0, 3 * kUsd + 12, 0});
  auto session = env.second().GetSession(t.id, s.id);
  REQUIRE_THAT(session.status(), IsOk());
  CHECK(session->provider_spent_micro_usd ==
        absl::btree_map<std::string, MicroUsd>{{"openai", 3 * kUsd + 7}});

  // A replay changes nothing (the first provider and actual win).
  auto replay = env.first().CommitReservation(a.id, 2 * kUsd, "anthropic", kNow + 4);
  REQUIRE_THAT(replay.status(), IsOk());
  CHECK(replay->already_committed);
  CHECK(replay->reservation.provider == "openai");
  CHECK(Read(env.second(), t, s) == Counters{3 * kUsd + 12, 0, 3 * kUsd + 12, 0});

  const ReservationRecord d = Hold(env.second(), t, s, kUsd);
  REQUIRE_THAT(env.first().CommitReservation(d.id, kUsd, "anthropic", kNow + 5).status(), IsOk());
  session = env.second().GetSession(t.id, s.id);
  REQUIRE_THAT(session.status(), IsOk());
  CHECK(session->provider_spent_micro_usd ==
        absl::btree_map<std::string, MicroUsd>{{"anthropic", kUsd}, {"openai", 3 * kUsd + 7}});
  auto stored = env.second().GetReservation(d.id);
  REQUIRE_THAT(stored.status(), IsOk());
  CHECK(stored->provider == "anthropic");
  CHECK(stored->session_id == s.id);
}

TEMPLATE_TEST_CASE("PolicyStore: release and expiry return the holds of both", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 50 * kUsd);
  const SessionRecord s = NewSession(env.first(), t.id, 10 * kUsd);
  const SessionRecord s2 = NewSession(env.first(), t.id, 10 * kUsd);
  const ReservationRecord released = Hold(env.first(), t, s, 3 * kUsd);
  auto due = Draft(t, s, 2 * kUsd);
  due.expires_unix_ms = kNow + 10;
  REQUIRE(env.first().ReserveBudget(due)->granted);
  auto due2 = Draft(t, s2, 4 * kUsd);
  due2.expires_unix_ms = kNow + 10;
  REQUIRE(env.first().ReserveBudget(due2)->granted);
  const ReservationRecord open = Hold(env.first(), t, s, kUsd);  // expires kNow + 1000
  CHECK(Read(env.first(), t, s) == Counters{0, 10 * kUsd, 0, 6 * kUsd});

  auto rel = env.second().ReleaseReservation(released.id, kNow + 1);
  REQUIRE_THAT(rel.status(), IsOk());
  CHECK_FALSE(rel->already_finalized);
  CHECK(Read(env.first(), t, s) == Counters{0, 7 * kUsd, 0, 3 * kUsd});
  REQUIRE(env.first().ReleaseReservation(released.id, kNow + 2)->already_finalized);
  CHECK(Read(env.first(), t, s) == Counters{0, 7 * kUsd, 0, 3 * kUsd});

  auto expired = env.second().ExpireReservations(kNow + 10);
  REQUIRE_THAT(expired.status(), IsOk());
  CHECK(*expired >= 2);  // the PostgreSQL database may hold other tests' due reservations
  CHECK(Read(env.first(), t, s) == Counters{0, kUsd, 0, kUsd});
  CHECK(Read(env.first(), t, s2) == Counters{0, kUsd, 0, 0});

  // A commit after expiry charges both (the hold was already returned).
  auto late = env.first().CommitReservation(due.id, kUsd, "groq", kNow + 20);
  REQUIRE_THAT(late.status(), IsOk());
  CHECK(late->committed_after_expiry);
  CHECK(Read(env.second(), t, s) == Counters{kUsd, kUsd, kUsd, kUsd});
  auto session = env.second().GetSession(t.id, s.id);
  REQUIRE_THAT(session.status(), IsOk());
  CHECK(session->provider_spent_micro_usd.at("groq") == kUsd);

  // Revoking a session does not stop its open reservation from settling.
  REQUIRE_THAT(env.first().RevokeSession(t.id, s.id, kNow + 30).status(), IsOk());
  REQUIRE_THAT(env.second().CommitReservation(open.id, kUsd / 2, "groq", kNow + 31).status(),
               IsOk());
  CHECK(Read(env.first(), t, s) == Counters{kUsd + kUsd / 2, 0, kUsd + kUsd / 2, 0});
}

ApprovalRecord NewApproval(const std::string& tenant_id, const std::string& session_id,
                           int64_t created, int64_t expires) {
  ApprovalRecord a;
  a.id = UniqueId("apr");
  a.tenant_id = tenant_id;
  a.session_id = session_id;
  a.request_id = "req-" + a.id;
  a.amount_micro_usd = 3 * kUsd;
  a.model_provider = "openai";
  a.model_id = "gpt-4o";
  a.created_unix_ms = created;
  a.expires_unix_ms = expires;
  return a;
}

TEMPLATE_TEST_CASE("PolicyStore: approvals create, get and transitions", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  const ApprovalRecord a = NewApproval(t.id, "sess_x", kNow, kNow + 60'000);
  REQUIRE_THAT(env.first().CreateApproval(a), IsOk());
  CHECK_THAT(env.second().CreateApproval(a), StatusIs(absl::StatusCode::kAlreadyExists));
  CHECK_THAT(env.second().CreateApproval(NewApproval(UniqueId("missing"), "", kNow, kNow + 1)),
             StatusIs(absl::StatusCode::kNotFound));

  auto got = env.second().GetApproval(t.id, a.id, kNow + 1);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(*got == a);  // pending, undecided
  got = env.second().GetApproval("", a.id, kNow + 1);
  REQUIRE_THAT(got.status(), IsOk());
  auto cross = env.first().GetApproval(other.id, a.id, kNow + 1);
  CHECK_THAT(cross.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(cross.status()) == "approval_not_found");
  CHECK_THAT(
      env.first().TransitionApproval(other.id, a.id, ApprovalState::kApproved, "", kNow).status(),
      StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(env.first().TransitionApproval(t.id, a.id, ApprovalState::kExpired, "", kNow).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));

  // kUsed needs kApproved first.
  auto early = env.first().TransitionApproval(t.id, a.id, ApprovalState::kUsed, "", kNow + 2);
  CHECK_THAT(early.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(early.status()) == "approval_not_approved");

  auto approved =
      env.second().TransitionApproval(t.id, a.id, ApprovalState::kApproved, "ok by ops", kNow + 3);
  REQUIRE_THAT(approved.status(), IsOk());
  CHECK(approved->state == ApprovalState::kApproved);
  CHECK(approved->decided_unix_ms == kNow + 3);
  CHECK(approved->decision_reason == "ok by ops");
  auto twice = env.first().TransitionApproval(t.id, a.id, ApprovalState::kDenied, "no", kNow + 4);
  CHECK_THAT(twice.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(twice.status()) == "approval_not_pending");

  // Used after approval, even past the pending expiry; the decision stays on record; once.
  auto used = env.first().TransitionApproval("", a.id, ApprovalState::kUsed, "", kNow + 70'000);
  REQUIRE_THAT(used.status(), IsOk());
  CHECK(used->state == ApprovalState::kUsed);
  CHECK(used->decided_unix_ms == kNow + 3);
  CHECK(used->decision_reason == "ok by ops");
  auto reuse = env.second().TransitionApproval(t.id, a.id, ApprovalState::kUsed, "", kNow + 5);
  CHECK_THAT(reuse.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(reuse.status()) == "approval_not_approved");

  const ApprovalRecord d = NewApproval(t.id, "sess_x", kNow, kNow + 60'000);
  REQUIRE_THAT(env.first().CreateApproval(d), IsOk());
  auto denied =
      env.second().TransitionApproval(t.id, d.id, ApprovalState::kDenied, "too much", kNow + 6);
  REQUIRE_THAT(denied.status(), IsOk());
  CHECK(denied->state == ApprovalState::kDenied);
  CHECK(denied->decision_reason == "too much");
  CHECK(env.first().GetApproval(t.id, d.id, kNow + 7)->state == ApprovalState::kDenied);
}

TEMPLATE_TEST_CASE("PolicyStore: approvals expire and list", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  const ApprovalRecord old_s1 = NewApproval(t.id, "sess_1", kNow, kNow + 100);
  const ApprovalRecord mid_s2 = NewApproval(t.id, "sess_2", kNow + 10, kNow + 100'000);
  const ApprovalRecord new_s1 = NewApproval(t.id, "sess_1", kNow + 20, kNow + 100'000);
  const ApprovalRecord foreign = NewApproval(other.id, "sess_1", kNow + 30, kNow + 100'000);
  for (const auto* a : {&old_s1, &mid_s2, &new_s1, &foreign}) {
    REQUIRE_THAT(env.first().CreateApproval(*a), IsOk());
  }

  // Past its expiry a pending approval reads (and is stored) as expired, decided at expiry.
  auto got = env.second().GetApproval(t.id, old_s1.id, kNow + 100);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->state == ApprovalState::kExpired);
  CHECK(got->decided_unix_ms == kNow + 100);
  got = env.first().GetApproval(t.id, old_s1.id, kNow);  // an earlier clock cannot revive it
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->state == ApprovalState::kExpired);
  auto late =
      env.first().TransitionApproval(t.id, old_s1.id, ApprovalState::kApproved, "", kNow + 200);
  CHECK_THAT(late.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(late.status()) == "approval_not_pending");

  // An approve at exactly the expiry is too late too.
  auto at_expiry = env.second().TransitionApproval(t.id, mid_s2.id, ApprovalState::kApproved, "",
                                                   kNow + 100'000);
  CHECK_THAT(at_expiry.status(), StatusIs(absl::StatusCode::kFailedPrecondition));

  auto all = env.second().ListApprovals(t.id, "", false, kNow + 1000);
  REQUIRE_THAT(all.status(), IsOk());
  REQUIRE(all->size() == 3);
  CHECK((*all)[0].id == new_s1.id);  // newest first
  CHECK((*all)[1].id == mid_s2.id);
  CHECK((*all)[2].id == old_s1.id);
  CHECK((*all)[2].state == ApprovalState::kExpired);
  CHECK((*all)[1].state == ApprovalState::kExpired);  // expired by the approve at expiry

  auto s1 = env.first().ListApprovals(t.id, "sess_1", false, kNow + 1000);
  REQUIRE_THAT(s1.status(), IsOk());
  REQUIRE(s1->size() == 2);
  CHECK((*s1)[0].id == new_s1.id);
  CHECK((*s1)[1].id == old_s1.id);
  auto pending = env.first().ListApprovals(t.id, "", true, kNow + 1000);
  REQUIRE_THAT(pending.status(), IsOk());
  REQUIRE(pending->size() == 1);
  CHECK((*pending)[0].id == new_s1.id);

  // Listing applies expiry as well (and stores it).
  pending = env.second().ListApprovals(t.id, "sess_1", true, kNow + 100'000);
  REQUIRE_THAT(pending.status(), IsOk());
  CHECK(pending->empty());
  got = env.first().GetApproval(t.id, new_s1.id, kNow);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->state == ApprovalState::kExpired);
  CHECK(got->decided_unix_ms == kNow + 100'000);
}

}  // namespace
}  // namespace p402::policy
