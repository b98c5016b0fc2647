// The management API core (services/edge/core/management_api.h) against an in-test
// PolicyAdminClient: admin-key auth, routing (404/405), every endpoint calling the right RPC with
// the caller's tenant, 201 on create with the secret/token once, and the mapping of RPC errors to
// 400/404/409/503 OpenAI-shaped bodies.
#include "services/edge/core/management_api.h"

#include <map>
#include <optional>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"

namespace p402::edge {
namespace {

// Records every call; answers inline with the configured response, or the configured error.
class FakeAdmin final : public PolicyAdminClient {
 public:
  FakeAdmin() {
    resp_Authenticate.set_authenticated(true);
    resp_Authenticate.set_tenant_id("t1");
    resp_Authenticate.set_api_key_id("key_admin");
    resp_Authenticate.set_admin(true);
  }

  std::vector<std::string> calls;
  std::vector<std::string> request_ids;
  std::map<std::string, absl::Status> errors;

#define P402_FAKE_RPC(Name)                                                        \
  v1::Name##Request last_##Name;                                                   \
  v1::Name##Response resp_##Name;                                                  \
  void Name(std::string_view request_id, const v1::Name##Request& request,         \
            Callback<v1::Name##Response> done) override {                          \
    calls.push_back(#Name);                                                        \
    request_ids.emplace_back(request_id);                                          \
    last_##Name = request;                                                         \
    if (auto it = errors.find(#Name); it != errors.end()) return done(it->second); \
    done(resp_##Name);                                                             \
  }
  P402_FAKE_RPC(Authenticate)
  P402_FAKE_RPC(GetTenant)
  P402_FAKE_RPC(UpdateTenant)
  P402_FAKE_RPC(SetTenantPaused)
  P402_FAKE_RPC(CreateApiKey)
  P402_FAKE_RPC(ListApiKeys)
  P402_FAKE_RPC(RevokeApiKey)
  P402_FAKE_RPC(CreatePolicy)
  P402_FAKE_RPC(GetPolicy)
  P402_FAKE_RPC(ListPolicies)
  P402_FAKE_RPC(UpdatePolicy)
  P402_FAKE_RPC(DeletePolicy)
  P402_FAKE_RPC(CreateSession)
  P402_FAKE_RPC(GetSession)
  P402_FAKE_RPC(ListSessions)
  P402_FAKE_RPC(UpdateSession)
  P402_FAKE_RPC(RevokeSession)
  P402_FAKE_RPC(GetApproval)
  P402_FAKE_RPC(ListApprovals)
  P402_FAKE_RPC(DecideApproval)
#undef P402_FAKE_RPC
};

struct Result {
  ManagementReply reply;
  json::Value body;

  std::string Code() const { return ErrorField("code"); }
  std::string Type() const { return ErrorField("type"); }
  std::string Param() const { return ErrorField("param"); }
  std::string Message() const { return ErrorField("message"); }
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [k, v] : reply.headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }

 private:
  std::string ErrorField(std::string_view key) const {
    const json::Value* error = body.Find("error");
    if (error == nullptr) return "<no error>";
    const json::Value* v = error->Find(key);
    return v == nullptr || v->is_null() ? "" : v->AsString();
  }
};

Result Run(FakeAdmin& fake, std::string method, std::string path, std::string body = "",
           QueryParams query = {}, std::string token = "sk-p402-admin") {
  ManagementApi api(fake);
  int calls = 0;
  ManagementReply reply;
  api.Handle(ManagementCall{.method = std::move(method),
                            .path = std::move(path),
                            .query = std::move(query),
                            .bearer_token = std::move(token),
                            .body = std::move(body),
                            .request_id = "req_test"},
             [&](ManagementReply r) {
               ++calls;
               reply = std::move(r);
             });
  REQUIRE(calls == 1);  // the fake answers inline: exactly one reply
  absl::StatusOr<json::Value> parsed = json::Value::Parse(reply.body);
  INFO(reply.body);
  REQUIRE(parsed.ok());
  return Result{std::move(reply), std::move(*parsed)};
}

absl::Status Err(absl::Status status, std::string_view reason) {
  return WithReason(std::move(status), reason);
}

TEST_CASE("management paths are recognised exactly", "[unit][management]") {
  for (const char* p :
       {"/v2/keys", "/v2/keys/key_1", "/v2/tenant", "/v2/tenant/pause", "/v2/policies",
        "/v2/sessions/sess_1", "/v2/approvals/apr_1", "/v2/keys/a/b"}) {
    CHECK(IsManagementPath(p));
  }
  for (const char* p : {"/v2/keysx", "/v2/chat/completions", "/v1/keys", "/v2/models", "/v2",
                        "/v2/", "/keys", "/v2/tenants"}) {
    CHECK_FALSE(IsManagementPath(p));
  }
}

TEST_CASE("auth: 401 without or with a bad key, 403 for non-admin credentials",
          "[unit][management]") {
  FakeAdmin fake;
  SECTION("missing key: answered without any RPC") {
    Result r = Run(fake, "GET", "/v2/policies", "", {}, "");
    CHECK(r.reply.status == 401);
    CHECK(r.Type() == "authentication_error");
    CHECK(r.Code() == "invalid_api_key");
    CHECK(fake.calls.empty());
  }
  SECTION("unknown or revoked key") {
    fake.resp_Authenticate = v1::AuthenticateResponse();
    fake.resp_Authenticate.set_reason("revoked_api_key");
    fake.resp_Authenticate.set_message("This API key was revoked.");
    Result r = Run(fake, "GET", "/v2/policies");
    CHECK(r.reply.status == 401);
    CHECK(r.Code() == "invalid_api_key");
    CHECK(r.Message() == "This API key was revoked.");
    CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
    CHECK(fake.last_Authenticate.credential().api_key() == "sk-p402-admin");
  }
  SECTION("non-admin key") {
    fake.resp_Authenticate.set_admin(false);
    Result r = Run(fake, "POST", "/v2/keys", R"({"admin":true})");
    CHECK(r.reply.status == 403);
    CHECK(r.Type() == "permission_error");
    CHECK(r.Code() == "admin_key_required");
    CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
  }
  SECTION("session token") {
    fake.resp_Authenticate.set_admin(false);
    fake.resp_Authenticate.set_api_key_id("");
    fake.resp_Authenticate.set_session_id("sess_1");
    Result r = Run(fake, "GET", "/v2/sessions", "", {}, "sk-p402-sess-xyz");
    CHECK(r.reply.status == 403);
    CHECK(r.Code() == "admin_key_required");
  }
  SECTION("guard down while authenticating") {
    fake.errors["Authenticate"] = Unavailable("connect failed: 10.0.0.7:50052");
    Result r = Run(fake, "GET", "/v2/tenant");
    CHECK(r.reply.status == 503);
    CHECK(r.Code() == "guard_unavailable");
    CHECK(r.Message().find("10.0.0.7") == std::string::npos);  // internal address not leaked
  }
}

TEST_CASE("routing: unknown URLs 404, wrong methods 405 with Allow", "[unit][management]") {
  FakeAdmin fake;
  struct Case {
    const char* method;
    const char* path;
    int status;
    const char* code;
    const char* allow;
  };
  const Case cases[] = {
      {"GET", "/v2/keys/key_1/extra", 404, "unknown_url", nullptr},
      {"GET", "/v2/tenant/stop", 404, "unknown_url", nullptr},
      {"GET", "/v2/keys/", 404, "unknown_url", nullptr},
      {"DELETE", "/v2/policies", 405, "method_not_allowed", "GET, POST"},
      {"PUT", "/v2/sessions/sess_1", 405, "method_not_allowed", "GET, PATCH, DELETE"},
      {"GET", "/v2/keys/key_1", 405, "method_not_allowed", "DELETE"},
      {"GET", "/v2/tenant/pause", 405, "method_not_allowed", "POST"},
      {"POST", "/v2/tenant", 405, "method_not_allowed", "GET, PATCH"},
      {"DELETE", "/v2/approvals/apr_1", 405, "method_not_allowed", "GET, POST"},
      {"get", "/v2/keys", 405, "method_not_allowed", "GET, POST"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    fake.calls.clear();
    Result r = Run(fake, c.method, c.path);
    CHECK(r.reply.status == c.status);
    CHECK(r.Code() == c.code);
    if (c.allow != nullptr) {
      CHECK(r.Header("allow") == std::optional<std::string>(c.allow));
    }
    CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
  }
  // An id that cannot exist is the resource's not-found, without a call.
  fake.calls.clear();
  Result r = Run(fake, "GET", "/v2/policies/pol%20x");
  CHECK(r.reply.status == 404);
  CHECK(r.Type() == "not_found_error");
  CHECK(r.Code() == "policy_not_found");
  CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
  // Query parameters on endpoints that take none are typos too.
  r = Run(fake, "GET", "/v2/policies", "", {{"limit", "5"}});
  CHECK(r.reply.status == 400);
  CHECK(r.Code() == "unknown_parameter");
  CHECK(r.Param() == "limit");
}

TEST_CASE("every endpoint calls its RPC with the caller's tenant", "[unit][management]") {
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    const char* rpc;
    int status;
    const char* object;  // "object" of the reply
  };
  const Case cases[] = {
      {"GET", "/v2/tenant", "", "GetTenant", 200, "tenant"},
      {"PATCH", "/v2/tenant", R"({"name":"Acme"})", "UpdateTenant", 200, "tenant"},
      {"POST", "/v2/tenant/pause", R"({"reason":"incident"})", "SetTenantPaused", 200, "tenant"},
      {"POST", "/v2/tenant/resume", "", "SetTenantPaused", 200, "tenant"},
      {"GET", "/v2/keys", "", "ListApiKeys", 200, "list"},
      {"POST", "/v2/keys", R"({"name":"ci"})", "CreateApiKey", 201, "api_key"},
      {"GET", "/v2/policies", "", "ListPolicies", 200, "list"},
      {"POST", "/v2/policies", R"({"name":"m","type":"model","config":{"max_tier":"mid"}})",
       "CreatePolicy", 201, "policy"},
      {"GET", "/v2/policies/pol_1", "", "GetPolicy", 200, "policy"},
      {"PUT", "/v2/policies/pol_1", R"({"name":"m","type":"model","config":{"max_tier":"mid"}})",
       "UpdatePolicy", 200, "policy"},
      {"DELETE", "/v2/policies/pol_1", "", "DeletePolicy", 200, "policy"},
      {"GET", "/v2/sessions", "", "ListSessions", 200, "list"},
      {"POST", "/v2/sessions", R"({"agent_id":"a","budget_usd":"5","duration":"1h"})",
       "CreateSession", 201, "session"},
      {"GET", "/v2/sessions/sess_1", "", "GetSession", 200, "session"},
      {"PATCH", "/v2/sessions/sess_1", R"({"top_up_usd":"1"})", "UpdateSession", 200, "session"},
      {"DELETE", "/v2/sessions/sess_1", "", "RevokeSession", 200, "session"},
      {"GET", "/v2/approvals", "", "ListApprovals", 200, "list"},
      {"GET", "/v2/approvals/apr_1", "", "GetApproval", 200, "approval"},
      {"POST", "/v2/approvals/apr_1", R"({"decision":"approve"})", "DecideApproval", 200,
       "approval"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path);
    FakeAdmin fake;
    fake.resp_Authenticate.set_tenant_id("tenant_a");
    Result r = Run(fake, c.method, c.path, c.body);
    CHECK(r.reply.status == c.status);
    REQUIRE(r.body.Find("object") != nullptr);
    CHECK(r.body.Find("object")->AsString() == c.object);
    REQUIRE(fake.calls == std::vector<std::string>{"Authenticate", c.rpc});
    CHECK(fake.request_ids == std::vector<std::string>{"req_test", "req_test"});
    std::string rpc = c.rpc;
    std::string tenant = rpc == "GetTenant"         ? fake.last_GetTenant.tenant_id()
                         : rpc == "UpdateTenant"    ? fake.last_UpdateTenant.tenant_id()
                         : rpc == "SetTenantPaused" ? fake.last_SetTenantPaused.tenant_id()
                         : rpc == "ListApiKeys"     ? fake.last_ListApiKeys.tenant_id()
                         : rpc == "CreateApiKey"    ? fake.last_CreateApiKey.tenant_id()
                         : rpc == "ListPolicies"    ? fake.last_ListPolicies.tenant_id()
                         : rpc == "CreatePolicy"    ? fake.last_CreatePolicy.tenant_id()
                         : rpc == "GetPolicy"       ? fake.last_GetPolicy.tenant_id()
                         : rpc == "UpdatePolicy"    ? fake.last_UpdatePolicy.tenant_id()
                         : rpc == "DeletePolicy"    ? fake.last_DeletePolicy.tenant_id()
                         : rpc == "ListSessions"    ? fake.last_ListSessions.tenant_id()
                         : rpc == "CreateSession"   ? fake.last_CreateSession.tenant_id()
                         : rpc == "GetSession"      ? fake.last_GetSession.tenant_id()
                         : rpc == "UpdateSession"   ? fake.last_UpdateSession.tenant_id()
                         : rpc == "RevokeSession"   ? fake.last_RevokeSession.tenant_id()
                         : rpc == "ListApprovals"   ? fake.last_ListApprovals.tenant_id()
                         : rpc == "GetApproval"     ? fake.last_GetApproval.tenant_id()
                                                    : fake.last_DecideApproval.tenant_id();
    CHECK(tenant == "tenant_a");
  }
}

TEST_CASE("path ids and bodies reach the RPC; the tenant never comes from the body",
          "[unit][management]") {
  FakeAdmin fake;
  Run(fake, "PUT", "/v2/policies/pol_9",
      R"({"name":"m","type":"model","config":{"max_tier":"mid"},"priority":3})");
  CHECK(fake.last_UpdatePolicy.policy().id() == "pol_9");
  CHECK(fake.last_UpdatePolicy.policy().priority() == 3);
  CHECK(fake.last_UpdatePolicy.policy().model().max_tier() == "mid");

  Run(fake, "PATCH", "/v2/sessions/sess_4", R"({"extend":"2h"})");
  CHECK(fake.last_UpdateSession.session_id() == "sess_4");
  CHECK(fake.last_UpdateSession.extend_ms() == 7'200'000);

  Run(fake, "POST", "/v2/approvals/apr_3", R"({"decision":"deny","reason":"no"})");
  CHECK(fake.last_DecideApproval.approval_id() == "apr_3");
  CHECK_FALSE(fake.last_DecideApproval.approve());

  Run(fake, "GET", "/v2/sessions", "", {{"status", "active"}, {"limit", "2"}, {"after", "cur"}});
  CHECK(fake.last_ListSessions.status() == v1::SESSION_STATUS_ACTIVE);
  CHECK(fake.last_ListSessions.page_size() == 2);
  CHECK(fake.last_ListSessions.page_token() == "cur");

  Run(fake, "GET", "/v2/approvals", "", {{"session_id", "sess_4"}, {"status", "pending"}});
  CHECK(fake.last_ListApprovals.session_id() == "sess_4");
  CHECK(fake.last_ListApprovals.pending_only());

  Run(fake, "POST", "/v2/tenant/pause", "");
  CHECK(fake.last_SetTenantPaused.paused());
  CHECK(fake.last_SetTenantPaused.reason().find("key_admin") != std::string::npos);
  Run(fake, "POST", "/v2/tenant/resume", "{}");
  CHECK_FALSE(fake.last_SetTenantPaused.paused());

  fake.calls.clear();
  Result r = Run(fake, "POST", "/v2/sessions",
                 R"({"tenant_id":"victim","agent_id":"a","budget_usd":"5","duration":"1h"})");
  CHECK(r.reply.status == 400);
  CHECK(r.Code() == "unknown_parameter");
  CHECK(r.Param() == "tenant_id");
  CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
}

TEST_CASE("validation errors are 400 with param and make no call", "[unit][management]") {
  FakeAdmin fake;
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    const char* code;
    const char* param;
  };
  const Case cases[] = {
      {"POST", "/v2/policies", "{not json", "invalid_json", ""},
      {"POST", "/v2/sessions", R"({"agent_id":"a","budget_usd":"-1","duration":"1h"})",
       "invalid_value", "budget_usd"},
      {"POST", "/v2/policies",
       R"({"name":"s","type":"spending","config":{"per_day_usd":-2,"action":"deny"}})",
       "invalid_value", "config.per_day_usd"},
      {"PATCH", "/v2/tenant", R"({"limits":{"daily_limit_usd":"-5"}})", "invalid_value",
       "limits.daily_limit_usd"},
      {"PATCH", "/v2/sessions/sess_1", R"({"top_up":"5"})", "unknown_parameter", "top_up"},
      {"POST", "/v2/approvals/apr_1", R"({"decision":1})", "invalid_type", "decision"},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.path << " " << c.body);
    fake.calls.clear();
    Result r = Run(fake, c.method, c.path, c.body);
    CHECK(r.reply.status == 400);
    CHECK(r.Type() == "invalid_request_error");
    CHECK(r.Code() == c.code);
    CHECK(r.Param() == c.param);
    CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
  }
  fake.calls.clear();
  Result r = Run(fake, "GET", "/v2/sessions", "", {{"limit", "1000"}});
  CHECK(r.reply.status == 400);
  CHECK(r.Param() == "limit");
  CHECK(fake.calls == std::vector<std::string>{"Authenticate"});
}

TEST_CASE("RPC errors map to 400/404/409/503", "[unit][management]") {
  struct Case {
    absl::Status error;
    int status;
    const char* type;
    const char* code;
  };
  const Case cases[] = {
      {InvalidArgument("policy.priority must be between -1000000 and 1000000"), 400,
       "invalid_request_error", "invalid_value"},
      {Err(NotFound("no such policy"), "policy_not_found"), 404, "not_found_error",
       "policy_not_found"},
      {Err(FailedPrecondition("too many"), "too_many_policies"), 409, "conflict_error",
       "too_many_policies"},
      {Err(AlreadyExists("exists"), "policy_exists"), 409, "conflict_error", "policy_exists"},
      {Unavailable("store down"), 503, "server_error", "guard_unavailable"},
      {DeadlineExceeded("deadline"), 503, "server_error", "guard_unavailable"},
      {Internal("boom"), 503, "server_error", "guard_unavailable"},
  };
  for (const Case& c : cases) {
    INFO(c.error.ToString());
    FakeAdmin fake;
    fake.errors["CreatePolicy"] = c.error;
    Result r = Run(fake, "POST", "/v2/policies",
                   R"({"name":"m","type":"model","config":{"max_tier":"mid"}})");
    CHECK(r.reply.status == c.status);
    CHECK(r.Type() == c.type);
    CHECK(r.Code() == c.code);
    if (c.status < 500) {
      CHECK(r.Message() == MessageOf(c.error));  // the service's message reaches the caller
    } else {
      CHECK(r.Message().find(MessageOf(c.error)) == std::string::npos);
    }
  }
  FakeAdmin fake;
  fake.errors["UpdateSession"] = Err(FailedPrecondition("session is revoked"), "session_revoked");
  Result r = Run(fake, "PATCH", "/v2/sessions/sess_1", R"({"top_up_usd":"1"})");
  CHECK(r.reply.status == 409);
  CHECK(r.Code() == "session_revoked");
  fake.errors["GetSession"] = Err(NotFound("no session"), "session_not_found");
  r = Run(fake, "GET", "/v2/sessions/sess_unknown");
  CHECK(r.reply.status == 404);
  CHECK(r.Code() == "session_not_found");
}

TEST_CASE("create returns 201 with the secret or token once", "[unit][management]") {
  FakeAdmin fake;
  fake.resp_CreateApiKey.mutable_key()->set_id("key_new");
  fake.resp_CreateApiKey.mutable_key()->set_prefix("sk-p402-abcd");
  fake.resp_CreateApiKey.set_secret("sk-p402-abcdSECRET");
  Result r = Run(fake, "POST", "/v2/keys", R"({"name":"ci","admin":true})");
  CHECK(r.reply.status == 201);
  CHECK(r.body.Find("id")->AsString() == "key_new");
  CHECK(r.body.Find("secret")->AsString() == "sk-p402-abcdSECRET");
  CHECK(fake.last_CreateApiKey.admin());
  CHECK(fake.last_CreateApiKey.name() == "ci");

  // Listing never shows a secret.
  *fake.resp_ListApiKeys.add_keys() = fake.resp_CreateApiKey.key();
  r = Run(fake, "GET", "/v2/keys");
  CHECK(r.reply.status == 200);
  REQUIRE(r.body.Find("data")->AsArray().size() == 1);
  CHECK(r.body.Find("data")->AsArray()[0].Find("secret") == nullptr);
  CHECK(r.reply.body.find("SECRET") == std::string::npos);

  fake.resp_CreateSession.mutable_session()->set_id("sess_new");
  fake.resp_CreateSession.set_token("sk-p402-sess-TOKEN");
  r = Run(fake, "POST", "/v2/sessions", R"({"agent_id":"a","budget_usd":5,"duration":"4h"})");
  CHECK(r.reply.status == 201);
  CHECK(r.body.Find("token")->AsString() == "sk-p402-sess-TOKEN");
  CHECK(fake.last_CreateSession.budget_micro_usd() == 5'000'000);
  fake.resp_GetSession = v1::GetSessionResponse();
  fake.resp_GetSession.mutable_session()->set_id("sess_new");
  r = Run(fake, "GET", "/v2/sessions/sess_new");
  CHECK(r.body.Find("token") == nullptr);

  fake.resp_ListSessions.add_sessions()->set_id("sess_a");
  fake.resp_ListSessions.set_next_page_token("next");
  r = Run(fake, "GET", "/v2/sessions");
  CHECK(r.body.Find("has_more")->AsBool());
  CHECK(r.body.Find("next_cursor")->AsString() == "next");
  CHECK(r.body.Find("data")->AsArray()[0].Find("token") == nullptr);
}

TEST_CASE("revoking a key is scoped to the caller's tenant", "[unit][management]") {
  FakeAdmin fake;
  fake.resp_RevokeApiKey.mutable_key()->set_id("key_own");
  fake.resp_RevokeApiKey.mutable_key()->set_revoked(true);

  Result r = Run(fake, "DELETE", "/v2/keys/key_own");
  CHECK(r.reply.status == 200);
  CHECK(r.body.Find("revoked")->AsBool());
  CHECK(fake.calls == std::vector<std::string>{"Authenticate", "RevokeApiKey"});
  CHECK(fake.last_RevokeApiKey.key_id() == "key_own");
  // The service enforces ownership with the caller's tenant (never one from the URL or body).
  CHECK(fake.last_RevokeApiKey.tenant_id() == "t1");

  fake.errors["RevokeApiKey"] =
      WithReason(absl::NotFoundError("API key 'key_other' not found"), "api_key_not_found");
  r = Run(fake, "DELETE", "/v2/keys/key_other");
  CHECK(r.reply.status == 404);
  CHECK(r.Code() == "api_key_not_found");
}

}  // namespace
}  // namespace p402::edge
