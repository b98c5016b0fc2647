// Management API JSON <-> proto mapping (services/edge/core/management_json.h): exact money,
// durations, every policy type both ways, session bodies both ways, strict unknown-field and
// type/value errors with OpenAI reason codes and `param`.
#include "services/edge/core/management_json.h"

#include <google/protobuf/util/message_differencer.h>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/openai/error_param.h"
#include "tests/support/catch_status.h"

namespace p402::edge {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;

json::Value J(std::string_view text) {
  absl::StatusOr<json::Value> v = json::Value::Parse(text);
  REQUIRE(v.ok());
  return *v;
}

// Checks an InvalidArgument's reason code and param ("" = no param).
void CheckError(const absl::Status& status, std::string_view reason, std::string_view param) {
  INFO(status.ToString());
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReasonOf(status).value_or("") == reason);
  CHECK(openai::ParamOf(status).value_or("") == param);
}

template <typename T>
void CheckError(const absl::StatusOr<T>& result, std::string_view reason, std::string_view param) {
  REQUIRE_FALSE(result.ok());
  CheckError(result.status(), reason, param);
}

bool SameProto(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST_CASE("money parses exactly from strings and numbers", "[unit][management]") {
  CHECK(*ParseUsdJson(J("\"0.1\""), "x") == 100'000);
  CHECK(*ParseUsdJson(J("0.1"), "x") == 100'000);  // a double, read through its shortest text
  CHECK(*ParseUsdJson(J("\"12.345678\""), "x") == 12'345'678);
  CHECK(*ParseUsdJson(J("12.345678"), "x") == 12'345'678);
  CHECK(*ParseUsdJson(J("\"12.50\""), "x") == 12'500'000);
  CHECK(*ParseUsdJson(J("\"12.500000000\""), "x") == 12'500'000);  // zeros beyond 6 decimals
  CHECK(*ParseUsdJson(J("1000"), "x") == 1'000'000'000);
  CHECK(*ParseUsdJson(J("1e3"), "x") == 1'000'000'000);  // a JSON number, not a string
  CHECK(*ParseUsdJson(J("0"), "x") == 0);
  CHECK(*ParseUsdJson(J("-0.0"), "x") == 0);
  CHECK(*ParseUsdJson(J("\"0.000001\""), "x") == 1);

  CheckError(ParseUsdJson(J("\"1e3\""), "budget_usd"), "invalid_value", "budget_usd");
  CheckError(ParseUsdJson(J("\"12.3456789\""), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("1e-7"), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("\"\""), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("\".5\""), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("\"$5\""), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("\" 5\""), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("\"99999999999999\""), "x"), "invalid_value", "x");  // > int64 micros
  CheckError(ParseUsdJson(J("18446744073709551615"), "x"), "invalid_value", "x");
  CheckError(ParseUsdJson(J("true"), "x"), "invalid_type", "x");
  CheckError(ParseUsdJson(J("null"), "x"), "invalid_type", "x");

  absl::StatusOr<MicroUsd> negative = ParseUsdJson(J("\"-5\""), "budget_usd");
  CheckError(negative, "invalid_value", "budget_usd");
  CHECK_THAT(negative.status(), StatusIs(absl::StatusCode::kInvalidArgument, "must be >= 0"));
  CHECK_THAT(ParseUsdJson(J("-0.5"), "x").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "must be >= 0"));
  CHECK_THAT(ParseUsdJson(J("-3"), "x").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "must be >= 0"));
}

TEST_CASE("durations accept unit strings and integer seconds", "[unit][management]") {
  CHECK(*ParseDurationJson(J("\"90s\""), "d") == 90'000);
  CHECK(*ParseDurationJson(J("\"30m\""), "d") == 1'800'000);
  CHECK(*ParseDurationJson(J("\"4h\""), "d") == 14'400'000);
  CHECK(*ParseDurationJson(J("\"2d\""), "d") == 172'800'000);
  CHECK(*ParseDurationJson(J("3600"), "d") == 3'600'000);
  CHECK(*ParseDurationJson(J("\"120\""), "d") == 120'000);

  CheckError(ParseDurationJson(J("\"0s\""), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("0"), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("-5"), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("\"4x\""), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("\"h\""), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("\"1h30m\""), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("\"999999999999d\""), "duration"), "invalid_value", "duration");
  CheckError(ParseDurationJson(J("1.5"), "duration"), "invalid_type", "duration");
  CheckError(ParseDurationJson(J("[]"), "duration"), "invalid_type", "duration");

  CHECK(FormatDuration(14'400'000) == "4h");
  CHECK(FormatDuration(90'000) == "90s");
  CHECK(FormatDuration(300'000) == "5m");
  CHECK(FormatDuration(172'800'000) == "2d");
  CHECK(FormatDuration(1'500) == "1s");
}

TEST_CASE("request bodies: JSON syntax, body type and unknown fields", "[unit][management]") {
  CheckError(ParsePolicyBody("{"), "invalid_json", "");
  CheckError(ParsePolicyBody("[1]"), "invalid_type", "");
  CheckError(ParseApiKeyCreate("\"x\""), "invalid_type", "");
  CheckError(ParseApiKeyCreate(R"({"nme":"x"})"), "unknown_parameter", "nme");
  CheckError(ParseApiKeyCreate(R"({"tenant_id":"other"})"), "unknown_parameter", "tenant_id");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"spending","config":{"per_hr_usd":"1",
             "action":"deny"}})"),
             "unknown_parameter", "config.per_hr_usd");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"task","config":{"rules":[{"task":"*"},
             {"tsk":"x"}]}})"),
             "unknown_parameter", "config.rules[1].tsk");
  CheckError(ParseTenantUpdate(R"({"limits":{"budget":"5"}})"), "unknown_parameter",
             "limits.budget");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "allowed_hours":{"start":9,"end":17,"tz":"UTC"}})"),
             "unknown_parameter", "allowed_hours.tz");
  CheckError(ParseTenantResume(R"({"reason":"x"})"), "unknown_parameter", "reason");

  // An empty body is {} (every field of a key is optional).
  absl::StatusOr<v1::CreateApiKeyRequest> key = ParseApiKeyCreate("");
  REQUIRE_THAT(key.status(), IsOk());
  CHECK_FALSE(key->admin());
  key = ParseApiKeyCreate(R"({"name":"ci","admin":true})");
  REQUIRE_THAT(key.status(), IsOk());
  CHECK(key->name() == "ci");
  CHECK(key->admin());
  CHECK(key->tenant_id().empty());
  CheckError(ParseApiKeyCreate(R"({"admin":"yes"})"), "invalid_type", "admin");
  // null counts as absent.
  REQUIRE_THAT(ParseApiKeyCreate(R"({"name":null})").status(), IsOk());
}

TEST_CASE("policy bodies: required fields and type checks", "[unit][management]") {
  CheckError(ParsePolicyBody(R"({"type":"model","config":{"max_tier":"mid"}})"),
             "missing_required_parameter", "name");
  CheckError(ParsePolicyBody(R"({"name":"a","config":{}})"), "missing_required_parameter", "type");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"model"})"), "missing_required_parameter",
             "config");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"budget","config":{}})"), "invalid_value",
             "type");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"model","config":[]})"), "invalid_type",
             "config");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"spending","config":{"per_day_usd":"5"}})"),
             "missing_required_parameter", "config.action");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"spending","config":{"per_day_usd":"5",
             "action":"block"}})"),
             "invalid_value", "config.action");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"spending","config":{"per_day_usd":"-5",
             "action":"deny"}})"),
             "invalid_value", "config.per_day_usd");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"spending","config":{"action":"deny"}})"),
             "invalid_value", "config");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"provider","config":{}})"), "invalid_value",
             "config");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"provider","config":{"deny":[1]}})"),
             "invalid_type", "config.deny[0]");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"model","config":{"max_tier":"top"}})"),
             "invalid_value", "config.max_tier");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"task","config":{"rules":[]}})"),
             "invalid_value", "config.rules");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"task","config":{"rules":[{}]}})"),
             "missing_required_parameter", "config.rules[0].task");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"killswitch","config":{"error_rate":1.5}})"),
             "invalid_value", "config.error_rate");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"killswitch","config":{"error_rate":0.12345}})"),
             "invalid_value", "config.error_rate");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"killswitch","config":{"error_rate":0.1,
             "window":"1s"}})"),
             "invalid_value", "config.window");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"killswitch","config":{"min_requests":5}})"),
             "invalid_value", "config");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"model","config":{"max_tier":"mid"},
             "priority":2000000})"),
             "invalid_value", "priority");
  CheckError(ParsePolicyBody(R"({"name":"a","type":"model","config":{"max_tier":"mid"},
             "priority":1.5})"),
             "invalid_type", "priority");
  CheckError(ParsePolicyBody(R"({"name":"","type":"model","config":{"max_tier":"mid"}})"),
             "invalid_value", "name");
}

