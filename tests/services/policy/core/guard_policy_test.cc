// The guard end to end with its six default layers and the tenant's policies: the order of the
// layers' denials, pause and kill switches, provider/model rules and routing, spending policies,
// the per-request cap, and the failure modes of both stores. Over InMemoryPolicyStore,
// InMemoryCounterStore and a FakeClock (GuardFixture).
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/core/guard.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::AuthRequest;
using testing::CommitReq;
using testing::GuardFixture;
using testing::kUsd;

constexpr int64_t kHourMs = 3'600'000;

// "layer:passed:code[:failed_open]" per evaluated layer.
std::vector<std::string> Layers(const v1::AuthorizeResponse& r) {
  std::vector<std::string> out;
  for (const auto& l : r.layers()) {
    out.push_back(l.layer() + ":" + (l.passed() ? "pass" : "deny") + ":" + l.code() +
                  (l.failed_open() ? ":failed_open" : ""));
  }
  return out;
}

// The last layer evaluated ("layer:deny:code" for a denial).
std::string LastLayer(const v1::AuthorizeResponse& r) {
  std::vector<std::string> layers = Layers(r);
  return layers.empty() ? "" : layers.back();
}

std::string CreatePolicy(GuardFixture& f, const std::string& tenant, v1::TenantPolicy policy) {
  policy.set_name(policy.name().empty() ? "test policy" : policy.name());
  policy.set_enabled(true);
  v1::CreatePolicyRequest req;
  req.set_tenant_id(tenant);
  *req.mutable_policy() = std::move(policy);
  auto created = f.policy_admin().CreatePolicy(req);
  REQUIRE_THAT(created.status(), IsOk());
  return created->policy().id();
}

v1::AuthorizeRequest ForModel(const std::string& key, MicroUsd worst_case,
                              const std::string& provider, const std::string& model) {
  v1::AuthorizeRequest req = AuthRequest(key, worst_case);
  req.mutable_model()->set_provider(provider);
  req.mutable_model()->set_model(model);
  return req;
}

v1::ReleaseRequest ReleaseWith(const std::string& reservation_id, const std::string& reason) {
  v1::ReleaseRequest req;
  req.set_reservation_id(reservation_id);
  req.set_reason(reason);
  return req;
}

