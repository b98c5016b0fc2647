// File: services/policy/core/tenant_admin.h
// TenantAdmin: the policy service's management API (tenants and API keys), for admin callers; the
// rpc/ adapter exposes it and the edge serves it under /v2/... API key secrets ("sk-p402-...")
// are generated here, returned once by CreateApiKey and stored only as their SHA-256 hex.
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

 private:
  PolicyStore& store_;
  const Clock& clock_;
};

// Conversions to the wire types (never include the key hash).
v1::Tenant ToProto(const TenantRecord& tenant);
v1::ApiKeyInfo ToProto(const ApiKeyRecord& key);
TenantLimits FromProto(const v1::TenantLimits& limits);

}  // namespace p402::policy
