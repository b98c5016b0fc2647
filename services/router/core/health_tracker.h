// File: services/router/core/health_tracker.h
// HealthTracker: the router's live view of provider health, fed passively by the HTTP executor
// after every provider attempt and read by the planner through the HealthView port (ports.h).
// Per provider/model: latency EWMA and a p95 estimate over the last N samples (a ring buffer),
// the error rate over a sliding window (time buckets), and "rate limited until" from a 429's
// Retry-After. Per provider: a circuit breaker that opens after N consecutive failures and turns
// half-open after a cool-down, admitting one trial call (AdmitCall) whose outcome closes or
// re-opens it. Pure: no I/O, time from the injected Clock. Thread-safe (one absl::Mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "p402/v1/router.pb.h"
#include "services/router/core/ports.h"

namespace p402::router {

struct HealthConfig {
  // Latency samples kept per provider/model for the p95 estimate.
  size_t latency_samples = 32;
  // Weight of a new sample in the latency EWMA, in (0, 1].
  double latency_ewma_alpha = 0.2;
  // Sliding window of the error rate, split into `error_buckets` time buckets.
  std::chrono::milliseconds error_window{60'000};
  int error_buckets = 6;
  // Consecutive failed calls to one provider that open its circuit.
  int circuit_failure_threshold = 5;
  // Time an open circuit stays open before one trial call is admitted (half-open). A trial that
  // never reports back is forgotten after the same time.
  std::chrono::milliseconds circuit_cooldown{30'000};
  // Rate-limit period assumed for a 429 without Retry-After.
  int64_t default_rate_limit_ms = 1'000;
};

enum class CircuitState { kClosed = 0, kHalfOpen = 1, kOpen = 2 };
// "closed" | "half_open" | "open".
std::string_view CircuitStateName(CircuitState state);

// One finished provider attempt, as the executor saw it.
struct AttemptObservation {
  std::string_view provider;
  std::string_view model;
  v1::AttemptOutcome outcome = v1::ATTEMPT_OUTCOME_UNSPECIFIED;
  // Time to the full answer (non-streamed) or to the first token (streams), ms.
  int64_t latency_ms = 0;
  // Retry-After of a 429, ms; 0 = none given.
  int64_t retry_after_ms = 0;
};

// How an outcome counts (documented in README.md, "Health"):
//   failure  CONNECT_ERROR, SERVER_ERROR, TIMEOUT, INVALID_RESPONSE, STREAM_INTERRUPTED,
//            UNSPECIFIED: error rate and consecutive-failure count;
//   success  SUCCESS, BUDGET_EXHAUSTED, CLIENT_ERROR (the provider answered): closes the circuit;
//   429      RATE_LIMITED: rate-limited-until; closes the circuit (the provider is reachable) but
//            is left out of the error rate (the planner's health factor already discounts it);
//   neutral  CANCELLED: only releases a half-open trial.
// Latency samples come from SUCCESS, BUDGET_EXHAUSTED and STREAM_INTERRUPTED.
class HealthTracker final : public HealthView {
 public:
  // `clock` must outlive the tracker.
  explicit HealthTracker(const Clock& clock, HealthConfig config = {});

  // HealthView: live p95, error rate, circuit (open, or half-open with its trial taken) and
  // rate-limited-until of one model. Thread-safe.
  ModelHealth Get(std::string_view provider, std::string_view model) const override;

  // Asks to call `provider` now. True when the circuit is closed, or half-open and this call
  // becomes its trial; false when open (or half-open with the trial already taken): skip it.
  bool AdmitCall(std::string_view provider);
  // Records a finished attempt (see the table above). Thread-safe.
  void Record(const AttemptObservation& attempt);

  CircuitState Circuit(std::string_view provider) const;
  // Latency EWMA of a model, ms; nullopt before the first sample.
  std::optional<double> LatencyEwmaMs(std::string_view provider, std::string_view model) const;
  // Every provider seen so far with its circuit state (for the circuit gauge).
  std::vector<std::pair<std::string, CircuitState>> Circuits() const;

 private:
  struct Bucket {
    int64_t start_ms = -1;  // aligned start; -1 = empty
    int64_t calls = 0;
    int64_t failures = 0;
  };
  struct ModelState {
    std::vector<int64_t> latencies;  // ring buffer
    size_t next_latency = 0;
    std::optional<double> ewma;
    std::vector<Bucket> buckets;
    int64_t rate_limited_until_unix_ms = 0;
  };
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct ProviderState {
    int consecutive_failures = 0;
    bool open = false;
    SteadyTime opened_at;
    bool trial = false;
    SteadyTime trial_at;
    std::map<std::string, ModelState, std::less<>> models;
  };

  CircuitState StateOf(const ProviderState& p, SteadyTime now) const;
  bool TrialLive(const ProviderState& p, SteadyTime now) const;
  int64_t MonotonicMs(SteadyTime t) const;
  void CountCall(ModelState& m, SteadyTime now, bool failed);
  double ErrorRate(const ModelState& m, SteadyTime now) const;

  const Clock& clock_;
  const HealthConfig config_;
  mutable absl::Mutex mu_;
  std::map<std::string, ProviderState, std::less<>> providers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::router
