#include "services/policy/core/policy_rules.h"

#include <google/protobuf/text_format.h>

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

// A policy from protobuf text format; fails the test on a typo.
v1::TenantPolicy P(const std::string& text) {
  v1::TenantPolicy policy;
  REQUIRE(google::protobuf::TextFormat::ParseFromString(text, &policy));
  return policy;
}

// An enabled policy with id, priority and creation time, and `rule` (text format).
v1::TenantPolicy Enabled(const std::string& id, int priority, int64_t created,
                         const std::string& rule) {
  v1::TenantPolicy policy = P(rule);
  policy.set_id(id);
  policy.set_name(id);
  policy.set_priority(priority);
  policy.set_created_unix_ms(created);
  policy.set_enabled(true);
  return policy;
}

std::vector<std::string> L(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

PolicyRequestFacts Facts(std::string provider = "", std::string model = "", std::string task = "") {
  PolicyRequestFacts facts;
  facts.model_provider = std::move(provider);
  facts.model_id = std::move(model);
  facts.task = std::move(task);
  return facts;
}

TEST_CASE("ValidatePolicy accepts one valid policy of each type", "[unit][policies]") {
  for (const char* text : {
           R"pb(name: "caps"
                priority: -1000000
                spending { per_request_micro_usd: 1 action: SPEND_ACTION_DENY })pb",
           R"pb(name: "hourly"
                priority: 1000000
                spending {
                  per_hour_micro_usd: 5
                  per_month_micro_usd: 9
                  action: SPEND_ACTION_THROTTLE
                })pb",
           R"pb(name: "p"
                provider { allow: "anthropic" allow: "open.ai_2-x" })pb",
           R"pb(name: "p"
                provider { deny: "deepseek" })pb",
           R"pb(name: "m"
                model { max_tier: "mid" })pb",
           R"pb(name: "m"
                model { deny_models: "openai/gpt-4o" deny_models: "o1" })pb",
           R"pb(name: "t"
                task {
                  rules { task: "*" }
                  rules {
                    task: "Sum.mary_1-x"
                    max_model: "a/b"
                    prefer_model: "c"
                    allow_models: "a/b"
                    allow_models: "c"
                  }
                })pb",
           R"pb(name: "k"
                kill_switch { total_spend_micro_usd: 1 })pb",
           R"pb(name: "k"
                kill_switch { error_rate_bps: 10000 error_window_ms: 10000 })pb",
           R"pb(name: "k"
                kill_switch { error_rate_bps: 1 error_window_ms: 86400000 min_requests: 0 })pb",
       }) {
    INFO(text);
    CHECK_THAT(ValidatePolicy(P(text)), IsOk());
  }
}

