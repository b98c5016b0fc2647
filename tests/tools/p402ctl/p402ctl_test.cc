// p402ctl: command line -> management API request (every command), usage errors, rendering of
// lists/objects/errors, table alignment, Execute over a fake transport (read-modify-write, exit
// codes), and the built binary against an in-test HTTP server (admin key from the environment in
// the Authorization header, table on stdout, exit codes).
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/http/server.h"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"
#include "tools/p402ctl/ctl_commands.h"
#include "tools/p402ctl/table.h"

namespace p402::ctl {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

Command Parse(std::vector<std::string> args, std::string env_url = "") {
  auto cmd = ParseCommand(args, env_url);
  INFO(cmd.status().ToString());
  REQUIRE(cmd.ok());
  return std::move(*cmd);
}

json::Value Json(std::string_view text) {
  auto v = json::Value::Parse(text);
  REQUIRE_THAT(v.status(), IsOk());
  return std::move(*v);
}

// method, path and body (serialised; "" for none) of a parsed command.
struct Expected {
  std::vector<std::string> args;
  std::string method;
  std::string path;
  std::string body;
};

TEST_CASE("p402ctl maps every command to its request", "[unit]") {
  const std::vector<Expected> cases = {
      {{"tenant", "get"}, "GET", "/v2/tenant", ""},
      {{"tenant", "update", "--name", "Acme"}, "PATCH", "/v2/tenant", R"({"name":"Acme"})"},
      {{"tenant", "pause", "--reason", "incident 42"},
       "POST",
       "/v2/tenant/pause",
       R"({"reason":"incident 42"})"},
      {{"tenant", "pause"}, "POST", "/v2/tenant/pause", "{}"},
      {{"tenant", "resume"}, "POST", "/v2/tenant/resume", "{}"},
      {{"keys", "list"}, "GET", "/v2/keys", ""},
      {{"keys", "create", "--name", "ci", "--admin"},
       "POST",
       "/v2/keys",
       R"({"name":"ci","admin":true})"},
      {{"keys", "create"}, "POST", "/v2/keys", "{}"},
      {{"keys", "revoke", "key_123"}, "DELETE", "/v2/keys/key_123", ""},
      {{"policies", "list"}, "GET", "/v2/policies", ""},
      {{"policies", "get", "pol_1"}, "GET", "/v2/policies/pol_1", ""},
      {{"policies", "delete", "pol_1"}, "DELETE", "/v2/policies/pol_1", ""},
      {{"policies", "create", "--type", "spending", "--name", "daily", "--per-day", "100",
        "--action", "deny"},
       "POST",
       "/v2/policies",
       R"({"name":"daily","type":"spending","config":{"per_day_usd":"100","action":"deny"}})"},
      // A type option implies the type; a new spending policy denies by default.
      {{"policies", "create", "--name", "hourly", "--per-hour=2.5", "--priority", "7",
        "--disabled"},
       "POST",
       "/v2/policies",
       R"({"name":"hourly","type":"spending","config":{"per_hour_usd":"2.5","action":"deny"},)"
       R"("priority":7,"enabled":false})"},
      {{"policies", "create", "--name", "vendors", "--allow", "anthropic, openai", "--deny",
        "deepseek"},
       "POST",
       "/v2/policies",
       R"({"name":"vendors","type":"provider","config":{"allow":["anthropic","openai"],)"
       R"("deny":["deepseek"]}})"},
      {{"policies", "create", "--name", "tiers", "--max-tier", "mid", "--deny-models",
        "openai/gpt-4o"},
       "POST",
       "/v2/policies",
       R"({"name":"tiers","type":"model","config":{"max_tier":"mid",)"
       R"("deny_models":["openai/gpt-4o"]}})"},
      {{"policies", "create", "--name", "breaker", "--total-spend", "500", "--error-rate", "0.1",
        "--window", "5m", "--min-requests", "20"},
       "POST",
       "/v2/policies",
       R"({"name":"breaker","type":"killswitch","config":{"total_spend_usd":"500",)"
       R"("error_rate":0.1,"window":"5m","min_requests":20}})"},
      {{"policies", "create", "--type", "task", "--name", "t", "--config",
        R"({"rules":[{"task":"*","max_model":"m"}]})"},
       "POST",
       "/v2/policies",
       R"({"name":"t","type":"task","config":{"rules":[{"task":"*","max_model":"m"}]}})"},
      {{"sessions", "list"}, "GET", "/v2/sessions", ""},
      {{"sessions", "list", "--status", "active", "--limit", "10", "--after", "c/1=2"},
       "GET",
       "/v2/sessions?status=active&limit=10&after=c%2F1%3D2",
       ""},
      {{"sessions", "get", "sess_9"}, "GET", "/v2/sessions/sess_9", ""},
      {{"sessions", "create", "--agent", "bot-1", "--budget", "25", "--duration", "4h"},
       "POST",
       "/v2/sessions",
       R"({"agent_id":"bot-1","budget_usd":"25","duration":"4h"})"},
      {{"sessions",          "create",
        "--agent",           "bot",
        "--budget",          "10.50",
        "--duration",        "3600",
        "--wallet",          "0xabc",
        "--per-request-cap", "0.5",
        "--provider-budget", "anthropic=5",
        "--provider-budget", "openai=2.25",
        "--allow-providers", "anthropic,openai",
        "--capabilities",    "chat",
        "--hours",           "9-17@America/New_York",
        "--approval-above",  "1"},
       "POST",
       "/v2/sessions",
       R"({"agent_id":"bot","budget_usd":"10.50","duration":"3600","wallet":"0xabc",)"
       R"("per_request_cap_usd":"0.5","provider_budgets_usd":{"anthropic":"5","openai":"2.25"},)"
       R"("allowed_providers":["anthropic","openai"],"allowed_capabilities":["chat"],)"
       R"("allowed_hours":{"start":9,"end":17,"time_zone":"America/New_York"},)"
       R"("require_approval_above_usd":"1"})"},
      {{"sessions", "topup", "sess_9", "5.25"},
       "PATCH",
       "/v2/sessions/sess_9",
       R"({"top_up_usd":"5.25"})"},
      {{"sessions", "extend", "sess_9", "1h"},
       "PATCH",
       "/v2/sessions/sess_9",
       R"({"extend":"1h"})"},
      {{"sessions", "update", "sess_9", "--approval-above", "2"},
       "PATCH",
       "/v2/sessions/sess_9",
       R"({"require_approval_above_usd":"2"})"},
      {{"sessions", "revoke", "sess_9"}, "DELETE", "/v2/sessions/sess_9", ""},
      {{"approvals", "list"}, "GET", "/v2/approvals", ""},
      {{"approvals", "list", "--session", "sess_9", "--pending"},
       "GET",
       "/v2/approvals?session_id=sess_9&status=pending",
       ""},
      {{"approvals", "list", "--pending"}, "GET", "/v2/approvals?status=pending", ""},
      {{"approvals", "get", "apr_1"}, "GET", "/v2/approvals/apr_1", ""},
      {{"approvals", "approve", "apr_1", "--reason", "ok by me"},
       "POST",
       "/v2/approvals/apr_1",
       R"({"decision":"approve","reason":"ok by me"})"},
      {{"approvals", "deny", "apr_1"}, "POST", "/v2/approvals/apr_1", R"({"decision":"deny"})"},
  };
  for (const Expected& e : cases) {
    std::string joined;
    for (const auto& a : e.args) joined += a + " ";
    INFO(joined);
    Command cmd = Parse(e.args);
    CHECK(cmd.request.method == e.method);
    CHECK(cmd.request.path == e.path);
    CHECK(cmd.request.body.has_value() == !e.body.empty());
    if (!e.body.empty() && cmd.request.body) {
      CHECK(cmd.request.body->Serialize() == Json(e.body).Serialize());
    }
    CHECK(cmd.prefetch_path.empty());
  }
}

TEST_CASE("p402ctl global options: --url, P402_URL, --json, help", "[unit]") {
  CHECK(Parse({"tenant", "get"}).url == "http://127.0.0.1:8080");
  CHECK(Parse({"tenant", "get"}, "https://edge.example/").url == "https://edge.example");
  CHECK(Parse({"--url", "http://h:1", "tenant", "get"}, "http://env:2").url == "http://h:1");
  CHECK(Parse({"tenant", "get", "--url=http://h:3/"}).url == "http://h:3");
  CHECK(Parse({"keys", "list", "--json"}).json);
  CHECK_FALSE(Parse({"keys", "list"}).json);
  Command help = Parse({"help"});
  CHECK(help.help);
  CHECK(help.help_text.find("p402ctl approvals approve ID") != std::string::npos);
  CHECK(help.help_text.find("P402_ADMIN_KEY") != std::string::npos);
  Command resource_help = Parse({"sessions", "--help"});
  CHECK(resource_help.help);
  CHECK(resource_help.help_text.find("sessions create --agent") != std::string::npos);
  CHECK(resource_help.help_text.find("policies") == std::string::npos);
}

TEST_CASE("p402ctl usage errors name the problem", "[unit]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing command"},
      {{"wallets", "list"}, "unknown resource 'wallets'"},
      {{"sessions"}, "missing verb"},
      {{"sessions", "fly"}, "unknown command 'sessions fly'"},
      {{"sessions", "get"}, "needs ID"},
      {{"sessions", "get", "a", "b"}, "unexpected argument 'b'"},
      {{"sessions", "get", "../etc"}, "not a valid id"},
      {{"sessions", "create", "--agent", "a", "--budget", "1"}, "needs --agent, --budget and"},
      {{"sessions", "create", "--agent", "a", "--budget", "-1", "--duration", "1h"},
       "--budget: not a USD amount: '-1'"},
      {{"sessions", "create", "--agent", "a", "--budget", "1.1234567", "--duration", "1h"},
       "not a USD amount"},
      {{"sessions", "create", "--agent", "a", "--budget", "1", "--duration", "4 hours"},
       "--duration: not a duration"},
      {{"sessions", "create", "--agent", "a", "--budget", "1", "--duration", "0h"},
       "not a duration"},
      {{"sessions", "create", "--agent", "a", "--budget", "1", "--duration", "1h", "--hours",
        "9to5"},
       "--hours"},
      {{"sessions", "create", "--agent", "a", "--budget", "1", "--duration", "1h",
        "--provider-budget", "openai"},
       "PROVIDER=USD"},
      {{"sessions", "list", "--limit", "0"}, "--limit: expected an integer in 1..500"},
      {{"sessions", "list", "--status", "paused"}, "--status: expected active|"},
      {{"sessions", "topup", "s1", "ten"}, "USD: not a USD amount"},
      {{"sessions", "update", "s1"}, "needs --per-request-cap or --approval-above"},
      {{"keys", "create", "--name"}, "--name needs a value"},
      {{"keys", "create", "--admin=yes"}, "--admin takes no value"},
      {{"keys", "create", "--name", "a", "--name", "b"}, "--name given twice"},
      {{"keys", "create", "--secret", "x"}, "unknown option --secret for 'keys create'"},
      {{"tenant", "update"}, "needs at least one option"},
      {{"tenant", "update", "--max-concurrent", "many"}, "--max-concurrent: expected an integer"},
      {{"policies", "create", "--per-day", "1"}, "needs --name"},
      {{"policies", "create", "--name", "x"}, "needs --type"},
      {{"policies", "create", "--name", "x", "--type", "spending", "--allow", "a"},
       "--allow is a provider option, not for --type spending"},
      {{"policies", "create", "--name", "x", "--per-day", "1", "--allow", "a"},
       "belong to different policy types"},
      {{"policies", "create", "--name", "x", "--type", "spending", "--config", "[1]"},
       "--config: expected a JSON object"},
      {{"policies", "create", "--name", "x", "--type", "budget"}, "--type: expected spending|"},
      {{"policies", "create", "--name", "x", "--error-rate", "2"}, "--error-rate: expected"},
      {{"policies", "update", "pol_1"}, "needs at least one option"},
      {{"policies", "update", "pol_1", "--enabled", "--disabled"}, "cannot be combined"},
      {{"--url", "ftp://x", "tenant", "get"}, "--url must start with http"},
      {{"tenant", "get", "--url"}, "--url needs a value"},
  };
  for (const auto& [args, message] : cases) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO(joined);
    CHECK_THAT(ParseCommand(args, "").status(),
               StatusIs(absl::StatusCode::kInvalidArgument, message));
  }
}

