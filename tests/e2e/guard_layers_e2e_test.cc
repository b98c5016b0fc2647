// The billing guard's layers end to end (issue 3), each over its own real policy, router, edge
// and mock processes (a Suite per test: every test changes its tenant's limits or policies):
//   - an agent session revoked while its stream runs: cut with an SSE error event, billed the
//     delivered estimate, the token dead afterwards (official openai SDK,
//     node/stream_then_request.mjs);
//   - requests_per_hour (429 rate_limited + retry headers), a spending policy (402 deny, 429
//     throttle), a total-spend kill switch (403, tenant paused until resumed), the per-request
//     cap (402, or max_tokens lowered when the client allows it);
//   - p402ctl, the built binary, against the real edge.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"
#include "tests/e2e/sdk_runner.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace p402::e2e {
namespace {

constexpr char kModel[] = "gpt-4o-mini";
constexpr char kChatPath[] = "/v1/chat/completions";

http::Headers Bearer(const std::string& key) {
  return http::Headers{{"authorization", "Bearer " + key}, {"content-type", "application/json"}};
}

// A management call with the suite's admin key; REQUIREs `want` and returns the JSON body.
json::Value Manage(Suite& suite, const std::string& method, const std::string& path,
                   const std::string& body, int want) {
  HttpResult r = suite.Http(method, suite.EdgeUrl(path), body, suite.AuthHeaders());
  INFO(method << " " << path << " " << body << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == want);
  return r.Json();
}

HttpResult Chat(Suite& suite, const std::string& key, const std::string& body) {
  return suite.Http("POST", suite.EdgeUrl(kChatPath), body, Bearer(key));
}

// A USD string member ("0.000062") as micro-USD; REQUIREs it.
int64_t UsdField(const json::Value& obj, std::string_view key) {
  std::optional<std::string_view> text = obj.GetString(key);
  INFO("member " << key << " of " << obj.Serialize());
  REQUIRE(text.has_value());
  std::optional<MicroUsd> micros = ParseUsd(*text);
  REQUIRE(micros.has_value());
  return *micros;
}

const json::Value& Member(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.Find(key);
  INFO("member " << key << " of " << obj.Serialize().substr(0, 3000));
  REQUIRE(v != nullptr);
  return *v;
}

// The edge's prompt estimate (libs/openai/token_estimate.h) of one ASCII user message: 3 reply
// priming + 4 per message + ceil(bytes / 3). The guard's worst case and a cut stream's bill use it.
int64_t EdgePromptEstimate(const std::string& content) {
  return 3 + 4 + static_cast<int64_t>((content.size() + 2) / 3);
}

// Polls `path` (a session or the tenant) until its reserved_usd is 0: the edge commits after
// the response is sent, so counters settle a moment later. Returns the last object read.
json::Value AwaitSettled(Suite& suite, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  json::Value obj = Manage(suite, "GET", path, "", 200);
  while (UsdField(obj, "reserved_usd") != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    obj = Manage(suite, "GET", path, "", 200);
  }
  INFO(path << " never settled: " << obj.Serialize());
  REQUIRE(UsdField(obj, "reserved_usd") == 0);
  return obj;
}

// The p402_metadata of a 200 chat completion body.
json::Value MetadataOf(const HttpResult& r) {
  json::Value body = r.Json();
  return Member(body, "p402_metadata");
}

// Parses a header (or SDK-reported header) value as a whole number; nullopt if absent/not one.
std::optional<int64_t> WholeNumber(std::optional<std::string_view> text) {
  if (!text.has_value() || text->empty() ||
      text->find_first_not_of("0123456789") != std::string_view::npos || text->size() > 15) {
    return std::nullopt;
  }
  return std::strtoll(std::string(*text).c_str(), nullptr, 10);
}

// CHECKs a 429's retry hints: retry-after-ms in [1, max_ms], retry-after its whole seconds
// rounded up. Returns retry-after-ms (0 when missing).
int64_t CheckRetryHints(std::optional<std::string_view> retry_after,
                        std::optional<std::string_view> retry_after_ms, int64_t max_ms) {
  INFO("retry-after: " << retry_after.value_or("(absent)")
                       << ", retry-after-ms: " << retry_after_ms.value_or("(absent)"));
  std::optional<int64_t> seconds = WholeNumber(retry_after);
  std::optional<int64_t> ms = WholeNumber(retry_after_ms);
  REQUIRE(seconds.has_value());
  REQUIRE(ms.has_value());
  CHECK(*ms > 0);
  CHECK(*ms <= max_ms);
  CHECK(*seconds > 0);
  CHECK(*seconds == (*ms + 999) / 1000);
  return *ms;
}

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CtlResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs the built p402ctl with `args` against the suite's edge (--url), P402_ADMIN_KEY set to the
// suite's admin key unless `admin_key` says otherwise (nullopt = unset). Bounded: 20 s.
CtlResult RunCtl(Suite& suite, std::vector<std::string> args,
                 std::optional<std::string> admin_key = std::string("<suite>")) {
  static int counter = 0;
  const std::string stem = suite.work_dir() + "/p402ctl-" + std::to_string(counter++);
  testing::ProcessOptions o;
  o.name = "p402ctl";
  o.path = testing::BuildDir() + "/tools/p402ctl/p402ctl";
  o.args = {"--url", suite.EdgeUrl()};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.log_path = stem + ".stderr";
  o.stdout_path = stem + ".stdout";
  o.unset_env = {"P402_ADMIN_KEY", "P402_ADMIN_KEY_FILE", "P402_URL", "HTTP_PROXY", "http_proxy"};
  if (admin_key.has_value()) {
    o.env = {{"P402_ADMIN_KEY", *admin_key == "<suite>" ? suite.api_key() : *admin_key}};
  }
  auto spawned = testing::Process::Spawn(std::move(o));
  INFO("p402ctl must be built (tools/p402ctl)");
  REQUIRE(spawned.ok());
  testing::Process& p = **spawned;
  if (!p.WaitForExit(std::chrono::seconds(20))) {
    p.Kill();
    FAIL("p402ctl did not finish in 20 s: " << p.CommandLine());
  }
  CtlResult r;
  r.exit_code = p.exit_code().value_or(-1);
  r.out = Slurp(stem + ".stdout");
  r.err = Slurp(stem + ".stderr");
  return r;
}

// The value of row `key` of p402ctl's key/value block ("key   value"); "" when absent.
std::string RowValue(const std::string& text, std::string_view key) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ' ') {
      size_t start = line.find_first_not_of(' ', key.size());
      return start == std::string::npos ? "" : line.substr(start);
    }
  }
  return "";
}

