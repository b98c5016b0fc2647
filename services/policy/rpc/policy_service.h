// File: services/policy/rpc/policy_service.h
// The gRPC adapter of the billing guard (callback API): each RPC reads the request, calls exactly
// one core method (Guard, TenantAdmin, PolicyAdmin or SessionAdmin), converts the status
// (libs/rpc/status_convert.h: reason codes travel as ErrorInfo) and counts the outcome. The cores
// may block on PostgreSQL (and Redis), so calls run on a bounded worker pool when one is given (a
// full queue is shed with UNAVAILABLE "policy_overloaded", counted); with the in-memory store they
// run inline.
//
// Metrics: p402_policy_rpcs_total{rpc,code}, p402_policy_decisions_total{decision},
// p402_policy_shed_total, p402_policy_guard_layer_failed_open_total{layer} (Authorize responses
// whose layer failed open because the counter store was unavailable).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "libs/metrics/registry.h"
#include "libs/store/worker_pool.h"
#include "p402/v1/policy.grpc.pb.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/policy_admin.h"
#include "services/policy/core/session_admin.h"
#include "services/policy/core/tenant_admin.h"

namespace p402::policy {

class PolicyService final : public v1::Policy::CallbackService {
 public:
  // `workers` may be null (run inline). All references must outlive the service.
  PolicyService(Guard& guard, TenantAdmin& tenants, PolicyAdmin& policies, SessionAdmin& sessions,
                store::WorkerPool* workers, metrics::Registry& registry);

  // The request path.
  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* ctx,
                                      const v1::AuthorizeRequest* req,
                                      v1::AuthorizeResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(grpc::CallbackServerContext* ctx, const v1::CommitRequest* req,
                                   v1::CommitResponse* resp) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* ctx, const v1::ReleaseRequest* req,
                                    v1::ReleaseResponse* resp) override;
  grpc::ServerUnaryReactor* CheckReservation(grpc::CallbackServerContext* ctx,
                                             const v1::CheckReservationRequest* req,
                                             v1::CheckReservationResponse* resp) override;

  // Tenants and keys.
  grpc::ServerUnaryReactor* CreateTenant(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTenantRequest* req,
                                         v1::CreateTenantResponse* resp) override;
  grpc::ServerUnaryReactor* GetTenant(grpc::CallbackServerContext* ctx,
                                      const v1::GetTenantRequest* req,
                                      v1::GetTenantResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateTenant(grpc::CallbackServerContext* ctx,
                                         const v1::UpdateTenantRequest* req,
                                         v1::UpdateTenantResponse* resp) override;
  grpc::ServerUnaryReactor* SetTenantPaused(grpc::CallbackServerContext* ctx,
                                            const v1::SetTenantPausedRequest* req,
                                            v1::SetTenantPausedResponse* resp) override;
  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* ctx,
                                         const v1::AuthenticateRequest* req,
                                         v1::AuthenticateResponse* resp) override;
  grpc::ServerUnaryReactor* CreateApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::CreateApiKeyRequest* req,
                                         v1::CreateApiKeyResponse* resp) override;
  grpc::ServerUnaryReactor* ListApiKeys(grpc::CallbackServerContext* ctx,
                                        const v1::ListApiKeysRequest* req,
                                        v1::ListApiKeysResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeApiKey(grpc::CallbackServerContext* ctx,
                                         const v1::RevokeApiKeyRequest* req,
                                         v1::RevokeApiKeyResponse* resp) override;

  // Policies.
  grpc::ServerUnaryReactor* CreatePolicy(grpc::CallbackServerContext* ctx,
                                         const v1::CreatePolicyRequest* req,
                                         v1::CreatePolicyResponse* resp) override;
  grpc::ServerUnaryReactor* GetPolicy(grpc::CallbackServerContext* ctx,
                                      const v1::GetPolicyRequest* req,
                                      v1::GetPolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ListPolicies(grpc::CallbackServerContext* ctx,
                                         const v1::ListPoliciesRequest* req,
                                         v1::ListPoliciesResponse* resp) override;
  grpc::ServerUnaryReactor* UpdatePolicy(grpc::CallbackServerContext* ctx,
                                         const v1::UpdatePolicyRequest* req,
                                         v1::UpdatePolicyResponse* resp) override;
  grpc::ServerUnaryReactor* DeletePolicy(grpc::CallbackServerContext* ctx,
                                         const v1::DeletePolicyRequest* req,
                                         v1::DeletePolicyResponse* resp) override;

  // Agent sessions and approvals.
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* ctx,
                                          const v1::CreateSessionRequest* req,
                                          v1::CreateSessionResponse* resp) override;
  grpc::ServerUnaryReactor* GetSession(grpc::CallbackServerContext* ctx,
                                       const v1::GetSessionRequest* req,
                                       v1::GetSessionResponse* resp) override;
  grpc::ServerUnaryReactor* ListSessions(grpc::CallbackServerContext* ctx,
                                         const v1::ListSessionsRequest* req,
                                         v1::ListSessionsResponse* resp) override;
  grpc::ServerUnaryReactor* UpdateSession(grpc::CallbackServerContext* ctx,
                                          const v1::UpdateSessionRequest* req,
                                          v1::UpdateSessionResponse* resp) override;
  grpc::ServerUnaryReactor* RevokeSession(grpc::CallbackServerContext* ctx,
                                          const v1::RevokeSessionRequest* req,
                                          v1::RevokeSessionResponse* resp) override;
  grpc::ServerUnaryReactor* GetApproval(grpc::CallbackServerContext* ctx,
                                        const v1::GetApprovalRequest* req,
                                        v1::GetApprovalResponse* resp) override;
  grpc::ServerUnaryReactor* ListApprovals(grpc::CallbackServerContext* ctx,
                                          const v1::ListApprovalsRequest* req,
                                          v1::ListApprovalsResponse* resp) override;
  grpc::ServerUnaryReactor* DecideApproval(grpc::CallbackServerContext* ctx,
                                           const v1::DecideApprovalRequest* req,
                                           v1::DecideApprovalResponse* resp) override;

 private:
  template <typename Req, typename Resp, typename Fn>
  grpc::ServerUnaryReactor* Run(std::string_view rpc, grpc::CallbackServerContext* ctx,
                                const Req* req, Resp* resp, Fn fn);
  // Counts an Authorize answer (decision, failed-open layers).
  void CountAuthorize(const v1::AuthorizeResponse& response);
  // True once the caller cancelled or its deadline passed.
  static bool CallerGone(grpc::CallbackServerContext* ctx);
  // Releases an admission whose caller gave up (reason "caller_gone"); logs a failure.
  void ReleaseAbandoned(const v1::AuthorizeRequest& request, const std::string& reservation_id);

  Guard& guard_;
  TenantAdmin& tenants_;
  PolicyAdmin& policies_;
  SessionAdmin& sessions_;
  store::WorkerPool* workers_;
  metrics::CounterFamily& rpcs_;
  metrics::CounterFamily& decisions_;
  metrics::CounterFamily& failed_open_;
  metrics::Counter& shed_;
  metrics::Counter& abandoned_;
};

}  // namespace p402::policy