TEST_CASE("p402ctl updates keep what the command line does not mention", "[unit]") {
  SECTION("tenant limits are applied onto the current ones (the API replaces all limits)") {
    Command cmd = Parse({"tenant", "update", "--daily-limit", "50", "--max-concurrent", "4",
                         "--reservation-ttl", "5m", "--name", "New"});
    CHECK(cmd.request.method == "PATCH");
    CHECK(cmd.prefetch_path == "/v2/tenant");
    REQUIRE(cmd.build_body);
    auto body = cmd.build_body(Json(R"({"id":"ten_1","name":"Old","limits":{
        "per_request_cap_usd":"1.000000","daily_limit_usd":"10.000000","budget_usd":"0.000000",
        "requests_per_hour":100,"max_concurrent":2,"anomaly_zscore":3.5,
        "reservation_ttl_seconds":60}})"));
    REQUIRE_THAT(body.status(), IsOk());
    CHECK(body->Serialize() == Json(R"({"name":"New","limits":{"per_request_cap_usd":"1.000000",
              "daily_limit_usd":"50","budget_usd":"0.000000","requests_per_hour":100,
              "max_concurrent":4,"anomaly_zscore":3.5,"reservation_ttl_seconds":300}})")
                                   .Serialize());
  }
  SECTION("a policy update starts from the current policy") {
    Command cmd = Parse({"policies", "update", "pol_7", "--per-day", "200", "--disabled"});
    CHECK(cmd.request.method == "PUT");
    CHECK(cmd.request.path == "/v2/policies/pol_7");
    CHECK(cmd.prefetch_path == "/v2/policies/pol_7");
    const json::Value current = Json(R"({"id":"pol_7","object":"policy","name":"daily",
        "type":"spending","config":{"per_day_usd":"100.000000","action":"alert"},
        "priority":3,"enabled":true,"created_at":1,"updated_at":2})");
    auto body = cmd.build_body(current);
    REQUIRE_THAT(body.status(), IsOk());
    CHECK(body->Serialize() ==
          Json(R"({"name":"daily","type":"spending","config":{"per_day_usd":"200",
              "action":"alert"},"priority":3,"enabled":false})")
              .Serialize());
    // A type option of another type than the policy's is refused (not silently dropped).
    Command wrong = Parse({"policies", "update", "pol_7", "--allow", "openai"});
    CHECK_THAT(wrong.build_body(current).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "the policy is of type spending"));
    // --config replaces the config; --type switches and starts from an empty config.
    Command retype = Parse({"policies", "update", "pol_7", "--type", "provider", "--deny", "x"});
    auto retyped = retype.build_body(current);
    REQUIRE_THAT(retyped.status(), IsOk());
    CHECK(retyped->Serialize() ==
          Json(R"({"name":"daily","type":"provider","config":{"deny":["x"]},"priority":3,
              "enabled":true})")
              .Serialize());
  }
}