// The line of `text` that contains `needle` ("" when none).
std::string LineWith(const std::string& text, std::string_view needle) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return "";
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

TEST_CASE("an agent session revoked mid-stream is cut at once and billed what was delivered",
          "[e2e][guard]") {
  Suite suite;
  json::Value created =
      Manage(suite, "POST", "/v2/sessions",
             R"({"agent_id":"e2e-revoke","budget_usd":"1","duration":"1h"})", 201);
  const std::string session_id(created.GetString("id").value_or(""));
  const std::string token(created.GetString("token").value_or(""));
  REQUIRE(!session_id.empty());
  REQUIRE(token.rfind("sk-p402-sess-", 0) == 0);
  const std::string session_url = suite.EdgeUrl("/v2/sessions/" + session_id);

  // 400 tokens, 20 ms apart: 8 s if nothing stops it.
  const std::string content = "Tell a long story. [[mock:tokens=400,token_delay_ms=20]]";
  json::Value body = json::Value::EmptyObject();
  body.Set("model", kModel);
  body.Set("max_tokens", 400);
  json::Value& messages = body.Set("messages", json::Value::EmptyArray());
  json::Value& message = messages.Push(json::Value::EmptyObject());
  message.Set("role", "user");
  message.Set("content", content);

  // After the first content delta: read the session (its open reservation is this stream's),
  // then revoke it, while the SDK keeps reading.
  json::Value requests = json::Value::EmptyArray();
  for (const char* method : {"GET", "DELETE"}) {
    json::Value& req = requests.Push(json::Value::EmptyObject());
    req.Set("method", method);
    req.Set("url", session_url);
    req.Set("authorization", "Bearer " + suite.api_key());
  }
  auto run =
      RunNodeScript("stream_then_request.mjs",
                    {"--base-url", suite.EdgeBaseUrl(), "--api-key", token, "--body",
                     body.Serialize(), "--requests", requests.Serialize(), "--timeout-ms", "30000"},
                    suite.work_dir(), std::chrono::seconds(30));
  INFO(run.status().ToString());
  REQUIRE(run.ok());
  const json::Value& r = *run;
  INFO("stream_then_request: " << r.Serialize().substr(0, 6000));
  CHECK(r.GetInt("status") == 200);
  const json::Value& done = Member(r, "requests");
  REQUIRE(done.is_array());
  REQUIRE(done.AsArray().size() == 2);
  const json::Value& before = done.AsArray()[0];
  const json::Value& revoke = done.AsArray()[1];
  REQUIRE(before.GetInt("status") == 200);
  REQUIRE(revoke.GetInt("status") == 200);
  const json::Value& session_mid = Member(before, "body");
  CHECK(session_mid.GetString("status") == "active");
  const int64_t reserved = UsdField(session_mid, "reserved_usd");  // this stream's reservation
  const ModelPrice price = CatalogPrice("openai", kModel);
  CHECK(reserved == ExpectedCostMicros(price, EdgePromptEstimate(content), 400));
  CHECK(Member(revoke, "body").GetString("status") == "revoked");

  // The stream ended with the guard's error event, long before its 400 tokens.
  CHECK_FALSE(r.GetBool("ok").value_or(true));
  const json::Value& sdk_error = Member(r, "error");
  REQUIRE(sdk_error.is_object());
  CHECK(sdk_error.GetString("code") == "session_revoked");
  const json::Value& event = Member(r, "error_event");
  REQUIRE(event.is_object());
  const json::Value& event_error = Member(event, "error");
  CHECK(event_error.GetString("code") == "session_revoked");
  CHECK(event_error.GetString("type") == "permission_error");
  const int64_t content_chunks = r.GetInt("content_chunks").value_or(-1);
  CHECK(content_chunks >= 1);
  CHECK(content_chunks < 300);
  const int64_t cut_after_revoke_ms =
      r.GetInt("stream_end_ms").value_or(1 << 30) - revoke.GetInt("answered_ms").value_or(0);
  WARN("stream cut " << cut_after_revoke_ms << " ms after the revoke answered, after "
                     << content_chunks << " of 400 tokens");
  CHECK(cut_after_revoke_ms < 3000);  // the watch polls every 1 s

  // Billed the delivered estimate: the prompt estimate plus ceil(chars / 3) of what was sent,
  // never more than the reservation.
  const json::Value& meta = Member(event, "p402_metadata");
  CheckMetadata(meta);
  CHECK(meta.GetBool("cost_estimated") == true);
  CHECK(meta.GetString("session_id") == session_id);
  CHECK(meta.GetInt("input_tokens") == EdgePromptEstimate(content));
  CHECK(meta.GetInt("output_tokens") == (r.GetInt("content_chars").value_or(0) + 2) / 3);
  const int64_t cost = meta.GetInt("cost_micro_usd").value_or(-1);
  CHECK(cost > 0);
  CHECK(cost <= reserved);

  // The commit lands: nothing held, spent exactly what the client was told.
  json::Value session = AwaitSettled(suite, "/v2/sessions/" + session_id);
  CHECK(session.GetString("status") == "revoked");
  CHECK(UsdField(session, "spent_usd") == cost);
  CHECK(!Member(session, "revoked_at").is_null());

  // The token is dead.
  HttpResult after = Chat(suite, token, ChatBody(kModel, "still there?", R"("max_tokens":16)"));
  CHECK(after.status == 401);
  CheckOpenAiError(after.Json(), "authentication_error", "session_revoked");
  const double cuts =
      AwaitEdgeMetric(suite, "p402_edge_streams_cut_total", {{"reason", "session_revoked"}}, 1);
  CHECK(cuts == 1);
  suite.RequireAllAlive();
}

