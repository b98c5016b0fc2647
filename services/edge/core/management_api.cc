#include "services/edge/core/management_api.h"

#include <memory>
#include <optional>
#include <type_traits>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/openai/error_body.h"
#include "libs/openai/error_param.h"

namespace p402::edge {
namespace {

constexpr std::string_view kPrefix = "/v2/";
constexpr std::string_view kResources[] = {"tenant", "keys", "policies", "sessions", "approvals"};

// One call in flight: what was asked, who asked, and where the answer goes.
struct Exchange {
  ManagementCall call;
  std::function<void(ManagementReply)> done;
  std::string tenant_id;
  std::string api_key_id;
  // The :id path segment, when the route has one.
  std::string id;

  void Finish(ManagementReply reply) { done(std::move(reply)); }
};
using Ex = std::shared_ptr<Exchange>;

ManagementReply Json(int status, const json::Value& body) {
  return ManagementReply{.status = status, .body = body.Serialize(), .headers = {}};
}

ManagementReply Error(int status, std::string_view type, std::string_view code,
                      std::string_view message, std::optional<std::string> param = std::nullopt) {
  return ManagementReply{
      .status = status,
      .body = openai::EncodeError(
          message, type, param ? std::optional<std::string_view>(*param) : std::nullopt, code),
      .headers = {}};
}

// A request validation error (parsers) -> 400 with its reason and param.
ManagementReply BadRequest(const absl::Status& status) {
  return Error(400, "invalid_request_error", ReasonOf(status).value_or("invalid_value"),
               MessageOf(status), openai::ParamOf(status));
}

// A failed policy RPC -> the answer documented in docs/MANAGEMENT_API.md.
ManagementReply RpcError(const absl::Status& status, const std::string& request_id) {
  std::optional<std::string> reason = ReasonOf(status);
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return BadRequest(status);
    case absl::StatusCode::kNotFound:
      return Error(404, "not_found_error", reason.value_or("not_found"), MessageOf(status));
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return Error(409, "conflict_error", reason.value_or("conflict"), MessageOf(status));
    default:
      // Transport and store failures name internal addresses: log them, answer generically.
      P402_LOG(kWarn, "management call failed: policy service unavailable")
          .RequestId(request_id)
          .Field("code", absl::StatusCodeToString(status.code()))
          .Field("error", MessageOf(status));
      return Error(503, "server_error", "guard_unavailable",
                   "The billing guard is unavailable. Please retry shortly.");
  }
}

// Calls one RPC and answers with `encode(response)` (status `ok_status`) or the mapped error.
template <typename Req, typename Resp, typename Encode>
void Call(PolicyAdminClient& client, const Ex& ex,
          void (PolicyAdminClient::*method)(std::string_view, const Req&, Callback<Resp>),
          const std::type_identity_t<Req>& request, int ok_status, Encode encode) {
  (client.*method)(ex->call.request_id, request,
                   [ex, ok_status, encode = std::move(encode)](absl::StatusOr<Resp> response) {
                     if (!response.ok()) {
                       ex->Finish(RpcError(response.status(), ex->call.request_id));
                     } else {
                       ex->Finish(Json(ok_status, encode(*response)));
                     }
                   });
}

// ---- Tenant ----

void GetTenant(PolicyAdminClient& c, const Ex& ex) {
  v1::GetTenantRequest req;
  req.set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::GetTenant, req, 200,
       [](const v1::GetTenantResponse& r) { return TenantJson(r.tenant()); });
}

void PatchTenant(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::UpdateTenantRequest> req = ParseTenantUpdate(ex->call.body);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::UpdateTenant, *req, 200,
       [](const v1::UpdateTenantResponse& r) { return TenantJson(r.tenant()); });
}

void SetPaused(PolicyAdminClient& c, const Ex& ex, absl::StatusOr<v1::SetTenantPausedRequest> req) {
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  if (req->paused() && req->reason().empty()) {
    req->set_reason("paused through the management API by " + ex->api_key_id);
  }
  Call(c, ex, &PolicyAdminClient::SetTenantPaused, *req, 200,
       [](const v1::SetTenantPausedResponse& r) { return TenantJson(r.tenant()); });
}

