#include "services/edge/clients/grpc_admin_client.h"

#include <type_traits>

#include "libs/rpc/call_context.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/policy.grpc.pb.h"

namespace p402::edge {
namespace {

using Async = v1::Policy::StubInterface::async_interface;

// Keeps the context and messages of one unary call alive until its callback ran.
template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext context;
  Req request;
  Resp response;
  Callback<Resp> done;
};

class GrpcPolicyAdminClient final : public PolicyAdminClient {
 public:
  GrpcPolicyAdminClient(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
      : stub_(v1::Policy::NewStub(channel)), timeout_(timeout) {}

  void Authenticate(std::string_view rid, const v1::AuthenticateRequest& r,
                    Callback<v1::AuthenticateResponse> done) override {
    Unary(&Async::Authenticate, rid, r, std::move(done));
  }
  void GetTenant(std::string_view rid, const v1::GetTenantRequest& r,
                 Callback<v1::GetTenantResponse> done) override {
    Unary(&Async::GetTenant, rid, r, std::move(done));
  }
  void UpdateTenant(std::string_view rid, const v1::UpdateTenantRequest& r,
                    Callback<v1::UpdateTenantResponse> done) override {
    Unary(&Async::UpdateTenant, rid, r, std::move(done));
  }
  void SetTenantPaused(std::string_view rid, const v1::SetTenantPausedRequest& r,
                       Callback<v1::SetTenantPausedResponse> done) override {
    Unary(&Async::SetTenantPaused, rid, r, std::move(done));
  }
  void CreateApiKey(std::string_view rid, const v1::CreateApiKeyRequest& r,
                    Callback<v1::CreateApiKeyResponse> done) override {
    Unary(&Async::CreateApiKey, rid, r, std::move(done));
  }
  void ListApiKeys(std::string_view rid, const v1::ListApiKeysRequest& r,
                   Callback<v1::ListApiKeysResponse> done) override {
    Unary(&Async::ListApiKeys, rid, r, std::move(done));
  }
  void RevokeApiKey(std::string_view rid, const v1::RevokeApiKeyRequest& r,
                    Callback<v1::RevokeApiKeyResponse> done) override {
    Unary(&Async::RevokeApiKey, rid, r, std::move(done));
  }
  void CreatePolicy(std::string_view rid, const v1::CreatePolicyRequest& r,
                    Callback<v1::CreatePolicyResponse> done) override {
    Unary(&Async::CreatePolicy, rid, r, std::move(done));
  }
  void GetPolicy(std::string_view rid, const v1::GetPolicyRequest& r,
                 Callback<v1::GetPolicyResponse> done) override {
    Unary(&Async::GetPolicy, rid, r, std::move(done));
  }
  void ListPolicies(std::string_view rid, const v1::ListPoliciesRequest& r,
                    Callback<v1::ListPoliciesResponse> done) override {
    Unary(&Async::ListPolicies, rid, r, std::move(done));
  }
  void UpdatePolicy(std::string_view rid, const v1::UpdatePolicyRequest& r,
                    Callback<v1::UpdatePolicyResponse> done) override {
    Unary(&Async::UpdatePolicy, rid, r, std::move(done));
  }
  void DeletePolicy(std::string_view rid, const v1::DeletePolicyRequest& r,
                    Callback<v1::DeletePolicyResponse> done) override {
    Unary(&Async::DeletePolicy, rid, r, std::move(done));
  }
  void CreateSession(std::string_view rid, const v1::CreateSessionRequest& r,
                     Callback<v1::CreateSessionResponse> done) override {
    Unary(&Async::CreateSession, rid, r, std::move(done));
  }
  void GetSession(std::string_view rid, const v1::GetSessionRequest& r,
                  Callback<v1::GetSessionResponse> done) override {
    Unary(&Async::GetSession, rid, r, std::move(done));
  }
  void ListSessions(std::string_view rid, const v1::ListSessionsRequest& r,
                    Callback<v1::ListSessionsResponse> done) override {
    Unary(&Async::ListSessions, rid, r, std::move(done));
  }
  void UpdateSession(std::string_view rid, const v1::UpdateSessionRequest& r,
                     Callback<v1::UpdateSessionResponse> done) override {
    Unary(&Async::UpdateSession, rid, r, std::move(done));
  }
  void RevokeSession(std::string_view rid, const v1::RevokeSessionRequest& r,
                     Callback<v1::RevokeSessionResponse> done) override {
    Unary(&Async::RevokeSession, rid, r, std::move(done));
  }
  void GetApproval(std::string_view rid, const v1::GetApprovalRequest& r,
                   Callback<v1::GetApprovalResponse> done) override {
    Unary(&Async::GetApproval, rid, r, std::move(done));
  }
  void ListApprovals(std::string_view rid, const v1::ListApprovalsRequest& r,
                     Callback<v1::ListApprovalsResponse> done) override {
    Unary(&Async::ListApprovals, rid, r, std::move(done));
  }
  void DecideApproval(std::string_view rid, const v1::DecideApprovalRequest& r,
                      Callback<v1::DecideApprovalResponse> done) override {
    Unary(&Async::DecideApproval, rid, r, std::move(done));
  }

 private:
  // The callback overload of a stub method; Req and Resp come from the request and callback, so
  // `method` picks that overload out of the reactor one.
  template <typename Req, typename Resp>
  using AsyncMethod = void (Async::*)(grpc::ClientContext*, const Req*, Resp*,
                                      std::function<void(grpc::Status)>);

  template <typename Req, typename Resp>
  void Unary(std::type_identity_t<AsyncMethod<Req, Resp>> method, std::string_view request_id,
             const Req& request, Callback<Resp> done) {
    auto call = std::make_shared<UnaryCall<Req, Resp>>();
    call->request = request;
    call->done = std::move(done);
    rpc::PrepareClientContext(call->context, std::string(request_id), timeout_);
    (stub_->async()->*method)(&call->context, &call->request, &call->response,
                              [call](grpc::Status status) {
                                if (status.ok()) {
                                  call->done(std::move(call->response));
                                } else {
                                  call->done(rpc::FromGrpcStatus(status));
                                }
                              });
  }

  std::unique_ptr<v1::Policy::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<PolicyAdminClient> MakeGrpcPolicyAdminClient(std::shared_ptr<grpc::Channel> channel,
                                                             std::chrono::milliseconds timeout) {
  return std::make_unique<GrpcPolicyAdminClient>(std::move(channel), timeout);
}

}  // namespace p402::edge
