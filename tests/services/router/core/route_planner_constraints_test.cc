// Policy constraints of the route planner (issue 3): denied_models, max_model (price cap per
// token) and preferred_model (the policy-preference factor).
#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/router/core/route_planner.h"
#include "tests/services/router/core/fixture_catalog.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using testing::FakeHealth;
using testing::FixedClock;
using testing::FixtureCatalog;

struct Env {
  Catalog catalog = FixtureCatalog();
  FakeHealth health;
  FixedClock clock;

  absl::StatusOr<RoutePlan> Plan(const v1::ChatRequest& chat, const v1::RoutingOptions& o,
                                 const v1::RoutingConstraints& c = {}) const {
    return RoutePlanner(catalog, health, clock).Plan(chat, o, c, 1000);
  }
};

v1::ChatRequest Chat(std::string model = "") {
  v1::ChatRequest chat;
  v1::ChatMessage* m = chat.add_messages();
  m->set_role("user");
  m->set_content("hello");
  chat.set_max_tokens(500);
  chat.set_model(std::move(model));
  return chat;
}

v1::RoutingOptions Mode(v1::RoutingMode mode) {
  v1::RoutingOptions o;
  o.set_mode(mode);
  return o;
}

std::string Ref(const ModelEntry* m) { return m->provider + "/" + m->id; }

const v1::Candidate* Find(const RoutePlan& plan, std::string_view ref) {
  for (const v1::Candidate& c : plan.decision.candidates()) {
    if (c.model().provider() + "/" + c.model().model() == ref) return &c;
  }
  FAIL("candidate " << ref << " not listed");
  return nullptr;
}

v1::Disqualification Dq(const RoutePlan& plan, std::string_view ref) {
  return Find(plan, ref)->disqualification();
}

bool Qualified(const RoutePlan& plan, std::string_view ref) {
  for (const ModelEntry* m : plan.attempt_order) {
    if (Ref(m) == ref) return true;
  }
  return false;
}

TEST_CASE("denied_models excludes models by provider/model, id or canonical name", "[unit]") {
  Env env;
  auto plain = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST));
  REQUIRE(plain.ok());
  CHECK(Ref(plain->attempt_order.front()) == "mistral/mistral-nemo");

  v1::RoutingConstraints c;
  c.add_denied_models("mistral/mistral-nemo");
  auto plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST), c);
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "groq/llama-3.1-8b-instant");
  CHECK(Dq(*plan, "mistral/mistral-nemo") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);

  // A bare canonical id denies the model on every host; matching ignores case.
  v1::RoutingConstraints bare;
  bare.add_denied_models("GPT-4O-MINI");
  plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST), bare);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "openai/gpt-4o-mini") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);
  CHECK(Dq(*plan, "openrouter/openai/gpt-4o-mini") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);
  CHECK(Qualified(*plan, "mistral/mistral-nemo"));

  // Denial wins over the allow list.
  v1::RoutingConstraints both;
  both.add_allowed_models("openai/gpt-4o");
  both.add_allowed_models("openai/gpt-4o-mini");
  both.add_denied_models("gpt-4o-mini");
  plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST), both);
  REQUIRE(plan.ok());
  REQUIRE(plan->attempt_order.size() == 1);
  CHECK(Ref(plan->attempt_order.front()) == "openai/gpt-4o");
}

TEST_CASE("an explicitly requested denied model is never called", "[unit]") {
  Env env;
  v1::RoutingConstraints c;
  c.add_denied_models("openai/gpt-4o");
  auto plan = env.Plan(Chat("gpt-4o"), v1::RoutingOptions(), c);
  REQUIRE(plan.ok());
  CHECK_FALSE(Qualified(*plan, "openai/gpt-4o"));
  CHECK(plan->decision.reason() == "explicit model \"gpt-4o\" unavailable; fallback");

  v1::RoutingOptions no_failover;
  no_failover.mutable_failover()->set_enabled(false);
  CHECK_THAT(env.Plan(Chat("gpt-4o"), no_failover, c).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "provider_not_allowed"));
}

