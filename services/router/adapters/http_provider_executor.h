// File: services/router/adapters/http_provider_executor.h
// HttpProviderExecutor: runs one routed request against the providers of its RoutePlan over the
// async HttpClient, asynchronously: HTTP callbacks drive a per-request state machine, waits
// between attempts (429 under QUEUE) are TimerQueue timers, and no thread is ever held while a
// provider thinks. After every attempt it records an Attempt in the decision, updates the
// HealthTracker and the metrics, and asks core/failover.h NextAttempt what to do next.
//
// Non-streamed (Route): the first 2xx answer is parsed, its usage normalised (estimated with
// usage.estimated = true when the provider sent none) and priced with ComputeCost.
// Streamed (Stream): failures before the first token fail over invisibly; at the first token the
// observer gets the decision, then the deltas (metered against the spend limit by StreamRelay),
// then exactly one StreamEnd. After the first token there is no failover: a cut ends with
// end.error "stream_interrupted", the spend limit with "budget_exhausted", the request deadline
// with "deadline_exceeded"; each bills only the delivered tokens (estimated).
//
// Thread-safety: the executor is thread-safe; each execution serialises its own events under a
// mutex and calls its callback / observer under it, one call at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "libs/common/clock.h"
#include "libs/common/money.h"
#include "libs/http/client.h"
#include "p402/v1/router.pb.h"
#include "services/router/adapters/router_metrics.h"
#include "libs/common/timer_queue.h"
#include "services/router/core/catalog.h"
#include "services/router/core/failover.h"
#include "services/router/core/health_tracker.h"
#include "services/router/core/route_planner.h"

namespace p402::router {

struct ExecutorOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  // Wait for the provider's response headers (covers a non-streamed provider's whole thinking
  // time, and a stream's time to its headers).
  std::chrono::milliseconds header_timeout{120'000};
  // Longest silence between body bytes (a stream's time to first token and between tokens).
  std::chrono::milliseconds idle_timeout{60'000};
  // Streams: longest wait from sending the request to the first content token. Past it the
  // attempt counts as a timeout and the request fails over (nothing was delivered yet).
  std::chrono::milliseconds first_token_timeout{60'000};
  // Largest non-streamed provider answer accepted.
  uint64_t max_response_bytes = 32ull << 20;
  FailoverConfig failover;
};

// Provider id -> API key ("" or absent = send no credentials).
using ProviderKeys = std::map<std::string, std::string, std::less<>>;

struct ExecutionRequest {
  // The request as the provider should see it (`stream` is forced by Route/Stream).
  v1::ChatRequest chat;
  // From RoutePlanner::Plan; its decision receives the attempts and a decision_id.
  RoutePlan plan;
  // Stream spend ceiling (micro-USD); 0 = none.
  MicroUsd spend_limit = 0;
  // The caller's deadline (minus a margin); nullopt = none.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string request_id;  // for logs
};

struct ExecutionResult {
  // OK, or the failure with a reason (libs/common WithReason): the codes of core/failover.h
  // NextAttempt, plus InvalidArgument "invalid_request" when no candidate's protocol could encode
  // the request (nothing was sent) and Cancelled "cancelled" when the caller went away. Streams: OK
  // once an `end` event was sent (even one carrying end.error).
  absl::Status status;
  // For a 429 stop: the provider's Retry-After, ms.
  int64_t retry_after_ms = 0;
  // Every attempt made, chosen = the last attempted model.
  v1::RoutingDecision decision;
  // Route only, on success.
  v1::ChatCompletion completion;
  v1::CostBreakdown cost;
};

// Receives a stream's events. Calls are serialised (never concurrent) and come from HTTP io or
// timer threads; they must not block and must not call back into the execution.
class StreamObserver {
 public:
  virtual ~StreamObserver() = default;
  // decision, then deltas, then one end. Return false when the consumer cannot take more (gone
  // or too slow): the execution then cancels the provider call and finishes with CANCELLED.
  virtual bool OnEvent(v1::StreamRouteResponse event) = 0;
  // Exactly once, last; the observer is never called after it.
  virtual void OnFinish(ExecutionResult result) = 0;
};

// Handle of a running request.
class Execution {
 public:
  virtual ~Execution() = default;
  // The caller went away: cancels the provider call or the pending wait and finishes with
  // CANCELLED (unless already finished). Thread-safe, idempotent; may call the callback or
  // observer before returning, so never call it while holding a lock they take.
  virtual void Cancel() = 0;
};

class HttpProviderExecutor {
 public:
  // Every reference must outlive the executor and every execution it starts (destroy the
  // HttpClient and the TimerQueue first: they cancel what is still in flight).
  HttpProviderExecutor(const Catalog& catalog, ProviderKeys keys, http::HttpClient& client,
                       TimerQueue& timers, HealthTracker& health, RouterMetrics& metrics,
                       const Clock& clock, ExecutorOptions options);

  // Runs a non-streamed request; `done` runs exactly once (possibly before Route returns).
  std::shared_ptr<Execution> Route(ExecutionRequest request,
                                   std::function<void(ExecutionResult)> done);
  // Runs a streamed request; `observer` must stay valid until its OnFinish (possibly before
  // Stream returns).
  std::shared_ptr<Execution> Stream(ExecutionRequest request, StreamObserver& observer);

  struct Deps {
    const Catalog& catalog;
    ProviderKeys keys;
    http::HttpClient& client;
    TimerQueue& timers;
    HealthTracker& health;
    RouterMetrics& metrics;
    const Clock& clock;
    ExecutorOptions options;
  };

 private:
  Deps deps_;
};

}  // namespace p402::router