void PauseTenant(PolicyAdminClient& c, const Ex& ex) {
  SetPaused(c, ex, ParseTenantPause(ex->call.body));
}
void ResumeTenant(PolicyAdminClient& c, const Ex& ex) {
  SetPaused(c, ex, ParseTenantResume(ex->call.body));
}

// ---- API keys ----

void ListKeys(PolicyAdminClient& c, const Ex& ex) {
  v1::ListApiKeysRequest req;
  req.set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::ListApiKeys, req, 200, [](const v1::ListApiKeysResponse& r) {
    json::Array data;
    for (const v1::ApiKeyInfo& key : r.keys()) data.push_back(ApiKeyJson(key));
    return ListJson(std::move(data));
  });
}

void CreateKey(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::CreateApiKeyRequest> req = ParseApiKeyCreate(ex->call.body);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::CreateApiKey, *req, 201, [](const v1::CreateApiKeyResponse& r) {
    json::Value key = ApiKeyJson(r.key());
    key.Set("secret", r.secret());  // shown once
    return key;
  });
}

// The policy service refuses another tenant's key (NOT_FOUND api_key_not_found -> 404): an admin
// key can never revoke another tenant's key.
void RevokeKey(PolicyAdminClient& c, const Ex& ex) {
  v1::RevokeApiKeyRequest req;
  req.set_key_id(ex->id);
  req.set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::RevokeApiKey, req, 200,
       [](const v1::RevokeApiKeyResponse& r) { return ApiKeyJson(r.key()); });
}

// ---- Policies ----

json::Value PolicyList(const v1::ListPoliciesResponse& r) {
  json::Array data;
  for (const v1::TenantPolicy& p : r.policies()) data.push_back(PolicyJson(p));
  return ListJson(std::move(data));
}

void ListPolicies(PolicyAdminClient& c, const Ex& ex) {
  v1::ListPoliciesRequest req;
  req.set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::ListPolicies, req, 200, PolicyList);
}

void CreatePolicy(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::TenantPolicy> policy = ParsePolicyBody(ex->call.body);
  if (!policy.ok()) return ex->Finish(BadRequest(policy.status()));
  v1::CreatePolicyRequest req;
  req.set_tenant_id(ex->tenant_id);
  *req.mutable_policy() = std::move(*policy);
  Call(c, ex, &PolicyAdminClient::CreatePolicy, req, 201,
       [](const v1::CreatePolicyResponse& r) { return PolicyJson(r.policy()); });
}

void GetPolicy(PolicyAdminClient& c, const Ex& ex) {
  v1::GetPolicyRequest req;
  req.set_tenant_id(ex->tenant_id);
  req.set_policy_id(ex->id);
  Call(c, ex, &PolicyAdminClient::GetPolicy, req, 200,
       [](const v1::GetPolicyResponse& r) { return PolicyJson(r.policy()); });
}

void ReplacePolicy(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::TenantPolicy> policy = ParsePolicyBody(ex->call.body);
  if (!policy.ok()) return ex->Finish(BadRequest(policy.status()));
  v1::UpdatePolicyRequest req;
  req.set_tenant_id(ex->tenant_id);
  *req.mutable_policy() = std::move(*policy);
  req.mutable_policy()->set_id(ex->id);
  Call(c, ex, &PolicyAdminClient::UpdatePolicy, req, 200,
       [](const v1::UpdatePolicyResponse& r) { return PolicyJson(r.policy()); });
}

void DeletePolicy(PolicyAdminClient& c, const Ex& ex) {
  v1::DeletePolicyRequest req;
  req.set_tenant_id(ex->tenant_id);
  req.set_policy_id(ex->id);
  Call(c, ex, &PolicyAdminClient::DeletePolicy, req, 200,
       [](const v1::DeletePolicyResponse& r) { return PolicyJson(r.policy()); });
}

// ---- Sessions ----

void ListSessions(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::ListSessionsRequest> req = ParseSessionListQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::ListSessions, *req, 200, [](const v1::ListSessionsResponse& r) {
    json::Array data;
    for (const v1::AgentSession& s : r.sessions()) data.push_back(SessionJson(s));
    return PagedListJson(std::move(data), r.next_page_token());
  });
}