// Parses `body`, checks the rule, then renders it and checks that the rendered policy parses back
// to the same proto (the API's objects round-trip through PUT).
v1::TenantPolicy RoundTrip(std::string_view body) {
  absl::StatusOr<v1::TenantPolicy> policy = ParsePolicyBody(body);
  REQUIRE_THAT(policy.status(), IsOk());
  json::Value rendered = PolicyJson(*policy);
  json::Value again = json::Value::EmptyObject();
  for (const char* key : {"name", "type", "config", "priority", "enabled"}) {
    again.Set(key, *rendered.Find(key));
  }
  absl::StatusOr<v1::TenantPolicy> reparsed = ParsePolicyBody(again.Serialize());
  REQUIRE_THAT(reparsed.status(), IsOk());
  CHECK(SameProto(*policy, *reparsed));
  return *policy;
}

TEST_CASE("each policy type maps both ways", "[unit][management]") {
  SECTION("spending") {
    v1::TenantPolicy p = RoundTrip(R"({"name":"caps","type":"spending","priority":5,
        "config":{"per_hour_usd":"2.50","per_day_usd":10,"per_month_usd":0.1,"action":"throttle"}})");
    CHECK(p.name() == "caps");
    CHECK(p.priority() == 5);
    CHECK(p.enabled());
    REQUIRE(p.has_spending());
    CHECK(p.spending().per_request_micro_usd() == 0);
    CHECK(p.spending().per_hour_micro_usd() == 2'500'000);
    CHECK(p.spending().per_day_micro_usd() == 10'000'000);
    CHECK(p.spending().per_month_micro_usd() == 100'000);
    CHECK(p.spending().action() == v1::SPEND_ACTION_THROTTLE);
    CHECK(PolicyJson(p).Find("config")->Serialize() ==
          R"({"per_hour_usd":"2.500000","per_day_usd":"10.000000","per_month_usd":"0.100000",)"
          R"("action":"throttle"})");
  }
  SECTION("provider") {
    v1::TenantPolicy p = RoundTrip(R"({"name":"p","type":"provider","enabled":false,
        "config":{"allow":["anthropic","openai"],"deny":["deepseek"]}})");
    CHECK_FALSE(p.enabled());
    REQUIRE(p.has_provider());
    CHECK(p.provider().allow_size() == 2);
    CHECK(p.provider().deny(0) == "deepseek");
    CHECK(PolicyJson(p).Find("config")->Serialize() ==
          R"({"allow":["anthropic","openai"],"deny":["deepseek"]})");
  }
  SECTION("model") {
    v1::TenantPolicy p = RoundTrip(
        R"({"name":"m","type":"model","config":{"max_tier":"mid","deny_models":["openai/gpt-4o"]}})");
    REQUIRE(p.has_model());
    CHECK(p.model().max_tier() == "mid");
    CHECK(p.model().deny_models(0) == "openai/gpt-4o");
    CHECK(PolicyJson(p).Find("type")->AsString() == "model");
  }
  SECTION("task") {
    v1::TenantPolicy p = RoundTrip(R"({"name":"t","type":"task","config":{"rules":[
        {"task":"summarization","max_model":"openai/gpt-4o-mini","prefer_model":"groq/llama"},
        {"task":"*","allow_models":["a","b"]}]}})");
    REQUIRE(p.has_task());
    REQUIRE(p.task().rules_size() == 2);
    CHECK(p.task().rules(0).task() == "summarization");
    CHECK(p.task().rules(0).max_model() == "openai/gpt-4o-mini");
    CHECK(p.task().rules(0).prefer_model() == "groq/llama");
    CHECK(p.task().rules(1).allow_models_size() == 2);
  }
  SECTION("killswitch") {
    v1::TenantPolicy p = RoundTrip(R"({"name":"k","type":"killswitch","config":{
        "total_spend_usd":"500","error_rate":0.10,"window":"5m","min_requests":20}})");
    REQUIRE(p.has_kill_switch());
    CHECK(p.kill_switch().total_spend_micro_usd() == 500'000'000);
    CHECK(p.kill_switch().error_rate_bps() == 1000);
    CHECK(p.kill_switch().error_window_ms() == 300'000);
    CHECK(p.kill_switch().min_requests() == 20);
    CHECK(PolicyJson(p).Find("config")->Serialize() ==
          R"({"total_spend_usd":"500.000000","error_rate":0.1,"window":"5m","min_requests":20})");
    // error_rate also as a string, and the window as seconds.
    v1::TenantPolicy s = RoundTrip(R"({"name":"k","type":"killswitch","config":{
        "error_rate":"0.0525","window":600}})");
    CHECK(s.kill_switch().error_rate_bps() == 525);
    CHECK(s.kill_switch().error_window_ms() == 600'000);
  }
}

