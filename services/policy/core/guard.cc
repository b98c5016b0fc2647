// Guard::Authorize and its steps. Commit, Release and CheckReservation are in
// guard_lifecycle.cc.
#include "services/policy/core/guard.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "services/policy/core/anomaly_layer.h"
#include "services/policy/core/concurrency_layer.h"
#include "services/policy/core/daily_limit_layer.h"
#include "services/policy/core/policy_rules.h"
#include "services/policy/core/rate_limit_layer.h"
#include "services/policy/core/request_cap_layer.h"
#include "services/policy/core/reservation_layer.h"
#include "services/policy/core/session_admin.h"
#include "services/policy/core/session_rules.h"
#include "services/policy/core/validation.h"

namespace p402::policy {
namespace {

v1::GuardLayerResult PolicyStep(bool passed, std::string_view code) {
  v1::GuardLayerResult r;
  r.set_layer(std::string(kStepPolicy));
  r.set_passed(passed);
  r.set_code(std::string(code));
  return r;
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
  const std::string& capability = request.capability();
  if (!capability.empty() && capability != "chat" && capability != "embeddings") {
    return InvalidArgument("capability must be empty, \"chat\" or \"embeddings\"");
  }
  if (!request.session_id().empty()) {
    P402_RETURN_IF_ERROR(ValidateOpaqueId(request.session_id(), "session_id"));
  }
  if (!request.approval_id().empty()) {
    P402_RETURN_IF_ERROR(ValidateOpaqueId(request.approval_id(), "approval_id"));
  }
  P402_RETURN_IF_ERROR(ValidateText(request.task(), "task", 128));
  return absl::OkStatus();
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

// Adds the session's provider restrictions to the policies' routing: allow lists intersect, deny
// lists unite. Returns false when the allow lists leave no usable provider.
bool MergeProviders(v1::PolicyRouting& routing, const std::vector<std::string>& session_allowed,
                    const std::vector<std::string>& session_denied) {
  const bool restricted = routing.allowed_providers_size() > 0 || !session_allowed.empty();
  if (!session_allowed.empty()) {
    if (routing.allowed_providers_size() == 0) {
      routing.mutable_allowed_providers()->Assign(session_allowed.begin(), session_allowed.end());
    } else {
      google::protobuf::RepeatedPtrField<std::string> both;
      for (const std::string& p : routing.allowed_providers()) {
        if (std::find(session_allowed.begin(), session_allowed.end(), p) != session_allowed.end()) {
          *both.Add() = p;
        }
      }
      routing.mutable_allowed_providers()->Swap(&both);
    }
  }
  for (const std::string& p : session_denied) {
    if (!Contains(routing.denied_providers(), p)) {
      *routing.add_denied_providers() = p;
    }
  }
  if (!restricted) {
    return true;
  }
  for (const std::string& p : routing.allowed_providers()) {
    if (!Contains(routing.denied_providers(), p)) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string NewApprovalId() { return "apr_" + crypto::HexEncode(crypto::RandomBytes(8)); }

// One Authorize call's state, filled step by step.
struct Guard::Admission {
  int64_t now_unix_ms = 0;
  TenantRecord tenant;  // id set as soon as it is known
  std::optional<ApiKeyRecord> key;
  std::optional<SessionRecord> session;
  bool via_token = false;
  v1::PolicyRouting routing;
  EffectiveLimits limits;
  std::vector<SpendWindowLimit> spend_windows;
  bool needs_approval = false;
  // An approved approval that this request uses once it is admitted.
  std::optional<ApprovalRecord> approval;

  // A response carrying what is known of the caller.
  v1::AuthorizeResponse Response() const {
    v1::AuthorizeResponse r;
    r.set_tenant_id(tenant.id);
    if (key.has_value()) {
      r.set_api_key_id(key->id);
    }
    if (session.has_value()) {
      r.set_session_id(session->id);
      r.set_session_expires_unix_ms(session->expires_unix_ms);
    }
    return r;
  }
  // A final answer from the policy step (recorded as its GuardLayerResult).
  v1::AuthorizeResponse Deny(v1::GuardDecision decision, std::string_view code,
                             std::string message) const {
    v1::AuthorizeResponse r = Response();
    r.set_decision(decision);
    r.set_reason(std::string(code));
    r.set_message(std::move(message));
    *r.add_layers() = PolicyStep(false, code);
    return r;
  }
};

absl::StatusOr<std::unique_ptr<Guard>> Guard::Create(const GuardDeps& deps, GuardConfig config) {
  P402_RETURN_IF_ERROR(config.Validate());
  return std::unique_ptr<Guard>(new Guard(deps, std::move(config), std::nullopt));
}

absl::StatusOr<std::unique_ptr<Guard>> Guard::Create(
    const GuardDeps& deps, GuardConfig config, std::vector<std::unique_ptr<GuardLayer>> layers) {
  P402_RETURN_IF_ERROR(config.Validate());
  return std::unique_ptr<Guard>(new Guard(deps, std::move(config), std::move(layers)));
}

std::vector<std::unique_ptr<GuardLayer>> Guard::DefaultLayers(PolicyStore& store,
                                                              CounterStore& counters,
                                                              AlertSink& alerts,
                                                              const GuardConfig& config) {
  std::vector<std::unique_ptr<GuardLayer>> layers;
  layers.push_back(std::make_unique<RateLimitLayer>(counters));
  layers.push_back(std::make_unique<DailyLimitLayer>(counters, alerts));
  layers.push_back(std::make_unique<ConcurrencyLayer>(counters));
  layers.push_back(std::make_unique<AnomalyLayer>(counters, alerts, config));
  layers.push_back(std::make_unique<RequestCapLayer>(config));
  layers.push_back(std::make_unique<ReservationLayer>(store, config));
  return layers;
}

Guard::Guard(const GuardDeps& deps, GuardConfig config,
             std::optional<std::vector<std::unique_ptr<GuardLayer>>> layers)
    : store_(deps.store),
      clock_(deps.clock),
      alerts_(deps.alerts),
      policies_(deps.policies),
      kill_switch_(deps.kill_switch),
      config_(std::move(config)),
      chain_(layers.has_value() ? std::move(*layers)
                                : DefaultLayers(deps.store, deps.counters, deps.alerts, config_)) {}

absl::StatusOr<v1::AuthorizeResponse> Guard::Authorize(const v1::AuthorizeRequest& request) {
  P402_RETURN_IF_ERROR(ValidateAuthorizeRequest(request));
  Admission a;
  a.now_unix_ms = UnixMillis(clock_.Now());
  for (auto step : {&Guard::Identify, &Guard::ApplyPolicyStep, &Guard::CheckApproval}) {
    P402_ASSIGN_OR_RETURN(std::optional<v1::AuthorizeResponse> answer, (this->*step)(request, a));
    if (answer.has_value()) {
      return *std::move(answer);
    }
  }
  return RunLayers(request, a);
}

absl::StatusOr<std::optional<v1::AuthorizeResponse>> Guard::Identify(
    const v1::AuthorizeRequest& request, Admission& a) {
  P402_ASSIGN_OR_RETURN(ResolvedCredential credential,
                        ResolveCredential(store_, request.credential()));
  if (!credential.authenticated) {
    v1::AuthorizeResponse denied;
    denied.set_decision(v1::GUARD_DECISION_DENY_UNAUTHENTICATED);
    denied.set_reason(credential.reason);
    denied.set_message(credential.message);
    return denied;
  }
  if (credential.session.has_value()) {
    a.via_token = true;
    a.session = std::move(credential.session);
    a.tenant.id = a.session->tenant_id;
    if (!request.session_id().empty() && request.session_id() != a.session->id) {
      return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "session_mismatch",
                    "p402.session_id names another session than the session token's");
    }
  } else {
    a.key = std::move(credential.key);
    a.tenant.id = a.key->tenant_id;
  }

  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(a.tenant.id);
  if (absl::IsNotFound(tenant.status())) {
    // Keys and sessions reference their tenant (a foreign key in PostgreSQL): corrupt data.
    return Internal("the credential's tenant does not exist");
  }
  P402_RETURN_IF_ERROR(tenant.status());
  a.tenant = *std::move(tenant);

  if (a.key.has_value() && !request.session_id().empty()) {
    absl::StatusOr<SessionRecord> session = store_.GetSession(a.tenant.id, request.session_id());
    if (absl::IsNotFound(session.status())) {
      return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "session_not_found",
                    "session " + request.session_id() + " does not exist for this tenant");
    }
    P402_RETURN_IF_ERROR(session.status());
    a.session = *std::move(session);
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<v1::AuthorizeResponse>> Guard::ApplyPolicyStep(
    const v1::AuthorizeRequest& request, Admission& a) {
  if (a.tenant.paused) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "tenant_paused",
                  a.tenant.pause_reason.empty()
                      ? "all traffic of this tenant is paused"
                      : "all traffic of this tenant is paused: " + a.tenant.pause_reason);
  }
  // Policies can deny, so a store error here fails closed like the rest of the guard.
  P402_ASSIGN_OR_RETURN(PolicyList policies, policies_.Get(a.tenant.id));
  PolicyVerdict verdict = EvaluatePolicies(
      *policies, PolicyRequestFacts{.task = request.task(),
                                    .model_provider = request.model().provider(),
                                    .model_id = request.model().model(),
                                    .tenant_spent_micro_usd = a.tenant.spent_micro_usd});
  if (verdict.kill_switch_tripped) {
    // Pausing makes every replica refuse the tenant at once; if the store cannot pause it now,
    // the same policy trips again on the next request.
    absl::Status tripped = kill_switch_.Trip(a.tenant.id, verdict.message, a.now_unix_ms);
    if (!tripped.ok()) {
      P402_LOG(kWarn, "could not pause a tenant whose kill switch tripped")
          .RequestId(request.meta().request_id())
          .Field("tenant_id", a.tenant.id)
          .Field("error", MessageOf(tripped));
    }
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "kill_switch_tripped", verdict.message);
  }
  if (verdict.denied) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, verdict.code, verdict.message);
  }