void CreateSession(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::CreateSessionRequest> req = ParseSessionCreate(ex->call.body);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::CreateSession, *req, 201, [](const v1::CreateSessionResponse& r) {
    json::Value session = SessionJson(r.session());
    session.Set("token", r.token());  // shown once
    return session;
  });
}

void GetSession(PolicyAdminClient& c, const Ex& ex) {
  v1::GetSessionRequest req;
  req.set_tenant_id(ex->tenant_id);
  req.set_session_id(ex->id);
  Call(c, ex, &PolicyAdminClient::GetSession, req, 200,
       [](const v1::GetSessionResponse& r) { return SessionJson(r.session()); });
}

void PatchSession(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::UpdateSessionRequest> req = ParseSessionUpdate(ex->call.body);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  req->set_session_id(ex->id);
  Call(c, ex, &PolicyAdminClient::UpdateSession, *req, 200,
       [](const v1::UpdateSessionResponse& r) { return SessionJson(r.session()); });
}

void RevokeSession(PolicyAdminClient& c, const Ex& ex) {
  v1::RevokeSessionRequest req;
  req.set_tenant_id(ex->tenant_id);
  req.set_session_id(ex->id);
  Call(c, ex, &PolicyAdminClient::RevokeSession, req, 200,
       [](const v1::RevokeSessionResponse& r) { return SessionJson(r.session()); });
}

// ---- Approvals ----

void ListApprovals(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::ListApprovalsRequest> req = ParseApprovalListQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  Call(c, ex, &PolicyAdminClient::ListApprovals, *req, 200, [](const v1::ListApprovalsResponse& r) {
    json::Array data;
    for (const v1::Approval& a : r.approvals()) data.push_back(ApprovalJson(a));
    return ListJson(std::move(data));
  });
}

void GetApproval(PolicyAdminClient& c, const Ex& ex) {
  v1::GetApprovalRequest req;
  req.set_tenant_id(ex->tenant_id);  // never empty here: empty would mean "any tenant"
  req.set_approval_id(ex->id);
  Call(c, ex, &PolicyAdminClient::GetApproval, req, 200,
       [](const v1::GetApprovalResponse& r) { return ApprovalJson(r.approval()); });
}

void DecideApproval(PolicyAdminClient& c, const Ex& ex) {
  absl::StatusOr<v1::DecideApprovalRequest> req = ParseApprovalDecision(ex->call.body);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  req->set_tenant_id(ex->tenant_id);
  req->set_approval_id(ex->id);
  Call(c, ex, &PolicyAdminClient::DecideApproval, *req, 200,
       [](const v1::DecideApprovalResponse& r) { return ApprovalJson(r.approval()); });
}

// ---- Routing ----

using HandlerFn = void (*)(PolicyAdminClient&, const Ex&);
struct Endpoint {
  std::string_view method;
  HandlerFn fn;
  // Whether the endpoint reads query parameters (others reject any as unknown_parameter).
  bool query = false;
};
struct Route {
  std::vector<Endpoint> endpoints;
  // For routes with an :id segment: the reason code of an id that cannot exist.
  std::string_view not_found;
};

// The route of `path` (below /v2/); no endpoints = unknown URL.
Route Match(std::string_view path, std::string& id) {
  std::string_view rest = path.substr(kPrefix.size());
  size_t slash = rest.find('/');
  std::string_view resource = rest.substr(0, slash);
  if (slash == std::string_view::npos) {
    if (resource == "tenant") return {{{"GET", GetTenant}, {"PATCH", PatchTenant}}, {}};
    if (resource == "keys") return {{{"GET", ListKeys}, {"POST", CreateKey}}, {}};
    if (resource == "policies") return {{{"GET", ListPolicies}, {"POST", CreatePolicy}}, {}};
    if (resource == "sessions") {
      return {{{"GET", ListSessions, true}, {"POST", CreateSession}}, {}};
    }
    if (resource == "approvals") return {{{"GET", ListApprovals, true}}, {}};
    return {};
  }
  std::string_view item = rest.substr(slash + 1);
  if (item.empty() || item.find('/') != std::string_view::npos) {
    return {};
  }
  id = std::string(item);
  if (resource == "tenant") {
    if (item == "pause") return {{{"POST", PauseTenant}}, {}};
    if (item == "resume") return {{{"POST", ResumeTenant}}, {}};
    return {};
  }
  if (resource == "keys") return {{{"DELETE", RevokeKey}}, "api_key_not_found"};
  if (resource == "policies") {
    return {{{"GET", GetPolicy}, {"PUT", ReplacePolicy}, {"DELETE", DeletePolicy}},
            "policy_not_found"};
  }
  if (resource == "sessions") {
    return {{{"GET", GetSession}, {"PATCH", PatchSession}, {"DELETE", RevokeSession}},
            "session_not_found"};
  }
  if (resource == "approvals") {
    return {{{"GET", GetApproval}, {"POST", DecideApproval}}, "approval_not_found"};
  }
  return {};
}

