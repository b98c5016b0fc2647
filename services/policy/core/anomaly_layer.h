// File: services/policy/core/anomaly_layer.h
// Guard layer 4, "anomaly": scores each request's worst-case cost against the tenant's history of
// worst-case costs (CounterStore series "an:{tenant}", the last GuardConfig::anomaly_history_size
// requests with exponential forgetting, kept 30 days after the last request). A cost at least
// limits.anomaly_zscore_centi / 100 standard deviations above the mean (default 3.0), once the
// history holds GuardConfig::anomaly_min_samples requests, is flagged: the layer emits an
// AlertEvent "anomaly_zscore" (the composition root's sink logs and counts it) and passes with
// code "anomaly_zscore". SOFT: it never denies. Fail-open.
#pragma once

#include "services/policy/core/alert_sink.h"
#include "services/policy/core/counter_store.h"
#include "services/policy/core/guard_config.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// How long a tenant's cost history survives without requests.
inline constexpr int64_t kAnomalyHistoryTtlMs = 30LL * 24 * 3'600'000;

class AnomalyLayer final : public GuardLayer {
 public:
  // `counters` and `alerts` must outlive the layer; `config` is copied from.
  AnomalyLayer(CounterStore& counters, AlertSink& alerts, const GuardConfig& config)
      : counters_(counters),
        alerts_(alerts),
        min_samples_(config.anomaly_min_samples),
        history_size_(config.anomaly_history_size) {}

  // GuardLayer
  std::string_view name() const override { return kLayerAnomaly; }
  FailureMode failure_mode() const override { return FailureMode::kFailOpen; }
  // Adds ctx.worst_case to the history and scores it against the history before it:
  // z = (cost - mean) / stddev with the sample standard deviation sqrt(m2 / (count - 1)).
  // Flags when count >= anomaly_min_samples, stddev > 0 and z >= anomaly_zscore_centi / 100
  // (a threshold <= 0 disables the layer). A history with zero spread (every past request cost
  // the same) has no meaningful z-score: nothing is flagged, even for a higher cost. Always
  // passes. Errors: the store's (Unavailable). Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;

 private:
  CounterStore& counters_;
  AlertSink& alerts_;
  const int64_t min_samples_;
  const int64_t history_size_;
};

}  // namespace p402::policy