TEST_CASE("ValidatePolicy names the field of every error", "[unit][policies]") {
  const std::string long_name(129, 'n');
  const std::string long_model(257, 'm');
  const std::string long_provider(65, 'p');
  const std::string long_task(65, 't');
  std::string many_allow = "name: \"p\" provider {";
  for (int i = 0; i <= kMaxPolicyListEntries; ++i) {
    many_allow += " allow: \"p" + std::to_string(i) + "\"";
  }
  many_allow += " }";
  std::string many_rules = "name: \"t\" task {";
  for (int i = 0; i <= kMaxPolicyListEntries; ++i) {
    many_rules += " rules { task: \"t" + std::to_string(i) + "\" }";
  }
  many_rules += " }";

  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"pb(spending { per_hour_micro_usd: 1 action: SPEND_ACTION_DENY })pb",
       "policy.name is required"},
      {"name: \"" + long_name + "\" model { max_tier: \"mid\" }",
       "policy.name must be at most 128 bytes"},
      {"name: \"a\\nb\" model { max_tier: \"mid\" }",
       "policy.name must not contain control characters"},
      {R"pb(name: "x"
            priority: 1000001
            model { max_tier: "mid" })pb",
       "policy.priority must be between -1000000 and 1000000"},
      {R"pb(name: "x"
            priority: -1000001
            model { max_tier: "mid" })pb",
       "policy.priority must be between -1000000 and 1000000"},
      {R"pb(name: "x")pb", "rule is required"},
      // spending
      {R"pb(name: "x"
            spending { per_request_micro_usd: -1 action: SPEND_ACTION_DENY })pb",
       "spending.per_request_micro_usd must be >= 0"},
      {R"pb(name: "x"
            spending { per_hour_micro_usd: -1 action: SPEND_ACTION_DENY })pb",
       "spending.per_hour_micro_usd must be >= 0"},
      {R"pb(name: "x"
            spending { per_day_micro_usd: -5 action: SPEND_ACTION_DENY })pb",
       "spending.per_day_micro_usd must be >= 0"},
      {R"pb(name: "x"
            spending { per_month_micro_usd: -5 action: SPEND_ACTION_DENY })pb",
       "spending.per_month_micro_usd must be >= 0"},
      {R"pb(name: "x"
            spending { action: SPEND_ACTION_DENY })pb",
       "a spending policy needs at least one limit"},
      {R"pb(name: "x"
            spending { per_day_micro_usd: 5 })pb",
       "spending.action is required"},
      {R"pb(name: "x"
            spending { per_day_micro_usd: 5 action: 9 })pb",
       "spending.action must be deny, alert or throttle"},
      // provider
      {R"pb(name: "x"
            provider {})pb",
       "a provider policy needs provider.allow or provider.deny"},
      {R"pb(name: "x"
            provider { allow: "ok" allow: "ok2" allow: "Bad" })pb",
       "provider.allow[2] is not a valid provider id"},
      {R"pb(name: "x"
            provider { deny: "" })pb",
       "provider.deny[0] is not a valid provider id"},
      {"name: \"x\" provider { deny: \"" + long_provider + "\" }",
       "provider.deny[0] is not a valid provider id"},
      {R"pb(name: "x"
            provider { deny: "a b" })pb",
       "provider.deny[0] is not a valid provider id"},
      {many_allow, "provider.allow may have at most 64 entries"},
      // model
      {R"pb(name: "x"
            model {})pb",
       "a model policy needs model.max_tier or model.deny_models"},
      {R"pb(name: "x"
            model { max_tier: "cheap" })pb",
       "model.max_tier must be budget, mid or premium"},
      {R"pb(name: "x"
            model { max_tier: "Premium" })pb",
       "model.max_tier must be budget, mid or premium"},
      {R"pb(name: "x"
            model { deny_models: "a" deny_models: "" })pb",
       "model.deny_models[1] must not be empty"},
      {"name: \"x\" model { deny_models: \"" + long_model + "\" }",
       "model.deny_models[0] must be at most 256 bytes"},
      {R"pb(name: "x"
            model { deny_models: "a\tb" })pb",
       "model.deny_models[0] must not contain control characters"},
      // task
      {R"pb(name: "x"
            task {})pb",
       "task.rules needs at least one entry"},
      {many_rules, "task.rules may have at most 64 entries"},
      {R"pb(name: "x"
            task {
              rules { task: "*" }
              rules { max_model: "m" }
            })pb",
       "task.rules[1].task is required"},
      {R"pb(name: "x"
            task { rules { task: "sum mary" } })pb",
       "task.rules[0].task must be \"*\" or 1..64 of [A-Za-z0-9._-]"},
      {"name: \"x\" task { rules { task: \"" + long_task + "\" } }",
       "task.rules[0].task must be \"*\" or 1..64 of [A-Za-z0-9._-]"},
      {R"pb(name: "x"
            task { rules { task: "**" } })pb",
       "task.rules[0].task must be \"*\" or 1..64 of [A-Za-z0-9._-]"},
      {R"pb(name: "x"
            task {
              rules { task: "a" }
              rules { task: "b" }
              rules { task: "a" }
            })pb",
       "task.rules[2].task repeats task.rules[0].task"},
      {R"pb(name: "x"
            task { rules { task: "a" max_model: "a\nb" } })pb",
       "task.rules[0].max_model must not contain control characters"},
      {"name: \"x\" task { rules { task: \"a\" prefer_model: \"" + long_model + "\" } }",
       "task.rules[0].prefer_model must be at most 256 bytes"},
      {R"pb(name: "x"
            task { rules { task: "a" allow_models: "m" allow_models: "" } })pb",
       "task.rules[0].allow_models[1] must not be empty"},
      // kill switch
      {R"pb(name: "x"
            kill_switch {})pb",
       "a kill_switch policy needs kill_switch.total_spend_micro_usd or "
       "kill_switch.error_rate_bps"},
      {R"pb(name: "x"
            kill_switch { total_spend_micro_usd: -1 })pb",
       "kill_switch.total_spend_micro_usd must be >= 0"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: -1 })pb",
       "kill_switch.error_rate_bps must be >= 0"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: 10001 })pb",
       "kill_switch.error_rate_bps must be <= 10000"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: 100 error_window_ms: 9999 })pb",
       "kill_switch.error_window_ms must be 0 (default 5 minutes) or 10000..86400000"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: 100 error_window_ms: 86400001 })pb",
       "kill_switch.error_window_ms must be 0 (default 5 minutes) or 10000..86400000"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: 100 error_window_ms: -1 })pb",
       "kill_switch.error_window_ms must be 0 (default 5 minutes) or 10000..86400000"},
      {R"pb(name: "x"
            kill_switch { error_rate_bps: 100 min_requests: -1 })pb",
       "kill_switch.min_requests must be >= 0"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    absl::Status status = ValidatePolicy(P(c.text));
    CHECK_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, c.message));
  }
}

