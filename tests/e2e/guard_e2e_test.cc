// The billing guard end to end (issue 3): budgets that cannot be overspent under concurrency,
// with two policy processes sharing PostgreSQL, driven by the official openai SDK.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <map>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/sdk_runner.h"

namespace p402::e2e {
namespace {

// Management API call on edge `replica` with the suite's admin key; REQUIREs `want` status.
json::Value Manage(Suite& suite, const std::string& method, const std::string& path,
                   const std::string& body, int want, int replica = 0) {
  HttpResult r = suite.Http(method, suite.EdgeUrl(path, replica), body, suite.AuthHeaders());
  INFO(method << " " << path << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == want);
  return r.Json();
}

int64_t UsdField(const json::Value& obj, std::string_view key) {
  std::optional<std::string_view> text = obj.GetString(key);
  INFO("member " << key << " of " << obj.Serialize());
  REQUIRE(text.has_value());
  std::optional<MicroUsd> micros = ParseUsd(*text);
  REQUIRE(micros.has_value());
  return *micros;
}

// The mock's prompt-token rule (tools/mock_provider/README.md): per message 4 + ceil(bytes / 4).
int64_t MockPromptTokens(const std::string& content) {
  return 4 + static_cast<int64_t>((content.size() + 3) / 4);
}

}  // namespace

TEST_CASE("64 concurrent streams never overspend a session (two policy replicas, PostgreSQL)",
          "[e2e][guard]") {
  SuiteOptions options;
  options.replicas = 2;
  Suite suite(options);

  constexpr int64_t kMaxTokens = 300;
  const std::string content = "Count slowly. [[mock:tokens=300,token_delay_ms=4]]";
  const ModelPrice price = CatalogPrice("openai", "gpt-4o-mini");
  // What one request can cost at most, as the mock will bill it: its prompt plus max_tokens.
  const int64_t worst_case = ExpectedCostMicros(price, MockPromptTokens(content), kMaxTokens);
  const int64_t budget = 10 * worst_case + worst_case / 2;  // about 10 requests' worth

  // Up to 64 requests of this tenant in flight at once: the session budget is what must hold.
  Manage(suite, "PATCH", "/v2/tenant", R"({"limits":{"max_concurrent":100}})", 200);
  json::Value created =
      Manage(suite, "POST", "/v2/sessions",
             R"({"agent_id":"e2e-agent","budget_usd":")" + FormatUsd(budget) +
                 R"(","duration":"1h"})",
             201);
  const std::string session_id(created.GetString("id").value_or(""));
  const std::string token(created.GetString("token").value_or(""));
  REQUIRE(!session_id.empty());
  REQUIRE(token.rfind("sk-p402-sess-", 0) == 0);

  json::Value body = json::Value::EmptyObject();
  body.Set("model", "gpt-4o-mini");
  body.Set("max_tokens", kMaxTokens);
  json::Value& messages = body.Set("messages", json::Value::EmptyArray());
  json::Value& message = messages.Push(json::Value::EmptyObject());
  message.Set("role", "user");
  message.Set("content", content);

  auto run = RunNodeScript(
      "concurrent_streams.mjs",
      {"--base-urls", suite.EdgeUrl("/v1", 0) + "," + suite.EdgeUrl("/v1", 1), "--api-key", token,
       "--count", "64", "--body", body.Serialize(), "--timeout-ms", "60000"},
      suite.work_dir(), std::chrono::seconds(60));
  REQUIRE(run.ok());
  const json::Value* results = run->Find("results");
  REQUIRE(results != nullptr);
  REQUIRE(results->AsArray().size() == 64);

  int completed = 0, denied = 0, exhausted = 0;
  int64_t charged_total = 0;
  for (const json::Value& r : results->AsArray()) {
    INFO("request " << r.Serialize().substr(0, 2000));
    const json::Value* error = r.Find("error");
    const json::Value* error_event = r.Find("error_event");
    if (r.GetBool("ok").value_or(false)) {
      // Completed: every token it was billed for was delivered.
      ++completed;
      CHECK(r.GetBool("done_seen").value_or(false));
      const json::Value* meta = r.Find("p402_metadata");
      REQUIRE(meta != nullptr);
      CheckMetadata(*meta);
      CHECK(meta->GetInt("output_tokens") == r.GetInt("content_chunks"));
      charged_total += meta->GetInt("cost_micro_usd").value_or(-1);
    } else if (error_event != nullptr && !error_event->is_null()) {
      // Cut at the ceiling: an explicit budget_exhausted event, billed for what was delivered.
      ++exhausted;
      const json::Value* err = error_event->Find("error");
      REQUIRE(err != nullptr);
      CHECK(err->GetString("code") == "budget_exhausted");
      const json::Value* meta = error_event->Find("p402_metadata");
      REQUIRE(meta != nullptr);
      CheckMetadata(*meta);
      // Billed by the documented estimator (libs/openai token_estimate.h, ASCII: ceil(bytes/3))
      // over exactly the text delivered, never above the max_tokens the provider was sent.
      const int64_t delivered = (r.GetInt("content_chars").value_or(0) + 2) / 3;
      CHECK(meta->GetInt("output_tokens") == std::min(delivered, kMaxTokens));
      charged_total += meta->GetInt("cost_micro_usd").value_or(-1);
    } else {
      // Denied up front: 402 with the guard's code, nothing streamed, nothing charged.
      ++denied;
      REQUIRE(error != nullptr);
      CHECK(r.GetInt("status") == 402);
      CHECK(error->GetString("code") == "session_budget_exhausted");
      CHECK(r.GetInt("content_chunks") == 0);
    }
  }
  WARN("64 streams: completed " << completed << ", denied " << denied << ", budget_exhausted "
                                << exhausted << ", charged " << charged_total << " of "
                                << budget << " micro-USD");
  CHECK(completed + denied + exhausted == 64);
  CHECK(completed + exhausted >= 5);  // the budget covers about 10
  CHECK(denied >= 40);

  // Commits leave the response path; wait until nothing is held any more.
  json::Value session;
  for (int i = 0; i < 100; ++i) {
    session = Manage(suite, "GET", "/v2/sessions/" + session_id, "", 200, i % 2);
    if (UsdField(session, "reserved_usd") == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(UsdField(session, "reserved_usd") == 0);
  const int64_t spent = UsdField(session, "spent_usd");
  CHECK(spent <= budget);
  // Exactly what the clients were told they were charged, to the micro-dollar.
  CHECK(spent == charged_total);
  WARN("session spent " << spent << " micro-USD of " << budget);
  CHECK(UsdField(session, "budget_usd") == budget);
  suite.RequireAllAlive();
}

}  // namespace p402::e2e
