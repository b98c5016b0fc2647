// File: services/policy/core/guard.h
// Guard: the billing guard's request path, one call per request stage (BRIEF "Request lifecycle"
// step 2 and 6). Authorize authenticates the caller (tenant API key or agent session token; only
// SHA-256 hashes are ever looked up), applies the tenant's pause state, policies (policy_rules.h)
// and session (session_rules.h) as the "policy" step, holds requests above a session's approval
// threshold, then runs the six guard layers in order (guard_chain.h): rate_limit -> daily_limit ->
// concurrency -> anomaly -> request_cap -> reservation, ending with an atomic budget reservation
// of the request's worst-case cost. Commit finalises that reservation to the actual cost; Release
// returns it; CheckReservation tells a running stream whether it may keep spending. The rpc/
// adapter calls exactly one of these per RPC.
//
// Denials are answers (AuthorizeResponse.decision + reason), not errors. A non-OK status means the
// guard could not decide: InvalidArgument for a malformed request, Unavailable when the
// PolicyStore is down (the caller fails closed; layers 1-4 fail open on their CounterStore
// instead), Internal for inconsistent stored data.
//
// Thread-safety: all methods may be called concurrently (the state lives in the stores).
// Blocking: as blocking as the stores (PostgreSQL and Redis do network I/O).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/alert_sink.h"
#include "services/policy/core/counter_store.h"
#include "services/policy/core/credentials.h"
#include "services/policy/core/guard_chain.h"
#include "services/policy/core/guard_config.h"
#include "services/policy/core/guard_layer.h"
#include "services/policy/core/kill_switch.h"
#include "services/policy/core/policy_cache.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

// What a Guard works with. Every reference must outlive the Guard.
struct GuardDeps {
  PolicyStore& store;              // source of truth (tenants, keys, reservations, sessions, ...)
  const Clock& clock;              // now, for every decision
  CounterStore& counters;          // layers 1-4 (fail open)
  AlertSink& alerts;               // soft events (anomaly, spend alert, approval, kill switch)
  PolicyCache& policies;           // the tenant's policies, cached per process
  KillSwitchMonitor& kill_switch;  // trips (pauses) tenants
};

class Guard {
 public:
  // A guard with DefaultLayers. InvalidArgument when config.Validate() fails.
  static absl::StatusOr<std::unique_ptr<Guard>> Create(const GuardDeps& deps, GuardConfig config);
  // A guard with the given layers (canonical order required, see GuardChain).
  static absl::StatusOr<std::unique_ptr<Guard>> Create(
      const GuardDeps& deps, GuardConfig config, std::vector<std::unique_ptr<GuardLayer>> layers);
  // The six layers, in order: rate_limit, daily_limit, concurrency, anomaly, request_cap,
  // reservation. The arguments must outlive the layers (`config` included: layers may keep a
  // reference to it).
  static std::vector<std::unique_ptr<GuardLayer>> DefaultLayers(PolicyStore& store,
                                                                CounterStore& counters,
                                                                AlertSink& alerts,
                                                                const GuardConfig& config);

  // Authenticates and admits one request. In order, the first denial decides:
  //   credential: none / empty           -> DENY_UNAUTHENTICATED "missing_api_key"
  //     unknown key (or > 256 chars)     -> DENY_UNAUTHENTICATED "invalid_api_key"
  //     revoked key                      -> DENY_UNAUTHENTICATED "revoked_api_key"
  //     unknown session token            -> DENY_UNAUTHENTICATED "invalid_session_token"
  //     x402 payment                     -> DENY_UNAUTHENTICATED "unsupported_credential"
  //     token's session != session_id    -> DENY_POLICY "session_mismatch"
  //     key + unknown session_id         -> DENY_POLICY "session_not_found"
  //   policy step (GuardLayerResult "policy", first in `layers`):
  //     tenant paused                    -> DENY_POLICY "tenant_paused"
  //     policies                         -> DENY_POLICY "provider_denied" / "model_denied" /
  //                                         "kill_switch_tripped" (the tenant is paused too)
  //     session                          -> session_rules.h codes ("session_revoked", ...)
  //     no provider left after merging   -> DENY_POLICY "provider_denied"
  //     above require_approval_above     -> HOLD_FOR_APPROVAL "approval_required" (new pending
  //                                         approval in `approval`); with approval_id: pending ->
  //                                         HOLD again, DENY_POLICY "approval_denied" /
  //                                         "approval_timeout" / "approval_used" /
  //                                         "approval_mismatch"
  //   then the layers (e.g. DENY_RATE_LIMIT "rate_limited" with retry_after_ms, DENY_REQUEST_CAP
  //   "request_cap_exceeded", DENY_BUDGET "budget_exhausted" / "session_budget_exhausted").
  // ALLOW carries the reservation, routing restrictions, the session and, when max_tokens was
  // lowered to fit, reduced_max_tokens. An approved approval is marked used only once the request
  // is admitted. tenant_id / api_key_id / session_id are set once known, also on later denials.
  // Errors: InvalidArgument (negative figures, bad capability or ids), Unavailable (PolicyStore
  // down: nothing is held), Internal (a key's tenant is missing).
  absl::StatusOr<v1::AuthorizeResponse> Authorize(const v1::AuthorizeRequest& request);