TEST_CASE("EvaluatePolicies with no policies restricts nothing", "[unit][policies]") {
  PolicyVerdict v = EvaluatePolicies({}, Facts("openai", "gpt-4o", "chat"));
  CHECK_FALSE(v.denied);
  CHECK(v.routing.ByteSizeLong() == 0);
  CHECK_FALSE(v.per_request_cap_micro_usd.has_value());
  CHECK(v.spend_windows.empty());
}

TEST_CASE("Provider allow lists intersect and deny lists unite", "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_a", 0, 1,
              R"pb(provider { allow: "anthropic" allow: "openai" allow: "groq" })pb"),
      Enabled("pol_b", 0, 2, R"pb(provider { allow: "groq" allow: "openai" deny: "mistral" })pb"),
      Enabled("pol_c", 0, 3, R"pb(provider { deny: "deepseek" deny: "mistral" })pb"),
      Enabled("pol_d", 0, 4, R"pb(provider { deny: "groq" })pb"),
  };
  PolicyVerdict v = EvaluatePolicies(policies, Facts());
  CHECK_FALSE(v.denied);
  // groq is in both allow lists but also denied: deny wins.
  CHECK(L(v.routing.allowed_providers()) == std::vector<std::string>{"openai"});
  CHECK(L(v.routing.denied_providers()) == std::vector<std::string>{"mistral", "deepseek", "groq"});

  SECTION("an explicit model of a denied provider is refused, even when allowed") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("groq", "llama"));
    CHECK(d.denied);
    CHECK(d.code == "provider_denied");
    CHECK(d.policy_id == "pol_d");
    CHECK_THAT(d.message, Catch::Contains("'groq' is denied") && Catch::Contains("pol_d"));
  }
  SECTION("the first policy in order that refuses the provider is named") {
    // deepseek is outside pol_a's allow list and in pol_c's deny list.
    PolicyVerdict d = EvaluatePolicies(policies, Facts("deepseek", "chat"));
    CHECK(d.code == "provider_denied");
    CHECK(d.policy_id == "pol_a");
  }
  SECTION("an explicit model of a provider outside an allow list is refused") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("anthropic", "claude"));
    CHECK(d.denied);
    CHECK(d.code == "provider_denied");
    CHECK(d.policy_id == "pol_b");  // pol_a allows anthropic, pol_b does not
  }
  SECTION("an explicit model of an allowed provider passes") {
    CHECK_FALSE(EvaluatePolicies(policies, Facts("openai", "gpt-4o")).denied);
  }
}

