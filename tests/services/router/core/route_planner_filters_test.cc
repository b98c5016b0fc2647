// Filters, disqualification reasons, no_candidate and worst-case cost of the route planner.
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
                                 const v1::RoutingConstraints& c = {},
                                 int64_t input_tokens = 1000) const {
    return RoutePlanner(catalog, health, clock).Plan(chat, o, c, input_tokens);
  }
};

v1::ChatRequest Chat() {
  v1::ChatRequest chat;
  v1::ChatMessage* m = chat.add_messages();
  m->set_role("user");
  m->set_content("hello");
  chat.set_max_tokens(500);
  return chat;
}

v1::RoutingOptions Cost() {
  v1::RoutingOptions o;
  o.set_mode(v1::ROUTING_MODE_COST);
  return o;
}

v1::Disqualification Dq(const RoutePlan& plan, std::string_view ref) {
  for (const v1::Candidate& c : plan.decision.candidates()) {
    if (c.model().provider() + "/" + c.model().model() == ref) return c.disqualification();
  }
  FAIL("candidate " << ref << " not listed");
  return v1::DISQUALIFICATION_UNSPECIFIED;
}

std::string First(const RoutePlan& plan) {
  return plan.attempt_order.front()->provider + "/" + plan.attempt_order.front()->id;
}

TEST_CASE("Required capabilities filter candidates", "[unit]") {
  Env env;
  v1::RoutingOptions o = Cost();
  o.add_required_capabilities("vision");
  auto plan = env.Plan(Chat(), o);
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "openai/gpt-4o-mini");
  CHECK(Dq(*plan, "mistral/mistral-nemo") == v1::DISQUALIFICATION_MISSING_CAPABILITY);
  CHECK(Dq(*plan, "groq/llama-3.1-8b-instant") == v1::DISQUALIFICATION_MISSING_CAPABILITY);
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->HasCapability("vision"));

  // Tools in the request and image parts imply the capabilities.
  v1::ChatRequest chat = Chat();
  chat.add_tools()->set_name("lookup");
  plan = env.Plan(chat, Cost());
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "groq/llama-3.1-8b-instant");
  CHECK(Dq(*plan, "mistral/mistral-nemo") == v1::DISQUALIFICATION_MISSING_CAPABILITY);
  v1::ContentPart* image = chat.mutable_messages(0)->add_parts();
  image->set_type("image_url");
  image->set_image_url("https://example.com/cat.png");
  plan = env.Plan(chat, Cost());
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "openai/gpt-4o-mini");
}

TEST_CASE("Provider allow/deny lists from options and constraints", "[unit]") {
  Env env;
  v1::RoutingOptions o = Cost();
  o.add_denied_providers("MISTRAL");  // case-insensitive
  auto plan = env.Plan(Chat(), o);
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "groq/llama-3.1-8b-instant");
  CHECK(Dq(*plan, "mistral/mistral-nemo") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);

  v1::RoutingConstraints c;
  c.add_allowed_providers("anthropic");
  plan = env.Plan(Chat(), Cost(), c);
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "anthropic/claude-haiku-4-5");
  CHECK(Dq(*plan, "openai/gpt-4o-mini") == v1::DISQUALIFICATION_PROVIDER_NOT_ALLOWED);

  v1::RoutingConstraints models;
  models.add_allowed_models("openai/gpt-4o");
  models.add_allowed_models("claude-sonnet-4.5");  // canonical name
  plan = env.Plan(Chat(), Cost(), models);
  REQUIRE(plan.ok());
  CHECK(plan->attempt_order.size() == 2);
  CHECK(First(*plan) == "openai/gpt-4o");

  v1::RoutingConstraints denied;
  denied.add_denied_providers("mistral");
  denied.add_denied_providers("groq");
  v1::RoutingOptions allowed = Cost();
  allowed.add_allowed_providers("openai");
  allowed.add_allowed_providers("groq");
  plan = env.Plan(Chat(), allowed, denied);
  REQUIRE(plan.ok());
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->provider == "openai");
}

