// File: services/policy/core/policy_admin.h
// PolicyAdmin: CRUD of a tenant's policies for the management API (rpc/ adapter; the edge serves
// it as /v2/policies). Validates with ValidatePolicy (policy_rules.h), assigns ids ("pol_" + 16
// hex) and timestamps, keeps at most kMaxPoliciesPerTenant per tenant (FailedPrecondition
// "too_many_policies"), and invalidates the PolicyCache entry of the tenant on every change.
//
// Errors: InvalidArgument naming the field (also for a malformed tenant_id / policy_id),
// NotFound reason "tenant_not_found" / "policy_not_found", Unavailable (store down).
// Thread-safety: all methods may be called concurrently. Blocking: as the store.
#pragma once

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/policy_cache.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class PolicyAdmin {
 public:
  // All references must outlive the object.
  PolicyAdmin(PolicyStore& store, const Clock& clock, PolicyCache& cache)
      : store_(store), clock_(clock), cache_(cache) {}

  absl::StatusOr<v1::CreatePolicyResponse> CreatePolicy(const v1::CreatePolicyRequest& request);
  absl::StatusOr<v1::GetPolicyResponse> GetPolicy(const v1::GetPolicyRequest& request);
  absl::StatusOr<v1::ListPoliciesResponse> ListPolicies(const v1::ListPoliciesRequest& request);
  absl::StatusOr<v1::UpdatePolicyResponse> UpdatePolicy(const v1::UpdatePolicyRequest& request);
  absl::StatusOr<v1::DeletePolicyResponse> DeletePolicy(const v1::DeletePolicyRequest& request);

 private:
  PolicyStore& store_;
  const Clock& clock_;
  PolicyCache& cache_;
};

}  // namespace p402::policy