TEST_CASE("Allow lists with nothing in common deny every request", "[unit][policies]") {
  SECTION("disjoint allow lists") {
    PolicyVerdict v =
        EvaluatePolicies({Enabled("pol_a", 0, 1, R"pb(provider { allow: "anthropic" })pb"),
                          Enabled("pol_b", 0, 2, R"pb(provider { allow: "openai" })pb")},
                         Facts());
    CHECK(v.denied);
    CHECK(v.code == "provider_denied");
    CHECK_THAT(v.message, Catch::Contains("no provider is allowed"));
  }
  SECTION("every allowed provider denied") {
    PolicyVerdict v =
        EvaluatePolicies({Enabled("pol_a", 0, 1, R"pb(provider { allow: "anthropic" })pb"),
                          Enabled("pol_b", 0, 2, R"pb(provider { deny: "anthropic" })pb")},
                         Facts());
    CHECK(v.denied);
    CHECK(v.code == "provider_denied");
  }
}

TEST_CASE("Disabled policies are ignored", "[unit][policies]") {
  std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_a", 0, 1, R"pb(provider { deny: "openai" })pb"),
      Enabled("pol_b", 0, 2, R"pb(model { max_tier: "budget" deny_models: "x" })pb"),
      Enabled("pol_c", 0, 3, R"pb(spending {
                                    per_request_micro_usd: 5
                                    per_day_micro_usd: 9
                                    action: SPEND_ACTION_DENY
                                  })pb"),
      Enabled("pol_d", 0, 4, R"pb(kill_switch { total_spend_micro_usd: 1 })pb"),
      Enabled("pol_e", 0, 5, R"pb(task { rules { task: "*" prefer_model: "m" } })pb"),
  };
  PolicyRequestFacts facts = Facts("openai", "gpt-4o");
  facts.tenant_spent_micro_usd = 100;
  REQUIRE(EvaluatePolicies(policies, facts).denied);  // enabled, they would apply
  for (v1::TenantPolicy& p : policies) {
    p.set_enabled(false);
  }
  PolicyVerdict v = EvaluatePolicies(policies, facts);
  CHECK_FALSE(v.denied);
  CHECK_FALSE(v.kill_switch_tripped);
  CHECK(v.routing.ByteSizeLong() == 0);
  CHECK_FALSE(v.per_request_cap_micro_usd.has_value());
  CHECK(v.spend_windows.empty());
}

TEST_CASE("Model policies: lowest tier wins, deny lists unite", "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_a", 0, 1, R"pb(model { max_tier: "premium" deny_models: "openai/gpt-4o" })pb"),
      Enabled("pol_b", 0, 2, R"pb(model { max_tier: "mid" deny_models: "o1" })pb"),
      Enabled("pol_c", 0, 3, R"pb(model { deny_models: "openai/gpt-4o" })pb"),
  };
  PolicyVerdict v = EvaluatePolicies(policies, Facts());
  CHECK_FALSE(v.denied);
  CHECK(v.routing.max_tier() == "mid");
  CHECK(L(v.routing.denied_models()) == std::vector<std::string>{"openai/gpt-4o", "o1"});

  SECTION("budget is lower than mid") {
    std::vector<v1::TenantPolicy> more = policies;
    more.push_back(Enabled("pol_d", 0, 4, R"pb(model { max_tier: "budget" })pb"));
    CHECK(EvaluatePolicies(more, Facts()).routing.max_tier() == "budget");
  }
  SECTION("an explicit model denied as provider/model") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("openai", "gpt-4o"));
    CHECK(d.denied);
    CHECK(d.code == "model_denied");
    CHECK(d.policy_id == "pol_a");
    CHECK_THAT(d.message, Catch::Contains("openai/gpt-4o"));
  }
  SECTION("an explicit model denied by its bare id, whatever the provider") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("azure", "o1"));
    CHECK(d.denied);
    CHECK(d.code == "model_denied");
    CHECK(d.policy_id == "pol_b");
  }
  SECTION("provider/model does not match the same id at another provider") {
    CHECK_FALSE(EvaluatePolicies(policies, Facts("azure", "gpt-4o")).denied);
  }
  SECTION("without an explicit model nothing is refused (the router filters)") {
    CHECK_FALSE(EvaluatePolicies(policies, Facts("", "", "chat")).denied);
  }
}

