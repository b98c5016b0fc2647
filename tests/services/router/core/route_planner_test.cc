#include "services/router/core/route_planner.h"

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
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
  RoutePlanner planner() const { return RoutePlanner(catalog, health, clock); }
};

v1::ChatRequest Chat(std::string model = "") {
  v1::ChatRequest chat;
  chat.set_model(std::move(model));
  v1::ChatMessage* m = chat.add_messages();
  m->set_role("user");
  m->set_content("hello");
  chat.set_max_tokens(500);
  return chat;
}

v1::RoutingOptions Mode(v1::RoutingMode mode) {
  v1::RoutingOptions o;
  o.set_mode(mode);
  return o;
}

std::string Ref(const ModelEntry* m) { return m->provider + "/" + m->id; }
std::string Ref(const v1::ModelRef& r) { return r.provider() + "/" + r.model(); }

std::vector<std::string> Order(const RoutePlan& plan) {
  std::vector<std::string> out;
  for (const ModelEntry* m : plan.attempt_order) out.push_back(Ref(m));
  return out;
}

const v1::Candidate* FindCandidate(const RoutePlan& plan, std::string_view ref) {
  for (const v1::Candidate& c : plan.decision.candidates()) {
    if (Ref(c.model()) == ref) return &c;
  }
  return nullptr;
}

absl::StatusOr<RoutePlan> PlanFor(const Env& env, const v1::ChatRequest& chat,
                                  const v1::RoutingOptions& options,
                                  const v1::RoutingConstraints& constraints = {},
                                  int64_t input_tokens = 1000) {
  return env.planner().Plan(chat, options, constraints, input_tokens);
}

TEST_CASE("Each mode picks its expected model", "[unit]") {
  Env env;
  auto cost = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_COST));
  REQUIRE(cost.ok());
  CHECK(Ref(cost->attempt_order.front()) == "mistral/mistral-nemo");
  CHECK(Ref(cost->decision.chosen()) == "mistral/mistral-nemo");
  CHECK(cost->decision.mode() == v1::ROUTING_MODE_COST);
  CHECK(cost->decision.reason() == "best score in cost mode");

  auto quality = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_QUALITY));
  REQUIRE(quality.ok());
  CHECK(Ref(quality->attempt_order.front()) == "anthropic/claude-sonnet-4-5");

  auto speed = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_SPEED));
  REQUIRE(speed.ok());
  CHECK(Ref(speed->attempt_order.front()) == "groq/llama-3.1-8b-instant");

  // Custom weights that only care about quality behave like quality mode.
  v1::RoutingOptions custom = Mode(v1::ROUTING_MODE_CUSTOM);
  custom.mutable_weights()->set_quality(1.0);
  auto c = PlanFor(env, Chat(), custom);
  REQUIRE(c.ok());
  CHECK(Ref(c->attempt_order.front()) == "anthropic/claude-sonnet-4-5");
  custom.mutable_weights()->set_quality(0);
  custom.mutable_weights()->set_cost(1.0);
  c = PlanFor(env, Chat(), custom);
  REQUIRE(c.ok());
  CHECK(Ref(c->attempt_order.front()) == "mistral/mistral-nemo");

  // No mode and no model: balanced.
  auto balanced = PlanFor(env, Chat(), {});
  REQUIRE(balanced.ok());
  CHECK(balanced->decision.mode() == v1::ROUTING_MODE_BALANCED);
}

TEST_CASE("Candidates are sorted by score and carry factors in [0, 1]", "[unit]") {
  Env env;
  auto plan = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_BALANCED));
  REQUIRE(plan.ok());
  double previous = 2.0;
  int qualified = 0;
  for (const v1::Candidate& c : plan->decision.candidates()) {
    if (c.disqualification() != v1::DISQUALIFICATION_UNSPECIFIED) continue;
    ++qualified;
    CHECK(c.score() <= previous);
    previous = c.score();
    REQUIRE(c.factors().size() == 6);
    for (const auto& [name, value] : c.factors()) {
      INFO(name);
      CHECK(value >= 0.0);
      CHECK(value <= 1.0);
    }
  }
  CHECK(qualified == static_cast<int>(plan->attempt_order.size()));
  // The cheapest candidate has cost factor 1, the fastest latency factor 1.
  CHECK(FindCandidate(*plan, "mistral/mistral-nemo")->factors().at("cost") == Approx(1.0));
  CHECK(FindCandidate(*plan, "groq/llama-3.1-8b-instant")->factors().at("latency") == Approx(1.0));
  CHECK(FindCandidate(*plan, "anthropic/claude-sonnet-4-5")->factors().at("quality") ==
        Approx(1.0));
  // gemini is listed as disqualified (no adapter), without factors.
  const v1::Candidate* gemini = FindCandidate(*plan, "google/gemini-2.5-pro");
  REQUIRE(gemini != nullptr);
  CHECK(gemini->disqualification() == v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL);
  CHECK(gemini->score() == 0.0);
  CHECK(gemini->factors().empty());
}

