// The PolicyStore contract for issue 3 (services/policy/core/ports.h): tenant update and pause,
// policies, agent sessions (reservations against sessions and approvals are in
// policy_store_session_reservations_test.cc). Run against
// InMemoryPolicyStore and PgPolicyStore alike; env.first() and env.second() are two processes for
// PostgreSQL, so what one writes the other must read.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "catch2/catch.hpp"
#include "google/protobuf/util/message_differencer.h"
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

SessionRecord SessionDraft(const std::string& tenant_id, MicroUsd budget, int64_t created = kNow) {
  SessionRecord s;
  s.id = UniqueId("sess");
  s.tenant_id = tenant_id;
  s.agent_id = "agent-7";
  s.token_hash = UniqueKeyHash();
  s.token_prefix = "sk-p402-sess-ab12";
  s.budget_micro_usd = budget;
  s.created_unix_ms = created;
  s.expires_unix_ms = kNow + 3'600'000;
  return s;
}

SessionRecord NewSession(PolicyStore& store, const std::string& tenant_id, MicroUsd budget) {
  SessionRecord s = SessionDraft(tenant_id, budget);
  REQUIRE_THAT(store.CreateSession(s), IsOk());
  return s;
}

TEMPLATE_TEST_CASE("PolicyStore: tenant update replaces name and limits only", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  TenantRecord t = NewTenant(env.first(), 9 * kUsd);
  auto held = env.first().ReserveBudget({.id = NewReservationId(),
                                         .tenant_id = t.id,
                                         .amount_micro_usd = 2 * kUsd,
                                         .created_unix_ms = kNow,
                                         .expires_unix_ms = kNow + 1000});
  REQUIRE_THAT(held.status(), IsOk());
  REQUIRE(held->granted);
  REQUIRE_THAT(env.first().SetTenantPaused(t.id, true, "operator").status(), IsOk());

  const TenantLimits limits = {.per_request_cap_micro_usd = 11,
                               .daily_limit_micro_usd = 12,
                               .budget_micro_usd = 13 * kUsd,
                               .requests_per_hour = 14,
                               .max_concurrent = 15,
                               .anomaly_zscore_centi = 275,
                               .reservation_ttl_ms = 90'000};
  auto updated = env.second().UpdateTenant(t.id, "Renamed", limits);
  REQUIRE_THAT(updated.status(), IsOk());
  CHECK(updated->name == "Renamed");
  CHECK(updated->limits == limits);
  auto got = env.first().GetTenant(t.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->name == "Renamed");
  CHECK(got->limits == limits);
  CHECK(got->reserved_micro_usd == 2 * kUsd);  // counters untouched
  CHECK(got->created_unix_ms == kNow);
  CHECK(got->paused);  // pause state untouched
  CHECK(got->pause_reason == "operator");

  CHECK_THAT(env.first().UpdateTenant(UniqueId("missing"), "x", limits).status(),
             StatusIs(absl::StatusCode::kNotFound));
}

TEMPLATE_TEST_CASE("PolicyStore: tenant pause and resume", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  TenantRecord t = NewTenant(env.first(), 0);
  t.limits.anomaly_zscore_centi = 300;
  auto got = env.second().GetTenant(t.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK_FALSE(got->paused);
  CHECK(got->pause_reason.empty());

  auto paused = env.first().SetTenantPaused(t.id, true, "kill switch: spend spike");
  REQUIRE_THAT(paused.status(), IsOk());
  CHECK(paused->paused);
  got = env.second().GetTenant(t.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->paused);
  CHECK(got->pause_reason == "kill switch: spend spike");

  auto resumed = env.second().SetTenantPaused(t.id, false, "ignored on resume");
  REQUIRE_THAT(resumed.status(), IsOk());
  CHECK_FALSE(resumed->paused);
  CHECK(resumed->pause_reason.empty());
  got = env.first().GetTenant(t.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK_FALSE(got->paused);
  CHECK(got->pause_reason.empty());

  CHECK_THAT(env.first().SetTenantPaused(UniqueId("missing"), true, "x").status(),
             StatusIs(absl::StatusCode::kNotFound));

  // Created paused, with the new limits: all of it round-trips.
  TenantRecord p;
  p.id = UniqueId("t");
  p.name = "born paused";
  p.limits = {.anomaly_zscore_centi = 450, .reservation_ttl_ms = 120'000};
  p.paused = true;
  p.pause_reason = "sentinel";
  p.created_unix_ms = kNow;
  REQUIRE_THAT(env.first().CreateTenant(p), IsOk());
  got = env.second().GetTenant(p.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->limits == p.limits);
  CHECK(got->paused);
  CHECK(got->pause_reason == "sentinel");
}

v1::TenantPolicy NewPolicy(const std::string& tenant_id, int32_t priority, int64_t created) {
  v1::TenantPolicy p;
  p.set_id(UniqueId("pol"));
  p.set_tenant_id(tenant_id);
  p.set_name("policy " + p.id());
  p.set_priority(priority);
  p.set_enabled(true);
  p.set_created_unix_ms(created);
  p.set_updated_unix_ms(created);
  v1::SpendingRule* rule = p.mutable_spending();
  rule->set_per_hour_micro_usd(5 * kUsd);
  rule->set_per_month_micro_usd(9'007'199'254'740'993);  // 2^53 + 1: not exact as a double
  rule->set_action(v1::SPEND_ACTION_THROTTLE);
  return p;
}

bool Same(const v1::TenantPolicy& a, const v1::TenantPolicy& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEMPLATE_TEST_CASE("PolicyStore: policies CRUD and order", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  // Highest priority first, then oldest, then id.
  v1::TenantPolicy low = NewPolicy(t.id, -5, kNow);
  v1::TenantPolicy high_new = NewPolicy(t.id, 100, kNow + 10);
  v1::TenantPolicy high_old = NewPolicy(t.id, 100, kNow + 1);
  v1::TenantPolicy mid = NewPolicy(t.id, 0, kNow);
  mid.clear_spending();
  mid.mutable_provider()->add_allow("openai");
  mid.mutable_provider()->add_deny("groq");
  mid.set_enabled(false);
  v1::TenantPolicy foreign = NewPolicy(other.id, 1000, kNow);
  for (const auto* p : {&low, &high_new, &high_old, &mid, &foreign}) {
    REQUIRE_THAT(env.first().CreatePolicy(*p), IsOk());
  }
  CHECK_THAT(env.second().CreatePolicy(low), StatusIs(absl::StatusCode::kAlreadyExists));
  v1::TenantPolicy orphan = NewPolicy(UniqueId("missing"), 0, kNow);
  CHECK_THAT(env.first().CreatePolicy(orphan), StatusIs(absl::StatusCode::kNotFound));

  auto list = env.second().ListPolicies(t.id);
  REQUIRE_THAT(list.status(), IsOk());
  REQUIRE(list->size() == 4);
  CHECK(Same((*list)[0], high_old));
  CHECK(Same((*list)[1], high_new));
  CHECK(Same((*list)[2], mid));
  CHECK(Same((*list)[3], low));

  auto got = env.second().GetPolicy(t.id, mid.id());
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(Same(*got, mid));
  // Another tenant's policy does not exist for this one.
  auto cross = env.second().GetPolicy(t.id, foreign.id());
  CHECK_THAT(cross.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(cross.status()) == "policy_not_found");
  CHECK_THAT(env.first().DeletePolicy(t.id, foreign.id()).status(),
             StatusIs(absl::StatusCode::kNotFound));
  v1::TenantPolicy hijack = foreign;
  hijack.set_tenant_id(t.id);
  CHECK_THAT(env.first().UpdatePolicy(hijack).status(), StatusIs(absl::StatusCode::kNotFound));

  // Update replaces everything but created_unix_ms (even the rule type).
  v1::TenantPolicy changed = low;
  changed.set_name("now a kill switch");
  changed.set_priority(7);
  changed.set_enabled(false);
  changed.set_created_unix_ms(1);  // ignored
  changed.set_updated_unix_ms(kNow + 99);
  changed.clear_spending();
  changed.mutable_model()->set_max_tier("mid");
  changed.mutable_model()->add_deny_models("openai/gpt-4o");
  auto updated = env.first().UpdatePolicy(changed);
  REQUIRE_THAT(updated.status(), IsOk());
  v1::TenantPolicy expected = changed;
  expected.set_created_unix_ms(low.created_unix_ms());
  CHECK(Same(*updated, expected));
  got = env.second().GetPolicy(t.id, low.id());
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(Same(*got, expected));
  CHECK_FALSE(got->has_spending());

  auto deleted = env.second().DeletePolicy(t.id, high_new.id());
  REQUIRE_THAT(deleted.status(), IsOk());
  CHECK(Same(*deleted, high_new));
  CHECK_THAT(env.first().GetPolicy(t.id, high_new.id()).status(),
             StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(env.first().DeletePolicy(t.id, high_new.id()).status(),
             StatusIs(absl::StatusCode::kNotFound));
  list = env.first().ListPolicies(t.id);
  REQUIRE_THAT(list.status(), IsOk());
  CHECK(list->size() == 3);
  auto none = env.first().ListPolicies(UniqueId("missing"));
  REQUIRE_THAT(none.status(), IsOk());
  CHECK(none->empty());
}

TEMPLATE_TEST_CASE("PolicyStore: sessions round-trip and lookups", "[service][policy]",
                   MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  SessionRecord full = SessionDraft(t.id, 25 * kUsd);
  full.wallet = "0x" + std::string(40, 'a');
  full.per_request_cap_micro_usd = 2 * kUsd;
  full.provider_budgets_micro_usd = {{"openai", 10 * kUsd}, {"anthropic", 7}};
  full.provider_spent_micro_usd = {{"openai", 3}};
  full.spent_micro_usd = 3;
  full.allowed_providers = {"openai", "anthropic", "odd \"quoted\\ name,{x}"};
  full.allowed_capabilities = {"chat"};
  full.has_allowed_hours = true;
  full.allowed_start_hour = 22;
  full.allowed_end_hour = 6;
  full.allowed_time_zone = "Europe/Paris";
  full.require_approval_above_micro_usd = kUsd;
  REQUIRE_THAT(env.first().CreateSession(full), IsOk());
  const SessionRecord bare = NewSession(env.first(), t.id, 0);

  auto got = env.second().GetSession(t.id, full.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(*got == full);
  got = env.second().GetSession("", bare.id);  // empty tenant: any
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(*got == bare);
  auto found = env.second().FindSessionByTokenHash(full.token_hash);
  REQUIRE_THAT(found.status(), IsOk());
  REQUIRE(found->has_value());
  CHECK(**found == full);
  auto none = env.first().FindSessionByTokenHash(UniqueKeyHash());
  REQUIRE_THAT(none.status(), IsOk());
  CHECK_FALSE(none->has_value());

  auto cross = env.second().GetSession(other.id, full.id);
  CHECK_THAT(cross.status(), StatusIs(absl::StatusCode::kNotFound));
  CHECK(ReasonOf(cross.status()) == "session_not_found");
  CHECK_THAT(env.first().GetSession(t.id, UniqueId("sess")).status(),
             StatusIs(absl::StatusCode::kNotFound));

  SessionRecord same_id = SessionDraft(t.id, 1);
  same_id.id = full.id;
  CHECK_THAT(env.second().CreateSession(same_id), StatusIs(absl::StatusCode::kAlreadyExists));
  SessionRecord same_hash = SessionDraft(t.id, 1);
  same_hash.token_hash = full.token_hash;
  CHECK_THAT(env.second().CreateSession(same_hash), StatusIs(absl::StatusCode::kAlreadyExists));
  CHECK_THAT(env.first().CreateSession(SessionDraft(UniqueId("missing"), 1)),
             StatusIs(absl::StatusCode::kNotFound));
}

TEMPLATE_TEST_CASE("PolicyStore: sessions list newest first with keyset paging",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  // Two pairs share a creation time, so the id tie-break is exercised across a page boundary.
  std::vector<SessionRecord> created;
  for (int64_t at : {kNow, kNow + 5, kNow + 5, kNow + 9, kNow + 9, kNow + 1}) {
    SessionRecord s = SessionDraft(t.id, kUsd, at);
    REQUIRE_THAT(env.first().CreateSession(s), IsOk());
    created.push_back(s);
  }
  REQUIRE_THAT(env.first().CreateSession(SessionDraft(other.id, kUsd, kNow + 7)), IsOk());
  std::sort(created.begin(), created.end(), [](const SessionRecord& a, const SessionRecord& b) {
    return std::tie(a.created_unix_ms, a.id) > std::tie(b.created_unix_ms, b.id);
  });

  std::vector<std::string> paged;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto list = env.second().ListSessions(t.id, after, 4);
    REQUIRE_THAT(list.status(), IsOk());
    CHECK(list->size() <= 4);
    for (const SessionRecord& s : *list) {
      CHECK(s.tenant_id == t.id);
      paged.push_back(s.id);
    }
    if (list->size() < 4) {
      break;
    }
    after = list->back().id;
  }
  std::vector<std::string> expected;
  for (const SessionRecord& s : created) {
    expected.push_back(s.id);
  }
  CHECK(paged == expected);

  auto all = env.first().ListSessions(t.id, "", 100);
  REQUIRE_THAT(all.status(), IsOk());
  CHECK(all->size() == created.size());
  CHECK(all->front() == created.front());
  // A position that is not one of the tenant's sessions, and a useless limit, are bad input.
  CHECK_THAT(env.first().ListSessions(t.id, UniqueId("sess"), 4).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(env.first().ListSessions(other.id, created[0].id, 4).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(env.first().ListSessions(t.id, "", 0).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  auto empty = env.first().ListSessions(UniqueId("missing"), "", 10);
  REQUIRE_THAT(empty.status(), IsOk());
  CHECK(empty->empty());
}

TEMPLATE_TEST_CASE("PolicyStore: session update and revoke", "[service][policy]", MemoryStoreEnv,
                   PgStoreEnv) {
  TestType env;
  const TenantRecord t = NewTenant(env.first(), 0);
  const TenantRecord other = NewTenant(env.first(), 0);
  SessionRecord s = SessionDraft(t.id, 3 * kUsd);
  s.per_request_cap_micro_usd = 100;
  s.require_approval_above_micro_usd = 200;
  REQUIRE_THAT(env.first().CreateSession(s), IsOk());

  // Top-up only: everything else untouched.
  auto u = env.second().UpdateSession(t.id, s.id, {.top_up_micro_usd = 2 * kUsd + 1});
  REQUIRE_THAT(u.status(), IsOk());
  CHECK(u->budget_micro_usd == 5 * kUsd + 1);
  CHECK(u->expires_unix_ms == s.expires_unix_ms);
  CHECK(u->per_request_cap_micro_usd == 100);
  CHECK(u->require_approval_above_micro_usd == 200);

  // Each optional field, including setting a cap back to 0 (none).
  u = env.first().UpdateSession("", s.id,
                                {.expires_unix_ms = kNow + 77,
                                 .per_request_cap_micro_usd = 0,
                                 .require_approval_above_micro_usd = 300});
  REQUIRE_THAT(u.status(), IsOk());
  CHECK(u->budget_micro_usd == 5 * kUsd + 1);
  CHECK(u->expires_unix_ms == kNow + 77);
  CHECK(u->per_request_cap_micro_usd == 0);
  CHECK(u->require_approval_above_micro_usd == 300);
  auto got = env.second().GetSession(t.id, s.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(*got == *u);

  CHECK_THAT(env.first().UpdateSession(other.id, s.id, {.top_up_micro_usd = 1}).status(),
             StatusIs(absl::StatusCode::kNotFound));
  CHECK_THAT(env.first().UpdateSession(t.id, s.id, {.top_up_micro_usd = -1}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));

  // Revoke: idempotent, the first time sticks.
  CHECK_THAT(env.first().RevokeSession(other.id, s.id, kNow).status(),
             StatusIs(absl::StatusCode::kNotFound));
  auto r1 = env.first().RevokeSession(t.id, s.id, kNow + 10);
  REQUIRE_THAT(r1.status(), IsOk());
  CHECK(r1->revoked_unix_ms == kNow + 10);
  auto r2 = env.second().RevokeSession(t.id, s.id, kNow + 20);
  REQUIRE_THAT(r2.status(), IsOk());
  CHECK(r2->revoked_unix_ms == kNow + 10);
  CHECK(SessionStateAt(*r2, kNow) == SessionState::kRevoked);

  auto after = env.second().UpdateSession(t.id, s.id, {.top_up_micro_usd = kUsd});
  CHECK_THAT(after.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(after.status()) == "session_revoked");
  got = env.first().GetSession(t.id, s.id);
  REQUIRE_THAT(got.status(), IsOk());
  CHECK(got->budget_micro_usd == 5 * kUsd + 1);  // the refused top-up changed nothing
}

}  // namespace
}  // namespace p402::policy