TEST_CASE("requests_per_hour: the 4th quick request of 3 per hour is a 429 with retry hints",
          "[e2e][guard]") {
  Suite suite;
  json::Value tenant =
      Manage(suite, "PATCH", "/v2/tenant", R"({"limits":{"requests_per_hour":3}})", 200);
  CHECK(Member(tenant, "limits").GetInt("requests_per_hour") == 3);

  const std::string body = ChatBody(kModel, "hello", R"("max_tokens":16)");
  const int64_t provider_before = MockRequests(suite, "openai", kChatPath);
  for (int i = 0; i < 3; ++i) {
    HttpResult ok = Chat(suite, suite.api_key(), body);
    INFO("request " << i + 1 << ": " << ok.status << " " << ok.body);
    CHECK(ok.status == 200);
  }
  // The 4th, through the official SDK (maxRetries 0): what a client sees.
  json::Value r = suite.RunSdk("error", body);
  INFO("sdk: " << r.Serialize().substr(0, 3000));
  CHECK(r.GetInt("status") == 429);
  const json::Value& error = Member(r, "error");
  REQUIRE(error.is_object());
  CHECK(error.GetString("code") == "rate_limited");
  CHECK(error.GetString("type") == "rate_limit_error");
  const json::Value& headers = Member(r, "headers");
  // A 3/hour bucket refills one request in 20 min; the three took next to nothing of that.
  const int64_t retry_ms = CheckRetryHints(headers.GetString("retry-after"),
                                           headers.GetString("retry-after-ms"), 1'200'000);
  CHECK(retry_ms > 1'100'000);
  // The refused request never reached the provider.
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before + 3);
  suite.RequireAllAlive();
}

