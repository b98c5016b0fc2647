// Router service, unary RPCs (Route, ListModels, Quote) through the generated stub against a
// real RouterServer and two mock providers (router_test_env.h).
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/clock.h"
#include "libs/common/money.h"
#include "libs/openai/token_estimate.h"
#include "libs/rpc/status_convert.h"
#include "tests/services/router/service/router_test_env.h"

namespace p402::router::testing {
namespace {

// Catalog prices (micro-USD per 1M tokens), services/router/data/catalog.json.
constexpr MicroUsd kMiniIn = 150'000, kMiniOut = 600'000;        // openai/gpt-4o-mini
constexpr MicroUsd kHaikuIn = 1'000'000, kHaikuOut = 5'000'000;  // anthropic/claude-haiku-4-5

grpc::Status Route(RouterFixture& f, const v1::RouteRequest& req, v1::RouteResponse& resp) {
  auto ctx = Context();
  return f.stub().Route(ctx.get(), req, &resp);
}

TEST_CASE("Route: OpenAI answer with exact usage and cost", "[service][router]") {
  RouterFixture f;
  const std::string text = "Say hello [[mock:tokens=40]]";
  v1::RouteResponse resp;
  grpc::Status s = Route(f, RouteRequestFor("gpt-4o-mini", text), resp);
  REQUIRE(s.ok());
  const auto& c = resp.completion();
  REQUIRE(c.choices_size() == 1);
  CHECK(c.choices(0).message().content() == MockReply("openai", 40));
  CHECK(c.choices(0).finish_reason() == "stop");
  CHECK(c.id().rfind("chatcmpl-", 0) == 0);
  const int64_t prompt = MockPromptTokens(text);
  CHECK(c.usage().input_tokens() == prompt);
  CHECK(c.usage().output_tokens() == 40);
  CHECK_FALSE(c.usage().estimated());
  // cost = tokens x catalog price, each term rounded up to a micro-dollar.
  CHECK(resp.cost().input_micro_usd() == TokenCost(prompt, kMiniIn));
  CHECK(resp.cost().output_micro_usd() == TokenCost(40, kMiniOut));
  CHECK(resp.cost().output_micro_usd() == 24);
  CHECK(resp.cost().total_micro_usd() == TokenCost(prompt, kMiniIn) + 24);
  CHECK(resp.cost().direct_micro_usd() == resp.cost().total_micro_usd());
  CHECK(resp.cost().prices().input_per_mtok_micro_usd() == kMiniIn);
  CHECK_FALSE(resp.cost().estimated());

  const auto& d = resp.decision();
  CHECK(d.decision_id().rfind("dec_", 0) == 0);
  CHECK(d.chosen().provider() == "openai");
  CHECK(d.chosen().model() == "gpt-4o-mini");
  REQUIRE(d.attempts_size() == 1);
  CHECK(d.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);
  CHECK(d.attempts(0).http_status() == 200);

  json::Value stats = f.MockStats(f.openai());
  CHECK(stats.GetInt("requests_total") == 1);
  const json::Value* last = stats.Find("last_request");
  REQUIRE(last != nullptr);
  CHECK(last->GetString("path") == "/v1/chat/completions");
  CHECK(last->GetString("body")->find("\"model\":\"gpt-4o-mini\"") != std::string::npos);
  CHECK(f.MockStats(f.anthropic()).GetInt("requests_total") == 0);
  CHECK(f.Metric(R"(p402_router_requests_total{rpc="Route",code="OK"})") >= 1);
}

TEST_CASE("Route: a call without a deadline", "[service][router]") {
  RouterFixture f;
  grpc::ClientContext ctx;  // no deadline
  v1::RouteResponse resp;
  REQUIRE(f.stub().Route(&ctx, RouteRequestFor("gpt-4o-mini", "hi"), &resp).ok());
  CHECK(resp.completion().usage().output_tokens() == 12);
}

TEST_CASE("Route: Anthropic Messages protocol", "[service][router]") {
  RouterFixture f;
  const std::string text = "Say hello";
  v1::RouteResponse resp;
  REQUIRE(Route(f, RouteRequestFor("claude-haiku-4-5", text), resp).ok());
  CHECK(resp.completion().choices(0).message().content() == MockReply("anthropic", 12));
  CHECK(resp.completion().choices(0).finish_reason() == "stop");
  const int64_t prompt = MockPromptTokens(text);
  CHECK(prompt == 15);
  CHECK(resp.completion().usage().input_tokens() == 15);
  CHECK(resp.completion().usage().output_tokens() == 12);
  CHECK(resp.cost().input_micro_usd() == 15);   // 15 x $1/M
  CHECK(resp.cost().output_micro_usd() == 60);  // 12 x $5/M
  CHECK(resp.cost().total_micro_usd() == TokenCost(15, kHaikuIn) + TokenCost(12, kHaikuOut));
  CHECK(resp.decision().chosen().provider() == "anthropic");
  json::Value stats = f.MockStats(f.anthropic());
  CHECK(stats.Find("last_request")->GetString("path") == "/v1/messages");
  // The system prompt travels in Anthropic's top-level `system` field.
  CHECK(stats.Find("last_request")->GetString("body")->find("\"system\"") != std::string::npos);
}

void CheckFailedOverToAnthropic(const v1::RouteResponse& resp, v1::AttemptOutcome first) {
  const auto& d = resp.decision();
  REQUIRE(d.attempts_size() == 2);
  CHECK(d.attempts(0).model().provider() == "openai");
  CHECK(d.attempts(0).model().model() == "gpt-4o");
  CHECK(d.attempts(0).outcome() == first);
  CHECK(d.attempts(1).model().provider() == "anthropic");
  CHECK(d.attempts(1).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);
  CHECK(d.chosen().provider() == "anthropic");
  CHECK(resp.completion().choices(0).message().content().rfind("anthropic mock", 0) == 0);
}

TEST_CASE("Route: fails over when the first provider answers 500", "[service][router]") {
  RouterFixture f;
  const double failovers = f.Metric("p402_router_failovers_total");
  const double errors =
      f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="server_error"})");
  v1::RouteResponse resp;
  REQUIRE(Route(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:status=500]]"), resp).ok());
  CheckFailedOverToAnthropic(resp, v1::ATTEMPT_OUTCOME_SERVER_ERROR);
  CHECK(resp.decision().attempts(0).http_status() == 500);
  CHECK(resp.decision().attempts(0).error().find("server_error") != std::string::npos);
  CHECK(f.Metric("p402_router_failovers_total") == failovers + 1);
  CHECK(f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="server_error"})") ==
        errors + 1);
  CHECK(f.server().health().Get("openai", "gpt-4o").error_rate == 1.0);
}

