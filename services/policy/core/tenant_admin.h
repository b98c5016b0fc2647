// File: services/policy/core/tenant_admin.h
// TenantAdmin: the policy service's management API for tenants (create, read, update, pause and
// resume) and API keys, plus Authenticate (credential -> identity for management callers), for
// admin callers; the rpc/ adapter exposes it and the edge serves it under /v2/... API key secrets
// ("sk-p402-...") are generated here, returned once by CreateApiKey and stored only as their
// SHA-256 hex.
//
// Errors: InvalidArgument with a message naming the field (bad ids, negative limits, overlong or
// control-character names), NotFound (unknown tenant or key), AlreadyExists (tenant id taken),
// Unavailable (store down).
// Thread-safety: all methods may be called concurrently. Blocking: as the store.
#pragma once

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

// Random part of a new API key secret: "sk-p402-" + base62 of this many random bytes.
inline constexpr size_t kApiKeyEntropyBytes = 24;
// Characters of the secret kept as ApiKeyInfo.prefix ("sk-p402-" + 4).
inline constexpr size_t kApiKeyPrefixLength = 12;

class TenantAdmin {
 public:
  // `store` and `clock` must outlive the object.
  TenantAdmin(PolicyStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  // Creates a tenant. An empty id gets a generated one ("tenant_" + 16 hex); an empty name
  // becomes the id. Limits must be >= 0 (0 = service default; budget 0 = unlimited).
  absl::StatusOr<v1::CreateTenantResponse> CreateTenant(const v1::CreateTenantRequest& request);
  // The tenant with its spent/reserved counters. NotFound for an unknown id.
  absl::StatusOr<v1::GetTenantResponse> GetTenant(const v1::GetTenantRequest& request);
  // Creates a key for an existing tenant (NotFound otherwise) and returns its secret, once.
  absl::StatusOr<v1::CreateApiKeyResponse> CreateApiKey(const v1::CreateApiKeyRequest& request);
  // The tenant's keys, oldest first, without secrets or hashes. NotFound for an unknown tenant.
  absl::StatusOr<v1::ListApiKeysResponse> ListApiKeys(const v1::ListApiKeysRequest& request);
  // Revokes a key (idempotent); it stops authenticating at once. NotFound for an unknown key.
  absl::StatusOr<v1::RevokeApiKeyResponse> RevokeApiKey(const v1::RevokeApiKeyRequest& request);
  // Replaces the name (when set) and/or the limits (when set, as a whole) of a tenant. Limits are
  // validated by ValidateTenantLimits. NotFound "tenant_not_found".
  absl::StatusOr<v1::UpdateTenantResponse> UpdateTenant(const v1::UpdateTenantRequest& request);
  // Pauses (with `reason`, at most 256 bytes, no control characters) or resumes a tenant: every
  // replica sharing the store refuses its traffic at once. NotFound "tenant_not_found".
  absl::StatusOr<v1::SetTenantPausedResponse> SetTenantPaused(
      const v1::SetTenantPausedRequest& request);
  // Resolves an API key or session token without running the guard. Bad credentials are answers
  // (authenticated = false with a reason: "missing_api_key", "invalid_api_key",
  // "revoked_api_key", "invalid_session_token", "session_revoked", "session_expired"). A paused
  // tenant still authenticates (it must be able to manage its account and resume). Errors:
  // InvalidArgument (a paid credential), Unavailable.
  absl::StatusOr<v1::AuthenticateResponse> Authenticate(const v1::AuthenticateRequest& request);

 private:
  PolicyStore& store_;
  const Clock& clock_;
};

// Conversions to the wire types (never include the key hash).
v1::Tenant ToProto(const TenantRecord& tenant);
v1::ApiKeyInfo ToProto(const ApiKeyRecord& key);
TenantLimits FromProto(const v1::TenantLimits& limits);

// ValidateLimits (every limit >= 0) plus anomaly_zscore_centi >= 0 and reservation_ttl_ms 0 (the
// service default) or 1000..86400000. InvalidArgument naming the field.
absl::Status ValidateTenantLimits(const TenantLimits& limits);

}  // namespace p402::policy