TEST_CASE("spending policy per_hour_usd: 402 once the hour's spend would pass it, 429 as throttle",
          "[e2e][guard]") {
  // The whole scenario must fall inside one UTC clock hour (the window resets on the hour): when
  // fewer than 30 s are left, wait for the next hour first (bounded by those 30 s).
  {
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    const int64_t left_ms = 3'600'000 - now_ms % 3'600'000;
    if (left_ms < 30'000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(left_ms + 500));
    }
  }
  Suite suite;
  constexpr int64_t kLimit = 300;  // micro-USD
  json::Value policy = Manage(
      suite, "POST", "/v2/policies",
      R"({"name":"tiny","type":"spending","config":{"per_hour_usd":"0.000300","action":"deny"}})",
      201);
  const std::string policy_id(policy.GetString("id").value_or(""));
  REQUIRE(!policy_id.empty());
  CHECK(Member(policy, "config").GetString("per_hour_usd") == "0.000300");

  // Each request may cost at most `worst` (its reservation) and costs a little less.
  const std::string content = "Spend a little. [[mock:tokens=100]]";
  const std::string body = ChatBody(kModel, content, R"("max_tokens":100)");
  const ModelPrice price = CatalogPrice("openai", kModel);
  const int64_t worst = ExpectedCostMicros(price, EdgePromptEstimate(content), 100);
  const int64_t provider_before = MockRequests(suite, "openai", kChatPath);

  // Admitted while (spent this hour) + worst <= limit; requests run one at a time and settle,
  // so the window holds exactly the committed spend.
  int admitted = 0;
  int64_t spent = 0;
  int64_t spent_before_last_admit = -1;
  std::optional<HttpResult> refused;
  for (int i = 0; i < 20 && !refused.has_value(); ++i) {
    HttpResult r = Chat(suite, suite.api_key(), body);
    if (r.status != 200) {
      refused = r;
      break;
    }
    ++admitted;
    spent_before_last_admit = spent;
    spent += MetadataOf(r).GetInt("cost_micro_usd").value_or(-1);
    json::Value tenant = AwaitSettled(suite, "/v2/tenant");
    CHECK(UsdField(tenant, "spent_usd") == spent);
  }
  REQUIRE(refused.has_value());
  INFO("admitted " << admitted << ", spent " << spent << ", worst case " << worst
                   << "; refusal: " << refused->body);
  CHECK(refused->status == 402);
  json::Value deny_body = refused->Json();
  CheckOpenAiError(deny_body, "insufficient_quota", "spend_limit_exceeded");
  const std::string deny_message(Member(deny_body, "error").GetString("message").value_or(""));
  CHECK(Contains(deny_message, policy_id));
  CHECK(admitted >= 2);
  CHECK(spent_before_last_admit + worst <= kLimit);
  CHECK(spent + worst > kLimit);
  CHECK(spent <= kLimit);
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before + admitted);

  // The same policy as throttle: now a 429 with the time left in the UTC hour.
  json::Value updated = Manage(
      suite, "PUT", "/v2/policies/" + policy_id,
      R"({"name":"tiny","type":"spending","config":{"per_hour_usd":"0.000300","action":"throttle"}})",
      200);
  CHECK(Member(updated, "config").GetString("action") == "throttle");
  const int64_t now_ms = NowUnixMs();
  HttpResult throttled = Chat(suite, suite.api_key(), body);
  INFO("throttled: " << throttled.status << " " << throttled.body);
  CHECK(throttled.status == 429);
  CheckOpenAiError(throttled.Json(), "rate_limit_error", "spend_limit_throttled");
  const int64_t retry_ms = CheckRetryHints(throttled.headers.Get("retry-after"),
                                           throttled.headers.Get("retry-after-ms"), 3'600'000);
  const int64_t until_next_hour = 3'600'000 - now_ms % 3'600'000;
  CHECK(retry_ms <= until_next_hour);
  CHECK(retry_ms > until_next_hour - 10'000);
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before + admitted);
  suite.RequireAllAlive();
}