TEST_CASE("Task rules: exact task over '*', highest priority then oldest", "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      // Given out of order on purpose.
      Enabled("pol_low", -5, 1,
              R"pb(task {
                     rules { task: "summarize" prefer_model: "low/pref" max_model: "low/max" }
                   })pb"),
      Enabled("pol_new", 10, 9,
              R"pb(task {
                     rules { task: "summarize" prefer_model: "new/pref" max_model: "new/max" }
                   })pb"),
      Enabled("pol_old", 10, 2, R"pb(task {
                                       rules { task: "*" prefer_model: "old/any" }
                                       rules { task: "summarize" prefer_model: "old/pref" }
                                     })pb"),
  };
  SECTION("within a policy the exact task beats '*'; across, priority then age") {
    PolicyVerdict v = EvaluatePolicies(policies, Facts("", "", "summarize"));
    CHECK_FALSE(v.denied);
    CHECK(v.routing.preferred_model() == "old/pref");
    // pol_old gives no max_model: the next policy in order that gives one (pol_new) answers.
    CHECK(v.routing.max_model() == "new/max");
  }
  SECTION("another task only matches '*'") {
    PolicyVerdict v = EvaluatePolicies(policies, Facts("", "", "translate"));
    CHECK(v.routing.preferred_model() == "old/any");
    CHECK(v.routing.max_model().empty());
  }
  SECTION("a request without a task only matches '*'") {
    CHECK(EvaluatePolicies(policies, Facts()).routing.preferred_model() == "old/any");
  }
  SECTION("ids break a tie of priority and age") {
    PolicyVerdict v = EvaluatePolicies(
        {Enabled("pol_b", 0, 1, R"pb(task { rules { task: "*" prefer_model: "b" } })pb"),
         Enabled("pol_a", 0, 1, R"pb(task { rules { task: "*" prefer_model: "a" } })pb")},
        Facts());
    CHECK(v.routing.preferred_model() == "a");
  }
}

TEST_CASE("Task allow_models intersect and refuse an explicit model outside them",
          "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_a", 5, 1,
              R"pb(task {
                     rules {
                       task: "code"
                       allow_models: "gpt-4o"
                       allow_models: "anthropic/claude"
                       allow_models: "groq/llama"
                     }
                   })pb"),
      Enabled("pol_b", 0,
              2, R"pb(task {
                        rules { task: "*" allow_models: "openai/gpt-4o" allow_models: "claude" }
                      })pb"),
  };
  PolicyVerdict v = EvaluatePolicies(policies, Facts("", "", "code"));
  CHECK_FALSE(v.denied);
  // Mixed forms resolve to the more specific reference.
  CHECK(L(v.routing.allowed_models()) ==
        std::vector<std::string>{"openai/gpt-4o", "anthropic/claude"});

  SECTION("allowed explicit model, by bare id and by provider/model") {
    CHECK_FALSE(EvaluatePolicies(policies, Facts("openai", "gpt-4o", "code")).denied);
    CHECK_FALSE(EvaluatePolicies(policies, Facts("anthropic", "claude", "code")).denied);
  }
  SECTION("explicit model missing from one of the lists") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("groq", "llama", "code"));
    CHECK(d.denied);
    CHECK(d.code == "model_denied");
    CHECK(d.policy_id == "pol_b");
    CHECK_THAT(d.message, Catch::Contains("groq/llama") && Catch::Contains("code"));
  }
  SECTION("explicit model at another provider than the list names") {
    PolicyVerdict d = EvaluatePolicies(policies, Facts("azure", "gpt-4o", "code"));
    CHECK(d.denied);
    CHECK(d.code == "model_denied");
  }
  SECTION("allow lists with no model in common refuse the task") {
    PolicyVerdict d = EvaluatePolicies(
        {Enabled("pol_a", 0, 1, R"pb(task { rules { task: "*" allow_models: "a/x" } })pb"),
         Enabled("pol_b", 0, 2, R"pb(task { rules { task: "*" allow_models: "b/y" } })pb")},
        Facts("", "", "chat"));
    CHECK(d.denied);
    CHECK(d.code == "model_denied");
    CHECK_THAT(d.message, Catch::Contains("no model is allowed for task 'chat'"));
  }
}

