// File: services/policy/core/kill_switch.h
// KillSwitchMonitor: the kill-switch policies' conditions that need history. It counts each
// tenant's finished and failed requests in a CounterStore (time buckets summed over the policy's
// error window: 1-minute buckets for windows up to 30 minutes, 10-minute up to 300, hourly beyond,
// so one check costs at most 60 reads; keys "ks:{tenant}:fin:{minute}", "ks:{tenant}:err10m:{n}",
// ...) and, when an enabled kill-switch policy's error rate is reached (with at
// least min_requests finished in the window), pauses the tenant in the PolicyStore (so every
// replica stops its traffic at once) and emits a "kill_switch_tripped" alert. The total-spend
// condition is checked at admission (EvaluatePolicies) and trips through Trip().
//
// Failure modes: a CounterStore error is logged and counted by the caller's metrics and the
// error-rate condition is skipped (fail open, like layers 1-4); a PolicyStore error while pausing
// is returned. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "p402/v1/policy.pb.h"
#include "services/policy/core/alert_sink.h"
#include "services/policy/core/counter_store.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class KillSwitchMonitor {
 public:
  // All references must outlive the object.
  KillSwitchMonitor(PolicyStore& store, CounterStore& counters, AlertSink& alerts)
      : store_(store), counters_(counters), alerts_(alerts) {}

  // Records one finished request of `tenant_id` (failed = the providers failed) at now_unix_ms
  // and trips the tenant when an enabled kill-switch policy in `policies` now holds. Returns
  // whether it tripped. Status: only PolicyStore errors while pausing (counter errors fail open).
  absl::StatusOr<bool> RecordOutcome(std::string_view tenant_id, bool failed,
                                     const std::vector<v1::TenantPolicy>& policies,
                                     int64_t now_unix_ms);

  // Pauses the tenant with `reason` (idempotent: a paused tenant keeps its first reason) and
  // emits the alert. Errors: as PolicyStore::SetTenantPaused.
  absl::Status Trip(std::string_view tenant_id, std::string_view reason, int64_t now_unix_ms);

 private:
  // Trip's work; true when this call paused the tenant (false: it was paused already).
  absl::StatusOr<bool> PauseOnce(std::string_view tenant_id, std::string_view reason,
                                 int64_t now_unix_ms);
  // Logs a counter-store failure, at most once per kCounterWarnIntervalMs.
  void WarnCounterError(std::string_view tenant_id, int64_t now_unix_ms,
                        const absl::Status& status);

  static constexpr int64_t kCounterWarnIntervalMs = 10'000;

  PolicyStore& store_;
  CounterStore& counters_;
  AlertSink& alerts_;
  // Serialises the check-then-pause of PauseOnce (one alert per trip in this process).
  absl::Mutex trip_mu_;
  std::atomic<int64_t> last_counter_warn_unix_ms_{0};
};

}  // namespace p402::policy
