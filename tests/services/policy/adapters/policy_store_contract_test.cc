// The PolicyStore contract (services/policy/core/ports.h), run against InMemoryPolicyStore and
// PgPolicyStore alike.
#include <limits>
#include <string>
#include <vector>

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
  t.limits = {.per_request_cap_micro_usd = 5 * kUsd,
              .daily_limit_micro_usd = 6 * kUsd,
              .budget_micro_usd = budget,
              .requests_per_hour = 70,
              .max_concurrent = 8};
  t.created_unix_ms = kNow;
  REQUIRE_THAT(store.CreateTenant(t), IsOk());
  return t;
}

ApiKeyRecord NewKey(const std::string& tenant_id, int64_t created = kNow) {
  ApiKeyRecord k;
  k.id = UniqueId("key");
  k.tenant_id = tenant_id;
  k.name = "name of " + k.id;
  k.prefix = "sk-p402-abcd";
  k.key_hash = UniqueKeyHash();
  k.created_unix_ms = created;
  return k;
}

ReservationRecord Draft(const std::string& tenant_id, MicroUsd amount,
                        int64_t expires = kNow + 1000) {
  ReservationRecord r;
  r.id = NewReservationId();
  r.tenant_id = tenant_id;
  r.amount_micro_usd = amount;
  r.created_unix_ms = kNow;
  r.expires_unix_ms = expires;
  return r;
}

// Reserves and requires success.
ReservationRecord Hold(PolicyStore& store, const std::string& tenant_id, MicroUsd amount,
                       int64_t expires = kNow + 1000) {
  auto out = store.ReserveBudget(Draft(tenant_id, amount, expires));
  REQUIRE_THAT(out.status(), IsOk());
  REQUIRE(out->granted);
  return out->reservation;
}

std::pair<MicroUsd, MicroUsd> SpentReserved(PolicyStore& store, const std::string& tenant_id) {
  auto t = store.GetTenant(tenant_id);
  REQUIRE_THAT(t.status(), IsOk());
  return {t->spent_micro_usd, t->reserved_micro_usd};
}

TEMPLATE_TEST_CASE("PolicyStore: tenants round-trip", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 9 * kUsd);
  auto got = env.second().GetTenant(t.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->id == t.id);
  CHECK(got->name == t.name);
  CHECK(got->limits == t.limits);
  CHECK(got->spent_micro_usd == 0);
  CHECK(got->reserved_micro_usd == 0);
  CHECK(got->created_unix_ms == kNow);

  CHECK_THAT(env.second().CreateTenant(t), StatusIs(absl::StatusCode::kAlreadyExists));
  CHECK_THAT(env.first().GetTenant(UniqueId("missing")).status(),
             StatusIs(absl::StatusCode::kNotFound));
}

TEMPLATE_TEST_CASE("PolicyStore: API keys by hash", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  PolicyStore& store = env.first();
  const TenantRecord t = NewTenant(store, 0);
  ApiKeyRecord k1 = NewKey(t.id, kNow);
  k1.admin = true;
  ApiKeyRecord k2 = NewKey(t.id, kNow + 5);
  REQUIRE_THAT(store.CreateApiKey(k2), IsOk());
  REQUIRE_THAT(store.CreateApiKey(k1), IsOk());

  auto found = env.second().FindApiKeyByHash(k1.key_hash);
  REQUIRE_THAT(found.status(), IsOk());
  REQUIRE(found->has_value());
  CHECK((*found)->id == k1.id);
  CHECK((*found)->tenant_id == t.id);
  CHECK((*found)->name == k1.name);
  CHECK((*found)->prefix == k1.prefix);
  CHECK((*found)->admin);
  CHECK_FALSE((*found)->revoked);
  CHECK((*found)->created_unix_ms == kNow);

  auto none = store.FindApiKeyByHash(UniqueKeyHash());
  REQUIRE_THAT(none.status(), IsOk());
  CHECK_FALSE(none->has_value());

  auto listed = store.ListApiKeys(t.id);
  REQUIRE_THAT(listed.status(), IsOk());
  REQUIRE(listed->size() == 2);
  CHECK((*listed)[0].id == k1.id);  // oldest first
  CHECK((*listed)[1].id == k2.id);
  CHECK(store.ListApiKeys(UniqueId("missing"))->empty());

  SECTION("duplicates and unknown tenants are refused") {
    ApiKeyRecord same_hash = NewKey(t.id);
    same_hash.key_hash = k1.key_hash;
    CHECK_THAT(store.CreateApiKey(same_hash), StatusIs(absl::StatusCode::kAlreadyExists));
    ApiKeyRecord same_id = NewKey(t.id);
    same_id.id = k1.id;
    CHECK_THAT(store.CreateApiKey(same_id), StatusIs(absl::StatusCode::kAlreadyExists));
    CHECK_THAT(store.CreateApiKey(NewKey(UniqueId("missing"))),
               StatusIs(absl::StatusCode::kNotFound));
  }
  SECTION("revocation is idempotent and visible to lookups") {
    auto revoked = store.RevokeApiKey(k1.id);
    REQUIRE_THAT(revoked.status(), IsOk());
    CHECK(revoked->revoked);
    CHECK(store.RevokeApiKey(k1.id)->revoked);
    CHECK((*env.second().FindApiKeyByHash(k1.key_hash))->revoked);
    CHECK_FALSE((*env.second().FindApiKeyByHash(k2.key_hash))->revoked);
    CHECK_THAT(store.RevokeApiKey(UniqueId("key")).status(), StatusIs(absl::StatusCode::kNotFound));
  }
}

