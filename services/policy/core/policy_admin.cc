#include "services/policy/core/policy_admin.h"

#include <string>
#include <utility>
#include <vector>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "services/policy/core/policy_rules.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr size_t kPolicyIdEntropyBytes = 8;  // "pol_" + 16 hex

absl::Status TenantNotFound(std::string_view id) {
  return WithReason(NotFound("tenant '" + std::string(id) + "' not found"), "tenant_not_found");
}

absl::Status PolicyNotFound(std::string_view id) {
  return WithReason(NotFound("policy '" + std::string(id) + "' not found"), "policy_not_found");
}

// The store's NotFound for a policy call means "no such policy for this tenant" (another tenant's
// policy included); it is re-issued with our message and reason.
absl::Status MapPolicyStatus(const absl::Status& status, std::string_view policy_id) {
  if (absl::IsNotFound(status)) {
    return PolicyNotFound(policy_id);
  }
  return status;
}

}  // namespace

absl::StatusOr<v1::CreatePolicyResponse> PolicyAdmin::CreatePolicy(
    const v1::CreatePolicyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidatePolicy(request.policy()));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());
  // Check-then-insert: two concurrent creates may both pass at 99 and end at 101. The cap only
  // bounds the work of evaluating a tenant's policies, so that slack is harmless.
  P402_ASSIGN_OR_RETURN(std::vector<v1::TenantPolicy> existing,
                        store_.ListPolicies(request.tenant_id()));
  if (existing.size() >= static_cast<size_t>(kMaxPoliciesPerTenant)) {
    return WithReason(
        FailedPrecondition("a tenant may have at most " + std::to_string(kMaxPoliciesPerTenant) +
                           " policies; delete one first"),
        "too_many_policies");
  }

  v1::TenantPolicy policy = request.policy();
  policy.set_id("pol_" + crypto::HexEncode(crypto::RandomBytes(kPolicyIdEntropyBytes)));
  policy.set_tenant_id(request.tenant_id());
  const int64_t now = UnixMillis(clock_.Now());
  policy.set_created_unix_ms(now);
  policy.set_updated_unix_ms(now);
  absl::Status created = store_.CreatePolicy(policy);
  // Invalidated whatever the outcome: a write that timed out may still have been applied.
  cache_.Invalidate(request.tenant_id());
  if (absl::IsNotFound(created)) {
    return TenantNotFound(request.tenant_id());  // the tenant vanished meanwhile
  }
  P402_RETURN_IF_ERROR(created);
  v1::CreatePolicyResponse response;
  *response.mutable_policy() = std::move(policy);
  return response;
}

absl::StatusOr<v1::GetPolicyResponse> PolicyAdmin::GetPolicy(const v1::GetPolicyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.policy_id(), "policy_id"));
  absl::StatusOr<v1::TenantPolicy> policy =
      store_.GetPolicy(request.tenant_id(), request.policy_id());
  P402_RETURN_IF_ERROR(MapPolicyStatus(policy.status(), request.policy_id()));
  v1::GetPolicyResponse response;
  *response.mutable_policy() = *std::move(policy);
  return response;
}

absl::StatusOr<v1::ListPoliciesResponse> PolicyAdmin::ListPolicies(
    const v1::ListPoliciesRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());
  P402_ASSIGN_OR_RETURN(std::vector<v1::TenantPolicy> policies,
                        store_.ListPolicies(request.tenant_id()));
  v1::ListPoliciesResponse response;
  for (v1::TenantPolicy& policy : policies) {
    *response.add_policies() = std::move(policy);
  }
  return response;
}

absl::StatusOr<v1::UpdatePolicyResponse> PolicyAdmin::UpdatePolicy(
    const v1::UpdatePolicyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.policy().id(), "policy.id"));
  P402_RETURN_IF_ERROR(ValidatePolicy(request.policy()));
  v1::TenantPolicy policy = request.policy();
  policy.set_tenant_id(request.tenant_id());
  policy.set_created_unix_ms(0);  // the store keeps the stored one
  policy.set_updated_unix_ms(UnixMillis(clock_.Now()));
  absl::StatusOr<v1::TenantPolicy> updated = store_.UpdatePolicy(policy);
  cache_.Invalidate(request.tenant_id());
  P402_RETURN_IF_ERROR(MapPolicyStatus(updated.status(), policy.id()));
  v1::UpdatePolicyResponse response;
  *response.mutable_policy() = *std::move(updated);
  return response;
}

absl::StatusOr<v1::DeletePolicyResponse> PolicyAdmin::DeletePolicy(
    const v1::DeletePolicyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.policy_id(), "policy_id"));
  absl::StatusOr<v1::TenantPolicy> deleted =
      store_.DeletePolicy(request.tenant_id(), request.policy_id());
  cache_.Invalidate(request.tenant_id());
  P402_RETURN_IF_ERROR(MapPolicyStatus(deleted.status(), request.policy_id()));
  v1::DeletePolicyResponse response;
  *response.mutable_policy() = *std::move(deleted);
  return response;
}

}  // namespace p402::policy