TEST_CASE("Route: fails over on 429 and keeps its Retry-After in health", "[service][router]") {
  RouterFixture f;
  v1::RouteResponse resp;
  const int64_t before = UnixMillis(SystemClock::Get().Now());
  REQUIRE(Route(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:status=429,retry_after=30]]"), resp)
              .ok());
  CheckFailedOverToAnthropic(resp, v1::ATTEMPT_OUTCOME_RATE_LIMITED);
  CHECK(resp.decision().attempts(0).http_status() == 429);
  CHECK(resp.decision().attempts(0).retry_after_ms() == 30'000);
  int64_t until = f.server().health().Get("openai", "gpt-4o").rate_limited_until_unix_ms;
  CHECK(until >= before + 30'000);
  CHECK(until <= UnixMillis(SystemClock::Get().Now()) + 30'000);

  // The next plan sees it: the health factor of the rate-limited model drops to 0.25.
  v1::RouteResponse next;
  REQUIRE(Route(f, RouteRequestFor("gpt-4o", "hi again"), next).ok());
  bool seen = false;
  for (const auto& c : next.decision().candidates()) {
    if (c.model().provider() == "openai" && c.model().model() == "gpt-4o") {
      seen = true;
      CHECK(c.factors().at("health") == Approx(0.25));
    }
  }
  CHECK(seen);
}

TEST_CASE("Route: fails over when a provider hangs past the header timeout", "[service][router]") {
  RouterFixture f({.header_timeout = std::chrono::milliseconds(300)});
  auto start = std::chrono::steady_clock::now();
  v1::RouteResponse resp;
  REQUIRE(Route(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:hang]]"), resp).ok());
  CheckFailedOverToAnthropic(resp, v1::ATTEMPT_OUTCOME_TIMEOUT);
  CHECK(resp.decision().attempts(0).http_status() == 0);
  CHECK(resp.decision().attempts(0).latency_ms() >= 300);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("Route: rate_limit_strategy QUEUE waits Retry-After and retries the same model",
          "[service][router]") {
  RouterFixture f;
  f.MockBehavior(f.openai(), R"({"status":429,"retry_after":1,"count":1})");
  v1::RouteRequest req = RouteRequestFor("gpt-4o-mini", "hi");
  req.mutable_options()->set_rate_limit_strategy(v1::RATE_LIMIT_STRATEGY_QUEUE);
  auto start = std::chrono::steady_clock::now();
  v1::RouteResponse resp;
  REQUIRE(Route(f, req, resp).ok());
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(900));
  const auto& d = resp.decision();
  REQUIRE(d.attempts_size() == 2);
  CHECK(d.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_RATE_LIMITED);
  CHECK(d.attempts(1).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);
  CHECK(d.attempts(1).model().model() == "gpt-4o-mini");
  CHECK(d.attempts(1).model().provider() == "openai");
}

TEST_CASE("Route: failures with a status and a reason", "[service][router]") {
  RouterFixture f;
  v1::RouteResponse resp;

  SECTION("every provider fails: UNAVAILABLE providers_unavailable with the decision") {
    grpc::Status s = Route(f, RouteRequestFor("gpt-4o", "hi [[mock:status=503]]"), resp);
    CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
    v1::ErrorInfo info = rpc::ErrorInfoOf(s);
    CHECK(info.reason() == "providers_unavailable");
    const std::string& decision = info.metadata().at("decision");
    auto parsed = json::Value::Parse(decision);
    REQUIRE(parsed.ok());
    const json::Value* attempts = parsed->Find("attempts");
    REQUIRE(attempts != nullptr);
    // 1 + the default 3 extra attempts, each a real call answered 503.
    REQUIRE(attempts->AsArray().size() == 4);
    CHECK(attempts->AsArray()[0].GetString("outcome") == "ATTEMPT_OUTCOME_SERVER_ERROR");
    CHECK(*f.MockStats(f.openai()).GetInt("requests_total") +
              *f.MockStats(f.anthropic()).GetInt("requests_total") ==
          4);
  }
  SECTION("a provider's own 4xx is not failed over: INVALID_ARGUMENT provider_rejected") {
    grpc::Status s = Route(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:status=400]]"), resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(rpc::ErrorInfoOf(s).reason() == "provider_rejected");
    CHECK(f.MockStats(f.anthropic()).GetInt("requests_total") == 0);
  }
  SECTION("unknown model: NOT_FOUND model_not_found") {
    grpc::Status s = Route(f, RouteRequestFor("no-such-model-xyz", "hi"), resp);
    CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(rpc::ErrorInfoOf(s).reason() == "model_not_found");
  }
  SECTION("no messages: INVALID_ARGUMENT invalid_request") {
    v1::RouteRequest req = RouteRequestFor("gpt-4o-mini", "hi");
    req.mutable_chat()->clear_messages();
    grpc::Status s = Route(f, req, resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(rpc::ErrorInfoOf(s).reason() == "invalid_request");
  }
  SECTION("a model of a disabled provider: FAILED_PRECONDITION no_candidate") {
    grpc::Status s = Route(f, RouteRequestFor("groq/llama-3.1-8b-instant", "hi"), resp);
    CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK(rpc::ErrorInfoOf(s).reason() == "no_candidate");
  }
}

TEST_CASE("Route: a request one protocol cannot express goes to a candidate that can",
          "[service][router]") {
  RouterFixture f;
  // Anthropic needs a user turn; OpenAI takes a lone system message.
  v1::RouteRequest req;
  *req.mutable_chat() = Chat("claude-haiku-4-5", "unused");
  req.mutable_chat()->mutable_messages()->RemoveLast();
  v1::RouteResponse resp;
  REQUIRE(Route(f, req, resp).ok());
  const auto& d = resp.decision();
  REQUIRE(d.attempts_size() == 2);
  CHECK(d.attempts(0).model().provider() == "anthropic");
  CHECK(d.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_UNSPECIFIED);
  CHECK(d.attempts(0).error().rfind("not sent: ", 0) == 0);
  CHECK(d.attempts(1).model().provider() == "openai");
  CHECK(d.attempts(1).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);
  CHECK(f.MockStats(f.anthropic()).GetInt("requests_total") == 0);

  SECTION("a request no candidate can express is the caller's error") {
    v1::RouteRequest bad = RouteRequestFor("gpt-4o-mini", "hi");
    bad.mutable_chat()->set_tool_choice_json("{not json");
    grpc::Status s = Route(f, bad, resp);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(rpc::ErrorInfoOf(s).reason() == "invalid_request");
    CHECK(f.MockStats(f.openai()).GetInt("requests_total") == 1);  // only the first request
  }
}

TEST_CASE("Route: concurrent calls", "[service][router]") {
  RouterFixture f;
  const double before =
      f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="success"})");
  constexpr int kThreads = 8, kCalls = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&f, &ok, t] {
      for (int i = 0; i < kCalls; ++i) {
        v1::RouteResponse resp;
        auto ctx = Context();
        const std::string text = "call " + std::to_string(t) + "/" + std::to_string(i);
        if (f.stub().Route(ctx.get(), RouteRequestFor("gpt-4o-mini", text), &resp).ok() &&
            resp.completion().usage().input_tokens() == MockPromptTokens(text)) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == kThreads * kCalls);
  CHECK(f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="success"})") ==
        before + kThreads * kCalls);
  CHECK(f.MockStats(f.openai()).GetInt("requests_total") == kThreads * kCalls);
}

