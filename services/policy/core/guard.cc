#include "services/policy/core/guard.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/constant_time.h"
#include "libs/crypto/sha256.h"
#include "services/policy/core/request_cap_layer.h"
#include "services/policy/core/reservation_layer.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

v1::AuthorizeResponse DenyUnauthenticated(std::string_view reason, std::string_view message) {
  v1::AuthorizeResponse response;
  response.set_decision(v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
  response.set_reason(std::string(reason));
  response.set_message(std::string(message));
  return response;
}

absl::Status ValidateAuthorizeRequest(const v1::AuthorizeRequest& request) {
  if (request.worst_case_micro_usd() < 0) {
    return InvalidArgument("worst_case_micro_usd must be >= 0");
  }
  if (request.estimated_input_tokens() < 0) {
    return InvalidArgument("estimated_input_tokens must be >= 0");
  }
  if (request.max_output_tokens() < 0) {
    return InvalidArgument("max_output_tokens must be >= 0");
  }
  if (request.output_per_mtok_micro_usd() < 0) {
    return InvalidArgument("output_per_mtok_micro_usd must be >= 0");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Guard>> Guard::Create(PolicyStore& store, const Clock& clock,
                                                     GuardConfig config) {
  P402_RETURN_IF_ERROR(config.Validate());
  auto layers = DefaultLayers(store, config);
  return std::unique_ptr<Guard>(new Guard(store, clock, std::move(config), std::move(layers)));
}

absl::StatusOr<std::unique_ptr<Guard>> Guard::Create(
    PolicyStore& store, const Clock& clock, GuardConfig config,
    std::vector<std::unique_ptr<GuardLayer>> layers) {
  P402_RETURN_IF_ERROR(config.Validate());
  return std::unique_ptr<Guard>(new Guard(store, clock, std::move(config), std::move(layers)));
}

std::vector<std::unique_ptr<GuardLayer>> Guard::DefaultLayers(PolicyStore& store,
                                                              const GuardConfig& config) {
  std::vector<std::unique_ptr<GuardLayer>> layers;
  // TODO(p402): layers 1-4 (rate_limit, daily_limit, concurrency, anomaly; fail-open) go here.
  layers.push_back(std::make_unique<RequestCapLayer>(config));
  layers.push_back(std::make_unique<ReservationLayer>(store, config));
  return layers;
}

Guard::Guard(PolicyStore& store, const Clock& clock, GuardConfig config,
             std::vector<std::unique_ptr<GuardLayer>> layers)
    : store_(store), clock_(clock), config_(std::move(config)), chain_(std::move(layers)) {}

absl::StatusOr<v1::AuthorizeResponse> Guard::Authorize(const v1::AuthorizeRequest& request) {
  P402_RETURN_IF_ERROR(ValidateAuthorizeRequest(request));

  const v1::Credential& credential = request.credential();
  switch (credential.kind_case()) {
    case v1::Credential::KIND_NOT_SET:
      return DenyUnauthenticated("missing_api_key", "no API key was provided");
    case v1::Credential::kSessionToken:
    case v1::Credential::kPaid:
      // TODO(p402): agent session tokens and x402 paid requests (their own issues).
      return DenyUnauthenticated("unsupported_credential",
                                 "this credential type is not supported yet; use an API key");
    case v1::Credential::kApiKey:
      break;
  }
  const std::string& secret = credential.api_key();
  if (secret.empty()) {
    return DenyUnauthenticated("missing_api_key", "no API key was provided");
  }
  if (secret.size() > kMaxApiKeyLength) {
    return DenyUnauthenticated("invalid_api_key", "the API key is not valid");
  }
  // Only the hash is ever compared or looked up; the secret goes no further than this line.
  const std::string key_hash = crypto::Sha256Hex(secret);
  P402_ASSIGN_OR_RETURN(std::optional<ApiKeyRecord> key, store_.FindApiKeyByHash(key_hash));
  if (!key.has_value() || !crypto::ConstantTimeEquals(key->key_hash, key_hash)) {
    return DenyUnauthenticated("invalid_api_key", "the API key is not valid");
  }
  if (key->revoked) {
    return DenyUnauthenticated("revoked_api_key", "the API key has been revoked");
  }

  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(key->tenant_id);
  if (absl::IsNotFound(tenant.status())) {
    // Keys reference their tenant (a foreign key in PostgreSQL), so this is corrupt data.
    return Internal("the API key's tenant does not exist");
  }
  P402_RETURN_IF_ERROR(tenant.status());

  GuardContext ctx;
  ctx.request = &request;
  ctx.tenant = &*tenant;
  ctx.api_key = &*key;
  ctx.limits = ResolveLimits(tenant->limits, config_);
  ctx.now_unix_ms = UnixMillis(clock_.Now());
  ctx.worst_case_micro_usd = request.worst_case_micro_usd();
  ctx.max_output_tokens = request.max_output_tokens();

  P402_ASSIGN_OR_RETURN(ChainVerdict verdict, chain_.Run(ctx));

  v1::AuthorizeResponse response;
  response.set_tenant_id(tenant->id);
  response.set_api_key_id(key->id);
  for (v1::GuardLayerResult& layer : verdict.layers) {
    *response.add_layers() = std::move(layer);
  }
  if (!verdict.allowed) {
    response.set_decision(verdict.denial.decision);
    response.set_reason(verdict.denial.code);
    response.set_message(verdict.denial.message);
    response.set_retry_after_ms(verdict.denial.retry_after_ms);
    return response;
  }
  if (!ctx.reservation.has_value()) {
    // Every admitted request must hold a reservation, or Commit could not charge it.
    return Internal("the guard chain admitted a request without a reservation");
  }
  response.set_decision(v1::GUARD_DECISION_ALLOW);
  v1::Reservation* reservation = response.mutable_reservation();
  reservation->set_id(ctx.reservation->id);
  reservation->set_amount_micro_usd(ctx.reservation->amount_micro_usd);
  reservation->set_expires_unix_ms(ctx.reservation->expires_unix_ms);
  if (ctx.max_tokens_reduced) {
    response.set_reduced_max_tokens(ctx.max_output_tokens);
  }
  return response;
}

absl::StatusOr<v1::CommitResponse> Guard::Commit(const v1::CommitRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.reservation_id(), "reservation_id"));
  if (request.actual_micro_usd() < 0) {
    return InvalidArgument("actual_micro_usd must be >= 0");
  }
  P402_ASSIGN_OR_RETURN(CommitOutcome outcome, store_.CommitReservation(request.reservation_id(),
                                                                        request.actual_micro_usd(),
                                                                        request.model().provider(),
                                                                        UnixMillis(clock_.Now())));
  const ReservationRecord& r = outcome.reservation;
  v1::CommitResponse response;
  response.set_charged_micro_usd(r.actual_micro_usd);
  response.set_overrun_micro_usd(
      std::max<MicroUsd>(0, request.actual_micro_usd() - r.amount_micro_usd));
  response.set_already_committed(outcome.already_committed);
  if (outcome.already_committed) {
    return response;
  }
  if (response.overrun_micro_usd() > 0) {
    // The estimate behind the reservation was too low; the difference is not charged.
    P402_LOG(kWarn, "commit exceeded its reservation")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", r.id)
        .Field("tenant_id", r.tenant_id)
        .Field("overrun_micro_usd", response.overrun_micro_usd());
  }
  if (outcome.committed_after_expiry) {
    P402_LOG(kWarn, "commit arrived after its reservation expired")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", r.id)
        .Field("tenant_id", r.tenant_id);
  }
  chain_.NotifyFinished(r, r.actual_micro_usd, /*failed=*/false);
  return response;
}

absl::StatusOr<v1::ReleaseResponse> Guard::Release(const v1::ReleaseRequest& request) {
  P402_RETURN_IF_ERROR(ValidateOpaqueId(request.reservation_id(), "reservation_id"));
  P402_RETURN_IF_ERROR(ValidateText(request.reason(), "reason"));
  P402_ASSIGN_OR_RETURN(
      ReleaseOutcome outcome,
      store_.ReleaseReservation(request.reservation_id(), UnixMillis(clock_.Now())));
  v1::ReleaseResponse response;
  response.set_already_finalized(outcome.already_finalized);
  if (!outcome.already_finalized) {
    chain_.NotifyFinished(outcome.reservation, 0, request.reason() == "provider_failed");
  }
  return response;
}

absl::StatusOr<int64_t> Guard::ExpireReservations() {
  return store_.ExpireReservations(UnixMillis(clock_.Now()));
}

}  // namespace p402::policy
