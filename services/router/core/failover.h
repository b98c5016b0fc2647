// File: services/router/core/failover.h
// Failover policy between provider attempts: given the plan and the attempts made so far (the
// last one being the outcome to judge), decide whether to stop, call the next candidate, or wait
// and call the same one again (429 with strategy QUEUE). Also the classification helpers the HTTP
// executor uses to turn a provider answer into an AttemptOutcome.
//
// Rules for the last attempt's outcome:
//   SUCCESS                                   -> kDone
//   CONNECT_ERROR, SERVER_ERROR (5xx), TIMEOUT (before the first token), INVALID_RESPONSE,
//   UNSPECIFIED                               -> next candidate, while failover is enabled,
//                                                attempts < max_attempts and a candidate is left
//   RATE_LIMITED: SWITCH (default)            -> as above
//                 QUEUE -> same candidate after Retry-After (default 1 s) if that fits in the
//                          queue bound and the time left; else stop RESOURCE_EXHAUSTED
//                 FAIL  -> stop RESOURCE_EXHAUSTED "rate_limited"
//   CLIENT_ERROR (4xx)                        -> stop INVALID_ARGUMENT "provider_rejected"
//   STREAM_INTERRUPTED                        -> stop UNAVAILABLE "stream_interrupted"
//   BUDGET_EXHAUSTED                          -> stop RESOURCE_EXHAUSTED "budget_exhausted"
//   CANCELLED                                 -> stop CANCELLED "cancelled"
// Nothing left to try -> stop UNAVAILABLE "providers_unavailable"; no time left -> stop
// DEADLINE_EXCEEDED "deadline_exceeded". "Next candidate" prefers the first untried candidate
// whose provider has not failed in this request (a provider outage usually takes all its models
// down), else the first untried one.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "p402/v1/router.pb.h"
#include "services/router/core/route_planner.h"

namespace p402::router {

enum class FailoverAction {
  kDone,  // the last attempt succeeded
  kCall,  // call plan.attempt_order[candidate] (after wait_ms)
  kStop,  // give up: return `status`
};

struct FailoverStep {
  FailoverAction action = FailoverAction::kStop;
  // kCall: index into RoutePlan::attempt_order.
  size_t candidate = 0;
  // kCall: wait this long first (QUEUE strategy); 0 = at once.
  int64_t wait_ms = 0;
  // kStop: the status for the caller, with a reason (libs/common WithReason).
  absl::Status status;
  // kStop after a 429: the provider's Retry-After in ms (for ErrorInfo.retry_after_ms); else 0.
  int64_t retry_after_ms = 0;
};

struct FailoverConfig {
  // Wait used for a 429 without Retry-After under QUEUE.
  int64_t default_retry_after_ms = 1000;
  // Longest wait QUEUE accepts for one 429.
  int64_t max_queue_wait_ms = 30'000;
};

inline constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();

// Decides the next step. `decision.attempts()` holds every attempt made for this plan, in order
// (empty: returns kCall for candidate 0). `time_left_ms` = time until the request deadline
// (kNoDeadline when none). Pure; thread-safe.
FailoverStep NextAttempt(const RoutePlan& plan, const v1::RoutingDecision& decision,
                         int64_t time_left_ms = kNoDeadline, const FailoverConfig& config = {});

// Provider HTTP status -> outcome: 2xx SUCCESS, 429 RATE_LIMITED, 408 TIMEOUT, 5xx and 529
// SERVER_ERROR, other 4xx CLIENT_ERROR, anything else (0, 1xx, 3xx) INVALID_RESPONSE.
v1::AttemptOutcome ClassifyHttpStatus(int http_status);

// Retry-After header value -> milliseconds: delta-seconds ("2", "1.5"); nullopt for anything
// else (HTTP-dates are not supported: providers send seconds). Also accepts the value of
// "retry-after-ms" when `is_ms` is true.
std::optional<int64_t> ParseRetryAfterMs(std::string_view value, bool is_ms = false);

}  // namespace p402::router
