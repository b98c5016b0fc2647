// End-to-end failover (issue 2, items 5 and 10): the first provider answers 500, 429 or does not
// answer before the first token, and the router fails over to the next candidate; after the first
// token it must not, and the stream ends with an explicit error event instead of a silent 200.
// Steered with mock directives in the prompt ([[mock:openai:...]] applies to the openai mock only;
// see tools/mock_provider/controls.h).
//
// The request names gpt-4.1-mini (mid tier) with p402.failover.fallback_providers=["anthropic"];
// route_planner.h orders the candidates: gpt-4.1-mini on openai, then anthropic's same-tier model
// (claude-haiku-4-5, the only mid-tier Anthropic model in the catalog).
#include <chrono>
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"

namespace p402::e2e {
namespace {

constexpr const char* kModel = "gpt-4.1-mini";
constexpr const char* kFallbackModel =
    "claude-haiku-4-5";  // TODO(lead): confirm the planner's pick
constexpr const char* kFailover =
    R"("p402":{"failover":{"enabled":true,"fallback_providers":["anthropic"]}})";

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

struct Counts {
  int64_t openai = 0;
  int64_t anthropic = 0;
};
Counts ProviderCalls(Suite& suite) {
  return {MockRequests(suite, "openai", "/v1/chat/completions"),
          MockRequests(suite, "anthropic", "/v1/messages")};
}

// The metadata of a request that failed over once: first attempt `outcome`/`http_status` on
// openai, then success on anthropic; cost at the anthropic price, direct cost at the price of the
// model the client asked for.
void CheckFailedOverOnce(const json::Value& meta, std::string_view outcome, int http_status) {
  INFO("p402_metadata: " << meta.Serialize());
  CheckMetadata(meta);
  CHECK(meta.GetString("provider") == "anthropic");
  CHECK(meta.GetString("model") == kFallbackModel);
  const json::Array& attempts = meta.Find("attempts")->AsArray();
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[0].GetString("provider") == "openai");
  CHECK(attempts[0].GetString("model") == kModel);
  CHECK(attempts[0].GetString("outcome") == outcome);
  CHECK(attempts[0].GetInt("http_status") == http_status);
  CHECK(attempts[1].GetString("provider") == "anthropic");
  CHECK(attempts[1].GetString("outcome") == "success");
  // TODO(lead): confirm direct_cost = the same tokens at the asked-for model's price.
  int64_t in = meta.GetInt("input_tokens").value_or(-1);
  int64_t out = meta.GetInt("output_tokens").value_or(-1);
  CHECK(meta.GetInt("direct_cost_micro_usd") ==
        ExpectedCostMicros(CatalogPrice("openai", kModel), in, out));
}

void RunFailover(std::string_view directive, std::string_view outcome, int http_status) {
  Suite& suite = SharedSuite();
  Counts before = ProviderCalls(suite);
  double ok_before = EdgeMetric(suite, "p402_edge_chat_completions_total", {{"outcome", "ok"}});
  auto started = std::chrono::steady_clock::now();
  json::Value r =
      suite.RunSdk("chat", ChatBody(kModel, "Say hello. " + std::string(directive), kFailover));
  INFO(r.Serialize());
  REQUIRE(r.GetBool("ok") == true);
  CHECK(r.GetInt("status") == 200);
  // The anthropic mock answered (its reply starts with its name), translated to OpenAI's shape.
  CHECK(StartsWith(r.GetString("content").value_or(""), "anthropic "));
  CHECK(r.Find("response")->GetString("object") == "chat.completion");
  CheckFailedOverOnce(*r.Find("response")->Find("p402_metadata"), outcome, http_status);
  Counts after = ProviderCalls(suite);
  CHECK(after.openai == before.openai + 1);  // one attempt there, no retry on the same provider
  CHECK(after.anthropic == before.anthropic + 1);
  CHECK(AwaitEdgeMetric(suite, "p402_edge_chat_completions_total", {{"outcome", "ok"}},
                        ok_before + 1) == ok_before + 1);
  // Bounded: the timeout case waits for the router's first-token timeout only.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(15));
}

TEST_CASE("failover: the first provider answers 500", "[e2e][failover]") {
  RunFailover("[[mock:openai:status=500]]", "server_error", 500);
}

TEST_CASE("failover: the first provider answers 429", "[e2e][failover]") {
  RunFailover("[[mock:openai:status=429,retry_after=1]]", "rate_limited", 429);
}

TEST_CASE("failover: the first provider times out before the first token", "[e2e][failover]") {
  // The mock never answers; the router's --first_token_timeout (tests/e2e/wiring.cc) fires.
  RunFailover("[[mock:openai:hang]]", "timeout", 0);
}

TEST_CASE("failover: a stream fails over before its first token", "[e2e][failover]") {
  Suite& suite = SharedSuite();
  struct Case {
    const char* directive;
    const char* outcome;
    int http_status;
  };
  for (const Case& c : {Case{"[[mock:openai:status=500]]", "server_error", 500},
                        // Headers (200) arrive at once; the first token never does in time.
                        Case{"[[mock:openai:ttft_ms=30000]]", "timeout", 200}}) {
    INFO(c.directive);
    json::Value r = suite.RunSdk(
        "stream", ChatBody(kModel, std::string("Say hello. ") + c.directive, kFailover));
    INFO(r.Serialize());
    REQUIRE(r.GetBool("ok") == true);
    CHECK(r.GetBool("ended_cleanly") == true);
    // Nothing of the failed attempt leaked into the stream.
    CHECK(StartsWith(r.GetString("content").value_or(""), "anthropic "));
    const json::Value* meta = r.Find("p402_metadata");
    REQUIRE(meta != nullptr);
    CheckFailedOverOnce(*meta, c.outcome, c.http_status);
  }
}

TEST_CASE("failover: a stream cut after the first token ends with an explicit error event",
          "[e2e][failover]") {
  Suite& suite = SharedSuite();
  Counts before = ProviderCalls(suite);
  json::Value r =
      suite.RunSdk("stream", ChatBody(kModel, "Say hello. [[mock:openai:cut_after=3]]", kFailover));
  INFO(r.Serialize());
  CHECK(r.GetInt("status") == 200);  // the stream had started
  CHECK(r.GetBool("ok") == false);   // the SDK threw: the error event, not a silent end
  CHECK(r.GetBool("ended_cleanly") == false);
  CHECK(r.GetString("content") == "openai mock reply");  // what was delivered, nothing more
  // No failover once tokens were delivered.
  CHECK(ProviderCalls(suite).anthropic == before.anthropic);
  const json::Value* err = r.Find("error");
  REQUIRE(err != nullptr);
  // TODO(lead): confirm type/code of the stream error event (chat_pipeline.cc).
  CHECK(err->GetString("type") == "server_error");
  CHECK(err->GetString("code") == "stream_interrupted");
  // Only the delivered tokens are billed, disclosed on the error event.
  const json::Value* event = r.Find("error_event");
  REQUIRE(event != nullptr);
  const json::Value* meta = event->Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CheckMetadata(*meta);
  CHECK(meta->GetString("provider") == "openai");
  // The mock reports no usage for a cut stream, so the router estimates the delivered tokens
  // (3 words, 17 bytes) with the documented upper-biased estimator and says so.
  CHECK(meta->GetBool("cost_estimated") == true);
  CHECK(meta->GetInt("output_tokens") >= 3);
  CHECK(meta->GetInt("output_tokens") <= 8);
}

TEST_CASE("failover: when every candidate fails the client gets an OpenAI error",
          "[e2e][failover]") {
  Suite& suite = SharedSuite();
  // No provider named: both mocks answer 503.
  json::Value r =
      suite.RunSdk("error", ChatBody(kModel, "Say hello. [[mock:status=503]]", kFailover));
  INFO(r.Serialize());
  CHECK(r.GetBool("ok") == false);
  // TODO(lead): confirm the status (Unavailable -> 503 per HOUSE_STYLE 3.7) and the code.
  CHECK(r.GetInt("status") == 503);
  const json::Value* err = r.Find("error");
  REQUIRE(err != nullptr);
  CHECK(err->GetString("type") == "server_error");
  CHECK(!err->GetString("message").value_or("").empty());
  // Upstream details (addresses, provider bodies) do not leak to the client.
  CHECK(err->GetString("message").value_or("").find("127.0.0.1") == std::string::npos);
}

}  // namespace
}  // namespace p402::e2e