TEST_CASE("Tier, context, credentials, protocol and circuit disqualify", "[unit]") {
  Env env;
  v1::RoutingOptions o = Cost();
  o.set_max_tier("mid");
  v1::RoutingConstraints c;
  c.set_max_tier("budget");  // the lower limit applies
  auto plan = env.Plan(Chat(), o, c);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "anthropic/claude-haiku-4-5") == v1::DISQUALIFICATION_TIER_NOT_ALLOWED);
  for (const ModelEntry* m : plan->attempt_order) CHECK(m->tier == Tier::kBudget);

  o.set_max_tier("gold");
  CHECK_THAT(env.Plan(Chat(), o).status(), StatusIs(absl::StatusCode::kInvalidArgument, "gold"));

  // 131,000 input tokens + 500 output exceed the 128,000 and 131,072 windows.
  plan = env.Plan(Chat(), Cost(), {}, 131'000);
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "openai/gpt-4o-mini") == v1::DISQUALIFICATION_CONTEXT_TOO_SMALL);
  CHECK(Dq(*plan, "groq/llama-3.1-8b-instant") == v1::DISQUALIFICATION_CONTEXT_TOO_SMALL);
  CHECK(First(*plan) == "anthropic/claude-haiku-4-5");

  REQUIRE(env.catalog.SetAvailable("mistral", false).ok());
  env.health.entries["groq/llama-3.1-8b-instant"].circuit_open = true;
  plan = env.Plan(Chat(), Cost());
  REQUIRE(plan.ok());
  CHECK(Dq(*plan, "mistral/mistral-nemo") == v1::DISQUALIFICATION_NO_CREDENTIALS);
  CHECK(Dq(*plan, "groq/llama-3.1-8b-instant") == v1::DISQUALIFICATION_CIRCUIT_OPEN);
  CHECK(Dq(*plan, "google/gemini-2.5-pro") == v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL);
  // Three candidates tie on cost (450); openai's is the fastest of them.
  CHECK(First(*plan) == "openai/gpt-4o-mini");
  // Request-specific reasons are listed before configuration ones.
  const auto& cands = plan->decision.candidates();
  bool seen_config = false;
  for (const v1::Candidate& cand : cands) {
    if (cand.disqualification() == v1::DISQUALIFICATION_UNSPECIFIED) continue;
    bool config = cand.disqualification() == v1::DISQUALIFICATION_NO_CREDENTIALS ||
                  cand.disqualification() == v1::DISQUALIFICATION_UNSUPPORTED_PROTOCOL;
    CHECK_FALSE((seen_config && !config));
    seen_config = seen_config || config;
  }
}