  a.limits = ResolveLimits(a.tenant.limits, config_);
  if (verdict.per_request_cap_micro_usd.has_value()) {
    a.limits.per_request_cap_micro_usd =
        std::min(a.limits.per_request_cap_micro_usd, *verdict.per_request_cap_micro_usd);
  }
  a.routing = std::move(verdict.routing);
  a.spend_windows = std::move(verdict.spend_windows);

  std::vector<std::string> session_allowed;
  std::vector<std::string> session_denied;
  if (a.session.has_value()) {
    SessionVerdict session = CheckSession(
        *a.session, SessionRequestFacts{.capability = request.capability(),
                                        .model_provider = request.model().provider(),
                                        .worst_case_micro_usd = request.worst_case_micro_usd(),
                                        .now_unix_ms = a.now_unix_ms,
                                        .via_token = a.via_token});
    if (session.denied) {
      return a.Deny(session.decision, session.code, session.message);
    }
    if (session.per_request_cap_micro_usd.has_value()) {
      a.limits.per_request_cap_micro_usd =
          std::min(a.limits.per_request_cap_micro_usd, *session.per_request_cap_micro_usd);
    }
    session_allowed = std::move(session.allowed_providers);
    session_denied = std::move(session.denied_providers);
    a.needs_approval = session.needs_approval;
  }
  if (!MergeProviders(a.routing, session_allowed, session_denied)) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "provider_denied",
                  "the tenant's policies and the session leave no provider this request may use");
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<v1::AuthorizeResponse>> Guard::CheckApproval(
    const v1::AuthorizeRequest& request, Admission& a) {
  if (!a.needs_approval) {
    return std::nullopt;
  }
  const SessionRecord& session = *a.session;
  auto hold = [&a](const ApprovalRecord& approval) {
    v1::AuthorizeResponse r =
        a.Deny(v1::GUARD_DECISION_HOLD_FOR_APPROVAL, "approval_required",
               "the request's worst-case cost is above the session's approval threshold of $" +
                   FormatUsd(a.session->require_approval_above_micro_usd) +
                   "; waiting for approval " + approval.id);
    *r.mutable_approval() = ToProto(approval);
    return r;
  };

  if (request.approval_id().empty()) {
    ApprovalRecord approval;
    approval.id = NewApprovalId();
    approval.tenant_id = a.tenant.id;
    approval.session_id = session.id;
    approval.request_id = request.meta().request_id();
    approval.amount_micro_usd = request.worst_case_micro_usd();
    approval.model_provider = request.model().provider();
    approval.model_id = request.model().model();
    approval.state = ApprovalState::kPending;
    approval.created_unix_ms = a.now_unix_ms;
    approval.expires_unix_ms = a.now_unix_ms + config_.approval_timeout.count();
    P402_RETURN_IF_ERROR(store_.CreateApproval(approval));
    alerts_.Emit(AlertEvent{.kind = "approval_requested",
                            .tenant_id = a.tenant.id,
                            .session_id = session.id,
                            .request_id = request.meta().request_id(),
                            .message = "request of $" + FormatUsd(approval.amount_micro_usd) +
                                       " held for approval " + approval.id,
                            .unix_ms = a.now_unix_ms});
    return hold(approval);
  }

  absl::StatusOr<ApprovalRecord> approval =
      store_.GetApproval(a.tenant.id, request.approval_id(), a.now_unix_ms);
  if (absl::IsNotFound(approval.status())) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "approval_mismatch",
                  "approval " + request.approval_id() + " does not exist for this tenant");
  }
  P402_RETURN_IF_ERROR(approval.status());
  if (approval->session_id != session.id ||
      approval->amount_micro_usd < request.worst_case_micro_usd()) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "approval_mismatch",
                  "approval " + approval->id + " does not cover this request");
  }
  switch (approval->state) {
    case ApprovalState::kPending:
      return hold(*approval);
    case ApprovalState::kDenied:
      return a.Deny(
          v1::GUARD_DECISION_DENY_POLICY, "approval_denied",
          "approval " + approval->id + " was denied" +
              (approval->decision_reason.empty() ? "" : ": " + approval->decision_reason));
    case ApprovalState::kExpired:
      return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "approval_timeout",
                    "approval " + approval->id + " was not decided in time");
    case ApprovalState::kUsed:
      return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "approval_used",
                    "approval " + approval->id + " was already used");
    case ApprovalState::kApproved:
      break;
  }
  // Marked used only once the request is admitted, so a layer denial does not burn it.
  a.approval = *std::move(approval);
  return std::nullopt;
}