TEST_CASE("a policy renders with id, object and Unix-second times", "[unit][management]") {
  v1::TenantPolicy p;
  p.set_id("pol_1");
  p.set_tenant_id("t1");
  p.set_name("n");
  p.set_priority(-3);
  p.set_enabled(true);
  p.set_created_unix_ms(1'700'000'000'999);
  p.set_updated_unix_ms(1'700'000'100'000);
  p.mutable_model()->set_max_tier("budget");
  json::Value j = PolicyJson(p);
  CHECK(j.Serialize() ==
        R"({"id":"pol_1","object":"policy","name":"n","type":"model",)"
        R"("config":{"max_tier":"budget","deny_models":[]},"priority":-3,"enabled":true,)"
        R"("created_at":1700000000,"updated_at":1700000100})");
}

TEST_CASE("session bodies map both ways", "[unit][management]") {
  absl::StatusOr<v1::CreateSessionRequest> req = ParseSessionCreate(R"({
      "agent_id":"agent-7","budget_usd":"25.50","duration":"4h",
      "wallet":"0x00000000000000000000000000000000000000aa","per_request_cap_usd":0.5,
      "provider_budgets_usd":{"anthropic":"5.00","openai":2},
      "allowed_providers":["anthropic","openai"],"allowed_capabilities":["chat"],
      "allowed_hours":{"start":9,"end":17,"time_zone":"America/New_York"},
      "require_approval_above_usd":"1"})");
  REQUIRE_THAT(req.status(), IsOk());
  CHECK(req->tenant_id().empty());
  CHECK(req->agent_id() == "agent-7");
  CHECK(req->budget_micro_usd() == 25'500'000);
  CHECK(req->duration_ms() == 14'400'000);
  CHECK(req->wallet() == "0x00000000000000000000000000000000000000aa");
  CHECK(req->per_request_cap_micro_usd() == 500'000);
  CHECK(req->provider_budgets_micro_usd().at("anthropic") == 5'000'000);
  CHECK(req->provider_budgets_micro_usd().at("openai") == 2'000'000);
  CHECK(req->allowed_providers_size() == 2);
  CHECK(req->allowed_capabilities(0) == "chat");
  CHECK(req->allowed_hours().start_hour() == 9);
  CHECK(req->allowed_hours().end_hour() == 17);
  CHECK(req->allowed_hours().time_zone() == "America/New_York");
  CHECK(req->require_approval_above_micro_usd() == 1'000'000);

  v1::AgentSession s;
  s.set_id("sess_1");
  s.set_tenant_id("t1");
  s.set_agent_id(req->agent_id());
  s.set_budget_micro_usd(req->budget_micro_usd());
  s.set_spent_micro_usd(1'250'000);
  s.set_reserved_micro_usd(250'000);
  s.set_per_request_cap_micro_usd(req->per_request_cap_micro_usd());
  *s.mutable_provider_budgets_micro_usd() = req->provider_budgets_micro_usd();
  (*s.mutable_provider_spent_micro_usd())["openai"] = 1'250'000;
  *s.mutable_allowed_providers() = req->allowed_providers();
  *s.mutable_allowed_capabilities() = req->allowed_capabilities();
  *s.mutable_allowed_hours() = req->allowed_hours();
  s.set_created_unix_ms(1'700'000'000'000);
  s.set_expires_unix_ms(1'700'014'400'000);
  s.set_require_approval_above_micro_usd(1'000'000);
  s.set_status(v1::SESSION_STATUS_ACTIVE);
  s.set_token_prefix("sk-p402-sess-ab12");
  CHECK(SessionJson(s).Serialize() ==
        R"({"id":"sess_1","object":"session","agent_id":"agent-7","wallet":null,)"
        R"("budget_usd":"25.500000","per_request_cap_usd":"0.500000",)"
        R"("provider_budgets_usd":{"anthropic":"5.000000","openai":"2.000000"},)"
        R"("allowed_providers":["anthropic","openai"],"allowed_capabilities":["chat"],)"
        R"("allowed_hours":{"start":9,"end":17,"time_zone":"America/New_York"},)"
        R"("require_approval_above_usd":"1.000000","status":"active","spent_usd":"1.250000",)"
        R"("reserved_usd":"0.250000","remaining_usd":"24.000000",)"
        R"("provider_spent_usd":{"openai":"1.250000"},"created_at":1700000000,)"
        R"("expires_at":1700014400,"revoked_at":null,"token_prefix":"sk-p402-sess-ab12"})");
  s.set_status(v1::SESSION_STATUS_REVOKED);
  s.set_revoked_unix_ms(1'700'000'500'000);
  s.clear_allowed_hours();
  json::Value revoked = SessionJson(s);
  CHECK(revoked.Find("status")->AsString() == "revoked");
  CHECK(revoked.Find("revoked_at")->AsInt() == 1'700'000'500);
  CHECK(revoked.Find("allowed_hours")->is_null());
}

TEST_CASE("session bodies: validation with JSON field names", "[unit][management]") {
  CheckError(ParseSessionCreate(R"({"budget_usd":"1","duration":"1h"})"),
             "missing_required_parameter", "agent_id");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","duration":"1h"})"),
             "missing_required_parameter", "budget_usd");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1"})"),
             "missing_required_parameter", "duration");
  absl::StatusOr<v1::CreateSessionRequest> negative =
      ParseSessionCreate(R"({"agent_id":"a","budget_usd":"-10","duration":"1h"})");
  CheckError(negative, "invalid_value", "budget_usd");
  CHECK_THAT(negative.status(), StatusIs(absl::StatusCode::kInvalidArgument, "must be >= 0"));
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":0,"duration":"1h"})"),
             "invalid_value", "budget_usd");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"31d"})"),
             "invalid_value", "duration");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"30s"})"),
             "invalid_value", "duration");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "provider_budgets_usd":{"openai":"-1"}})"),
             "invalid_value", "provider_budgets_usd.openai");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "provider_budgets_usd":{"openai":"0"}})"),
             "invalid_value", "provider_budgets_usd.openai");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "allowed_capabilities":["chat","images"]})"),
             "invalid_value", "allowed_capabilities[1]");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "allowed_hours":{"start":24,"end":3}})"),
             "invalid_value", "allowed_hours.start");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "allowed_hours":{"start":5,"end":5}})"),
             "invalid_value", "allowed_hours.end");
  CheckError(ParseSessionCreate(R"({"agent_id":"a","budget_usd":"1","duration":"1h",
             "allowed_hours":{"end":5}})"),
             "missing_required_parameter", "allowed_hours.start");
  CheckError(ParseSessionCreate(R"({"agent_id":7,"budget_usd":"1","duration":"1h"})"),
             "invalid_type", "agent_id");
}