TEST_CASE("Live health changes the speed winner and rate limits lower health", "[unit]") {
  Env env;
  env.health.entries["groq/llama-3.1-8b-instant"].latency_p95_ms = 3000;
  auto speed = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_SPEED));
  REQUIRE(speed.ok());
  CHECK(Ref(speed->attempt_order.front()) == "mistral/mistral-nemo");  // 350 ms is now fastest

  env.health.entries.clear();
  env.health.entries["mistral/mistral-nemo"].rate_limited_until_unix_ms = FixedClock::kNowMs + 1;
  env.health.entries["mistral/mistral-nemo"].error_rate = 0.5;
  auto plan = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_COST));
  REQUIRE(plan.ok());
  CHECK(FindCandidate(*plan, "mistral/mistral-nemo")->factors().at("health") == Approx(0.125));
  // An expired rate limit does not count.
  env.health.entries["mistral/mistral-nemo"].rate_limited_until_unix_ms = FixedClock::kNowMs;
  plan = PlanFor(env, Chat(), Mode(v1::ROUTING_MODE_COST));
  REQUIRE(plan.ok());
  CHECK(FindCandidate(*plan, "mistral/mistral-nemo")->factors().at("health") == Approx(0.5));
}

TEST_CASE("Task label shifts the balanced choice", "[unit]") {
  Env env;
  v1::RoutingOptions o = Mode(v1::ROUTING_MODE_BALANCED);
  o.set_task("reasoning");
  auto plan = PlanFor(env, Chat(), o);
  REQUIRE(plan.ok());
  const ModelEntry* winner = plan->attempt_order.front();
  CHECK(winner->HasCapability("reasoning"));
  o.set_task("interpretive-dance");
  plan = PlanFor(env, Chat(), o);
  REQUIRE(plan.ok());
  CHECK(plan->decision.reason().find("unknown task") != std::string::npos);
}