TEST_CASE("Table aligns columns by code points and right-aligns amounts", "[unit]") {
  Table t({{"ID"}, {"NAME"}, {"BUDGET", Align::kRight}, {"NOTE"}});
  t.AddRow({"s1", "Zoë", "5.00", "x"});
  t.AddRow({"sess_long", "a\nb\x1b[31m", "125.50"});
  CHECK(t.Render() ==
        "ID         NAME      BUDGET  NOTE\n"
        "s1         Zoë         5.00  x\n"
        "sess_long  a b [31m  125.50\n");
  CHECK(RenderKeyValues({{"id", "t1"}, {"limits.budget_usd", "0.00"}, {"empty", ""}}) ==
        "id                 t1\n"
        "limits.budget_usd  0.00\n"
        "empty\n");
  CHECK(DisplayWidth("Zoë") == 3);
  CHECK(Truncate("abcdefghij", 6) == "abc...");
  CHECK(Truncate("ééééé", 5) == "ééééé");
  CHECK(Truncate("éééééé", 5) == "éé...");
}

TEST_CASE("p402ctl renders lists, objects, secrets and errors", "[unit]") {
  CHECK(ShortUsd("12.500000") == "12.50");
  CHECK(ShortUsd("0.000150") == "0.00015");
  CHECK(ShortUsd("100.000000") == "100.00");
  CHECK(ShortUsd("n/a") == "n/a");
  CHECK(FormatUnixSeconds(1'735'689'600) == "2025-01-01T00:00:00Z");

  auto sessions = RenderSuccess(View::kSessionList, R"({"object":"list","data":[
      {"id":"sess_a","agent_id":"bot-1","status":"active","budget_usd":"25.000000",
       "spent_usd":"1.250000","remaining_usd":"23.750000","expires_at":1735689600},
      {"id":"sess_bb","agent_id":"b","status":"revoked","budget_usd":"100.000000",
       "spent_usd":"0.000000","remaining_usd":"0.000000","expires_at":null}],
      "has_more":true,"next_cursor":"cur_2"})");
  REQUIRE_THAT(sessions.status(), IsOk());
  CHECK(sessions->out ==
        "ID       AGENT  STATUS   BUDGET  SPENT  REMAINING  EXPIRES\n"
        "sess_a   bot-1  active    25.00   1.25      23.75  2025-01-01T00:00:00Z\n"
        "sess_bb  b      revoked  100.00   0.00       0.00  -\n"
        "more: p402ctl sessions list --after cur_2\n");
  CHECK(sessions->err.empty());

  auto empty = RenderSuccess(View::kKeyList, R"({"object":"list","data":[]})");
  REQUIRE_THAT(empty.status(), IsOk());
  CHECK(empty->out == "no keys\n");

  auto key = RenderSuccess(View::kKey, R"({"id":"key_1","object":"api_key","name":"ci",
      "prefix":"sk-p402-ab","admin":false,"revoked":false,"created_at":1735689600,
      "secret":"sk-p402-abcdef"})");
  REQUIRE_THAT(key.status(), IsOk());
  CHECK(key->out ==
        "id          key_1\n"
        "name        ci\n"
        "prefix      sk-p402-ab\n"
        "admin       false\n"
        "revoked     false\n"
        "created_at  2025-01-01T00:00:00Z\n"
        "secret      sk-p402-abcdef\n");
  CHECK(key->err.find("warning: the secret above is shown only this once") == 0);

  auto tenant = RenderSuccess(View::kTenant, R"({"id":"ten_1","object":"tenant","name":"Acme",
      "paused":false,"pause_reason":null,"spent_usd":"3.500000","limits":{
      "daily_limit_usd":"100.000000","max_concurrent":4}})");
  REQUIRE_THAT(tenant.status(), IsOk());
  CHECK(tenant->out ==
        "id                      ten_1\n"
        "name                    Acme\n"
        "paused                  false\n"
        "pause_reason            -\n"
        "spent_usd               3.50\n"
        "limits.daily_limit_usd  100.00\n"
        "limits.max_concurrent   4\n");

  auto session = RenderSuccess(View::kSession, R"({"id":"sess_1","object":"session",
      "provider_budgets_usd":{"anthropic":"5.000000"},"allowed_providers":["a","b"],
      "allowed_hours":{"start":9,"end":17},"revoked_at":null,"token":"sk-p402-sess-x"})");
  REQUIRE_THAT(session.status(), IsOk());
  CHECK(session->out ==
        "id                              sess_1\n"
        "provider_budgets_usd.anthropic  5.00\n"
        "allowed_providers               a, b\n"
        "allowed_hours.start             9\n"
        "allowed_hours.end               17\n"
        "revoked_at                      -\n"
        "token                           sk-p402-sess-x\n");
  CHECK(session->err.find("warning: the token above is shown only this once") == 0);

  CHECK_THAT(RenderSuccess(View::kPolicyList, "<html>").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "not a JSON object"));
  CHECK_THAT(RenderSuccess(View::kPolicyList, "{}").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "no \"data\" list"));

  CHECK(RenderError(404, R"({"error":{"message":"no such policy","type":"not_found_error",
      "param":null,"code":"policy_not_found"}})") ==
        "error: no such policy (HTTP 404, code policy_not_found)\n");
  CHECK(RenderError(400, R"({"error":{"message":"must be >= 0","type":"invalid_request_error",
      "param":"config.per_hour_usd","code":"invalid_value"}})") ==
        "error: must be >= 0 (HTTP 400, code invalid_value, param config.per_hour_usd)\n");
  CHECK(RenderError(502, "Bad Gateway\n") == "error: HTTP 502: Bad Gateway \n");
  CHECK(RenderError(503, "") == "error: HTTP 503 (empty body)\n");
}

