// File: services/policy/core/guard_layer.h
// The seam for the six guard layers of the billing guard (BRIEF "Request lifecycle" step 2):
//   rate_limit -> daily_limit -> concurrency -> anomaly -> request_cap -> reservation.
// Each layer is a GuardLayer; GuardChain (guard_chain.h) runs them in that order for one
// authenticated request, stopping at the first denial. Layers 1-4 keep their state in a
// CounterStore (counter_store.h) and fail open; layers 5-6 fail closed. Before the chain, the
// guard evaluates the tenant's policies and the session (the "policy" step, guard.h), whose
// results reach the layers through GuardContext (spend windows, caps).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// Name of the pre-chain policy step in GuardLayerResult.layer.
inline constexpr std::string_view kStepPolicy = "policy";

// Position of `name` in the canonical order (0..5), or nullopt for an unknown name.
std::optional<int> LayerRank(std::string_view name);

// UTC calendar windows of spend (layer 2 and spending policies).
enum class SpendPeriod { kHour, kDay, kMonth };

// A limit on one spend window, from a spending policy.
struct SpendWindowLimit {
  SpendPeriod period = SpendPeriod::kDay;
  MicroUsd limit_micro_usd = 0;  // > 0
  v1::SpendAction action = v1::SPEND_ACTION_DENY;
  std::string policy_id;  // for messages and alerts
};

// One request as the layers see it. The guard fills the identity and the request's figures; layers
// may lower max_output_tokens/worst_case (max_tokens reduction) and the reservation layer sets
// `reservation`. Owned by the guard for the duration of one Authorize call.
struct GuardContext {
  const v1::AuthorizeRequest* request = nullptr;  // never null while the chain runs
  const TenantRecord* tenant = nullptr;           // never null while the chain runs
  const ApiKeyRecord* api_key = nullptr;          // null for non-key credentials
  const SessionRecord* session = nullptr;         // set when the request spends from a session
  // The tenant's limits, with the per-request cap already lowered to the smallest of the
  // tenant's, the spending policies' and the session's caps.
  EffectiveLimits limits;
  int64_t now_unix_ms = 0;
  // Id the reservation will have, generated before the chain so layers can key state by it
  // (the concurrency slot) and find it again in OnFinished(reservation).
  std::string reservation_id;
  // Spend-window limits of the tenant's enabled spending policies (layer 2 adds the tenant's
  // daily limit itself).
  std::vector<SpendWindowLimit> spend_windows;

  // Worst-case cost and output-token limit the request is admitted with (start: as requested).
  MicroUsd worst_case_micro_usd = 0;
  int64_t max_output_tokens = 0;
  // True once a layer lowered max_output_tokens.
  bool max_tokens_reduced = false;

  // Set by the daily_limit layer: what it added to each of the tenant's UTC spend windows (hour,
  // day, month of now_unix_ms) for this request; 0 when it added nothing (e.g. it failed open).
  // Its Abandon subtracts this; its OnAdmitted moves the windows from this to the reservation.
  MicroUsd spend_window_added_micro_usd = 0;

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

  // Every layer passed and ctx.reservation is set: adjust what Evaluate took to the final
  // reservation (e.g. spend windows charged the worst case before a later layer lowered it).
  // Best effort; must not fail. Default: nothing.
  virtual void OnAdmitted(const GuardContext& ctx) {}

  // The admitted request finished: its reservation was committed (charged = actual charge) or
  // released (charged = 0; `failed` when the release reason says the providers failed). Called
  // once per reservation, not for replays, possibly in another process than Evaluate (replicas
  // share the CounterStore): use only `reservation`. Best effort; must not fail. Default: nothing.
  virtual void OnFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                          bool failed) {}
};

}  // namespace p402::policy
