#include "services/policy/core/reservation_layer.h"

#include <string>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "services/policy/core/max_tokens.h"

namespace p402::policy {
namespace {

// Reserve attempts per request: the first at the requested worst case, then (with max_tokens
// reduction) at sizes fitted to what the store reported as available. Concurrent reservations can
// shrink the remainder between attempts; after this many the request is denied rather than
// chasing a moving target.
constexpr int kMaxReserveAttempts = 3;

// The denial when the store could not hold the amount. With a session, the session's budget is
// named unless the tenant's own budget (as last read) is the tighter one.
LayerOutcome BudgetDenial(const GuardContext& ctx, MicroUsd available) {
  const std::string detail = "remaining budget of $" + FormatUsd(available) +
                             " does not cover the request's worst-case cost of $" +
                             FormatUsd(ctx.worst_case_micro_usd);
  if (ctx.session != nullptr) {
    const TenantRecord& t = *ctx.tenant;
    const SessionRecord& s = *ctx.session;
    const MicroUsd session_left = s.budget_micro_usd - s.spent_micro_usd - s.reserved_micro_usd;
    const bool tenant_tighter =
        t.limits.budget_micro_usd > 0 &&
        t.limits.budget_micro_usd - t.spent_micro_usd - t.reserved_micro_usd < session_left;
    if (!tenant_tighter) {
      return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_BUDGET, "session_budget_exhausted",
                                "the session's " + detail);
    }
  }
  return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_BUDGET, "budget_exhausted", "the " + detail);
}

}  // namespace

std::string NewReservationId() { return "rsv_" + crypto::HexEncode(crypto::RandomBytes(16)); }

ReservationLayer::ReservationLayer(PolicyStore& store, const GuardConfig& config)
    : store_(store),
      default_ttl_ms_(config.reservation_ttl.count()),
      min_reduced_max_tokens_(config.min_reduced_max_tokens) {}

absl::StatusOr<LayerOutcome> ReservationLayer::Evaluate(GuardContext& ctx) {
  ReservationRecord draft;
  // The guard picks the id before the chain so earlier layers can key their state by it.
  draft.id = ctx.reservation_id.empty() ? NewReservationId() : ctx.reservation_id;
  draft.tenant_id = ctx.tenant->id;
  draft.session_id = ctx.session != nullptr ? ctx.session->id : "";
  draft.created_unix_ms = ctx.now_unix_ms;
  const int64_t ttl_ms =
      ctx.limits.reservation_ttl_ms > 0 ? ctx.limits.reservation_ttl_ms : default_ttl_ms_;
  draft.expires_unix_ms = ctx.now_unix_ms + ttl_ms;
  bool reduced_here = false;
  MicroUsd available = 0;
  for (int attempt = 0; attempt < kMaxReserveAttempts; ++attempt) {
    draft.amount_micro_usd = ctx.worst_case_micro_usd;
    absl::StatusOr<ReserveOutcome> outcome = store_.ReserveBudget(draft);
    if (!outcome.ok()) {
      return outcome.status();
    }
    if (outcome->granted) {
      ctx.reservation = std::move(outcome->reservation);
      return reduced_here ? LayerOutcome::PassFlagged("max_tokens_reduced") : LayerOutcome::Pass();
    }
    if (!outcome->session_unavailable.empty()) {
      // The session was revoked or expired after the guard checked it.
      return LayerOutcome::Deny(
          v1::GUARD_DECISION_DENY_POLICY, outcome->session_unavailable,
          "the session can no longer spend (" + outcome->session_unavailable + ")");
    }
    available = outcome->available_micro_usd;
    if (!ctx.request->allow_max_tokens_reduction()) {
      break;
    }
    std::optional<FittedRequest> fit =
        FitMaxTokens(ctx.worst_case_micro_usd, ctx.max_output_tokens,
                     ctx.request->output_per_mtok_micro_usd(), available, min_reduced_max_tokens_);
    if (!fit.has_value()) {
      break;
    }
    ctx.max_output_tokens = fit->max_output_tokens;
    ctx.worst_case_micro_usd = fit->worst_case_micro_usd;
    ctx.max_tokens_reduced = true;
    reduced_here = true;
  }
  return BudgetDenial(ctx, available);
}

void ReservationLayer::Abandon(const GuardContext& ctx) {
  if (!ctx.reservation.has_value()) {
    return;
  }
  absl::StatusOr<ReleaseOutcome> released =
      store_.ReleaseReservation(ctx.reservation->id, ctx.now_unix_ms);
  if (!released.ok()) {
    // The hold is not lost: ExpireReservations returns it after the TTL.
    P402_LOG(kWarn, "could not release an abandoned reservation")
        .Field("reservation_id", ctx.reservation->id)
        .Field("error", MessageOf(released.status()));
  }
}

}  // namespace p402::policy