// Answers from a script and records the requests.
class FakeTransport final : public Transport {
 public:
  std::vector<absl::StatusOr<HttpResult>> answers;
  std::vector<ApiRequest> sent;
  absl::StatusOr<HttpResult> Send(const ApiRequest& request) override {
    sent.push_back(request);
    REQUIRE(sent.size() <= answers.size());
    return answers[sent.size() - 1];
  }
};

TEST_CASE("Execute: exit codes, --json, read-modify-write", "[unit]") {
  SECTION("a 2xx answer is rendered") {
    FakeTransport t;
    t.answers = {HttpResult{200, R"({"object":"list","data":[{"id":"pol_1","type":"model",
        "name":"tiers","priority":0,"enabled":true,"config":{"max_tier":"mid"}}]})"}};
    RunResult r = Execute(Parse({"policies", "list"}), t);
    CHECK(r.exit_code == kExitOk);
    CHECK(r.out ==
          "ID     TYPE   NAME   PRIORITY  ENABLED  CONFIG\n"
          "pol_1  model  tiers         0  true     {\"max_tier\":\"mid\"}\n");
  }
  SECTION("--json prints the answer as is") {
    FakeTransport t;
    t.answers = {HttpResult{201, R"({"id":"key_1","secret":"sk"})"}};
    RunResult r = Execute(Parse({"--json", "keys", "create"}), t);
    CHECK(r.exit_code == kExitOk);
    CHECK(r.out == "{\"id\":\"key_1\",\"secret\":\"sk\"}\n");
  }
  SECTION("an error answer exits 1 with the server's message on stderr") {
    FakeTransport t;
    t.answers = {HttpResult{409, R"({"error":{"message":"session is revoked",
        "type":"conflict_error","param":null,"code":"session_revoked"}})"}};
    RunResult r = Execute(Parse({"sessions", "topup", "sess_1", "5"}), t);
    CHECK(r.exit_code == kExitServerError);
    CHECK(r.out.empty());
    CHECK(r.err == "error: session is revoked (HTTP 409, code session_revoked)\n");
  }
  SECTION("an unreachable edge exits 3") {
    FakeTransport t;
    t.answers = {absl::UnavailableError("connection refused")};
    RunResult r = Execute(Parse({"--url", "http://10.0.0.1:9", "tenant", "get"}), t);
    CHECK(r.exit_code == kExitConnection);
    CHECK(r.err == "error: cannot reach http://10.0.0.1:9: connection refused\n");
  }
  SECTION("an update GETs the current object, then sends the merged body") {
    FakeTransport t;
    t.answers = {HttpResult{200, R"({"id":"ten_1","name":"A","limits":{"budget_usd":"9",
                                "max_concurrent":3}})"},
                 HttpResult{200, R"({"id":"ten_1","object":"tenant","name":"A"})"}};
    RunResult r = Execute(Parse({"tenant", "update", "--budget", "20"}), t);
    CHECK(r.exit_code == kExitOk);
    REQUIRE(t.sent.size() == 2);
    CHECK(t.sent[0].method == "GET");
    CHECK(t.sent[0].path == "/v2/tenant");
    CHECK(t.sent[1].method == "PATCH");
    REQUIRE(t.sent[1].body.has_value());
    CHECK(t.sent[1].body->Serialize() == R"({"limits":{"budget_usd":"20","max_concurrent":3}})");
  }
  SECTION("a failed prefetch stops before the write") {
    FakeTransport t;
    t.answers = {
        HttpResult{404, R"({"error":{"message":"no such policy","code":"policy_not_found"}})"}};
    RunResult r = Execute(Parse({"policies", "update", "pol_x", "--name", "n"}), t);
    CHECK(r.exit_code == kExitServerError);
    CHECK(t.sent.size() == 1);
    CHECK(r.err.find("no such policy") != std::string::npos);
  }
}