TEMPLATE_TEST_CASE("PolicyStore: ReserveBudget holds within the budget only", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  PolicyStore& store = env.first();
  const TenantRecord t = NewTenant(store, 10 * kUsd);

  const ReservationRecord a = Hold(store, t.id, 6 * kUsd);
  CHECK(a.status == ReservationStatus::kReserved);
  CHECK(a.tenant_id == t.id);
  CHECK(a.amount_micro_usd == 6 * kUsd);
  CHECK(a.expires_unix_ms == kNow + 1000);

  auto too_much = env.second().ReserveBudget(Draft(t.id, 4 * kUsd + 1));
  REQUIRE_THAT(too_much.status(), IsOk());
  CHECK_FALSE(too_much->granted);
  CHECK(too_much->available_micro_usd == 4 * kUsd);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 6 * kUsd});

  Hold(env.second(), t.id, 4 * kUsd);  // exactly the rest
  auto empty = store.ReserveBudget(Draft(t.id, 1));
  REQUIRE_THAT(empty.status(), IsOk());
  CHECK_FALSE(empty->granted);
  CHECK(empty->available_micro_usd == 0);
  Hold(store, t.id, 0);  // a zero hold always fits

  auto stored = env.second().GetReservation(a.id);
  REQUIRE_THAT(stored.status(), IsOk());
  CHECK(stored->amount_micro_usd == 6 * kUsd);
  CHECK(stored->status == ReservationStatus::kReserved);
  CHECK(stored->created_unix_ms == kNow);
  CHECK(stored->finalized_unix_ms == 0);

  SECTION("a duplicate reservation id holds nothing") {
    const TenantRecord u = NewTenant(store, 0);
    const ReservationRecord first = Hold(store, u.id, kUsd);
    ReservationRecord dup = Draft(u.id, 2 * kUsd);
    dup.id = first.id;
    CHECK_THAT(store.ReserveBudget(dup).status(), StatusIs(absl::StatusCode::kAlreadyExists));
    CHECK(SpentReserved(store, u.id).second == kUsd);
  }
  SECTION("unknown tenants and ids") {
    CHECK_THAT(store.ReserveBudget(Draft(UniqueId("missing"), 1)).status(),
               StatusIs(absl::StatusCode::kNotFound));
    CHECK_THAT(store.GetReservation(NewReservationId()).status(),
               StatusIs(absl::StatusCode::kNotFound));
  }
}

TEMPLATE_TEST_CASE("PolicyStore: an unlimited budget still records holds", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const ReservationRecord r = Hold(env.first(), t.id, 1'000'000 * kUsd);
  CHECK(SpentReserved(env.first(), t.id).second == 1'000'000 * kUsd);
  auto c = env.second().CommitReservation(r.id, 3, "", kNow + 10);
  REQUIRE_THAT(c.status(), IsOk());
  CHECK(SpentReserved(env.first(), t.id) == std::pair<MicroUsd, MicroUsd>{3, 0});
}