TEST_CASE("session updates keep PATCH presence", "[unit][management]") {
  absl::StatusOr<v1::UpdateSessionRequest> empty = ParseSessionUpdate("{}");
  REQUIRE_THAT(empty.status(), IsOk());
  CHECK_FALSE(empty->has_per_request_cap_micro_usd());
  CHECK_FALSE(empty->has_require_approval_above_micro_usd());
  CHECK(empty->top_up_micro_usd() == 0);
  CHECK(empty->extend_ms() == 0);

  absl::StatusOr<v1::UpdateSessionRequest> req = ParseSessionUpdate(
      R"({"top_up_usd":"10","extend":"1h","per_request_cap_usd":"0","require_approval_above_usd":2})");
  REQUIRE_THAT(req.status(), IsOk());
  CHECK(req->top_up_micro_usd() == 10'000'000);
  CHECK(req->extend_ms() == 3'600'000);
  REQUIRE(req->has_per_request_cap_micro_usd());
  CHECK(req->per_request_cap_micro_usd() == 0);  // explicitly set to "none"
  CHECK(req->require_approval_above_micro_usd() == 2'000'000);

  CheckError(ParseSessionUpdate(R"({"top_up_usd":"-1"})"), "invalid_value", "top_up_usd");
  CheckError(ParseSessionUpdate(R"({"extend":"10s"})"), "invalid_value", "extend");
  CheckError(ParseSessionUpdate(R"({"budget_usd":"5"})"), "unknown_parameter", "budget_usd");
}