// ---- Against a real HTTP server ----

struct Recorded {
  std::mutex mu;
  std::vector<std::string> lines;  // "METHOD target | authorization | body"
};

std::unique_ptr<http::HttpServer> StartCannedServer(Recorded& rec) {
  http::ServerOptions options;
  options.handler =
      http::MakeHandler([&rec](http::Request req, std::shared_ptr<http::ResponseWriter> w) {
        std::string auth(req.Header("Authorization").value_or(""));
        {
          std::lock_guard<std::mutex> lock(rec.mu);
          rec.lines.push_back(req.method + " " + req.target + " | " + auth + " | " + req.body);
        }
        if (auth != "Bearer test-admin-key") {
          w->Send(http::Response::Json(
              401, http::OpenAiErrorBody("bad key", "authentication_error", "invalid_api_key")));
        } else if (req.method == "GET" && req.path() == "/v2/sessions") {
          w->Send(http::Response::Json(200, R"({"object":"list","data":[{"id":"sess_1",
          "agent_id":"agent-7","status":"active","budget_usd":"10.000000",
          "spent_usd":"2.500000","remaining_usd":"7.500000","expires_at":1735689600}],
          "has_more":false,"next_cursor":null})"));
        } else {
          w->Send(http::Response::Json(
              404, http::OpenAiErrorBody("unknown url", "not_found_error", "unknown_url")));
        }
      });
  auto server = http::HttpServer::Start(std::move(options));
  REQUIRE_THAT(server.status(), IsOk());
  return std::move(*server);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct BinaryRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

