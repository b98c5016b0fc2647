#include "services/policy/core/tenant_admin.h"

#include <algorithm>
#include <string>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/sha256.h"
#include "services/policy/core/credentials.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

constexpr char kApiKeyPrefix[] = "sk-p402-";
constexpr int64_t kMinReservationTtlMs = 1'000;
constexpr int64_t kMaxReservationTtlMs = 86'400'000;

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
  limits->set_anomaly_zscore_centi(tenant.limits.anomaly_zscore_centi);
  limits->set_reservation_ttl_ms(tenant.limits.reservation_ttl_ms);
  out.set_spent_micro_usd(tenant.spent_micro_usd);
  out.set_reserved_micro_usd(tenant.reserved_micro_usd);
  out.set_created_unix_ms(tenant.created_unix_ms);
  out.set_paused(tenant.paused);
  out.set_pause_reason(tenant.pause_reason);
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
                      .max_concurrent = limits.max_concurrent(),
                      .anomaly_zscore_centi = limits.anomaly_zscore_centi(),
                      .reservation_ttl_ms = limits.reservation_ttl_ms()};
}

absl::Status ValidateTenantLimits(const TenantLimits& limits) {
  P402_RETURN_IF_ERROR(ValidateLimits(limits));
  if (limits.anomaly_zscore_centi < 0) {
    return InvalidArgument("limits.anomaly_zscore_centi must be >= 0 (0 = service default)");
  }
  if (limits.reservation_ttl_ms != 0 && (limits.reservation_ttl_ms < kMinReservationTtlMs ||
                                         limits.reservation_ttl_ms > kMaxReservationTtlMs)) {
    return InvalidArgument(
        "limits.reservation_ttl_ms must be 0 (service default) or 1000..86400000");
  }
  return absl::OkStatus();
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
  P402_RETURN_IF_ERROR(ValidateTenantLimits(tenant.limits));
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
  if (!request.tenant_id().empty()) {
    P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
    P402_ASSIGN_OR_RETURN(std::vector<ApiKeyRecord> keys, store_.ListApiKeys(request.tenant_id()));
    const bool owned = std::any_of(keys.begin(), keys.end(), [&](const ApiKeyRecord& k) {
      return k.id == request.key_id();
    });
    if (!owned) {
      return WithReason(NotFound("API key '" + request.key_id() + "' not found"),
                        "api_key_not_found");
    }
  }
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

absl::StatusOr<v1::UpdateTenantResponse> TenantAdmin::UpdateTenant(
    const v1::UpdateTenantRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  if (request.has_name()) {
    P402_RETURN_IF_ERROR(ValidateText(request.name(), "name"));
  }
  if (request.has_limits()) {
    P402_RETURN_IF_ERROR(ValidateTenantLimits(FromProto(request.limits())));
  }
  // Read first for the fields left unchanged. A concurrent update of the other field can be lost
  // (last writer wins per call), which is acceptable for operator edits.
  absl::StatusOr<TenantRecord> current = store_.GetTenant(request.tenant_id());
  if (absl::IsNotFound(current.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(current.status());
  std::string name = current->name;
  if (request.has_name()) {
    name = request.name().empty() ? current->id : request.name();
  }
  const TenantLimits limits = request.has_limits() ? FromProto(request.limits()) : current->limits;
  absl::StatusOr<TenantRecord> updated = store_.UpdateTenant(request.tenant_id(), name, limits);
  if (absl::IsNotFound(updated.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(updated.status());
  v1::UpdateTenantResponse response;
  *response.mutable_tenant() = ToProto(*updated);
  return response;
}

absl::StatusOr<v1::SetTenantPausedResponse> TenantAdmin::SetTenantPaused(
    const v1::SetTenantPausedRequest& request) {
  P402_RETURN_IF_ERROR(ValidateTenantId(request.tenant_id()));
  P402_RETURN_IF_ERROR(ValidateText(request.reason(), "reason"));
  absl::StatusOr<TenantRecord> tenant =
      store_.SetTenantPaused(request.tenant_id(), request.paused(), request.reason());
  if (absl::IsNotFound(tenant.status())) {
    return TenantNotFound(request.tenant_id());
  }
  P402_RETURN_IF_ERROR(tenant.status());
  P402_LOG(kWarn, request.paused() ? "tenant paused" : "tenant resumed")
      .Field("tenant_id", tenant->id)
      .Field("reason", request.reason());
  v1::SetTenantPausedResponse response;
  *response.mutable_tenant() = ToProto(*tenant);
  return response;
}

absl::StatusOr<v1::AuthenticateResponse> TenantAdmin::Authenticate(
    const v1::AuthenticateRequest& request) {
  if (request.credential().kind_case() == v1::Credential::kPaid) {
    return InvalidArgument("credential: only an api_key or a session_token can be authenticated");
  }
  P402_ASSIGN_OR_RETURN(ResolvedCredential resolved,
                        ResolveCredential(store_, request.credential()));
  v1::AuthenticateResponse response;
  auto refuse = [&response](std::string_view reason, std::string_view message) {
    response.set_authenticated(false);
    response.set_reason(std::string(reason));
    response.set_message(std::string(message));
    return response;
  };
  if (!resolved.authenticated) {
    return refuse(resolved.reason, resolved.message);
  }
  if (resolved.session.has_value()) {
    const SessionRecord& session = *resolved.session;
    const int64_t now = UnixMillis(clock_.Now());
    if (session.revoked_unix_ms != 0) {
      return refuse("session_revoked", "the session token was revoked");
    }
    if (now >= session.expires_unix_ms) {
      return refuse("session_expired", "the session has expired");
    }
    // An exhausted session still authenticates: it is topped up through the management API.
    response.set_authenticated(true);
    response.set_tenant_id(session.tenant_id);
    response.set_session_id(session.id);
    return response;
  }
  response.set_authenticated(true);
  response.set_tenant_id(resolved.key->tenant_id);
  response.set_api_key_id(resolved.key->id);
  response.set_admin(resolved.key->admin);
  return response;
}

}  // namespace p402::policy
