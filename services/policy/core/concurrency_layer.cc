#include "services/policy/core/concurrency_layer.h"

#include <string>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

std::string SlotKey(const std::string& tenant_id) { return "cc:" + tenant_id; }

}  // namespace

absl::StatusOr<LayerOutcome> ConcurrencyLayer::Evaluate(GuardContext& ctx) {
  if (ctx.reservation_id.empty()) {
    return Internal("the guard context has no reservation id to hold a concurrency slot");
  }
  const int64_t limit = ctx.limits.max_concurrent;
  P402_ASSIGN_OR_RETURN(
      SlotResult slot,
      counters_.AcquireSlot(SlotKey(ctx.tenant->id), ctx.reservation_id, limit,
                            ctx.now_unix_ms + ctx.limits.reservation_ttl_ms, ctx.now_unix_ms));
  if (slot.acquired) {
    return LayerOutcome::Pass();
  }
  return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_CONCURRENCY, "concurrency_limit",
                            std::to_string(slot.in_use) +
                                " requests are already in flight; the limit is " +
                                std::to_string(limit) + " at a time",
                            kConcurrencyRetryAfterMs);
}

void ConcurrencyLayer::Abandon(const GuardContext& ctx) {
  if (ctx.reservation_id.empty()) {
    return;
  }
  Release(ctx.tenant->id, ctx.reservation_id);
}

void ConcurrencyLayer::OnFinished(const ReservationRecord& reservation,
                                  MicroUsd /*charged_micro_usd*/, bool /*failed*/) {
  Release(reservation.tenant_id, reservation.id);
}

void ConcurrencyLayer::Release(const std::string& tenant_id, const std::string& reservation_id) {
  absl::Status released = counters_.ReleaseSlot(SlotKey(tenant_id), reservation_id);
  if (!released.ok()) {
    // Not lost: the slot expires with the reservation's TTL.
    P402_LOG(kWarn, "could not release a concurrency slot")
        .Field("tenant_id", tenant_id)
        .Field("reservation_id", reservation_id)
        .Field("error", MessageOf(released));
  }
}

}  // namespace p402::policy