TEST_CASE("An explicit model is honoured without a mode", "[unit]") {
  Env env;
  auto plan = PlanFor(env, Chat("gpt-4o-mini"), {});
  REQUIRE(plan.ok());
  std::vector<std::string> order = Order(*plan);
  REQUIRE(order.size() >= 2);
  // Both hosts of the model first (openai is faster), then same-tier fallbacks (failover default).
  CHECK(order[0] == "openai/gpt-4o-mini");
  CHECK(order[1] == "openrouter/openai/gpt-4o-mini");
  for (size_t i = 2; i < order.size(); ++i) {
    CHECK(plan->attempt_order[i]->tier == Tier::kBudget);
  }
  CHECK(plan->decision.mode() == v1::ROUTING_MODE_UNSPECIFIED);
  CHECK(plan->decision.reason() == "explicit model \"gpt-4o-mini\"");
  CHECK(plan->max_attempts == 4);
  CHECK(plan->failover_enabled);
  REQUIRE(plan->direct_prices.has_value());
  CHECK(plan->direct_prices->input == 150'000);

  // Failover disabled: only the model itself.
  v1::RoutingOptions o;
  o.mutable_failover()->set_enabled(false);
  plan = PlanFor(env, Chat("gpt-4o-mini"), o);
  REQUIRE(plan.ok());
  CHECK(Order(*plan) ==
        std::vector<std::string>{"openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini"});
  CHECK(plan->max_attempts == 1);

  // "provider/model" pins the provider: fallbacks stay on that provider.
  plan = PlanFor(env, Chat("openrouter/openai/gpt-4o-mini"), {});
  REQUIRE(plan.ok());
  CHECK(Order(*plan) == std::vector<std::string>{"openrouter/openai/gpt-4o-mini"});

  // The canonical name finds the host.
  plan = PlanFor(env, Chat("gpt-oss-120b"), {});
  REQUIRE(plan.ok());
  CHECK(Order(*plan).front() == "groq/openai/gpt-oss-120b");
}

TEST_CASE("Fallback providers come after the requested model, in order", "[unit]") {
  Env env;
  v1::RoutingOptions o;
  o.mutable_failover()->set_enabled(true);
  o.mutable_failover()->set_max_retries(2);
  o.mutable_failover()->add_fallback_providers("anthropic");
  auto plan = PlanFor(env, Chat("openai/gpt-4o"), o);
  REQUIRE(plan.ok());
  // Same tier (premium) on anthropic; no implicit same-tier group when fallbacks are given.
  CHECK(Order(*plan) == std::vector<std::string>{"openai/gpt-4o", "anthropic/claude-sonnet-4-5"});
  CHECK(plan->max_attempts == 3);

  // Same canonical model on a fallback provider wins over same-tier models there.
  o.mutable_failover()->clear_fallback_providers();
  o.mutable_failover()->add_fallback_providers("openrouter");
  plan = PlanFor(env, Chat("openai/gpt-4o-mini"), o);
  REQUIRE(plan.ok());
  CHECK(Order(*plan) ==
        std::vector<std::string>{"openai/gpt-4o-mini", "openrouter/openai/gpt-4o-mini"});
}

TEST_CASE("A mode may override the requested model", "[unit]") {
  Env env;
  v1::ChatRequest chat = Chat("gpt-4o");
  auto plan = PlanFor(env, chat, Mode(v1::ROUTING_MODE_COST));
  REQUIRE(plan.ok());
  CHECK(Ref(plan->attempt_order.front()) == "mistral/mistral-nemo");
  CHECK(plan->decision.reason().find("overrides requested model \"gpt-4o\"") != std::string::npos);
  // The requested model is preferred by the policy factor.
  CHECK(FindCandidate(*plan, "openai/gpt-4o")->factors().at("policy") == Approx(1.0));
  CHECK(FindCandidate(*plan, "mistral/mistral-nemo")->factors().at("policy") == Approx(0.5));
  REQUIRE(plan->direct_prices.has_value());
  CHECK(plan->direct_prices->output == 10'000'000);

  // Unknown model with a mode: ignored, noted in the reason.
  plan = PlanFor(env, Chat("gpt-9"), Mode(v1::ROUTING_MODE_COST));
  REQUIRE(plan.ok());
  CHECK(plan->decision.reason().find("not in the catalog") != std::string::npos);
  CHECK_FALSE(plan->direct_prices.has_value());
}

TEST_CASE("Provider pin restricts candidates", "[unit]") {
  Env env;
  v1::RoutingOptions o = Mode(v1::ROUTING_MODE_QUALITY);
  o.set_provider("openai");
  auto plan = PlanFor(env, Chat(), o);
  REQUIRE(plan.ok());
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->provider == "openai");
  CHECK(Ref(plan->attempt_order.front()) == "openai/gpt-4o");

  v1::RoutingOptions pin;
  pin.set_provider("anthropic");
  plan = PlanFor(env, Chat("claude-haiku-4-5"), pin);
  REQUIRE(plan.ok());
  CHECK(Order(*plan).front() == "anthropic/claude-haiku-4-5");
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->provider == "anthropic");

  pin.set_provider("nope");
  auto bad = PlanFor(env, Chat(), pin);
  CHECK_THAT(bad.status(), StatusIs(absl::StatusCode::kNotFound, "nope"));
  CHECK(ReasonOf(bad.status()) == "model_not_found");
  pin.set_provider("anthropic");
  bad = PlanFor(env, Chat("gpt-4o"), pin);
  CHECK_THAT(bad.status(), StatusIs(absl::StatusCode::kNotFound, "of provider \"anthropic\""));
}

TEST_CASE("Unknown explicit model is NotFound with reason model_not_found", "[unit]") {
  Env env;
  auto plan = PlanFor(env, Chat("gpt-9"), {});
  CHECK_THAT(plan.status(), StatusIs(absl::StatusCode::kNotFound, "gpt-9"));
  CHECK(ReasonOf(plan.status()) == "model_not_found");
}

}  // namespace
}  // namespace p402::router
