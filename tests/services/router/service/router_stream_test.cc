// Router service, StreamRoute: decision at the first token, deltas, exactly one end; invisible
// failover before the first token; stream_interrupted, budget_exhausted; client cancel.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/openai/token_estimate.h"
#include "libs/rpc/status_convert.h"
#include "services/router/core/route_planner.h"
#include "tests/services/router/service/router_test_env.h"

namespace p402::router::testing {
namespace {

struct Collected {
  std::vector<v1::StreamRouteResponse> events;
  std::string text;
  int deltas = 0;
  int decisions = 0;
  int ends = 0;
  bool end_is_last = false;
  grpc::Status status;

  const v1::StreamEnd& end() const { return events.back().end(); }
};

Collected ReadAll(RouterFixture& f, const v1::RouteRequest& req) {
  auto ctx = Context();
  auto reader = f.stub().StreamRoute(ctx.get(), req);
  Collected c;
  v1::StreamRouteResponse ev;
  while (reader->Read(&ev)) {
    if (ev.has_decision()) ++c.decisions;
    if (ev.has_delta()) {
      ++c.deltas;
      c.text += ev.delta().content();
    }
    if (ev.has_end()) ++c.ends;
    c.events.push_back(std::move(ev));
  }
  c.status = reader->Finish();
  c.end_is_last = !c.events.empty() && c.events.back().has_end();
  return c;
}

TEST_CASE("StreamRoute: decision, deltas, one end with provider usage", "[service][router]") {
  RouterFixture f;
  const std::string text = "Stream please [[mock:tokens=20]]";
  Collected c = ReadAll(f, RouteRequestFor("gpt-4o-mini", text));
  REQUIRE(c.status.ok());
  REQUIRE(c.events.size() >= 3);
  REQUIRE(c.events.front().has_decision());
  CHECK(c.decisions == 1);
  CHECK(c.ends == 1);
  REQUIRE(c.end_is_last);
  CHECK(c.text == MockReply("openai", 20));
  const auto& decision = c.events.front().decision();
  CHECK(decision.chosen().model() == "gpt-4o-mini");
  REQUIRE(decision.attempts_size() == 1);
  CHECK(decision.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);

  const v1::StreamEnd& end = c.end();
  CHECK_FALSE(end.has_error());
  const int64_t prompt = MockPromptTokens(text);
  CHECK(end.usage().input_tokens() == prompt);
  CHECK(end.usage().output_tokens() == 20);
  CHECK_FALSE(end.usage().estimated());
  CHECK(end.cost().total_micro_usd() == TokenCost(prompt, 150'000) + TokenCost(20, 600'000));
  CHECK(end.completion_id().rfind("chatcmpl-", 0) == 0);
  CHECK(end.model() == "gpt-4o-mini");
  CHECK(end.created() > 0);
  REQUIRE(end.decision().attempts_size() == 1);
  CHECK(end.decision().attempts(0).outcome() == v1::ATTEMPT_OUTCOME_SUCCESS);
  // The last delta carries the finish reason.
  bool finish_seen = false;
  for (const auto& ev : c.events) {
    if (ev.has_delta() && ev.delta().finish_reason() == "stop") finish_seen = true;
  }
  CHECK(finish_seen);
  CHECK(f.MockStats(f.openai()).GetInt("streams_total") == 1);
}

TEST_CASE("StreamRoute: Anthropic stream", "[service][router]") {
  RouterFixture f;
  Collected c = ReadAll(f, RouteRequestFor("claude-haiku-4-5", "Say hello"));
  REQUIRE(c.status.ok());
  CHECK(c.text == MockReply("anthropic", 12));
  REQUIRE(c.end_is_last);
  CHECK(c.end().usage().input_tokens() == 15);
  CHECK(c.end().usage().output_tokens() == 12);
  CHECK(c.end().cost().total_micro_usd() == 15 + 60);
}

TEST_CASE("StreamRoute: failover before the first token is invisible", "[service][router]") {
  RouterFixture f;
  Collected c = ReadAll(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:status=503]]"));
  REQUIRE(c.status.ok());
  REQUIRE(c.events.front().has_decision());
  const auto& d = c.events.front().decision();
  REQUIRE(d.attempts_size() == 2);
  CHECK(d.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_SERVER_ERROR);
  CHECK(d.attempts(1).model().provider() == "anthropic");
  CHECK(c.text.rfind("anthropic mock", 0) == 0);
  CHECK_FALSE(c.end().has_error());
}

TEST_CASE("StreamRoute: no first token in time fails over", "[service][router]") {
  // The openai mock sends its headers at once but its first chunk only after 30 s.
  RouterFixture f({.first_token_timeout = std::chrono::milliseconds(300)});
  auto start = std::chrono::steady_clock::now();
  Collected c = ReadAll(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:ttft_ms=30000]]"));
  REQUIRE(c.status.ok());
  const auto& d = c.events.front().decision();
  REQUIRE(d.attempts_size() == 2);
  CHECK(d.attempts(0).outcome() == v1::ATTEMPT_OUTCOME_TIMEOUT);
  CHECK(d.attempts(0).http_status() == 200);
  CHECK(d.attempts(1).model().provider() == "anthropic");
  CHECK(c.text.rfind("anthropic mock", 0) == 0);
  CHECK_FALSE(c.end().has_error());
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("StreamRoute: a cut after the first token ends with stream_interrupted",
          "[service][router]") {
  RouterFixture f;
  Collected c = ReadAll(f, RouteRequestFor("gpt-4o", "hi [[mock:openai:cut_after=3,tokens=20]]"));
  REQUIRE(c.status.ok());
  CHECK(c.ends == 1);
  REQUIRE(c.end_is_last);
  CHECK(c.text == MockReply("openai", 3));
  const v1::StreamEnd& end = c.end();
  REQUIRE(end.has_error());
  CHECK(end.error().reason() == "stream_interrupted");
  REQUIRE(end.decision().attempts_size() == 1);  // never failed over after the first token
  CHECK(end.decision().attempts(0).outcome() == v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED);
  CHECK(end.usage().estimated());
  CHECK(end.usage().output_tokens() == openai::EstimateTextTokens(MockReply("openai", 3)));
  CHECK(end.cost().estimated());
  CHECK(end.cost().total_micro_usd() > 0);
  CHECK(f.MockStats(f.anthropic()).GetInt("requests_total") == 0);
  CHECK(f.Metric(R"(p402_router_stream_ends_total{reason="stream_interrupted"})") >= 1);
}

TEST_CASE("StreamRoute: the spend limit ends the stream with budget_exhausted",
          "[service][router]") {
  RouterFixture f;
  v1::RouteRequest req = RouteRequestFor("gpt-4o-mini", "Long answer [[mock:tokens=20000]]");
  // The reservation the edge would make: worst case on the model (input estimate + output limit).
  const ModelEntry* model = f.server().catalog().FindModel("openai", "gpt-4o-mini");
  REQUIRE(model != nullptr);
  const MicroUsd limit =
      WorstCaseCost(*model, openai::EstimatePromptTokens(req.chat()), std::nullopt);
  req.set_spend_limit_micro_usd(limit);
  Collected c = ReadAll(f, req);
  REQUIRE(c.status.ok());
  REQUIRE(c.end_is_last);
  const v1::StreamEnd& end = c.end();
  REQUIRE(end.has_error());
  CHECK(end.error().reason() == "budget_exhausted");
  CHECK(end.cost().total_micro_usd() <= limit);
  CHECK(end.cost().total_micro_usd() > limit - 10);  // stopped at the limit, not far before
  CHECK(end.usage().estimated());
  CHECK(end.decision().attempts(0).outcome() == v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED);
  // Delivered up to the limit: the model's whole output bound (16384 tokens) was affordable, the
  // provider was told nothing and kept going, the router stopped it. The text the client got is
  // what was billed (the estimator counts it in 256-byte blocks).
  const int64_t out = end.usage().output_tokens();
  CHECK(out > 16'300);
  CHECK(out <= model->max_output + 1);
  const int64_t text_tokens = openai::EstimateTextTokens(c.text);
  CHECK(text_tokens <= out);
  CHECK(text_tokens >= out - static_cast<int64_t>(c.text.size() / 256) - 1);
  CHECK(c.text.size() < MockReply("openai", 20000).size());
  CHECK(WaitFor([&] { return f.Metric("p402_router_provider_calls_in_flight") == 0; }));
}

TEST_CASE("StreamRoute: a client cancel stops the provider call", "[service][router]") {
  RouterFixture f;
  const double cancelled =
      f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="cancelled"})");
  // 2000 words, 20 ms apart: 40 s unless cancelled.
  v1::RouteRequest req =
      RouteRequestFor("gpt-4o-mini", "hi [[mock:tokens=2000,token_delay_ms=20]]");
  auto ctx = Context();
  auto reader = f.stub().StreamRoute(ctx.get(), req);
  v1::StreamRouteResponse ev;
  int deltas = 0;
  while (deltas < 3 && reader->Read(&ev)) {
    if (ev.has_delta()) ++deltas;
  }
  REQUIRE(deltas == 3);
  CHECK(f.Metric("p402_router_provider_calls_in_flight") == 1);
  auto start = std::chrono::steady_clock::now();
  ctx->TryCancel();
  while (reader->Read(&ev)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
  // The router saw the cancel and closed the provider connection: the HTTP call completed.
  CHECK(WaitFor([&] {
    return f.Metric("p402_router_provider_calls_in_flight") == 0 &&
           f.Metric(R"(p402_router_attempts_total{provider="openai",outcome="cancelled"})") ==
               cancelled + 1;
  }));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("StreamRoute: the caller's deadline stops a stream past its first token",
          "[service][router]") {
  RouterFixture f;
  // 200 words, 20 ms apart (4 s), under a 1 s deadline.
  auto ctx = Context(std::chrono::milliseconds(1000));
  auto reader = f.stub().StreamRoute(
      ctx.get(), RouteRequestFor("gpt-4o-mini", "hi [[mock:tokens=200,token_delay_ms=20]]"));
  auto start = std::chrono::steady_clock::now();
  v1::StreamRouteResponse ev;
  std::optional<v1::StreamEnd> end;
  int deltas = 0;
  while (reader->Read(&ev)) {
    if (ev.has_delta()) ++deltas;
    if (ev.has_end()) end = ev.end();
  }
  grpc::Status status = reader->Finish();
  CHECK(deltas > 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(2500));
  // The router's own deadline (25 ms before the caller's) normally ends the stream first;
  // under heavy load the caller's deadline may win.
  if (end) {
    REQUIRE(end->has_error());
    CHECK(end->error().reason() == "deadline_exceeded");
    CHECK(end->decision().attempts(0).outcome() == v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED);
    CHECK(status.ok());
  } else {
    CHECK(status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  CHECK(WaitFor([&] { return f.Metric("p402_router_provider_calls_in_flight") == 0; }));
}

TEST_CASE("StreamRoute: errors before the first token are statuses", "[service][router]") {
  RouterFixture f;
  Collected c = ReadAll(f, RouteRequestFor("no-such-model-xyz", "hi"));
  CHECK(c.status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(rpc::ErrorInfoOf(c.status).reason() == "model_not_found");
  CHECK(c.events.empty());

  Collected all_down = ReadAll(f, RouteRequestFor("gpt-4o", "hi [[mock:status=500]]"));
  CHECK(all_down.status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(rpc::ErrorInfoOf(all_down.status).reason() == "providers_unavailable");
  CHECK(all_down.events.empty());
}

}  // namespace
}  // namespace p402::router::testing
