// File: services/policy/core/concurrency_layer.h
// Guard layer 3, "concurrency": at most limits.max_concurrent requests of a tenant in flight
// (default 10). Each admitted request holds a slot in the CounterStore slot set "cc:{tenant}",
// keyed by its reservation id, from Evaluate until its reservation is committed or released
// (OnFinished); a slot whose request is never finished frees itself when the reservation's TTL
// passes. Fail-open.
#pragma once

#include "services/policy/core/counter_store.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// retry_after_ms sent with a concurrency denial: a hint, since nothing says when a slot frees.
inline constexpr int64_t kConcurrencyRetryAfterMs = 1000;

class ConcurrencyLayer final : public GuardLayer {
 public:
  // `counters` must outlive the layer.
  explicit ConcurrencyLayer(CounterStore& counters) : counters_(counters) {}

  // GuardLayer
  std::string_view name() const override { return kLayerConcurrency; }
  FailureMode failure_mode() const override { return FailureMode::kFailOpen; }
  // Takes a slot for ctx.reservation_id expiring at now + limits.reservation_ttl_ms. Passes when
  // it got one; otherwise denies with GUARD_DECISION_DENY_CONCURRENCY / "concurrency_limit",
  // retry_after_ms = kConcurrencyRetryAfterMs. Errors: the store's (Unavailable), Internal when
  // ctx.reservation_id is empty (a wiring bug; the chain fails open). Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;
  // Frees the slot of ctx.reservation_id (a no-op when it holds none). Errors are logged.
  void Abandon(const GuardContext& ctx) override;
  // Frees the slot of reservation.id. Errors are logged (the slot then frees itself at expiry).
  void OnFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                  bool failed) override;

 private:
  void Release(const std::string& tenant_id, const std::string& reservation_id);

  CounterStore& counters_;
};

}  // namespace p402::policy