absl::StatusOr<v1::AuthorizeResponse> Guard::RunLayers(const v1::AuthorizeRequest& request,
                                                       Admission& a) {
  GuardContext ctx;
  ctx.request = &request;
  ctx.tenant = &a.tenant;
  ctx.api_key = a.key.has_value() ? &*a.key : nullptr;
  ctx.session = a.session.has_value() ? &*a.session : nullptr;
  ctx.limits = a.limits;
  ctx.now_unix_ms = a.now_unix_ms;
  ctx.reservation_id = NewReservationId();
  ctx.spend_windows = std::move(a.spend_windows);
  ctx.worst_case_micro_usd = request.worst_case_micro_usd();
  ctx.max_output_tokens = request.max_output_tokens();

  P402_ASSIGN_OR_RETURN(ChainVerdict verdict, chain_.Run(ctx));

  v1::AuthorizeResponse response = a.Response();
  *response.add_layers() = PolicyStep(true, a.approval.has_value() ? "approved" : "");
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
  chain_.NotifyAdmitted(ctx);
  if (a.approval.has_value()) {
    P402_ASSIGN_OR_RETURN(std::optional<v1::AuthorizeResponse> refused,
                          UseApproval(request, a, *ctx.reservation));
    if (refused.has_value()) {
      return *std::move(refused);
    }
  }
  response.set_decision(v1::GUARD_DECISION_ALLOW);
  v1::Reservation* reservation = response.mutable_reservation();
  reservation->set_id(ctx.reservation->id);
  reservation->set_amount_micro_usd(ctx.reservation->amount_micro_usd);
  reservation->set_expires_unix_ms(ctx.reservation->expires_unix_ms);
  if (ctx.max_tokens_reduced) {
    response.set_reduced_max_tokens(ctx.max_output_tokens);
  }
  *response.mutable_routing() = std::move(a.routing);
  return response;
}

