// File: services/policy/core/reservation_layer.h
// Guard layer 6, "reservation": holds the request's worst-case cost from the tenant's budget
// (PolicyStore::ReserveBudget, atomic) so that concurrent requests can never spend more than the
// budget. A budget of 0 (unlimited) still gets a reservation record, so Commit works the same way.
// When the remaining budget is too small and the request allows it, max_tokens is lowered to fit;
// otherwise the request is denied with GUARD_DECISION_DENY_BUDGET / "budget_exhausted".
// Fail-closed: a store error is returned and the request is not admitted.
#pragma once

#include "services/policy/core/guard_config.h"
#include "services/policy/core/guard_layer.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class ReservationLayer final : public GuardLayer {
 public:
  // `store` must outlive the layer.
  ReservationLayer(PolicyStore& store, const GuardConfig& config);

  // GuardLayer
  std::string_view name() const override { return kLayerReservation; }
  FailureMode failure_mode() const override { return FailureMode::kFailClosed; }
  // On success sets ctx.reservation (expiring ctx.now + reservation_ttl). Store errors
  // (Unavailable, NotFound for a tenant deleted meanwhile) are returned. Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;
  // Releases ctx.reservation, if any (best effort; only reachable if a layer is ever added after
  // this one, which GuardChain forbids).
  void Abandon(const GuardContext& ctx) override;

 private:
  PolicyStore& store_;
  const int64_t ttl_ms_;
  const int64_t min_reduced_max_tokens_;
};

// A new unguessable reservation id: "rsv_" + 32 lowercase hex characters (128 random bits).
std::string NewReservationId();

}  // namespace p402::policy
