// The management RPCs of p402.v1.Policy (tenant update/pause, Authenticate, policies, sessions,
// approvals, CheckReservation) over real gRPC against the PolicyServer composition root on port 0,
// with the in-memory store and with PostgreSQL: results, and the mapping of core errors to
// INVALID_ARGUMENT / NOT_FOUND / FAILED_PRECONDITION with their ErrorInfo reasons.
#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "libs/http/client.h"
#include "libs/metrics/text_lookup.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/policy.grpc.pb.h"
#include "services/policy/policy_server.h"
#include "tests/support/test_env.h"

namespace p402::policy {
namespace {

constexpr int64_t kUsd = 1'000'000;

PolicyConfig TestConfig(std::string database_url) {
  auto loaded =
      PolicyConfigSchema().Load({.args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                          "--policy_cache_ttl=0ms"},
                                 .env = {{"P402_POLICY_DATABASE_URL", std::move(database_url)}}});
  REQUIRE(loaded.ok());
  return loaded->config;
}

// A unary call with a fresh context; returns the gRPC status and fills `resp`.
template <typename Req, typename Resp, typename Method>
grpc::Status Call(v1::Policy::Stub& stub, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return (stub.*method)(&ctx, req, resp);
}

// The ErrorInfo reason carried by a failed call.
std::string ReasonOf(const grpc::Status& status) { return rpc::ErrorInfoOf(status).reason(); }

class Client {
 public:
  explicit Client(PolicyServer& server)
      : stub_(v1::Policy::NewStub(
            rpc::MakeChannel("127.0.0.1:" + std::to_string(server.ports().at("grpc_port"))))) {}
  v1::Policy::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::Policy::Stub> stub_;
};

#define RPC(Method, req, resp) Call(c.stub(), &v1::Policy::Stub::Method, req, resp)

v1::AuthorizeResponse Authorize(Client& c, const std::string& key, int64_t worst_case,
                                const std::string& approval_id = "") {
  v1::AuthorizeRequest req;
  req.mutable_meta()->set_request_id("req_mgmt");
  req.mutable_credential()->set_api_key(key);
  req.set_worst_case_micro_usd(worst_case);
  req.set_approval_id(approval_id);
  v1::AuthorizeResponse resp;
  REQUIRE(RPC(Authorize, req, &resp).ok());
  return resp;
}

void ExerciseTenants(Client& c, const std::string& tenant, const std::string& admin_key) {
  // UpdateTenant: name and limits; the new limit fields round-trip.
  v1::UpdateTenantRequest update;
  update.set_tenant_id(tenant);
  update.set_name("Renamed");
  update.mutable_limits()->set_budget_micro_usd(50 * kUsd);
  update.mutable_limits()->set_anomaly_zscore_centi(400);
  update.mutable_limits()->set_reservation_ttl_ms(120'000);
  v1::UpdateTenantResponse updated;
  REQUIRE(RPC(UpdateTenant, update, &updated).ok());
  CHECK(updated.tenant().name() == "Renamed");
  CHECK(updated.tenant().limits().anomaly_zscore_centi() == 400);
  CHECK(updated.tenant().limits().reservation_ttl_ms() == 120'000);

  update.mutable_limits()->set_reservation_ttl_ms(5);
  grpc::Status bad = RPC(UpdateTenant, update, &updated);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.error_message(), Catch::Contains("reservation_ttl_ms"));
  update.set_tenant_id("no-such-tenant");
  update.clear_limits();
  grpc::Status missing = RPC(UpdateTenant, update, &updated);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ReasonOf(missing) == "tenant_not_found");

  // Authenticate: the admin key, a bad key, a paid credential.
  v1::AuthenticateRequest auth;
  auth.mutable_credential()->set_api_key(admin_key);
  v1::AuthenticateResponse who;
  REQUIRE(RPC(Authenticate, auth, &who).ok());
  CHECK(who.authenticated());
  CHECK(who.tenant_id() == tenant);
  CHECK(who.admin());
  auth.mutable_credential()->set_api_key("sk-p402-wrong");
  REQUIRE(RPC(Authenticate, auth, &who).ok());
  CHECK_FALSE(who.authenticated());
  CHECK(who.reason() == "invalid_api_key");
  auth.mutable_credential()->mutable_paid()->set_payer("0xabc");
  CHECK(RPC(Authenticate, auth, &who).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // SetTenantPaused stops Authorize at once; the tenant still authenticates; resume restores it.
  v1::SetTenantPausedRequest pause;
  pause.set_tenant_id(tenant);
  pause.set_paused(true);
  pause.set_reason("maintenance");
  v1::SetTenantPausedResponse paused;
  REQUIRE(RPC(SetTenantPaused, pause, &paused).ok());
  CHECK(paused.tenant().paused());
  CHECK(paused.tenant().pause_reason() == "maintenance");
  v1::AuthorizeResponse refused = Authorize(c, admin_key, kUsd);
  CHECK(refused.decision() == v1::GUARD_DECISION_DENY_POLICY);
  CHECK(refused.reason() == "tenant_paused");
  auth.mutable_credential()->set_api_key(admin_key);
  REQUIRE(RPC(Authenticate, auth, &who).ok());
  CHECK(who.authenticated());
  pause.set_paused(false);
  REQUIRE(RPC(SetTenantPaused, pause, &paused).ok());
  CHECK_FALSE(paused.tenant().paused());
  pause.set_tenant_id("no-such-tenant");
  CHECK(RPC(SetTenantPaused, pause, &paused).error_code() == grpc::StatusCode::NOT_FOUND);
}

void ExercisePolicies(Client& c, const std::string& tenant, const std::string& key) {
  v1::CreatePolicyRequest create;
  create.set_tenant_id(tenant);
  create.mutable_policy()->set_name("no deepseek");
  create.mutable_policy()->set_enabled(true);
  v1::CreatePolicyResponse created;
  grpc::Status no_rule = RPC(CreatePolicy, create, &created);
  CHECK(no_rule.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(no_rule.error_message(), Catch::Contains("rule is required"));
  create.mutable_policy()->mutable_provider()->add_deny("deepseek");
  REQUIRE(RPC(CreatePolicy, create, &created).ok());
  const std::string id = created.policy().id();
  CHECK(id.rfind("pol_", 0) == 0);
  CHECK(created.policy().tenant_id() == tenant);

  // Applied to the next Authorize (the cache TTL is 0 in this test; a change through this
  // process invalidates it anyway).
  v1::AuthorizeRequest explicit_model;
  explicit_model.mutable_meta()->set_request_id("req_policy");
  explicit_model.mutable_credential()->set_api_key(key);
  explicit_model.set_worst_case_micro_usd(1000);
  explicit_model.mutable_model()->set_provider("deepseek");
  explicit_model.mutable_model()->set_model("deepseek-chat");
  v1::AuthorizeResponse denied;
  REQUIRE(RPC(Authorize, explicit_model, &denied).ok());
  CHECK(denied.reason() == "provider_denied");

  v1::GetPolicyRequest get;
  get.set_tenant_id(tenant);
  get.set_policy_id(id);
  v1::GetPolicyResponse got;
  REQUIRE(RPC(GetPolicy, get, &got).ok());
  CHECK(got.policy().name() == "no deepseek");
  v1::ListPoliciesRequest list;
  list.set_tenant_id(tenant);
  v1::ListPoliciesResponse listed;
  REQUIRE(RPC(ListPolicies, list, &listed).ok());
  REQUIRE(listed.policies_size() == 1);
  CHECK(listed.policies(0).id() == id);

  v1::UpdatePolicyRequest update;
  update.set_tenant_id(tenant);
  *update.mutable_policy() = got.policy();
  update.mutable_policy()->set_enabled(false);
  v1::UpdatePolicyResponse updated;
  REQUIRE(RPC(UpdatePolicy, update, &updated).ok());
  CHECK_FALSE(updated.policy().enabled());
  REQUIRE(RPC(Authorize, explicit_model, &denied).ok());
  CHECK(denied.decision() == v1::GUARD_DECISION_ALLOW);

  v1::DeletePolicyRequest del;
  del.set_tenant_id(tenant);
  del.set_policy_id(id);
  v1::DeletePolicyResponse deleted;
  REQUIRE(RPC(DeletePolicy, del, &deleted).ok());
  CHECK(deleted.policy().id() == id);
  grpc::Status gone = RPC(GetPolicy, get, &got);
  CHECK(gone.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ReasonOf(gone) == "policy_not_found");
  CHECK(RPC(DeletePolicy, del, &deleted).error_code() == grpc::StatusCode::NOT_FOUND);
}

void ExerciseSessions(Client& c, const std::string& tenant) {
  v1::CreateSessionRequest create;
  create.set_tenant_id(tenant);
  create.set_agent_id("agent-7");
  create.set_budget_micro_usd(10 * kUsd);
  create.set_duration_ms(3'600'000);
  create.set_require_approval_above_micro_usd(2 * kUsd);
  v1::CreateSessionResponse created;
  create.set_budget_micro_usd(0);
  grpc::Status no_budget = RPC(CreateSession, create, &created);
  CHECK(no_budget.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(no_budget.error_message(), Catch::Contains("budget_micro_usd"));
  create.set_budget_micro_usd(10 * kUsd);
  REQUIRE(RPC(CreateSession, create, &created).ok());
  const std::string id = created.session().id();
  const std::string token = created.token();
  CHECK(token.rfind("sk-p402-sess-", 0) == 0);

  // The token authenticates, and spends from the session.
  v1::AuthenticateRequest auth;
  auth.mutable_credential()->set_session_token(token);
  v1::AuthenticateResponse who;
  REQUIRE(RPC(Authenticate, auth, &who).ok());
  CHECK(who.authenticated());
  CHECK(who.session_id() == id);
  v1::AuthorizeResponse admitted = Authorize(c, token, kUsd);
  REQUIRE(admitted.decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(admitted.session_id() == id);

  v1::GetSessionRequest get;
  get.set_tenant_id(tenant);
  get.set_session_id(id);
  v1::GetSessionResponse got;
  REQUIRE(RPC(GetSession, get, &got).ok());
  CHECK(got.session().reserved_micro_usd() == kUsd);
  CHECK(got.session().status() == v1::SESSION_STATUS_ACTIVE);
  v1::ListSessionsRequest list;
  list.set_tenant_id(tenant);
  v1::ListSessionsResponse listed;
  REQUIRE(RPC(ListSessions, list, &listed).ok());
  REQUIRE(listed.sessions_size() == 1);
  CHECK(listed.sessions(0).id() == id);
  v1::UpdateSessionRequest top_up;
  top_up.set_tenant_id(tenant);
  top_up.set_session_id(id);
  top_up.set_top_up_micro_usd(5 * kUsd);
  v1::UpdateSessionResponse topped;
  REQUIRE(RPC(UpdateSession, top_up, &topped).ok());
  CHECK(topped.session().budget_micro_usd() == 15 * kUsd);

  // Approvals: held, listed, read by an internal caller (no tenant), approved, used once.
  v1::AuthorizeResponse held = Authorize(c, token, 3 * kUsd);
  REQUIRE(held.decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
  const std::string approval_id = held.approval().id();
  v1::ListApprovalsRequest list_approvals;
  list_approvals.set_tenant_id(tenant);
  list_approvals.set_pending_only(true);
  v1::ListApprovalsResponse approvals;
  REQUIRE(RPC(ListApprovals, list_approvals, &approvals).ok());
  REQUIRE(approvals.approvals_size() == 1);
  CHECK(approvals.approvals(0).id() == approval_id);
  v1::GetApprovalRequest get_approval;
  get_approval.set_approval_id(approval_id);
  v1::GetApprovalResponse approval;
  REQUIRE(RPC(GetApproval, get_approval, &approval).ok());
  CHECK(approval.approval().status() == v1::APPROVAL_STATUS_PENDING);
  v1::DecideApprovalRequest decide;
  decide.set_tenant_id(tenant);
  decide.set_approval_id(approval_id);
  decide.set_approve(true);
  v1::DecideApprovalResponse decided;
  REQUIRE(RPC(DecideApproval, decide, &decided).ok());
  CHECK(decided.approval().status() == v1::APPROVAL_STATUS_APPROVED);
  grpc::Status twice = RPC(DecideApproval, decide, &decided);
  CHECK(twice.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(twice) == "approval_not_pending");
  v1::AuthorizeResponse approved = Authorize(c, token, 3 * kUsd, approval_id);
  REQUIRE(approved.decision() == v1::GUARD_DECISION_ALLOW);
  get_approval.set_approval_id("apr_ffffffffffffffff");
  grpc::Status no_approval = RPC(GetApproval, get_approval, &approval);
  CHECK(no_approval.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ReasonOf(no_approval) == "approval_not_found");

  // CheckReservation: active until the session is revoked.
  v1::CheckReservationRequest check;
  check.set_reservation_id(approved.reservation().id());
  v1::CheckReservationResponse checked;
  REQUIRE(RPC(CheckReservation, check, &checked).ok());
  CHECK(checked.active());
  v1::RevokeSessionRequest revoke;
  revoke.set_tenant_id(tenant);
  revoke.set_session_id(id);
  v1::RevokeSessionResponse revoked;
  REQUIRE(RPC(RevokeSession, revoke, &revoked).ok());
  CHECK(revoked.session().status() == v1::SESSION_STATUS_REVOKED);
  REQUIRE(RPC(CheckReservation, check, &checked).ok());
  CHECK_FALSE(checked.active());
  CHECK(checked.reason() == "session_revoked");
  grpc::Status after = RPC(UpdateSession, top_up, &topped);
  CHECK(after.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(after) == "session_revoked");
  check.set_reservation_id("rsv_unknown");
  CHECK(RPC(CheckReservation, check, &checked).error_code() == grpc::StatusCode::NOT_FOUND);

  get.set_session_id("sess_missing");
  grpc::Status missing = RPC(GetSession, get, &got);
  CHECK(missing.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ReasonOf(missing) == "session_not_found");
}

void ExerciseServer(PolicyServer& server) {
  Client c(server);
  // A fresh tenant per run (the PostgreSQL database is shared by runs) with an admin key.
  v1::CreateTenantRequest create_tenant;
  v1::CreateTenantResponse tenant;
  REQUIRE(RPC(CreateTenant, create_tenant, &tenant).ok());
  const std::string tenant_id = tenant.tenant().id();
  v1::CreateApiKeyRequest create_key;
  create_key.set_tenant_id(tenant_id);
  create_key.set_admin(true);
  v1::CreateApiKeyResponse key;
  REQUIRE(RPC(CreateApiKey, create_key, &key).ok());

  ExerciseTenants(c, tenant_id, key.secret());
  ExercisePolicies(c, tenant_id, key.secret());
  ExerciseSessions(c, tenant_id);

  // Every RPC is counted by method and code.
  auto client = http::HttpClient::Create();
  REQUIRE(client.ok());
  http::ClientRequest get;
  get.method = "GET";
  get.url = "http://127.0.0.1:" + std::to_string(server.ports().at("admin_port")) + "/metrics";
  auto metrics = (*client)->FetchBlocking(get);
  REQUIRE(metrics.ok());
  CHECK(metrics::FindSample(metrics->body,
                            R"(p402_policy_rpcs_total{rpc="DecideApproval",code="OK"})")
            .value_or(0) >= 1);
  CHECK(metrics::FindSample(metrics->body,
                            R"(p402_policy_rpcs_total{rpc="GetPolicy",code="NOT_FOUND"})")
            .value_or(0) >= 1);
  CHECK(metrics::FindSample(metrics->body, R"(p402_policy_alerts_total{kind="approval_requested"})")
            .value_or(0) >= 1);
}

TEST_CASE("Management RPCs over gRPC with the in-memory store", "[service]") {
  auto server = PolicyServer::Start(TestConfig(""));
  REQUIRE(server.ok());
  ExerciseServer(**server);
  (*server)->Shutdown();
}

TEST_CASE("Management RPCs over gRPC with PostgreSQL", "[service]") {
  auto server = PolicyServer::Start(TestConfig(testing::RequirePostgresDsn()));
  REQUIRE(server.ok());
  ExerciseServer(**server);
  (*server)->Shutdown();
}

TEST_CASE("A Redis that is down at startup does not stop the service; layers 1-4 fail open",
          "[service]") {
  PolicyConfig config = TestConfig("");
  // Nothing listens on port 1: every counter call fails fast.
  config.redis_url = "redis://127.0.0.1:1/0";
  auto server = PolicyServer::Start(config);
  REQUIRE(server.ok());
  Client c(**server);
  v1::CreateTenantRequest create_tenant;
  v1::CreateTenantResponse tenant;
  REQUIRE(RPC(CreateTenant, create_tenant, &tenant).ok());
  v1::CreateApiKeyRequest create_key;
  create_key.set_tenant_id(tenant.tenant().id());
  v1::CreateApiKeyResponse key;
  REQUIRE(RPC(CreateApiKey, create_key, &key).ok());

  v1::AuthorizeResponse admitted = Authorize(c, key.secret(), kUsd);
  CHECK(admitted.decision() == v1::GUARD_DECISION_ALLOW);
  int failed_open = 0;
  for (const auto& layer : admitted.layers()) {
    failed_open += layer.failed_open() ? 1 : 0;
  }
  CHECK(failed_open == 4);
  // Layers 5-6 still hold.
  CHECK(Authorize(c, key.secret(), 51 * kUsd).reason() == "request_cap_exceeded");

  auto client = http::HttpClient::Create();
  REQUIRE(client.ok());
  http::ClientRequest get;
  get.method = "GET";
  get.url = "http://127.0.0.1:" + std::to_string((*server)->ports().at("admin_port")) + "/metrics";
  auto metrics = (*client)->FetchBlocking(get);
  REQUIRE(metrics.ok());
  CHECK(metrics::FindSample(metrics->body,
                            R"(p402_policy_guard_layer_failed_open_total{layer="rate_limit"})")
            .value_or(0) >= 2);
  CHECK(metrics::FindSample(metrics->body,
                            R"(p402_policy_counter_store_failures_total{op="take_token"})")
            .value_or(0) >= 2);
  (*server)->Shutdown();
}

TEST_CASE("A malformed Redis URL is a startup error that hides the password", "[service]") {
  PolicyConfig config = TestConfig("");
  config.redis_url = "http://user:hunter2@127.0.0.1:6379";
  auto server = PolicyServer::Start(config);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(server.status().message()), !Catch::Contains("hunter2"));
}

#undef RPC

}  // namespace
}  // namespace p402::policy