TEST_CASE("The layers deny in their order: rate, daily, concurrency, cap, budget",
          "[unit][policy]") {
  GuardFixture f;
  v1::TenantLimits limits;
  limits.set_requests_per_hour(4);
  limits.set_daily_limit_micro_usd(5 * kUsd);
  limits.set_max_concurrent(1);
  limits.set_per_request_cap_micro_usd(2 * kUsd);
  limits.set_budget_micro_usd(kUsd);
  const std::string key = f.Key(f.Tenant("acme", limits)).secret();

  auto a = f.guard().Authorize(AuthRequest(key, kUsd));
  REQUIRE_THAT(a.status(), IsOk());
  REQUIRE(a->decision() == v1::GUARD_DECISION_ALLOW);

  // $5 more would break the daily limit, and also the concurrency cap, the per-request cap and the
  // budget: the daily limit, earliest of them, answers, with a retry at the next 00:00 UTC.
  auto daily = f.guard().Authorize(AuthRequest(key, 5 * kUsd));
  CHECK(daily->decision() == v1::GUARD_DECISION_DENY_DAILY_LIMIT);
  CHECK(daily->reason() == "daily_limit_exceeded");
  CHECK(daily->retry_after_ms() == 24 * kHourMs);  // the clock starts at 00:00 UTC
  CHECK(Layers(*daily) == std::vector<std::string>{"policy:pass:", "rate_limit:pass:",
                                                   "daily_limit:deny:daily_limit_exceeded"});

  // $3 fits the day, but one request is already in flight (cap and budget would deny too).
  auto concurrent = f.guard().Authorize(AuthRequest(key, 3 * kUsd));
  CHECK(concurrent->decision() == v1::GUARD_DECISION_DENY_CONCURRENCY);
  CHECK(concurrent->reason() == "concurrency_limit");
  CHECK(concurrent->retry_after_ms() > 0);
  CHECK(LastLayer(*concurrent) == "concurrency:deny:concurrency_limit");

  // A fourth attempt takes the bucket's last token; the fifth finds none.
  REQUIRE(f.guard().Authorize(AuthRequest(key, 3 * kUsd))->decision() ==
          v1::GUARD_DECISION_DENY_CONCURRENCY);
  auto rate = f.guard().Authorize(AuthRequest(key, kUsd / 2));
  CHECK(rate->decision() == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(rate->reason() == "rate_limited");
  CHECK(rate->retry_after_ms() > 0);
  CHECK(rate->retry_after_ms() <= kHourMs / 4);
  CHECK(Layers(*rate) == std::vector<std::string>{"policy:pass:", "rate_limit:deny:rate_limited"});

  // The first request finishes; an hour later the bucket is full again.
  REQUIRE_THAT(f.guard().Commit(CommitReq(a->reservation().id(), kUsd)).status(), IsOk());
  f.clock().Advance(std::chrono::hours(1));
  auto cap = f.guard().Authorize(AuthRequest(key, 3 * kUsd));
  CHECK(cap->decision() == v1::GUARD_DECISION_DENY_REQUEST_CAP);
  CHECK(LastLayer(*cap) == "request_cap:deny:request_cap_exceeded");
  auto budget = f.guard().Authorize(AuthRequest(key, kUsd / 2));
  CHECK(budget->decision() == v1::GUARD_DECISION_DENY_BUDGET);
  CHECK(budget->reason() == "budget_exhausted");
  CHECK(Layers(*budget) ==
        std::vector<std::string>{
            "policy:pass:", "rate_limit:pass:", "daily_limit:pass:", "concurrency:pass:",
            "anomaly:pass:", "request_cap:pass:", "reservation:deny:budget_exhausted"});
  // Denied requests hold nothing: no reservation, no concurrency slot.
  CHECK(f.Reserved("acme") == 0);
}

TEST_CASE("The anomaly layer flags an outlier but never blocks it", "[unit][policy]") {
  GuardConfig config;
  config.anomaly_min_samples = 6;
  GuardFixture f(config);
  const std::string key = f.Key(f.Tenant("acme")).secret();
  for (int i = 0; i < 6; ++i) {
    auto r = f.guard().Authorize(AuthRequest(key, i % 2 == 0 ? 10'000 : 12'000));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    CHECK(r->layers(4).code().empty());
    REQUIRE_THAT(f.guard().Commit(CommitReq(r->reservation().id(), 1)).status(), IsOk());
  }
  auto outlier = f.guard().Authorize(AuthRequest(key, 5 * kUsd));
  REQUIRE_THAT(outlier.status(), IsOk());
  CHECK(outlier->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(outlier->layers(4).layer() == "anomaly");
  CHECK(outlier->layers(4).passed());
  CHECK(outlier->layers(4).code() == "anomaly_zscore");
  CHECK(f.alerts().Count("anomaly_zscore") == 1);
}

TEST_CASE("A paused tenant is refused before any layer runs", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  REQUIRE_THAT(f.store().SetTenantPaused("acme", true, "chargeback").status(), IsOk());
  auto r = f.guard().Authorize(AuthRequest(key, kUsd));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(r->reason() == "tenant_paused");
  CHECK_THAT(r->message(), Catch::Contains("chargeback"));
  CHECK(r->tenant_id() == "acme");
  CHECK(Layers(*r) == std::vector<std::string>{"policy:deny:tenant_paused"});
  CHECK(f.Reserved("acme") == 0);
}

TEST_CASE("The total-spend kill switch trips and pauses the tenant", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  v1::TenantPolicy ks;
  ks.mutable_kill_switch()->set_total_spend_micro_usd(2 * kUsd);
  CreatePolicy(f, "acme", ks);

  for (MicroUsd spend : {kUsd * 3 / 2, kUsd}) {  // $1.50 then $1.00: $2.50 in total
    auto r = f.guard().Authorize(AuthRequest(key, spend));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    REQUIRE_THAT(f.guard().Commit(CommitReq(r->reservation().id(), spend)).status(), IsOk());
  }
  auto tripped = f.guard().Authorize(AuthRequest(key, 1));
  REQUIRE_THAT(tripped.status(), IsOk());
  CHECK(tripped->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(tripped->reason() == "kill_switch_tripped");
  CHECK(Layers(*tripped) == std::vector<std::string>{"policy:deny:kill_switch_tripped"});
  // Paused in the store, so every replica refuses it at once, with one alert.
  TenantRecord tenant = f.Get("acme");
  CHECK(tenant.paused);
  CHECK_THAT(tenant.pause_reason, Catch::Contains("total spend"));
  CHECK(f.alerts().Count("kill_switch_tripped") == 1);
  CHECK(f.guard().Authorize(AuthRequest(key, 1))->reason() == "tenant_paused");
}

TEST_CASE("The error-rate kill switch trips after provider failures", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  v1::TenantPolicy ks;
  ks.mutable_kill_switch()->set_error_rate_bps(5000);
  ks.mutable_kill_switch()->set_min_requests(8);
  CreatePolicy(f, "acme", ks);

  auto finish = [&](const std::string& reason) {
    auto r = f.guard().Authorize(AuthRequest(key, kUsd));
    REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
    REQUIRE_THAT(f.guard().Release(ReleaseWith(r->reservation().id(), reason)).status(), IsOk());
  };
  // Releases for other reasons are finished requests, not failures.
  for (int i = 0; i < 4; ++i) {
    finish("cache_hit");
  }
  for (int i = 0; i < 3; ++i) {
    finish("provider_failed");
  }
  CHECK_FALSE(f.Get("acme").paused);  // 3 of 7: below min_requests and below 50%
  finish("provider_failed");          // 4 of 8 = 50%
  CHECK(f.Get("acme").paused);
  CHECK(f.alerts().Count("kill_switch_tripped") == 1);
  auto r = f.guard().Authorize(AuthRequest(key, kUsd));
  CHECK(r->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(r->reason() == "tenant_paused");
}

TEST_CASE("Provider and model policies deny explicit models and restrict routed ones",
          "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.Tenant("acme")).secret();
  v1::TenantPolicy providers;
  providers.mutable_provider()->add_allow("anthropic");
  providers.mutable_provider()->add_allow("openai");
  providers.mutable_provider()->add_deny("deepseek");
  CreatePolicy(f, "acme", providers);
  v1::TenantPolicy models;
  models.mutable_model()->set_max_tier("mid");
  models.mutable_model()->add_deny_models("openai/gpt-4o");
  CreatePolicy(f, "acme", models);
  v1::TenantPolicy task;
  v1::TaskRuleEntry* entry = task.mutable_task()->add_rules();
  entry->set_task("summarize");
  entry->set_prefer_model("openai/gpt-4o-mini");
  entry->set_max_model("anthropic/claude-3-5-haiku");
  CreatePolicy(f, "acme", task);

  auto denied = f.guard().Authorize(ForModel(key, kUsd, "deepseek", "deepseek-chat"));
  CHECK(denied->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(denied->reason() == "provider_denied");
  CHECK(Layers(*denied) == std::vector<std::string>{"policy:deny:provider_denied"});
  CHECK(f.guard().Authorize(ForModel(key, kUsd, "groq", "llama-3"))->reason() == "provider_denied");
  auto model = f.guard().Authorize(ForModel(key, kUsd, "openai", "gpt-4o"));
  CHECK(model->decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(model->reason() == "model_denied");
  CHECK(f.Reserved("acme") == 0);

  auto allowed = f.guard().Authorize(ForModel(key, kUsd, "openai", "gpt-4o-mini"));
  CHECK(allowed->decision() == v1::GUARD_DECISION_ALLOW);

  // Routed by mode (no model): admitted, with the restrictions for the router.
  v1::AuthorizeRequest routed = AuthRequest(key, kUsd);
  routed.set_task("summarize");
  auto r = f.guard().Authorize(routed);
  REQUIRE(r->decision() == v1::GUARD_DECISION_ALLOW);
  const v1::PolicyRouting& routing = r->routing();
  CHECK(std::vector<std::string>(routing.allowed_providers().begin(),
                                 routing.allowed_providers().end()) ==
        std::vector<std::string>{"anthropic", "openai"});
  CHECK(std::vector<std::string>(routing.denied_providers().begin(),
                                 routing.denied_providers().end()) ==
        std::vector<std::string>{"deepseek"});
  CHECK(routing.max_tier() == "mid");
  CHECK(routing.denied_models_size() == 1);
  CHECK(routing.preferred_model() == "openai/gpt-4o-mini");
  CHECK(routing.max_model() == "anthropic/claude-3-5-haiku");
  // Another task gets no preference.
  routed.set_task("chat");
  CHECK(f.guard().Authorize(routed)->routing().preferred_model().empty());
}

TEST_CASE("Spending policies deny, throttle or alert when a window is full", "[unit][policy]") {
  GuardFixture f;
  f.clock().Advance(std::chrono::hours(10));  // 10:00 UTC
  const std::string deny_key = f.Key(f.Tenant("deny")).secret();
  const std::string throttle_key = f.Key(f.Tenant("throttle")).secret();
  const std::string alert_key = f.Key(f.Tenant("alert")).secret();
  auto spending = [](v1::SpendAction action, MicroUsd hour, MicroUsd day) {
    v1::TenantPolicy p;
    p.mutable_spending()->set_action(action);
    p.mutable_spending()->set_per_hour_micro_usd(hour);
    p.mutable_spending()->set_per_day_micro_usd(day);
    return p;
  };
  CreatePolicy(f, "deny", spending(v1::SPEND_ACTION_DENY, 3 * kUsd, 0));
  CreatePolicy(f, "throttle", spending(v1::SPEND_ACTION_THROTTLE, 0, 3 * kUsd));
  CreatePolicy(f, "alert", spending(v1::SPEND_ACTION_ALERT, kUsd, 0));

  // Open reservations count: two $2 requests cannot both fit a $3 window.
  REQUIRE(f.guard().Authorize(AuthRequest(deny_key, 2 * kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  auto denied = f.guard().Authorize(AuthRequest(deny_key, 2 * kUsd));
  CHECK(denied->decision() == v1::GUARD_DECISION_DENY_SPEND_LIMIT);
  CHECK(denied->reason() == "spend_limit_exceeded");
  CHECK(denied->retry_after_ms() == 0);
  CHECK(LastLayer(*denied) == "daily_limit:deny:spend_limit_exceeded");

  REQUIRE(f.guard().Authorize(AuthRequest(throttle_key, 2 * kUsd))->decision() ==
          v1::GUARD_DECISION_ALLOW);
  auto throttled = f.guard().Authorize(AuthRequest(throttle_key, 2 * kUsd));
  CHECK(throttled->decision() == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(throttled->reason() == "spend_limit_throttled");
  CHECK(throttled->retry_after_ms() == 14 * kHourMs);  // until the UTC day rolls over

  auto alerted = f.guard().Authorize(AuthRequest(alert_key, 2 * kUsd));
  CHECK(alerted->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(alerted->layers(2).code() == "spend_limit_alert");
  CHECK(f.alerts().Count("spend_limit_alert") == 1);
}

TEST_CASE("The per-request cap is the lowest of tenant, policy and session", "[unit][policy]") {
  GuardFixture f;
  v1::TenantLimits limits;
  limits.set_per_request_cap_micro_usd(10 * kUsd);
  const std::string key = f.Key(f.Tenant("acme", limits)).secret();
  auto admitted = [&](v1::AuthorizeRequest req) {
    auto r = f.guard().Authorize(req);
    REQUIRE_THAT(r.status(), IsOk());
    if (r->decision() == v1::GUARD_DECISION_ALLOW) {
      REQUIRE_THAT(f.guard().Release(ReleaseWith(r->reservation().id(), "test")).status(), IsOk());
      return true;
    }
    CHECK(r->reason() == "request_cap_exceeded");
    return false;
  };
  CHECK(admitted(AuthRequest(key, 10 * kUsd)));
  CHECK_FALSE(admitted(AuthRequest(key, 10 * kUsd + 1)));

  v1::TenantPolicy cap;
  cap.mutable_spending()->set_per_request_micro_usd(5 * kUsd);
  cap.mutable_spending()->set_action(v1::SPEND_ACTION_DENY);
  const std::string policy_id = CreatePolicy(f, "acme", cap);
  CHECK(admitted(AuthRequest(key, 5 * kUsd)));
  CHECK_FALSE(admitted(AuthRequest(key, 5 * kUsd + 1)));

  v1::CreateSessionRequest create;
  create.set_tenant_id("acme");
  create.set_agent_id("agent");
  create.set_budget_micro_usd(100 * kUsd);
  create.set_duration_ms(kHourMs);
  create.set_per_request_cap_micro_usd(3 * kUsd);
  auto session = f.session_admin().CreateSession(create);
  REQUIRE_THAT(session.status(), IsOk());
  v1::AuthorizeRequest with_session = AuthRequest(key, 3 * kUsd);
  with_session.set_session_id(session->session().id());
  CHECK(admitted(with_session));
  with_session.set_worst_case_micro_usd(3 * kUsd + 1);
  CHECK_FALSE(admitted(with_session));
  // Without the session, the policy's cap applies again; without the policy, the tenant's.
  CHECK(admitted(AuthRequest(key, 5 * kUsd)));
  v1::DeletePolicyRequest del;
  del.set_tenant_id("acme");
  del.set_policy_id(policy_id);
  REQUIRE_THAT(f.policy_admin().DeletePolicy(del).status(), IsOk());
  CHECK(admitted(AuthRequest(key, 10 * kUsd)));
}

TEST_CASE("The guard fails closed when the policy store is down", "[unit][policy]") {
  GuardFixture f;
  const std::string key = f.Key(f.TenantWithBudget("acme", 10 * kUsd)).secret();
  f.store().set_down(true);
  CHECK_THAT(f.guard().Authorize(AuthRequest(key, kUsd)).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  v1::CheckReservationRequest check;
  check.set_reservation_id("rsv_whatever");
  CHECK_THAT(f.guard().CheckReservation(check).status(), StatusIs(absl::StatusCode::kUnavailable));
  f.store().set_down(false);
  CHECK(f.Reserved("acme") == 0);
  CHECK(f.guard().Authorize(AuthRequest(key, kUsd))->decision() == v1::GUARD_DECISION_ALLOW);
}

TEST_CASE("Layers 1-4 fail open when the counter store is down; 5-6 still hold", "[unit][policy]") {
  GuardFixture f;
  v1::TenantLimits limits;
  limits.set_budget_micro_usd(3 * kUsd);
  limits.set_max_concurrent(1);
  const std::string key = f.Key(f.Tenant("acme", limits)).secret();
  f.counters().set_down(true);

  auto r = f.guard().Authorize(AuthRequest(key, 2 * kUsd));
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(Layers(*r) ==
        std::vector<std::string>{"policy:pass:", "rate_limit:pass:store_unavailable:failed_open",
                                 "daily_limit:pass:store_unavailable:failed_open",
                                 "concurrency:pass:store_unavailable:failed_open",
                                 "anomaly:pass:store_unavailable:failed_open",
                                 "request_cap:pass:", "reservation:pass:"});
  // The concurrency cap of 1 is not enforced while its store is down ...
  auto second = f.guard().Authorize(AuthRequest(key, kUsd));
  CHECK(second->decision() == v1::GUARD_DECISION_ALLOW);
  // ... but the money layers are: the budget is spent, and the cap holds.
  CHECK(f.guard().Authorize(AuthRequest(key, kUsd))->reason() == "budget_exhausted");
  CHECK(f.guard().Authorize(AuthRequest(key, 51 * kUsd))->reason() == "request_cap_exceeded");
  // Commit and Release keep working (their layer notifications are best effort).
  CHECK_THAT(f.guard().Commit(CommitReq(r->reservation().id(), kUsd)).status(), IsOk());
  CHECK_THAT(f.guard().Release(ReleaseWith(second->reservation().id(), "provider_failed")).status(),
             IsOk());
  CHECK(f.Spent("acme") == kUsd);
}

}  // namespace
}  // namespace p402::policy