  // Finalises a reservation to request.actual_micro_usd, clamped to the reserved amount: the
  // clamped part is reported in overrun_micro_usd and never charged. Records
  // request.model().provider() for a session's per-provider spend. Idempotent: a replay returns
  // the first commit's charge with already_committed = true. A reservation that expired before the
  // commit is still charged (the provider was paid). A fresh commit is reported to the layers and
  // the kill switch (never failing the call). Errors: InvalidArgument (bad id, negative actual),
  // NotFound (unknown reservation), FailedPrecondition with reason "reservation_released" (it was
  // released: nothing may be charged any more), Unavailable.
  absl::StatusOr<v1::CommitResponse> Commit(const v1::CommitRequest& request);

  // Returns an open reservation's hold to the budget. Idempotent: already_finalized = true when
  // it was already committed, released or expired. A fresh release counts as a failed request for
  // the error-rate kill switch when reason is "provider_failed". Errors: InvalidArgument,
  // NotFound, Unavailable.
  absl::StatusOr<v1::ReleaseResponse> Release(const v1::ReleaseRequest& request);

  // Whether an admitted request may keep spending: inactive "reservation_finalized" (committed,
  // released or past its expiry), "tenant_paused", "session_revoked", "session_expired".
  // Errors: InvalidArgument (bad id), NotFound (unknown reservation), Unavailable.
  absl::StatusOr<v1::CheckReservationResponse> CheckReservation(
      const v1::CheckReservationRequest& request);

  // Expires every open reservation past its expiry (now from the clock) and returns the count.
  // The composition root calls this periodically. Errors: Unavailable.
  absl::StatusOr<int64_t> ExpireReservations();

  const GuardConfig& config() const { return config_; }

 private:
  struct Admission;  // one Authorize call's state (guard.cc)

  Guard(const GuardDeps& deps, GuardConfig config,
        std::optional<std::vector<std::unique_ptr<GuardLayer>>> layers);

  // Steps of Authorize; each returns a final response (denial/hold) or nullopt to go on.
  absl::StatusOr<std::optional<v1::AuthorizeResponse>> Identify(const v1::AuthorizeRequest& request,
                                                                Admission& a);
  absl::StatusOr<std::optional<v1::AuthorizeResponse>> ApplyPolicyStep(
      const v1::AuthorizeRequest& request, Admission& a);
  absl::StatusOr<std::optional<v1::AuthorizeResponse>> CheckApproval(
      const v1::AuthorizeRequest& request, Admission& a);
  absl::StatusOr<v1::AuthorizeResponse> RunLayers(const v1::AuthorizeRequest& request,
                                                  Admission& a);
  // Marks a.approval used after admission; on failure undoes the admission and returns a denial.
  absl::StatusOr<std::optional<v1::AuthorizeResponse>> UseApproval(
      const v1::AuthorizeRequest& request, Admission& a, const ReservationRecord& reservation);
  // Tells the layers and the kill switch that a reservation finished (best effort).
  void Finished(const ReservationRecord& reservation, MicroUsd charged, bool failed,
                std::string_view request_id);

  PolicyStore& store_;
  const Clock& clock_;
  AlertSink& alerts_;
  PolicyCache& policies_;
  KillSwitchMonitor& kill_switch_;
  const GuardConfig config_;  // before chain_: the default layers may refer to it
  const GuardChain chain_;
};

// A new approval id: "apr_" + 16 lowercase hex characters.
std::string NewApprovalId();

}  // namespace p402::policy
