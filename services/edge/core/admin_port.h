// File: services/edge/core/admin_port.h
// PolicyAdminClient: the asynchronous port through which the edge's management API
// (management_api.h) calls the management RPCs of p402.v1.Policy. One method per RPC; the gRPC
// implementation is services/edge/clients/grpc_admin_client.h, tests use in-process fakes.
//
// Every method sends `request` with `request_id` as x-request-id metadata and calls `done`
// exactly once: with the response, or with the call's non-OK status converted to absl (the
// service's ErrorInfo reason attached, read it with ReasonOf from libs/common/status_util.h).
// Callbacks run on a gRPC thread (inline in fakes) and must not block. Methods are thread-safe.
#pragma once

#include <string_view>

#include "p402/v1/policy.pb.h"
#include "services/edge/core/ports.h"

namespace p402::edge {

class PolicyAdminClient {
 public:
  virtual ~PolicyAdminClient() = default;

  // Credentials (the admin key check of every /v2/... management request).
  virtual void Authenticate(std::string_view request_id, const v1::AuthenticateRequest& request,
                            Callback<v1::AuthenticateResponse> done) = 0;

  // Tenant.
  virtual void GetTenant(std::string_view request_id, const v1::GetTenantRequest& request,
                         Callback<v1::GetTenantResponse> done) = 0;
  virtual void UpdateTenant(std::string_view request_id, const v1::UpdateTenantRequest& request,
                            Callback<v1::UpdateTenantResponse> done) = 0;
  virtual void SetTenantPaused(std::string_view request_id,
                               const v1::SetTenantPausedRequest& request,
                               Callback<v1::SetTenantPausedResponse> done) = 0;

  // API keys.
  virtual void CreateApiKey(std::string_view request_id, const v1::CreateApiKeyRequest& request,
                            Callback<v1::CreateApiKeyResponse> done) = 0;
  virtual void ListApiKeys(std::string_view request_id, const v1::ListApiKeysRequest& request,
                           Callback<v1::ListApiKeysResponse> done) = 0;
  virtual void RevokeApiKey(std::string_view request_id, const v1::RevokeApiKeyRequest& request,
                            Callback<v1::RevokeApiKeyResponse> done) = 0;

  // Policies.
  virtual void CreatePolicy(std::string_view request_id, const v1::CreatePolicyRequest& request,
                            Callback<v1::CreatePolicyResponse> done) = 0;
  virtual void GetPolicy(std::string_view request_id, const v1::GetPolicyRequest& request,
                         Callback<v1::GetPolicyResponse> done) = 0;
  virtual void ListPolicies(std::string_view request_id, const v1::ListPoliciesRequest& request,
                            Callback<v1::ListPoliciesResponse> done) = 0;
  virtual void UpdatePolicy(std::string_view request_id, const v1::UpdatePolicyRequest& request,
                            Callback<v1::UpdatePolicyResponse> done) = 0;
  virtual void DeletePolicy(std::string_view request_id, const v1::DeletePolicyRequest& request,
                            Callback<v1::DeletePolicyResponse> done) = 0;

  // Agent sessions.
  virtual void CreateSession(std::string_view request_id, const v1::CreateSessionRequest& request,
                             Callback<v1::CreateSessionResponse> done) = 0;
  virtual void GetSession(std::string_view request_id, const v1::GetSessionRequest& request,
                          Callback<v1::GetSessionResponse> done) = 0;
  virtual void ListSessions(std::string_view request_id, const v1::ListSessionsRequest& request,
                            Callback<v1::ListSessionsResponse> done) = 0;
  virtual void UpdateSession(std::string_view request_id, const v1::UpdateSessionRequest& request,
                             Callback<v1::UpdateSessionResponse> done) = 0;
  virtual void RevokeSession(std::string_view request_id, const v1::RevokeSessionRequest& request,
                             Callback<v1::RevokeSessionResponse> done) = 0;

  // Approvals.
  virtual void GetApproval(std::string_view request_id, const v1::GetApprovalRequest& request,
                           Callback<v1::GetApprovalResponse> done) = 0;
  virtual void ListApprovals(std::string_view request_id, const v1::ListApprovalsRequest& request,
                             Callback<v1::ListApprovalsResponse> done) = 0;
  virtual void DecideApproval(std::string_view request_id, const v1::DecideApprovalRequest& request,
                              Callback<v1::DecideApprovalResponse> done) = 0;
};

}  // namespace p402::edge