TEMPLATE_TEST_CASE("PolicyStore: counters refuse to overflow", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  constexpr MicroUsd kMax = std::numeric_limits<MicroUsd>::max();
  const TenantRecord unlimited = NewTenant(env.first(), 0);
  Hold(env.first(), unlimited.id, kMax - 5);
  CHECK_THAT(env.second().ReserveBudget(Draft(unlimited.id, 10)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(SpentReserved(env.first(), unlimited.id).second == kMax - 5);

  // With a budget the check itself bounds the counters: a plain "not granted".
  const TenantRecord huge = NewTenant(env.first(), kMax);
  Hold(env.first(), huge.id, kMax);
  auto more = env.second().ReserveBudget(Draft(huge.id, 1));
  REQUIRE_THAT(more.status(), IsOk());
  CHECK_FALSE(more->granted);
  CHECK(more->available_micro_usd == 0);
}

TEMPLATE_TEST_CASE("PolicyStore: commit finalises once", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  PolicyStore& store = env.first();
  const TenantRecord t = NewTenant(store, 10 * kUsd);
  const ReservationRecord r = Hold(store, t.id, 4 * kUsd);

  auto c = env.second().CommitReservation(r.id, 5 * kUsd, "", kNow + 10);  // above the hold
  REQUIRE_THAT(c.status(), IsOk());
  CHECK_FALSE(c->already_committed);
  CHECK_FALSE(c->committed_after_expiry);
  CHECK(c->reservation.status == ReservationStatus::kCommitted);
  CHECK(c->reservation.actual_micro_usd == 4 * kUsd);  // clamped
  CHECK(c->reservation.finalized_unix_ms == kNow + 10);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{4 * kUsd, 0});

  auto replay = store.CommitReservation(r.id, kUsd, "", kNow + 20);
  REQUIRE_THAT(replay.status(), IsOk());
  CHECK(replay->already_committed);
  CHECK(replay->reservation.actual_micro_usd == 4 * kUsd);
  CHECK(replay->reservation.finalized_unix_ms == kNow + 10);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{4 * kUsd, 0});

  auto release = env.second().ReleaseReservation(r.id, kNow + 30);
  REQUIRE_THAT(release.status(), IsOk());
  CHECK(release->already_finalized);
  CHECK(release->reservation.status == ReservationStatus::kCommitted);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{4 * kUsd, 0});

  auto stored = store.GetReservation(r.id);
  REQUIRE_THAT(stored.status(), IsOk());
  CHECK(stored->status == ReservationStatus::kCommitted);
  CHECK(stored->actual_micro_usd == 4 * kUsd);

  CHECK_THAT(store.CommitReservation(NewReservationId(), 1, "", kNow).status(),
             StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(store.ReleaseReservation(NewReservationId(), kNow).status(),
             StatusIs(absl::StatusCode::kNotFound));
}

TEMPLATE_TEST_CASE("PolicyStore: release returns the hold once", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  PolicyStore& store = env.first();
  const TenantRecord t = NewTenant(store, 10 * kUsd);
  const ReservationRecord r = Hold(store, t.id, 7 * kUsd);
  const ReservationRecord keep = Hold(store, t.id, 2 * kUsd);

  auto first = env.second().ReleaseReservation(r.id, kNow + 5);
  REQUIRE_THAT(first.status(), IsOk());
  CHECK_FALSE(first->already_finalized);
  CHECK(first->reservation.status == ReservationStatus::kReleased);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 2 * kUsd});
  auto second = store.ReleaseReservation(r.id, kNow + 6);
  REQUIRE_THAT(second.status(), IsOk());
  CHECK(second->already_finalized);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 2 * kUsd});

  auto commit = store.CommitReservation(r.id, kUsd, "", kNow + 7);
  CHECK_THAT(commit.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(commit.status()) == "reservation_released");
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 2 * kUsd});
  CHECK(store.GetReservation(r.id)->status == ReservationStatus::kReleased);
  CHECK(store.GetReservation(keep.id)->status == ReservationStatus::kReserved);
}

TEMPLATE_TEST_CASE("PolicyStore: expiry returns due holds only", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  PolicyStore& store = env.first();
  const TenantRecord t = NewTenant(store, 10 * kUsd);
  const ReservationRecord due = Hold(store, t.id, 3 * kUsd, kNow + 100);
  const ReservationRecord later = Hold(store, t.id, 2 * kUsd, kNow + 200);
  // Other tenants' due reservations (also those of concurrent test processes sharing the
  // database) may expire in the same sweep, so counts are checked per reservation, not in total.
  auto swept = env.second().ExpireReservations(kNow + 100);
  REQUIRE_THAT(swept.status(), IsOk());
  CHECK(*swept >= 1);
  CHECK(store.GetReservation(due.id)->status == ReservationStatus::kExpired);
  CHECK(store.GetReservation(due.id)->finalized_unix_ms == kNow + 100);
  CHECK(store.GetReservation(later.id)->status == ReservationStatus::kReserved);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 2 * kUsd});

  // Expired once: a second sweep at the same time leaves the counters alone.
  REQUIRE_THAT(store.ExpireReservations(kNow + 100).status(), IsOk());
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{0, 2 * kUsd});

  auto release = store.ReleaseReservation(due.id, kNow + 150);
  REQUIRE_THAT(release.status(), IsOk());
  CHECK(release->already_finalized);

  auto late = env.second().CommitReservation(due.id, kUsd, "", kNow + 160);
  REQUIRE_THAT(late.status(), IsOk());
  CHECK(late->committed_after_expiry);
  CHECK_FALSE(late->already_committed);
  CHECK(late->reservation.actual_micro_usd == kUsd);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{kUsd, 2 * kUsd});

  REQUIRE_THAT(store.ExpireReservations(kNow + 200).status(), IsOk());
  CHECK(store.GetReservation(later.id)->status == ReservationStatus::kExpired);
  CHECK(SpentReserved(store, t.id) == std::pair<MicroUsd, MicroUsd>{kUsd, 0});
}

}  // namespace
}  // namespace p402::policy