TEST_CASE("ListModels: the catalog with availability", "[service][router]") {
  RouterFixture f;
  auto ctx = Context();
  v1::ListModelsResponse resp;
  REQUIRE(f.stub().ListModels(ctx.get(), v1::ListModelsRequest(), &resp).ok());
  CHECK(resp.catalog_version().rfind("fnv1a64:", 0) == 0);
  CHECK(static_cast<size_t>(resp.models_size()) == f.server().catalog().models().size());
  int available = 0;
  std::set<std::string> providers;
  for (const auto& m : resp.models()) {
    const bool enabled = m.ref().provider() == "openai" || m.ref().provider() == "anthropic";
    CHECK(m.available() == enabled);
    if (m.available()) ++available;
    providers.insert(m.ref().provider());
    if (m.ref().provider() == "openai" && m.ref().model() == "gpt-4o-mini") {
      CHECK(m.prices().input_per_mtok_micro_usd() == kMiniIn);
      CHECK(m.prices().output_per_mtok_micro_usd() == kMiniOut);
      CHECK(m.protocol() == "openai");
    }
  }
  CHECK(available >= 20);
  CHECK(providers.size() >= 6);

  auto ctx2 = Context();
  v1::ListModelsRequest only;
  only.set_provider("anthropic");
  only.add_required_capabilities("tools");
  v1::ListModelsResponse anthropic;
  REQUIRE(f.stub().ListModels(ctx2.get(), only, &anthropic).ok());
  REQUIRE(anthropic.models_size() > 0);
  for (const auto& m : anthropic.models()) {
    CHECK(m.ref().provider() == "anthropic");
    CHECK(m.protocol() == "anthropic");
    CHECK(m.available());
  }
}

