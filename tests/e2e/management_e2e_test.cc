// The management API end to end (issue 3, docs/MANAGEMENT_API.md): raw HTTP to the real edge,
// policy and router processes. An admin key creates and revokes keys and sessions whose effect on
// chat requests is immediate; validation and unknown ids give clear 400/404/409 bodies; pausing
// the tenant stops its traffic until it is resumed.
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/harness.h"

namespace p402::e2e {
namespace {

http::Headers Bearer(const std::string& key) {
  return http::Headers{{"authorization", "Bearer " + key}, {"content-type", "application/json"}};
}

// A management call with the suite's admin key; REQUIREs `want` and returns the JSON body.
json::Value Manage(Suite& suite, const std::string& method, const std::string& path,
                   const std::string& body, int want) {
  HttpResult r = suite.Http(method, suite.EdgeUrl(path), body, suite.AuthHeaders());
  INFO(method << " " << path << " " << body << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == want);
  REQUIRE(r.headers.Get("x-request-id").has_value());
  return r.Json();
}

// A small chat completion with `key`; returns the HTTP result.
HttpResult Chat(Suite& suite, const std::string& key) {
  return suite.Http("POST", suite.EdgeUrl("/v1/chat/completions"),
                    ChatBody("gpt-4o-mini", "hello", R"("max_tokens":16)"), Bearer(key));
}

TEST_CASE("management API: keys, sessions, validation and pause over real services", "[e2e]") {
  Suite suite;  // its own tenant: this test revokes keys and pauses the tenant

  json::Value tenant = Manage(suite, "GET", "/v2/tenant", "", 200);
  CHECK(tenant.GetString("id") == suite.tenant());
  CHECK(tenant.GetString("object") == "tenant");

  // A new (non-admin) key works for chat at once, cannot manage, and stops working when revoked.
  json::Value key = Manage(suite, "POST", "/v2/keys", R"({"name":"app"})", 201);
  std::string secret(key.GetString("secret").value_or(""));
  std::string key_id(key.GetString("id").value_or(""));
  REQUIRE_FALSE(secret.empty());
  CHECK(key.GetBool("admin") == false);
  HttpResult chat = Chat(suite, secret);
  CHECK(chat.status == 200);
  HttpResult denied = suite.Http("GET", suite.EdgeUrl("/v2/keys"), "", Bearer(secret));
  CHECK(denied.status == 403);
  CheckOpenAiError(denied.Json(), "permission_error", "admin_key_required");
  json::Value keys = Manage(suite, "GET", "/v2/keys", "", 200);
  CHECK(keys.Serialize().find(secret) == std::string::npos);  // never listed again
  json::Value revoked = Manage(suite, "DELETE", "/v2/keys/" + key_id, "", 200);
  CHECK(revoked.GetBool("revoked") == true);
  chat = Chat(suite, secret);
  CHECK(chat.status == 401);

  // A session token works as an API key until the session is revoked.
  json::Value session = Manage(suite, "POST", "/v2/sessions",
                               R"({"agent_id":"e2e-agent","budget_usd":"2","duration":"1h"})", 201);
  std::string token(session.GetString("token").value_or(""));
  std::string session_id(session.GetString("id").value_or(""));
  REQUIRE_FALSE(token.empty());
  CHECK(session.GetString("budget_usd") == "2.000000");
  CHECK(session.GetString("status") == "active");
  chat = Chat(suite, token);
  INFO(chat.body);
  CHECK(chat.status == 200);
  Manage(suite, "DELETE", "/v2/sessions/" + session_id, "", 200);
  chat = Chat(suite, token);
  CHECK(chat.status == 401);

  // Clear errors: validation (param), unknown ids, conflicts, typos in fields.
  HttpResult bad =
      suite.Http("POST", suite.EdgeUrl("/v2/sessions"),
                 R"({"agent_id":"a","budget_usd":"-1","duration":"1h"})", suite.AuthHeaders());
  CHECK(bad.status == 400);
  CheckOpenAiError(bad.Json(), "invalid_request_error", "invalid_value", "budget_usd");
  bad =
      suite.Http("POST", suite.EdgeUrl("/v2/policies"),
                 R"({"name":"caps","type":"spending","config":{"per_dy_usd":"5","action":"deny"}})",
                 suite.AuthHeaders());
  CHECK(bad.status == 400);
  CheckOpenAiError(bad.Json(), "invalid_request_error", "unknown_parameter", "config.per_dy_usd");
  bad = suite.Http("POST", suite.EdgeUrl("/v2/policies"), "{nope", suite.AuthHeaders());
  CHECK(bad.status == 400);
  CheckOpenAiError(bad.Json(), "invalid_request_error", "invalid_json");
  HttpResult missing = suite.Http("GET", suite.EdgeUrl("/v2/policies/pol_0000000000000000"), "",
                                  suite.AuthHeaders());
  CHECK(missing.status == 404);
  CheckOpenAiError(missing.Json(), "not_found_error", "policy_not_found");
  HttpResult conflict = suite.Http("PATCH", suite.EdgeUrl("/v2/sessions/" + session_id),
                                   R"({"top_up_usd":"1"})", suite.AuthHeaders());
  CHECK(conflict.status == 409);
  CheckOpenAiError(conflict.Json(), "conflict_error", "session_revoked");

  // Policies round-trip.
  json::Value policy =
      Manage(suite, "POST", "/v2/policies",
             R"({"name":"tiers","type":"model","config":{"max_tier":"premium"}})", 201);
  std::string policy_id(policy.GetString("id").value_or(""));
  json::Value listed = Manage(suite, "GET", "/v2/policies", "", 200);
  CHECK(listed.Serialize().find(policy_id) != std::string::npos);
  Manage(suite, "DELETE", "/v2/policies/" + policy_id, "", 200);

  // Pause stops the tenant's traffic; resume lets it through again.
  json::Value paused = Manage(suite, "POST", "/v2/tenant/pause", R"({"reason":"e2e drill"})", 200);
  CHECK(paused.GetBool("paused") == true);
  chat = Chat(suite, suite.api_key());
  CHECK(chat.status == 403);
  CheckOpenAiError(chat.Json(), "permission_error", "tenant_paused");
  Manage(suite, "POST", "/v2/tenant/resume", "", 200);
  chat = Chat(suite, suite.api_key());
  CHECK(chat.status == 200);

  CHECK(AwaitEdgeMetric(suite, "p402_edge_requests_total",
                        {{"route", "management"}, {"code", "201"}}, 3) >= 3);
  suite.RequireAllAlive();
}

}  // namespace
}  // namespace p402::e2e
