// File: services/policy/core/guard_layer.h
// The seam for the six guard layers of the billing guard (BRIEF "Request lifecycle" step 2):
//   rate_limit -> daily_limit -> concurrency -> anomaly -> request_cap -> reservation.
// Each layer is a GuardLayer; GuardChain (guard_chain.h) runs them in that order for one
// authenticated request, stopping at the first denial. Implemented now: request_cap
// (request_cap_layer.h) and reservation (reservation_layer.h). The other four slot in later by
// implementing this interface; nothing else in the guard has to change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/guard_config.h"
#include "services/policy/core/records.h"

namespace p402::policy {

// Canonical layer names (GuardLayerResult.layer), in evaluation order.
inline constexpr std::string_view kLayerRateLimit = "rate_limit";
inline constexpr std::string_view kLayerDailyLimit = "daily_limit";
inline constexpr std::string_view kLayerConcurrency = "concurrency";
inline constexpr std::string_view kLayerAnomaly = "anomaly";
inline constexpr std::string_view kLayerRequestCap = "request_cap";
inline constexpr std::string_view kLayerReservation = "reservation";

// Position of `name` in the canonical order (0..5), or nullopt for an unknown name.
std::optional<int> LayerRank(std::string_view name);

// One request as the layers see it. The guard fills the identity and the request's figures; layers
// may lower max_output_tokens/worst_case (max_tokens reduction) and the reservation layer sets
// `reservation`. Owned by the guard for the duration of one Authorize call.
struct GuardContext {
  const v1::AuthorizeRequest* request = nullptr;  // never null while the chain runs
  const TenantRecord* tenant = nullptr;           // never null while the chain runs
  const ApiKeyRecord* api_key = nullptr;          // null for non-key credentials
  EffectiveLimits limits;
  int64_t now_unix_ms = 0;

  // Worst-case cost and output-token limit the request is admitted with (start: as requested).
  MicroUsd worst_case_micro_usd = 0;
  int64_t max_output_tokens = 0;
  // True once a layer lowered max_output_tokens.
  bool max_tokens_reduced = false;

  // Set by the reservation layer when it held budget for this request.
  std::optional<ReservationRecord> reservation;
};

// What one layer decided.
struct LayerOutcome {
  bool passed = true;
  // For denials: the decision and its machine-readable reason (AuthorizeResponse.reason).
  v1::GuardDecision decision = v1::GUARD_DECISION_ALLOW;
  std::string code;
  std::string message;  // human-readable, safe to show to the API caller
  int64_t retry_after_ms = 0;

  static LayerOutcome Pass() { return {}; }
  // A soft layer (anomaly) that lets the request through but reports `flag_code`.
  static LayerOutcome PassFlagged(std::string flag_code) {
    LayerOutcome o;
    o.code = std::move(flag_code);
    return o;
  }
  static LayerOutcome Deny(v1::GuardDecision decision, std::string code, std::string message,
                           int64_t retry_after_ms = 0) {
    return {.passed = false,
            .decision = decision,
            .code = std::move(code),
            .message = std::move(message),
            .retry_after_ms = retry_after_ms};
  }
};

class GuardLayer {
 public:
  // What the chain does when Evaluate returns a non-OK status (the layer's store is down):
  // kFailOpen records failed_open and continues (layers 1-4); kFailClosed returns the status and
  // the request is not admitted (layers 5-6).
  enum class FailureMode { kFailOpen, kFailClosed };

  virtual ~GuardLayer() = default;

  // One of the kLayer* names.
  virtual std::string_view name() const = 0;
  virtual FailureMode failure_mode() const = 0;

  // Decides for one request. A denial is an OK status with passed = false. A non-OK status means
  // the layer could not decide (e.g. Unavailable); see failure_mode().
  virtual absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) = 0;

  // A later layer denied (or failed closed) after this one passed: undo what Evaluate took, e.g.
  // an in-flight slot. Best effort; must not fail. Default: nothing to undo.
  virtual void Abandon(const GuardContext& ctx) {}

  // The admitted request finished: its reservation was committed (charged = actual charge) or
  // released (charged = 0). Called once per reservation, not for replays. Default: nothing.
  virtual void OnFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd) {}
};

}  // namespace p402::policy