TEST_CASE("max_model caps the price per token of every candidate", "[unit]") {
  Env env;
  auto plain = env.Plan(Chat(), Mode(v1::ROUTING_MODE_QUALITY));
  REQUIRE(plain.ok());
  CHECK(Ref(plain->attempt_order.front()) == "anthropic/claude-sonnet-4-5");

  // claude-haiku-4-5 costs $1 + $5 per 1M: sonnet ($18) and gpt-4o ($12.50) are out, haiku
  // itself (equal) and o4-mini ($5.50) stay.
  v1::RoutingConstraints c;
  c.set_max_model("claude-haiku-4-5");
  auto plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_QUALITY), c);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "anthropic/claude-sonnet-4-5") == v1::DISQUALIFICATION_OVER_MAX_COST);
  CHECK(Dq(*plan, "openai/gpt-4o") == v1::DISQUALIFICATION_OVER_MAX_COST);
  CHECK(Qualified(*plan, "anthropic/claude-haiku-4-5"));
  CHECK(Qualified(*plan, "openai/o4-mini"));
  for (const ModelEntry* m : plan->attempt_order) {
    CHECK(m->prices.input + m->prices.output <= 6'000'000);
  }
  CHECK(plan->decision.reason().find("max_model") == std::string::npos);

  // "provider/model" form: gpt-4o-mini's $0.75 leaves the budget models only.
  c.set_max_model("openai/gpt-4o-mini");
  plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_QUALITY), c);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "anthropic/claude-haiku-4-5") == v1::DISQUALIFICATION_OVER_MAX_COST);
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->tier == Tier::kBudget);

  // The explicit model path is capped too: a premium model's same-tier fallbacks are all above
  // a budget model's price, so nothing is left.
  CHECK_THAT(env.Plan(Chat("claude-sonnet-4-5"), v1::RoutingOptions(), c).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "over_max_cost"));
  plan = env.Plan(Chat("gpt-4o-mini"), v1::RoutingOptions(), c);
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "openai/gpt-4o-mini");
}

TEST_CASE("an unknown max_model applies no cap and the decision says so", "[unit]") {
  Env env;
  v1::RoutingConstraints c;
  c.set_max_model("no-such-model");
  auto plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_QUALITY), c);
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "anthropic/claude-sonnet-4-5");
  CHECK_THAT(plan->decision.reason(),
             Catch::Contains("max_model \"no-such-model\" is not in the catalog; no price cap"));
}

TEST_CASE("the preferred model gets the full policy factor", "[unit]") {
  Env env;
  // Two hosts of the same model at the same price: openai is faster (450 vs 700 ms) and wins
  // on its own. With a slow candidate in the pool (o4-mini at a live p95 of 20 s) that latency
  // gap is worth 0.2 x ln(700/450)/ln(20000/450) = 0.023 < 0.05, so policy's preference for
  // openrouter decides.
  env.health.entries["openai/o4-mini"].latency_p95_ms = 20'000;
  v1::RoutingOptions o = Mode(v1::ROUTING_MODE_BALANCED);
  o.add_allowed_providers("openai");
  o.add_allowed_providers("openrouter");
  auto plain = env.Plan(Chat(), o);
  REQUIRE(plain.ok());
  CHECK(Ref(plain->attempt_order.front()) == "openai/gpt-4o-mini");
  CHECK(Find(*plain, "openrouter/openai/gpt-4o-mini")->factors().at("policy") == Approx(0.5));

  v1::RoutingConstraints c;
  c.set_preferred_model("openrouter/openai/gpt-4o-mini");
  auto plan = env.Plan(Chat(), o, c);
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "openrouter/openai/gpt-4o-mini");
  const v1::Candidate* preferred = Find(*plan, "openrouter/openai/gpt-4o-mini");
  CHECK(preferred->factors().at("policy") == Approx(1.0));
  CHECK(Find(*plan, "openai/gpt-4o-mini")->factors().at("policy") == Approx(0.5));
  // Balanced weighs policy at 0.10: +0.05 (no task, so no capability multiplier below 1).
  CHECK(preferred->score() ==
        Approx(Find(*plain, "openrouter/openai/gpt-4o-mini")->score() + 0.05));
  CHECK_THAT(plan->decision.reason(), Catch::Contains("policy-preferred model"));
}

TEST_CASE("a preference neither overrides clear losses nor restrictions", "[unit]") {
  Env env;
  // In cost mode the premium gpt-4o stays behind the cheap models.
  v1::RoutingConstraints c;
  c.set_preferred_model("openai/gpt-4o");
  auto plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST), c);
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "mistral/mistral-nemo");
  CHECK(plan->decision.reason() == "best score in cost mode");

  // A preferred model that a restriction excludes stays excluded.
  c.add_denied_models("openai/gpt-4o");
  plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_QUALITY), c);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "openai/gpt-4o") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);

  v1::RoutingConstraints unknown;
  unknown.set_preferred_model("mystery-model");
  plan = env.Plan(Chat(), Mode(v1::ROUTING_MODE_COST), unknown);
  REQUIRE(plan.ok());
  CHECK_THAT(plan->decision.reason(),
             Catch::Contains("preferred model \"mystery-model\" is not in the catalog; ignored"));
}

TEST_CASE("quotes honour the policy constraints", "[unit]") {
  Env env;
  v1::RoutingConstraints c;
  c.set_max_model("claude-haiku-4-5");
  auto quotes = RoutePlanner(env.catalog, env.health, env.clock)
                    .Quote(Chat(), v1::RoutingOptions(), c, 1000, {v1::ROUTING_MODE_QUALITY});
  REQUIRE(quotes.ok());
  REQUIRE(quotes->size() == 1);
  CHECK((*quotes)[0].model().model() != "claude-sonnet-4-5");
}

}  // namespace
}  // namespace p402::router