TEST_CASE("Spending policies: lowest per-request cap, every window collected", "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_a", 0, 1, R"pb(spending {
                                    per_request_micro_usd: 500
                                    per_hour_micro_usd: 10
                                    per_month_micro_usd: 30
                                    action: SPEND_ACTION_THROTTLE
                                  })pb"),
      Enabled("pol_b", 0, 2, R"pb(spending {
                                    per_request_micro_usd: 200
                                    per_day_micro_usd: 20
                                    action: SPEND_ACTION_ALERT
                                  })pb"),
      Enabled("pol_c", 0, 3, R"pb(spending { per_day_micro_usd: 7 action: SPEND_ACTION_DENY })pb"),
  };
  PolicyVerdict v = EvaluatePolicies(policies, Facts());
  CHECK_FALSE(v.denied);
  REQUIRE(v.per_request_cap_micro_usd.has_value());
  CHECK(*v.per_request_cap_micro_usd == 200);
  REQUIRE(v.spend_windows.size() == 4);
  auto check = [&](size_t i, SpendPeriod period, MicroUsd limit, v1::SpendAction action,
                   const std::string& id) {
    INFO(i);
    CHECK(v.spend_windows[i].period == period);
    CHECK(v.spend_windows[i].limit_micro_usd == limit);
    CHECK(v.spend_windows[i].action == action);
    CHECK(v.spend_windows[i].policy_id == id);
  };
  check(0, SpendPeriod::kHour, 10, v1::SPEND_ACTION_THROTTLE, "pol_a");
  check(1, SpendPeriod::kMonth, 30, v1::SPEND_ACTION_THROTTLE, "pol_a");
  check(2, SpendPeriod::kDay, 20, v1::SPEND_ACTION_ALERT, "pol_b");
  check(3, SpendPeriod::kDay, 7, v1::SPEND_ACTION_DENY, "pol_c");
}

TEST_CASE("Kill switch total spend trips at the limit", "[unit][policies]") {
  const std::vector<v1::TenantPolicy> policies = {
      Enabled("pol_rate", 9, 1, R"pb(kill_switch { error_rate_bps: 100 })pb"),
      Enabled("pol_ks", 0, 2, R"pb(kill_switch { total_spend_micro_usd: 5000000 })pb"),
      Enabled("pol_p", 0, 3, R"pb(provider { deny: "openai" })pb"),
  };
  PolicyRequestFacts facts = Facts("openai", "gpt-4o");
  facts.tenant_spent_micro_usd = 4'999'999;
  PolicyVerdict below = EvaluatePolicies(policies, facts);
  CHECK_FALSE(below.kill_switch_tripped);
  CHECK(below.code == "provider_denied");

  facts.tenant_spent_micro_usd = 5'000'000;
  PolicyVerdict v = EvaluatePolicies(policies, facts);
  CHECK(v.denied);
  CHECK(v.kill_switch_tripped);
  CHECK(v.code == "kill_switch_tripped");  // outranks the provider denial
  CHECK(v.policy_id == "pol_ks");
  CHECK(v.message == "kill_switch: total spend $5.000000 >= $5.000000 (policy pol_ks)");
}

}  // namespace
}  // namespace p402::policy