TEST_CASE("kill switch on total spend: 403 kill_switch_tripped, tenant paused until resumed",
          "[e2e][guard]") {
  Suite suite;
  constexpr int64_t kTotal = 100;  // micro-USD
  json::Value policy = Manage(
      suite, "POST", "/v2/policies",
      R"({"name":"breaker","type":"killswitch","config":{"total_spend_usd":"0.000100"}})", 201);
  const std::string policy_id(policy.GetString("id").value_or(""));
  REQUIRE(!policy_id.empty());

  const std::string body = ChatBody(kModel, "Spend. [[mock:tokens=100]]", R"("max_tokens":100)");
  const int64_t provider_before = MockRequests(suite, "openai", kChatPath);
  int admitted = 0;
  int64_t spent_before_last_admit = -1;
  int64_t spent = 0;
  std::optional<HttpResult> refused;
  for (int i = 0; i < 20; ++i) {
    HttpResult r = Chat(suite, suite.api_key(), body);
    if (r.status != 200) {
      refused = r;
      break;
    }
    ++admitted;
    spent_before_last_admit = spent;
    json::Value tenant = AwaitSettled(suite, "/v2/tenant");
    spent = UsdField(tenant, "spent_usd");
  }
  REQUIRE(refused.has_value());
  INFO("admitted " << admitted << ", spent " << spent << "; refusal: " << refused->body);
  CHECK(refused->status == 403);
  CheckOpenAiError(refused->Json(), "permission_error", "kill_switch_tripped");
  // Every admitted request saw a total below the switch; the refusal came once it was reached.
  CHECK(admitted >= 1);
  CHECK(spent_before_last_admit < kTotal);
  CHECK(spent >= kTotal);

  // Tripping paused the tenant: every request is refused as paused, with the switch as reason.
  HttpResult paused = Chat(suite, suite.api_key(), body);
  CHECK(paused.status == 403);
  CheckOpenAiError(paused.Json(), "permission_error", "tenant_paused");
  json::Value tenant = Manage(suite, "GET", "/v2/tenant", "", 200);
  CHECK(tenant.GetBool("paused") == true);
  const std::string reason(tenant.GetString("pause_reason").value_or(""));
  INFO("pause_reason: " << reason);
  CHECK(Contains(reason, "kill_switch"));
  CHECK(Contains(reason, policy_id));
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before + admitted);

  // Resuming alone is not enough: the policy still holds and trips again on the next request.
  Manage(suite, "POST", "/v2/tenant/resume", "", 200);
  HttpResult again = Chat(suite, suite.api_key(), body);
  CHECK(again.status == 403);
  CheckOpenAiError(again.Json(), "permission_error", "kill_switch_tripped");

  // Policy deleted and tenant resumed: traffic flows again and stays flowing.
  Manage(suite, "DELETE", "/v2/policies/" + policy_id, "", 200);
  json::Value resumed = Manage(suite, "POST", "/v2/tenant/resume", "", 200);
  CHECK(resumed.GetBool("paused") == false);
  for (int i = 0; i < 2; ++i) {
    HttpResult ok = Chat(suite, suite.api_key(), body);
    INFO("after resume " << i + 1 << ": " << ok.body);
    CHECK(ok.status == 200);
  }
  CHECK(Manage(suite, "GET", "/v2/tenant", "", 200).GetBool("paused") == false);
  suite.RequireAllAlive();
}