// Ids the service hands out: [A-Za-z0-9_.-]{1,128}.
bool IsPlausibleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char ch : id) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

void Dispatch(PolicyAdminClient& client, const Ex& ex) {
  const ManagementCall& call = ex->call;
  Route route = Match(call.path, ex->id);
  if (route.endpoints.empty()) {
    return ex->Finish(Error(404, "not_found_error", "unknown_url",
                            "Unknown request URL: " + call.method + " " + call.path + "."));
  }
  const Endpoint* endpoint = nullptr;
  std::string allow;
  for (const Endpoint& e : route.endpoints) {
    if (e.method == call.method) endpoint = &e;
    allow.append(allow.empty() ? "" : ", ").append(e.method);
  }
  if (endpoint == nullptr) {
    ManagementReply reply = Error(405, "invalid_request_error", "method_not_allowed",
                                  "Use " + allow + " for " + call.path + ".");
    reply.headers.emplace_back("allow", allow);
    return ex->Finish(std::move(reply));
  }
  if (!route.not_found.empty() && !IsPlausibleId(ex->id)) {
    return ex->Finish(Error(404, "not_found_error", route.not_found,
                            "No object with id '" + ex->id.substr(0, 128) + "'."));
  }
  if (!endpoint->query && !call.query.empty()) {
    const std::string& key = call.query.front().first;
    return ex->Finish(Error(400, "invalid_request_error", "unknown_parameter",
                            "Unknown parameter: '" + key + "'.", key));
  }
  endpoint->fn(client, ex);
}

}  // namespace

bool IsManagementPath(std::string_view path) {
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  std::string_view rest = path.substr(kPrefix.size());
  for (std::string_view resource : kResources) {
    if (rest.substr(0, resource.size()) == resource &&
        (rest.size() == resource.size() || rest[resource.size()] == '/')) {
      return true;
    }
  }
  return false;
}

void ManagementApi::Handle(ManagementCall call, std::function<void(ManagementReply)> done) {
  auto ex = std::make_shared<Exchange>();
  ex->call = std::move(call);
  ex->done = std::move(done);
  if (ex->call.bearer_token.empty()) {
    return ex->Finish(Error(401, "authentication_error", "invalid_api_key",
                            "You didn't provide an API key. Send an admin API key as "
                            "'Authorization: Bearer <key>'."));
  }
  v1::AuthenticateRequest auth;
  auth.mutable_credential()->set_api_key(ex->call.bearer_token);
  PolicyAdminClient& client = client_;
  client.Authenticate(
      ex->call.request_id, auth, [&client, ex](absl::StatusOr<v1::AuthenticateResponse> who) {
        if (!who.ok()) {
          return ex->Finish(RpcError(who.status(), ex->call.request_id));
        }
        if (!who->authenticated()) {
          return ex->Finish(
              Error(401, "authentication_error", "invalid_api_key",
                    who->message().empty() ? "Incorrect API key provided." : who->message()));
        }
        if (!who->admin() || !who->session_id().empty() || who->tenant_id().empty()) {
          return ex->Finish(Error(403, "permission_error", "admin_key_required",
                                  "The management API requires an admin API key; this key is "
                                  "not one."));
        }
        ex->tenant_id = who->tenant_id();
        ex->api_key_id = who->api_key_id();
        Dispatch(client, ex);
      });
}

}  // namespace p402::edge
