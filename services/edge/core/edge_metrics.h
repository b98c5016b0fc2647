// File: services/edge/core/edge_metrics.h
// The edge's counters (HOUSE_STYLE 3.10): one per outcome and one per failure mode, registered
// once in a libs/metrics Registry. Tests read them back through /metrics.
#pragma once

#include <string_view>

#include "libs/metrics/registry.h"

namespace p402::edge {

class EdgeMetrics {
 public:
  explicit EdgeMetrics(metrics::Registry& registry);

  // Requests answered, by route ("chat", "models", ...) and HTTP status.
  void CountRequest(std::string_view route, int status);
  // Chat completions by outcome: "ok", "cached", "denied", "bad_request", "provider_error",
  // "stream_interrupted", "budget_exhausted", "client_gone", the reasons of streams the edge
  // cut ("session_revoked", ...), and for x402 pay-per-call "payment_required" (402 with
  // offers), "payment_invalid" (malformed or rejected payment), "payment_unavailable"
  // (settlement down: 503) and "payment_failed" (settlement did not succeed: 402).
  void CountChat(std::string_view outcome);
  // Policy unreachable -> request denied (fail closed).
  void PolicyFailClosed() { policy_failure_mode_denied_->Inc(); }
  // Commit/Release calls policy refused for good (NOT_FOUND, FAILED_PRECONDITION,
  // INVALID_ARGUMENT): not retried.
  void FinalizeFailed() { finalize_failed_->Inc(); }
  // Commit/Release retries scheduled after a transient failure, by op ("commit", "release").
  void CountSettleRetry(std::string_view op);
  // Commit/Release calls given up on (retry budget spent, or dropped at shutdown), by op. A
  // given-up commit leaves its request unbilled; a release, a hold until the reservation's TTL.
  void CountSettleFailed(std::string_view op);
  void ObserveLatency(double seconds) { latency_->Observe(seconds); }
  void AddCost(int64_t micro_usd) { cost_micro_usd_->Inc(micro_usd > 0 ? micro_usd : 0); }
  void AddTokens(int64_t input, int64_t output);
  // Requests held for approval, by how the wait ended: "approved", "denied", "timeout",
  // "client_gone".
  void CountApprovalWait(std::string_view outcome);
  // Streams the edge stopped itself, by reason: "session_revoked", "session_expired",
  // "tenant_paused", "reservation_finalized" ("other" for any other reason policy gives).
  void CountStreamCut(std::string_view reason);
  // CheckReservation calls that failed (the stream went on; its reservation still caps it).
  void ReservationCheckFailed() { reservation_check_failed_->Inc(); }
  // x402 pay-per-call payments by step outcome: "required" (402 with offers), "invalid"
  // (malformed or verify said no), "verified", "settled", "settle_failed" (success=false),
  // "released" (claim dropped: the request failed before the provider answered),
  // "unavailable" (a settlement call failed). Other labels are counted as "other".
  void CountPayment(std::string_view outcome);
  // Prepaid balances (keyed requests with a settlement client), p402_edge_prepaid_total by
  // outcome: "held", "postpaid" (no prepaid account), "insufficient" (402), "unavailable"
  // (HoldBalance failed: 503), "captured", "released", "capture_failed" / "release_failed"
  // (given up after the retries: the hold stays in the ledger). Others count as "other".
  void CountPrepaid(std::string_view outcome);

 private:
  metrics::CounterFamily* requests_;
  metrics::CounterFamily* chat_;
  metrics::Counter* policy_failure_mode_denied_;
  metrics::Counter* finalize_failed_;
  metrics::Histogram* latency_;
  metrics::Counter* cost_micro_usd_;
  metrics::CounterFamily* tokens_;
  metrics::CounterFamily* approval_waits_;
  metrics::CounterFamily* streams_cut_;
  metrics::Counter* reservation_check_failed_;
  metrics::CounterFamily* payments_;
  metrics::CounterFamily* prepaid_;
  // By op: [0] commit, [1] release.
  metrics::Counter* settle_retries_[2];
  metrics::Counter* settle_failed_[2];
};

}  // namespace p402::edge