TEST_CASE("tenant update, pause and rendering", "[unit][management]") {
  absl::StatusOr<v1::UpdateTenantRequest> name_only = ParseTenantUpdate(R"({"name":"Acme"})");
  REQUIRE_THAT(name_only.status(), IsOk());
  CHECK(name_only->has_name());
  CHECK_FALSE(name_only->has_limits());

  absl::StatusOr<v1::UpdateTenantRequest> req = ParseTenantUpdate(
      R"({"limits":{"budget_usd":"100","daily_limit_usd":20.5,"requests_per_hour":600,
          "max_concurrent":4,"anomaly_zscore":3.5,"reservation_ttl_seconds":120}})");
  REQUIRE_THAT(req.status(), IsOk());
  CHECK_FALSE(req->has_name());
  REQUIRE(req->has_limits());
  CHECK(req->limits().budget_micro_usd() == 100'000'000);
  CHECK(req->limits().daily_limit_micro_usd() == 20'500'000);
  CHECK(req->limits().per_request_cap_micro_usd() == 0);  // absent key = service default
  CHECK(req->limits().requests_per_hour() == 600);
  CHECK(req->limits().max_concurrent() == 4);
  CHECK(req->limits().anomaly_zscore_centi() == 350);
  CHECK(req->limits().reservation_ttl_ms() == 120'000);
  // "limits": {} still replaces every limit (all back to defaults).
  absl::StatusOr<v1::UpdateTenantRequest> reset = ParseTenantUpdate(R"({"limits":{}})");
  REQUIRE_THAT(reset.status(), IsOk());
  CHECK(reset->has_limits());

  CheckError(ParseTenantUpdate(R"({"limits":{"budget_usd":"-1"}})"), "invalid_value",
             "limits.budget_usd");
  CheckError(ParseTenantUpdate(R"({"limits":{"max_concurrent":-1}})"), "invalid_value",
             "limits.max_concurrent");
  CheckError(ParseTenantUpdate(R"({"limits":{"anomaly_zscore":3.125}})"), "invalid_value",
             "limits.anomaly_zscore");
  CheckError(ParseTenantUpdate(R"({"limits":5})"), "invalid_type", "limits");

  absl::StatusOr<v1::SetTenantPausedRequest> pause = ParseTenantPause(R"({"reason":"incident"})");
  REQUIRE_THAT(pause.status(), IsOk());
  CHECK(pause->paused());
  CHECK(pause->reason() == "incident");
  absl::StatusOr<v1::SetTenantPausedRequest> resume = ParseTenantResume("");
  REQUIRE_THAT(resume.status(), IsOk());
  CHECK_FALSE(resume->paused());

  v1::Tenant t;
  t.set_id("acme");
  t.set_name("Acme");
  t.set_spent_micro_usd(1'500'000);
  t.set_reserved_micro_usd(1);
  t.set_created_unix_ms(1'700'000'000'000);
  t.mutable_limits()->set_budget_micro_usd(100'000'000);
  t.mutable_limits()->set_anomaly_zscore_centi(300);
  t.mutable_limits()->set_reservation_ttl_ms(300'000);
  CHECK(TenantJson(t).Serialize() ==
        R"({"id":"acme","object":"tenant","name":"Acme","paused":false,"pause_reason":null,)"
        R"("spent_usd":"1.500000","reserved_usd":"0.000001","created_at":1700000000,)"
        R"("limits":{"per_request_cap_usd":"0.000000","daily_limit_usd":"0.000000",)"
        R"("budget_usd":"100.000000","requests_per_hour":0,"max_concurrent":0,)"
        R"("anomaly_zscore":3,"reservation_ttl_seconds":300}})");
}

TEST_CASE("keys and approvals render; decisions parse", "[unit][management]") {
  v1::ApiKeyInfo k;
  k.set_id("key_1");
  k.set_tenant_id("t1");
  k.set_name("ci");
  k.set_prefix("sk-p402-ab12");
  k.set_admin(true);
  k.set_created_unix_ms(1'700'000'000'000);
  CHECK(ApiKeyJson(k).Serialize() ==
        R"({"id":"key_1","object":"api_key","name":"ci","prefix":"sk-p402-ab12","admin":true,)"
        R"("revoked":false,"created_at":1700000000})");

  v1::Approval a;
  a.set_id("apr_1");
  a.set_session_id("sess_1");
  a.set_request_id("req_1");
  a.set_amount_micro_usd(2'000'000);
  a.mutable_model()->set_provider("openai");
  a.mutable_model()->set_model("gpt-4o");
  a.set_status(v1::APPROVAL_STATUS_PENDING);
  a.set_created_unix_ms(1'700'000'000'000);
  a.set_expires_unix_ms(1'700'000'300'000);
  CHECK(ApprovalJson(a).Serialize() ==
        R"({"id":"apr_1","object":"approval","session_id":"sess_1","request_id":"req_1",)"
        R"("amount_usd":"2.000000","model":"openai/gpt-4o","status":"pending",)"
        R"("created_at":1700000000,"expires_at":1700000300,"decided_at":null,"reason":null})");

  absl::StatusOr<v1::DecideApprovalRequest> d =
      ParseApprovalDecision(R"({"decision":"deny","reason":"too big"})");
  REQUIRE_THAT(d.status(), IsOk());
  CHECK_FALSE(d->approve());
  CHECK(d->reason() == "too big");
  CHECK(ParseApprovalDecision(R"({"decision":"approve"})")->approve());
  CheckError(ParseApprovalDecision(R"({"decision":"yes"})"), "invalid_value", "decision");
  CheckError(ParseApprovalDecision("{}"), "missing_required_parameter", "decision");
}

TEST_CASE("list queries and list rendering", "[unit][management]") {
  absl::StatusOr<v1::ListSessionsRequest> q =
      ParseSessionListQuery({{"status", "exhausted"}, {"limit", "20"}, {"after", "c1"}});
  REQUIRE_THAT(q.status(), IsOk());
  CHECK(q->status() == v1::SESSION_STATUS_EXHAUSTED);
  CHECK(q->page_size() == 20);
  CHECK(q->page_token() == "c1");
  CHECK(ParseSessionListQuery({})->page_size() == 0);  // service default (100)
  CheckError(ParseSessionListQuery({{"status", "done"}}), "invalid_value", "status");
  CheckError(ParseSessionListQuery({{"limit", "0"}}), "invalid_value", "limit");
  CheckError(ParseSessionListQuery({{"limit", "501"}}), "invalid_value", "limit");
  CheckError(ParseSessionListQuery({{"limit", "ten"}}), "invalid_value", "limit");
  CheckError(ParseSessionListQuery({{"limit", "-1"}}), "invalid_value", "limit");
  CheckError(ParseSessionListQuery({{"page", "2"}}), "unknown_parameter", "page");

  absl::StatusOr<v1::ListApprovalsRequest> a =
      ParseApprovalListQuery({{"session_id", "sess_1"}, {"status", "pending"}});
  REQUIRE_THAT(a.status(), IsOk());
  CHECK(a->session_id() == "sess_1");
  CHECK(a->pending_only());
  CheckError(ParseApprovalListQuery({{"status", "approved"}}), "invalid_value", "status");

  CHECK(ListJson({json::Value(1)}).Serialize() == R"({"object":"list","data":[1]})");
  CHECK(PagedListJson({}, "").Serialize() ==
        R"({"object":"list","data":[],"has_more":false,"next_cursor":null})");
  CHECK(PagedListJson({}, "c2").Serialize() ==
        R"({"object":"list","data":[],"has_more":true,"next_cursor":"c2"})");
}

}  // namespace
}  // namespace p402::edge
