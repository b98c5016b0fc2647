// File: services/policy/core/rate_limit_layer.h
// Guard layer 1, "rate_limit": a token bucket per tenant in the CounterStore, holding
// limits.requests_per_hour tokens (default 1,000) and refilled continuously over an hour, so a
// tenant may burst up to its hourly allowance and then gets one request per 3.6 s / rate.
// Every request that reaches this layer takes a token, also when a later layer denies it (the
// limit counts attempts, like any front-door rate limiter). Fail-open.
#pragma once

#include "services/policy/core/counter_store.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// The refill period of the bucket: capacity = requests per hour.
inline constexpr int64_t kRateLimitPeriodMs = 3'600'000;

class RateLimitLayer final : public GuardLayer {
 public:
  // `counters` must outlive the layer.
  explicit RateLimitLayer(CounterStore& counters) : counters_(counters) {}

  // GuardLayer
  std::string_view name() const override { return kLayerRateLimit; }
  FailureMode failure_mode() const override { return FailureMode::kFailOpen; }
  // Takes a token from bucket "rl:{tenant}". Passes when it got one; otherwise denies with
  // GUARD_DECISION_DENY_RATE_LIMIT / "rate_limited" and retry_after_ms (>= 1) = when the next
  // token is due. Errors: the store's (Unavailable; InvalidArgument for a requests_per_hour < 1).
  // Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;

 private:
  CounterStore& counters_;
};

}  // namespace p402::policy