TEST_CASE("per-request cap: 402 request_cap_exceeded, or max_tokens lowered to fit when allowed",
          "[e2e][guard]") {
  Suite suite;
  constexpr int64_t kCap = 50;  // micro-USD
  json::Value tenant =
      Manage(suite, "PATCH", "/v2/tenant", R"({"limits":{"per_request_cap_usd":"0.000050"}})", 200);
  CHECK(Member(tenant, "limits").GetString("per_request_cap_usd") == "0.000050");

  const std::string content = "Write at length. [[mock:tokens=400]]";
  const ModelPrice price = CatalogPrice("openai", kModel);
  const int64_t prompt = EdgePromptEstimate(content);
  const int64_t worst = ExpectedCostMicros(price, prompt, 400);
  REQUIRE(worst > kCap);
  const int64_t provider_before = MockRequests(suite, "openai", kChatPath);

  json::Value denied = suite.RunSdk("error", ChatBody(kModel, content, R"("max_tokens":400)"));
  INFO("denied: " << denied.Serialize().substr(0, 3000));
  CHECK(denied.GetInt("status") == 402);
  const json::Value& error = Member(denied, "error");
  REQUIRE(error.is_object());
  CHECK(error.GetString("code") == "request_cap_exceeded");
  CHECK(error.GetString("type") == "insufficient_quota");
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before);

  // Allowed to shrink: the largest max_tokens whose worst case fits the cap (request_cap_layer,
  // FitMaxTokens): the input part stays, the output allowance buys floor(allowance / price).
  const int64_t input_part = ExpectedCostMicros(price, prompt, 0);
  const int64_t output_per_mtok = std::llround(price.output_per_million * 1e6);
  const int64_t expected_tokens = (kCap - input_part) * 1'000'000 / output_per_mtok;
  REQUIRE(expected_tokens > 0);
  REQUIRE(expected_tokens < 400);
  json::Value reduced = suite.RunSdk(
      "chat",
      ChatBody(kModel, content, R"("max_tokens":400,"p402":{"allow_max_tokens_reduction":true})"));
  INFO("reduced: " << reduced.Serialize().substr(0, 3000));
  CHECK(reduced.GetInt("status") == 200);
  CHECK(reduced.GetString("finish_reason") == "length");  // the mock wanted 400
  const json::Value& response = Member(reduced, "response");
  const json::Value& meta = Member(response, "p402_metadata");
  CheckMetadata(meta);
  CHECK(meta.GetInt("max_tokens_reduced_to") == expected_tokens);
  CHECK(meta.GetInt("output_tokens") == expected_tokens);  // the provider got the lower limit
  CHECK(meta.GetInt("cost_micro_usd").value_or(kCap + 1) <= kCap);
  CHECK(MockRequests(suite, "openai", kChatPath) == provider_before + 1);
  suite.RequireAllAlive();
}

