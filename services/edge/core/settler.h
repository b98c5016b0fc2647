// File: services/edge/core/settler.h
// Settler: sends a request's Commit or Release to policy off the response path and retries it
// while policy cannot answer (BRIEF: commits are "retried with idempotency keys, never lost").
// Both calls are idempotent on the reservation id, and policy still charges a Commit that arrives
// after the reservation expired (committed_after_expiry), so retrying past the 5-minute TTL is
// right: a request admitted before a policy or database outage that finishes during it is billed
// once policy is back.
//
// Retried: every failure that is not a definitive answer -- UNAVAILABLE, DEADLINE_EXCEEDED,
// RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, CANCELLED, ... Definitive (never retried): OK, NOT_FOUND
// (unknown reservation), FAILED_PRECONDITION ("reservation_released"), INVALID_ARGUMENT.
// Backoff: `initial`, doubling, capped at `max_delay`; a retry is only scheduled when it starts
// within `budget` of the first call, else the call is given up (counted and logged at warn with
// the request id, the reservation id and the amount, for manual reconciliation).
//
// The retry state is a copy of the request plus a few counters, held by the scheduler's callback
// and the pending RPC's callback -- never the request's exchange (its client is long gone). The
// retries live in memory only: an edge restart loses them (no durable queue yet).
#pragma once

#include <chrono>
#include <memory>

#include "libs/common/clock.h"
#include "p402/v1/policy.pb.h"
#include "services/edge/core/edge_metrics.h"
#include "services/edge/core/ports.h"

namespace p402::edge {

struct SettleRetryOptions {
  // Delay before the first retry; each further retry waits twice as long, up to `max_delay`.
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max_delay{std::chrono::seconds(30)};
  // No retry starts later than this after the first call; then the call is given up.
  std::chrono::milliseconds budget{std::chrono::minutes(10)};
};

class Settler {
 public:
  // All references must outlive the Settler. `clock` (MonotonicNow) measures the budget.
  Settler(PolicyClient& policy, Scheduler& scheduler, EdgeMetrics& metrics, const Clock& clock,
          SettleRetryOptions options);
  // Stop()s.
  ~Settler();
  Settler(const Settler&) = delete;
  Settler& operator=(const Settler&) = delete;

  // Sends the call now (on the calling thread) and retries it on the scheduler while it fails
  // transiently. Never blocks; thread-safe. After Stop the first call is still made, but a
  // failure is only logged.
  void Commit(v1::CommitRequest request);
  void Release(v1::ReleaseRequest request);

  // Stops retrying: retries waiting on the scheduler are dropped (counted as given up and logged
  // with their ids), and no callback touches the scheduler, the metrics or the policy client
  // after Stop returns (RPC answers arriving later are only logged). Call it before the scheduler
  // is destroyed. Idempotent; thread-safe; must not be called from a scheduler callback.
  void Stop();

 private:
  struct Core;
  std::shared_ptr<Core> core_;
};

}  // namespace p402::edge