TEST_CASE("Quote: one candidate per routing mode, no provider called", "[service][router]") {
  RouterFixture f;
  auto ctx = Context();
  v1::QuoteRequest req;
  *req.mutable_chat() = Chat("", "Summarise the news");
  v1::QuoteResponse resp;
  REQUIRE(f.stub().Quote(ctx.get(), req, &resp).ok());
  REQUIRE(resp.quotes_size() == 4);
  std::set<v1::RoutingMode> modes;
  for (const auto& q : resp.quotes()) {
    modes.insert(q.mode());
    CHECK((q.model().provider() == "openai" || q.model().provider() == "anthropic"));
    CHECK(q.worst_case_micro_usd() > 0);
    CHECK(q.estimated_input_tokens() == openai::EstimatePromptTokens(req.chat()));
    CHECK(q.max_output_tokens() > 0);
  }
  CHECK(modes == std::set<v1::RoutingMode>{v1::ROUTING_MODE_COST, v1::ROUTING_MODE_QUALITY,
                                           v1::ROUTING_MODE_SPEED, v1::ROUTING_MODE_BALANCED});
  CHECK(f.MockStats(f.openai()).GetInt("requests_total") == 0);
  CHECK(f.MockStats(f.anthropic()).GetInt("requests_total") == 0);
}

TEST_CASE("Quote: live latency and errors do not move the prices (x402 offers stay payable)",
          "[service][router]") {
  RouterFixture f;
  v1::QuoteRequest req;
  *req.mutable_chat() = Chat("", "Summarise the news");
  auto quote = [&] {
    auto ctx = Context();
    v1::QuoteResponse resp;
    REQUIRE(f.stub().Quote(ctx.get(), req, &resp).ok());
    return resp.SerializeAsString();
  };
  const std::string before = quote();
  // Live health changes: one model fails (error rate 1), another gets latency samples.
  v1::RouteResponse resp;
  REQUIRE(Route(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:status=500]]"), resp).ok());
  REQUIRE(f.server().health().Get("openai", "gpt-4o").error_rate == 1.0);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(Route(f, RouteRequestFor("gpt-4o-mini", "hi [[mock:openai:latency_ms=40]]"), resp)
                .ok());
  }
  CHECK(quote() == before);
}

}  // namespace
}  // namespace p402::router::testing