TEST_CASE("max_cost disqualifies on exact worst-case cost", "[unit]") {
  Env env;
  // gpt-4o-mini: 1234 x 0.15 = 185.1 -> 186; 567 x 0.6 = 340.2 -> 341; total 527.
  const ModelEntry& mini = *env.catalog.FindModel("openai", "gpt-4o-mini");
  CHECK(WorstCaseCost(mini, 1234, 567) == 527);
  // gpt-4o: 1234 x 2.5 = 3085; 567 x 10 = 5670; total 8755. Without max_tokens: 16384 x 10.
  const ModelEntry& gpt4o = *env.catalog.FindModel("openai", "gpt-4o");
  CHECK(WorstCaseCost(gpt4o, 1234, 567) == 8755);
  CHECK(WorstCaseCost(gpt4o, 1234, std::nullopt) == 3085 + 163'840);
  // max_tokens above the model limit is capped at the limit.
  CHECK(WorstCaseCost(gpt4o, 0, 1'000'000) == 163'840);
  CHECK(OutputBound(*env.catalog.FindModel("local", "tiny"), std::nullopt) ==
        kDefaultMaxOutputTokens);

  v1::ChatRequest chat = Chat();
  chat.set_max_tokens(567);
  v1::RoutingOptions o;
  o.set_mode(v1::ROUTING_MODE_QUALITY);
  o.set_max_cost_micro_usd(527);
  auto plan = env.Plan(chat, o, {}, 1234);
  REQUIRE(plan.ok());
  for (const v1::Candidate& c : plan->decision.candidates()) {
    if (c.model().model() == "gpt-4o-mini" && c.model().provider() == "openai") {
      CHECK(c.worst_case_micro_usd() == 527);
      CHECK(c.disqualification() == v1::DISQUALIFICATION_UNSPECIFIED);  // equal is allowed
    }
  }
  CHECK(Dq(*plan, "openai/gpt-4o") == v1::DISQUALIFICATION_OVER_MAX_COST);
  for (const ModelEntry* m : plan->attempt_order) {
    CHECK(WorstCaseCost(*m, 1234, 567) <= 527);
  }
  o.set_max_cost_micro_usd(-1);
  CHECK_THAT(env.Plan(chat, o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  chat.set_max_tokens(0);
  CHECK_THAT(env.Plan(chat, Cost()).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "max_tokens"));
}

TEST_CASE("No candidate left is FailedPrecondition no_candidate with reasons", "[unit]") {
  Env env;
  v1::RoutingOptions o = Cost();
  o.add_required_capabilities("vision");
  o.set_max_tier("budget");
  o.add_denied_providers("openai");
  o.add_denied_providers("openrouter");
  auto plan = env.Plan(Chat(), o);
  REQUIRE_FALSE(plan.ok());
  CHECK_THAT(plan.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "no candidate"));
  CHECK(ReasonOf(plan.status()) == "no_candidate");
  std::string msg(plan.status().message());
  CHECK(msg.find("provider_not_allowed") != std::string::npos);
  CHECK(msg.find("tier_not_allowed") != std::string::npos);
  CHECK(msg.find("missing_capability") != std::string::npos);
  CHECK(msg.find("unsupported_protocol") != std::string::npos);

  // Explicit model whose only host is disqualified and failover disabled.
  v1::ChatRequest chat = Chat();
  chat.set_model("gpt-4o");
  v1::RoutingOptions off;
  off.mutable_failover()->set_enabled(false);
  REQUIRE(env.catalog.SetAvailable("openai", false).ok());
  plan = env.Plan(chat, off);
  CHECK(ReasonOf(plan.status()) == "no_candidate");
  CHECK_THAT(plan.status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "openai/gpt-4o: no_credentials"));
  // With failover the same request falls back to another premium model.
  plan = env.Plan(chat, {});
  REQUIRE(plan.ok());
  CHECK(First(*plan) == "anthropic/claude-sonnet-4-5");
  CHECK(plan->decision.reason().find("fallback") != std::string::npos);
}

TEST_CASE("Quote gives the best model and worst case per mode", "[unit]") {
  Env env;
  v1::ChatRequest chat = Chat();
  chat.set_max_tokens(567);
  auto quotes = RoutePlanner(env.catalog, env.health, env.clock).Quote(chat, {}, {}, 1234, {});
  REQUIRE(quotes.ok());
  REQUIRE(quotes->size() == 4);
  CHECK((*quotes)[0].mode() == v1::ROUTING_MODE_COST);
  CHECK((*quotes)[0].model().model() == "mistral-nemo");
  // 1234 x 0.02 = 24.68 -> 25; 567 x 0.04 = 22.68 -> 23.
  CHECK((*quotes)[0].worst_case_micro_usd() == 48);
  CHECK((*quotes)[0].estimated_input_tokens() == 1234);
  CHECK((*quotes)[0].max_output_tokens() == 567);
  CHECK((*quotes)[1].model().model() == "claude-sonnet-4-5");
  CHECK((*quotes)[2].model().model() == "llama-3.1-8b-instant");
}

}  // namespace
}  // namespace p402::router
