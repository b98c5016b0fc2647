// End-to-end bad inputs (issue 2, items 4 and 10): every one gets the right HTTP status and an
// OpenAI-shaped error body, nothing reaches a provider, no service crashes, and the edge counts
// them. Raw HTTP for what an SDK cannot send (malformed JSON, a missing Authorization header, an
// oversized body); the official SDK for the rest, so its error objects are checked too.
// Codes follow libs/openai/chat_request.h and services/edge/core/chat_pipeline.cc.
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"

namespace p402::e2e {
namespace {

constexpr const char* kModel = "gpt-4o-mini";
constexpr const char* kChatPath = "/v1/chat/completions";

// Provider calls of both mocks: must not move while bad inputs are answered.
int64_t ProviderCalls(Suite& suite) {
  return MockRequestsTotal(suite, "openai") + MockRequestsTotal(suite, "anthropic");
}

// Raw POST to the edge with auth; CHECKs status and error body.
void ExpectRawError(Suite& suite, const std::string& body, int status, std::string_view type,
                    std::string_view code, std::optional<std::string_view> param = std::nullopt) {
  HttpResult r = suite.EdgePost(kChatPath, body);
  INFO("request: " << body.substr(0, 200) << "\nresponse: " << r.status << " " << r.body);
  CHECK(r.status == status);
  CHECK(r.headers.Get("content-type").value_or("").find("application/json") == 0);
  CheckOpenAiError(r.Json(), type, code, param);
}

// Through the SDK (scenario "error"); CHECKs the APIError the SDK raised.
void ExpectSdkError(Suite& suite, const std::string& body, int status, std::string_view type,
                    std::string_view code, std::optional<std::string_view> param = std::nullopt,
                    const SdkOptions& options = {}) {
  json::Value r = suite.RunSdk("error", body, options);
  INFO("request: " << body << "\nresult: " << r.Serialize());
  CHECK(r.GetBool("ok") == false);
  CHECK(r.GetInt("status") == status);
  const json::Value* err = r.Find("error");
  REQUIRE(err != nullptr);
  CHECK(err->GetInt("status") == status);
  CHECK(err->GetString("type") == type);
  CHECK(err->GetString("code") == code);
  if (param.has_value()) {
    CHECK(err->GetString("param") == *param);
  }
  // The body the SDK parsed is the OpenAI shape.
  auto raw = json::Value::Parse(r.GetString("raw").value_or(""));
  REQUIRE(raw.ok());
  CheckOpenAiError(*raw, type, code, param);
}

TEST_CASE("bad input: malformed JSON, wrong types, missing or empty messages", "[e2e]") {
  Suite& suite = SharedSuite();
  const std::map<std::string, std::string> bad400{{"route", "chat"}, {"code", "400"}};
  double count_before = EdgeMetric(suite, "p402_edge_requests_total", bad400);
  double bad_before =
      EdgeMetric(suite, "p402_edge_chat_completions_total", {{"outcome", "bad_request"}});
  int64_t calls_before = ProviderCalls(suite);

  // Raw: 5 requests.
  ExpectRawError(suite, R"({"model":"gpt-4o-mini","messages":[)", 400, "invalid_request_error",
                 "invalid_json");
  ExpectRawError(suite, "not json at all", 400, "invalid_request_error", "invalid_json");
  ExpectRawError(suite, "", 400, "invalid_request_error", "invalid_json");
  ExpectRawError(suite, R"({"model":"gpt-4o-mini","messages":"hello"})", 400,
                 "invalid_request_error", "invalid_type", "messages");
  ExpectRawError(suite, R"([1,2,3])", 400, "invalid_request_error", "invalid_type");
  // SDK: 6 requests.
  ExpectSdkError(suite, R"({"model":"gpt-4o-mini"})", 400, "invalid_request_error",
                 "missing_required_parameter", "messages");
  ExpectSdkError(suite, R"({"model":"gpt-4o-mini","messages":[]})", 400, "invalid_request_error",
                 "empty_array", "messages");
  ExpectSdkError(suite, R"({"model":42,"messages":[{"role":"user","content":"hi"}]})", 400,
                 "invalid_request_error", "invalid_type", "model");
  ExpectSdkError(suite, ChatBody(kModel, "hi", R"("temperature":"hot")"), 400,
                 "invalid_request_error", "invalid_type", "temperature");
  ExpectSdkError(suite, ChatBody(kModel, "hi", R"("temperature":3)"), 400, "invalid_request_error",
                 "decimal_above_max_value", "temperature");
  // TODO(lead): confirm the param path format for nested fields ("messages[0].role").
  ExpectSdkError(suite, R"({"model":"gpt-4o-mini","messages":[{"role":"wizard","content":"x"}]})",
                 400, "invalid_request_error", "invalid_value");

  CHECK(ProviderCalls(suite) == calls_before);  // nothing invalid reaches a provider
  CHECK(AwaitEdgeMetric(suite, "p402_edge_requests_total", bad400, count_before + 11) ==
        count_before + 11);
  CHECK(AwaitEdgeMetric(suite, "p402_edge_chat_completions_total", {{"outcome", "bad_request"}},
                        bad_before + 11) == bad_before + 11);
  suite.RequireAllAlive();
}

TEST_CASE("bad input: unknown model is 404 model_not_found", "[e2e]") {
  Suite& suite = SharedSuite();
  int64_t calls_before = ProviderCalls(suite);
  ExpectSdkError(suite, ChatBody("no-such-model-xyz", "hi"), 404, "invalid_request_error",
                 "model_not_found", "model");
  // A provider-qualified id for a provider that does not serve it.
  ExpectSdkError(suite, ChatBody("anthropic/gpt-4o-mini", "hi"), 404, "invalid_request_error",
                 "model_not_found", "model");
  CHECK(ProviderCalls(suite) == calls_before);
}

TEST_CASE("bad input: a body over the limit is 413", "[e2e]") {
  Suite& suite = SharedSuite();
  int64_t calls_before = ProviderCalls(suite);
  // Edge default --body_limit_bytes is 4 MiB (services/edge/edge_config.cc).
  std::string huge = ChatBody(kModel, std::string(4 * 1024 * 1024 + 1, 'a'));
  HttpResult r = suite.EdgePost(kChatPath, huge);
  INFO(r.status << " " << r.body);
  CHECK(r.status == 413);
  CheckOpenAiError(r.Json(), "invalid_request_error", "body_too_large");
  CHECK(ProviderCalls(suite) == calls_before);
  // The edge still serves afterwards.
  CHECK(suite.RunSdk("chat", ChatBody(kModel, "hi")).GetInt("status") == 200);
}

TEST_CASE("bad auth: malformed and unknown API keys are 401; no key at all is 402", "[e2e]") {
  Suite& suite = SharedSuite();
  int64_t calls_before = ProviderCalls(suite);
  const std::map<std::string, std::string> code401{{"route", "chat"}, {"code", "401"}};
  double before = EdgeMetric(suite, "p402_edge_requests_total", code401);
  std::string body = ChatBody(kModel, "hi");

  // The suite runs with x402 on (settlement has a recipient): no credential at all is an offer
  // to pay per call (x402_e2e_test.cc covers the offers and the payment).
  HttpResult none =
      suite.HttpPost(suite.EdgeUrl(kChatPath), body, {{"Content-Type", "application/json"}});
  INFO(none.body);
  CHECK(none.status == 402);
  CHECK(none.Json().Find("error")->GetString("code") == "payment_required");
  CHECK(none.headers.Get("payment-required").has_value());

  HttpResult basic = suite.HttpPost(
      suite.EdgeUrl(kChatPath), body,
      {{"Content-Type", "application/json"}, {"Authorization", "Basic dXNlcjpwYXNz"}});
  INFO(basic.body);
  CHECK(basic.status == 401);
  CheckOpenAiError(basic.Json(), "authentication_error", "missing_api_key");

  SdkOptions wrong;
  wrong.api_key = "sk-p402-e2e-0000000000000000deadbeef";
  ExpectSdkError(suite, body, 401, "authentication_error", "invalid_api_key", std::nullopt, wrong);

  // A prefix of the real key is not the key (keys are compared as whole SHA-256 hashes).
  SdkOptions prefix;
  prefix.api_key = suite.api_key().substr(0, suite.api_key().size() - 1);
  ExpectSdkError(suite, body, 401, "authentication_error", "invalid_api_key", std::nullopt, prefix);

  CHECK(ProviderCalls(suite) == calls_before);
  CHECK(AwaitEdgeMetric(suite, "p402_edge_requests_total", code401, before + 4) == before + 4);
}

TEST_CASE("bad input: wrong method and unknown path", "[e2e]") {
  Suite& suite = SharedSuite();
  HttpResult get = suite.HttpGet(suite.EdgeUrl(kChatPath), suite.AuthHeaders());
  INFO(get.body);
  CHECK(get.status == 405);
  CheckOpenAiError(get.Json(), "invalid_request_error", "method_not_allowed");

  HttpResult unknown = suite.HttpGet(suite.EdgeUrl("/v1/nope"), suite.AuthHeaders());
  INFO(unknown.body);
  CHECK(unknown.status == 404);
  CheckOpenAiError(unknown.Json(), "invalid_request_error", "unknown_url");
  suite.RequireAllAlive();
}

TEST_CASE("fault: with the policy service gone the edge fails closed", "[e2e]") {
  Suite suite;  // its own: this one loses a service
  REQUIRE(suite.RunSdk("chat", ChatBody(kModel, "hi")).GetInt("status") == 200);
  int64_t calls_before = ProviderCalls(suite);
  double denied_before = EdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total");
  suite.Kill("policy");
  ExpectSdkError(suite, ChatBody(kModel, "hi"), 503, "server_error", "guard_unavailable");
  CHECK(ProviderCalls(suite) == calls_before);  // no decision, no spend
  CHECK(AwaitEdgeMetric(suite, "p402_edge_policy_failure_mode_denied_total", {},
                        denied_before + 1) == denied_before + 1);
  suite.RequireAllAlive();  // the edge itself survives
}

}  // namespace
}  // namespace p402::e2e