BinaryRun RunBinary(const std::vector<std::string>& args,
                    std::vector<std::pair<std::string, std::string>> env) {
  char tmpl[] = "/tmp/p402ctl-test-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  p402::testing::ProcessOptions o;
  o.name = "p402ctl";
  o.path = p402::testing::BuildDir() + "/tools/p402ctl/p402ctl";
  o.args = args;
  o.env = std::move(env);
  o.unset_env = {"P402_ADMIN_KEY", "P402_ADMIN_KEY_FILE", "P402_URL"};
  o.log_path = dir + "/stderr";
  o.stdout_path = dir + "/stdout";
  auto p = p402::testing::Process::Spawn(std::move(o));
  REQUIRE_THAT(p.status(), IsOk());
  REQUIRE((*p)->WaitForExit(std::chrono::seconds(30)));
  BinaryRun run;
  run.exit_code = (*p)->exit_code().value_or(-1);
  run.out = ReadFile(dir + "/stdout");
  run.err = ReadFile(dir + "/stderr");
  std::remove((dir + "/stdout").c_str());
  std::remove((dir + "/stderr").c_str());
  ::rmdir(dir.c_str());
  return run;
}

TEST_CASE("p402ctl binary against an HTTP server: key from the environment, table out", "[unit]") {
  Recorded rec;
  auto server = StartCannedServer(rec);
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port());

  BinaryRun ok = RunBinary({"sessions", "list", "--status", "active"},
                           {{"P402_ADMIN_KEY", "test-admin-key"}, {"P402_URL", url}});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out ==
        "ID      AGENT    STATUS  BUDGET  SPENT  REMAINING  EXPIRES\n"
        "sess_1  agent-7  active   10.00   2.50       7.50  2025-01-01T00:00:00Z\n");
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    REQUIRE(rec.lines.size() == 1);
    CHECK(rec.lines[0] == "GET /v2/sessions?status=active | Bearer test-admin-key | ");
  }

  // The key may come from a file instead; a wrong key is the server's 401 (exit 1).
  const std::string key_file = "/tmp/p402ctl-test-key-" + std::to_string(::getpid());
  { std::ofstream(key_file) << "wrong-key\n"; }
  BinaryRun denied =
      RunBinary({"--url", url, "sessions", "list"}, {{"P402_ADMIN_KEY_FILE", key_file}});
  std::remove(key_file.c_str());
  CHECK(denied.exit_code == 1);
  CHECK(denied.out.empty());
  CHECK(denied.err == "error: bad key (HTTP 401, code invalid_api_key)\n");
  {
    std::lock_guard<std::mutex> lock(rec.mu);
    REQUIRE(rec.lines.size() == 2);
    CHECK(rec.lines[1] == "GET /v2/sessions | Bearer wrong-key | ");
  }

  // No key at all: a usage error before any request.
  BinaryRun no_key = RunBinary({"--url", url, "sessions", "list"}, {});
  CHECK(no_key.exit_code == 2);
  CHECK(no_key.err.find("P402_ADMIN_KEY") != std::string::npos);
  // Usage error and unreachable server.
  CHECK(RunBinary({"sessions", "fly"}, {{"P402_ADMIN_KEY", "k"}}).exit_code == 2);
  server->Shutdown();
  BinaryRun down =
      RunBinary({"tenant", "get"}, {{"P402_ADMIN_KEY", "test-admin-key"}, {"P402_URL", url}});
  CHECK(down.exit_code == 3);
  CHECK(down.err.find("cannot reach " + url) != std::string::npos);
  std::lock_guard<std::mutex> lock(rec.mu);
  CHECK(rec.lines.size() == 2);
}

TEST_CASE("HttpTransport sends the admin key and JSON bodies", "[unit]") {
  Recorded rec;
  auto server = StartCannedServer(rec);
  auto transport =
      MakeHttpTransport("http://127.0.0.1:" + std::to_string(server->port()), "test-admin-key");
  REQUIRE_THAT(transport.status(), IsOk());
  RunResult r = Execute(Parse({"keys", "create", "--name", "ci"}), **transport);
  CHECK(r.exit_code == kExitServerError);  // the canned server knows no /v2/keys
  CHECK(r.err == "error: unknown url (HTTP 404, code unknown_url)\n");
  std::lock_guard<std::mutex> lock(rec.mu);
  REQUIRE(rec.lines.size() == 1);
  CHECK(rec.lines[0] == R"(POST /v2/keys | Bearer test-admin-key | {"name":"ci"})");
  CHECK_THAT(MakeHttpTransport("http://h", "bad\nkey").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "control characters"));
}

}  // namespace
}  // namespace p402::ctl
