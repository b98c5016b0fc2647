// File: services/policy/core/reservation_layer.h
// Guard layer 6, "reservation": holds the request's worst-case cost from the tenant's budget and,
// when the request spends from a session, the session's budget too (PolicyStore::ReserveBudget,
// one atomic step) so that concurrent requests can never spend more than either budget. A budget
// of 0 (unlimited) still gets a reservation record, so Commit works the same way. The id is the
// one the guard chose (ctx.reservation_id); the TTL is the tenant's (ctx.limits). When the
// remaining budget is too small and the request allows it, max_tokens is lowered to fit;
// otherwise the request is denied with GUARD_DECISION_DENY_BUDGET / "budget_exhausted" (or
// "session_budget_exhausted" when the session's budget is the one short). A session revoked or
// expired at the moment of reserving is DENY_POLICY "session_revoked" / "session_expired".
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
  // On success sets ctx.reservation (expiring ctx.now + ctx.limits.reservation_ttl_ms, or the
  // config's reservation_ttl when that is 0). Store errors
  // (Unavailable, NotFound for a tenant deleted meanwhile) are returned. Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;
  // Releases ctx.reservation, if any (best effort; only reachable if a layer is ever added after
  // this one, which GuardChain forbids).
  void Abandon(const GuardContext& ctx) override;

 private:
  PolicyStore& store_;
  const int64_t default_ttl_ms_;  // when ctx.limits.reservation_ttl_ms is 0
  const int64_t min_reduced_max_tokens_;
};

// A new unguessable reservation id: "rsv_" + 32 lowercase hex characters (128 random bits).
std::string NewReservationId();

}  // namespace p402::policy