TEST_CASE("p402ctl manages sessions, policies and the tenant of the real edge", "[e2e][guard]") {
  Suite suite;

  // Sessions: the token is printed once (with a warning) and works as an API key.
  CtlResult created = RunCtl(
      suite, {"sessions", "create", "--agent", "a1", "--budget", "1.50", "--duration", "1h"});
  INFO("sessions create: exit " << created.exit_code << "\n" << created.out << created.err);
  REQUIRE(created.exit_code == 0);
  const std::string session_id = RowValue(created.out, "id");
  const std::string token = RowValue(created.out, "token");
  CHECK(session_id.rfind("sess_", 0) == 0);
  CHECK(token.rfind("sk-p402-sess-", 0) == 0);
  CHECK(RowValue(created.out, "status") == "active");
  CHECK(Contains(created.err, "shown only this once"));
  json::Value session = Manage(suite, "GET", "/v2/sessions/" + session_id, "", 200);
  CHECK(session.GetString("agent_id") == "a1");
  CHECK(session.GetString("budget_usd") == "1.500000");
  CHECK(Chat(suite, token, ChatBody(kModel, "hi", R"("max_tokens":8)")).status == 200);

  CtlResult listed = RunCtl(suite, {"sessions", "list"});
  INFO("sessions list: exit " << listed.exit_code << "\n" << listed.out << listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(Contains(LineWith(listed.out, "ID"), "STATUS"));
  const std::string row = LineWith(listed.out, session_id);
  CHECK(Contains(row, "active"));
  CHECK(Contains(row, "a1"));
  CHECK(Contains(row, "1.50"));

  // Policies: created through p402ctl, listed, and enforced by the guard.
  CtlResult policy = RunCtl(suite, {"policies", "create", "--type", "provider", "--name",
                                    "no-anthropic", "--deny", "anthropic"});
  INFO("policies create: exit " << policy.exit_code << "\n" << policy.out << policy.err);
  REQUIRE(policy.exit_code == 0);
  const std::string policy_id = RowValue(policy.out, "id");
  CHECK(policy_id.rfind("pol_", 0) == 0);
  CHECK(RowValue(policy.out, "type") == "provider");
  json::Value stored = Manage(suite, "GET", "/v2/policies/" + policy_id, "", 200);
  CHECK(stored.GetString("name") == "no-anthropic");
  const json::Value& config = Member(stored, "config");
  CHECK(Member(config, "deny").Serialize() == R"(["anthropic"])");
  const json::Value* allow = config.Find("allow");  // an empty allow list is no allow list
  CHECK((allow == nullptr || allow->Serialize() == "[]"));
  HttpResult anthropic =
      Chat(suite, suite.api_key(), ChatBody("claude-haiku-4-5", "hi", R"("max_tokens":8)"));
  CHECK(anthropic.status == 403);
  CheckOpenAiError(anthropic.Json(), "permission_error", "provider_denied");

  CtlResult policies = RunCtl(suite, {"policies", "list"});
  INFO("policies list: exit " << policies.exit_code << "\n" << policies.out << policies.err);
  CHECK(policies.exit_code == 0);
  const std::string policy_row = LineWith(policies.out, policy_id);
  CHECK(Contains(policy_row, "provider"));
  CHECK(Contains(policy_row, "no-anthropic"));

  CtlResult tenant = RunCtl(suite, {"tenant", "get"});
  INFO("tenant get: exit " << tenant.exit_code << "\n" << tenant.out << tenant.err);
  CHECK(tenant.exit_code == 0);
  CHECK(RowValue(tenant.out, "id") == suite.tenant());
  CHECK(RowValue(tenant.out, "paused") == "false");
  CHECK(!RowValue(tenant.out, "limits.requests_per_hour").empty());

  // Revoking through p402ctl stops the token; errors and usage mistakes have their exit codes.
  CtlResult revoked = RunCtl(suite, {"sessions", "revoke", session_id});
  INFO("sessions revoke: exit " << revoked.exit_code << "\n" << revoked.out << revoked.err);
  CHECK(revoked.exit_code == 0);
  CHECK(RowValue(revoked.out, "status") == "revoked");
  CHECK(Chat(suite, token, ChatBody(kModel, "hi", R"("max_tokens":8)")).status == 401);
  CtlResult missing = RunCtl(suite, {"policies", "get", "pol_0000000000000000"});
  INFO("policies get (missing): exit " << missing.exit_code << "\n" << missing.out << missing.err);
  CHECK(missing.exit_code == 1);
  CHECK(Contains(missing.err, "policy_not_found"));
  CtlResult no_key = RunCtl(suite, {"tenant", "get"}, std::nullopt);
  INFO("tenant get without a key: exit " << no_key.exit_code << "\n" << no_key.err);
  CHECK(no_key.exit_code == 2);
  CtlResult not_admin = RunCtl(suite, {"tenant", "get"}, token);
  INFO("tenant get with a session token: exit " << not_admin.exit_code << "\n" << not_admin.err);
  CHECK(not_admin.exit_code == 1);
  suite.RequireAllAlive();
}

}  // namespace p402::e2e