absl::StatusOr<std::optional<v1::AuthorizeResponse>> Guard::UseApproval(
    const v1::AuthorizeRequest& request, Admission& a, const ReservationRecord& reservation) {
  absl::StatusOr<ApprovalRecord> used = store_.TransitionApproval(
      a.tenant.id, a.approval->id, ApprovalState::kUsed, "", a.now_unix_ms);
  if (used.ok()) {
    return std::nullopt;
  }
  // A concurrent re-authorization used it first (or the store failed): undo this admission as if
  // the request had been released unused.
  absl::StatusOr<ReleaseOutcome> released =
      store_.ReleaseReservation(reservation.id, a.now_unix_ms);
  if (released.ok() && !released->already_finalized) {
    chain_.NotifyFinished(released->reservation, 0, /*failed=*/false);
  } else if (!released.ok()) {
    P402_LOG(kWarn, "could not release the reservation of a refused approval")
        .RequestId(request.meta().request_id())
        .Field("reservation_id", reservation.id)
        .Field("error", MessageOf(released.status()));
  }
  if (absl::IsFailedPrecondition(used.status()) || absl::IsNotFound(used.status())) {
    return a.Deny(v1::GUARD_DECISION_DENY_POLICY, "approval_used",
                  "approval " + a.approval->id + " was already used");
  }
  return used.status();
}

}  // namespace p402::policy
