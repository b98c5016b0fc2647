#include "services/policy/core/tenant_admin.h"

#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr char kApiKeyPrefix[] = "sk-p402-";

absl::Status TenantNotFound(std::string_view id) {
  return WithReason(NotFound("tenant '" + std::string(id) + "' not found"), "tenant_not_found");
}

}  // namespace

v1::Tenant ToProto(const TenantRecord& tenant) {
  v1::Tenant out;
  out.set_id(tenant.id);
  out.set_name(tenant.name);
  v1::TenantLimits* limits = out.mutable_limits();
  limits->set_per_request_cap_micro_usd(tenant.limits.per_request_cap_micro_usd);
  limits->set_daily_limit_micro_usd(tenant.limits.daily_limit_micro_usd);
  limits->set_budget_micro_usd(tenant.limits.budget_micro_usd);
  limits->set_requests_per_hour(tenant.limits.requests_per_hour);
  limits->set_max_concurrent(tenant.limits.max_concurrent);
  out.set_spent_micro_usd(tenant.spent_micro_usd);
  out.set_reserved_micro_usd(tenant.reserved_micro_usd);
  out.set_created_unix_ms(tenant.created_unix_ms);
  return out;
}

v1::ApiKeyInfo ToProto(const ApiKeyRecord& key) {
  v1::ApiKeyInfo out;
  out.set_id(key.id);
  out.set_tenant_id(key.tenant_id);
  out.set_name(key.name);
  out.set_prefix(key.prefix);
  out.set_revoked(key.revoked);
  out.set_created_unix_ms(key.created_unix_ms);
  out.set_admin(key.admin);
  return out;
}

TenantLimits FromProto(const v1::TenantLimits& limits) {
  return TenantLimits{.per_request_cap_micro_usd = limits.per_request_cap_micro_usd(),
                      .daily_limit_micro_usd = limits.daily_limit_micro_usd(),
                      .budget_micro_usd = limits.budget_micro_usd(),
                      .requests_per_hour = limits.requests_per_hour(),
                      .max_concurrent = limits.max_concurrent()};
}

absl::StatusOr<v1::CreateTenantResponse> TenantAdmin::CreateTenant(
    const v1::CreateTenantRequest& request) {
  TenantRecord tenant;
  tenant.id =
      request.id().empty() ? "tenant_" + crypto::HexEncode(crypto::RandomBytes(8)) : request.id();
  P402_RETURN_IF_ERROR(ValidateTenantId(tenant.id, "id"));
  P402_RETURN_IF_ERROR(ValidateText(request.name(), "name"));
  tenant.name = request.name().empty() ? tenant.id : request.name();
  tenant.limits = FromProto(request.limits());
  P402_RETURN_IF_ERROR(ValidateLimits(tenant.limits));
  tenant.created_unix_ms = UnixMillis(clock_.Now());
  absl::Status created = store_.CreateTenant(tenant);
  if (absl::IsAlreadyExists(created)) {
    return WithReason(AlreadyExists("tenant '" + tenant.id + "' already exists"), "tenant_exists");
  }
  P402_RETURN_IF_ERROR(created);
  v1::CreateTenantResponse response;
  *response.mutable_tenant() = ToProto(tenant);
  return response;
}

absl::StatusOr<v1::GetTenantResponse> TenantAdmin::GetTenant(const v1::GetTenantRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());
  v1::GetTenantResponse response;
  *response.mutable_tenant() = ToProto(*tenant);
  return response;
}

absl::StatusOr<v1::CreateApiKeyResponse> TenantAdmin::CreateApiKey(
    const v1::CreateApiKeyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateText(request.name(), "name"));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());

  std::string secret = crypto::RandomToken(kApiKeyPrefix, kApiKeyEntropyBytes);
  ApiKeyRecord key;
  key.id = "key_" + crypto::HexEncode(crypto::RandomBytes(12));
  key.tenant_id = request.tenant_id();
  key.name = request.name();
  key.prefix = secret.substr(0, kApiKeyPrefixLength);
  key.key_hash = crypto::Sha256Hex(secret);
  key.admin = request.admin();
  key.created_unix_ms = UnixMillis(clock_.Now());
  absl::Status created = store_.CreateApiKey(key);
  if (absl::IsNotFound(created)) {
    return TenantNotFound(request.tenant_id());  // the tenant vanished meanwhile
  }
  P402_RETURN_IF_ERROR(created);
  v1::CreateApiKeyResponse response;
  *response.mutable_key() = ToProto(key);
  response.set_secret(std::move(secret));
  return response;
}

absl::StatusOr<v1::ListApiKeysResponse> TenantAdmin::ListApiKeys(
    const v1::ListApiKeysRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());
  P402_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, store_.ListApiKeys(request.tenant_id()));
  v1::ListApiKeysResponse response;
  for (const ApiKeyRecord& key : keys) {
    *response.add_keys() = ToProto(key);
  }
  return response;
}

absl::StatusOr<v1::RevokeApiKeyResponse> TenantAdmin::RevokeApiKey(
    const v1::RevokeApiKeyRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.key_id(), "key_id"));
  absl::StatusOr<ApiKeyRecord> key = store_.RevokeApiKey(request.key_id());
  if (absl::IsNotFound(key.status())) {
    return WithReason(NotFound("API key '" + request.key_id() + "' not found"),
                      "api_key_not_found");
  }
  P402_RETURN_IF_ERROR(key.status());
  v1::RevokeApiKeyResponse response;
  *response.mutable_key() = ToProto(*key);
  return response;
}

}  // namespace p402::policy
