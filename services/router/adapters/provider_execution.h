// File: services/router/adapters/provider_execution.h
// Internal to HttpProviderExecutor (http_provider_executor.h): the state machine of one routed
// request. Phases: idle -> calling (an HTTP call in flight) <-> waiting (a QUEUE timer) ->
// finished. Every event (HTTP callback, timer, Cancel) takes the execution's mutex and is
// matched against the current attempt's generation, so late callbacks of an abandoned attempt
// are ignored. The attempt loop is in provider_execution.cc, the streaming half in
// provider_execution_stream.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/http/client.h"
#include "services/router/adapters/http_provider_executor.h"
#include "services/router/adapters/stream_relay.h"

namespace p402::router {

class ProviderExecution final : public Execution,
                                public std::enable_shared_from_this<ProviderExecution> {
 public:
  enum class Mode { kUnary, kStream };

  // Exactly one of `done` (kUnary) and `observer` (kStream) is set.
  ProviderExecution(const HttpProviderExecutor::Deps& deps, ExecutionRequest request, Mode mode,
                    std::function<void(ExecutionResult)> done, StreamObserver* observer);

  // Starts the first attempt (or finishes at once when none can be made).
  void Start();
  void Cancel() override;

 private:
  enum class Phase { kIdle, kCalling, kWaiting, kFinished };

  // Attempt loop (provider_execution.cc).
  void Step() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void BeginAttempt(size_t candidate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnTimer(uint64_t generation, size_t candidate);
  // A stream attempt that has not produced its first token in time fails over.
  void OnFirstTokenTimeout(uint64_t generation);
  void OnHeaders(uint64_t generation, int status, const http::Headers& headers);
  void OnBody(uint64_t generation, std::string_view chunk);
  void HandleBody(std::string_view chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnComplete(uint64_t generation, absl::Status status);
  void CompleteUnary() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TransportFailure(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends the current attempt to the decision (reporting it to health and metrics unless
  // `report` is false: nothing was sent) and clears the per-attempt state.
  void RecordAttempt(v1::AttemptOutcome outcome, std::string error, bool report = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Report(const v1::Attempt& attempt) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AbandonCall() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishWithStatus(absl::Status status, int64_t retry_after_ms = 0)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Finish(ExecutionResult result) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t TimeLeftMs() const;
  int64_t ElapsedMs() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Stale(uint64_t generation) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Streaming (provider_execution_stream.cc).
  void RelayBody(std::string_view chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StreamBodyEnded(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records the current attempt as a success at its first token and sends the decision.
  bool SendDecision() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends one event; false (after finishing the execution) when the observer refused it.
  bool Emit(v1::StreamRouteResponse event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a stream that reached its first token (or the provider's end): sets the last attempt's
  // outcome, sends the `end` event (with error `reason` unless empty) and finishes OK.
  void EndStream(v1::AttemptOutcome outcome, std::string_view reason, std::string message,
                 bool complete) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HttpProviderExecutor::Deps& deps_;
  ExecutionRequest req_;
  const Mode mode_;
  std::function<void(ExecutionResult)> done_;
  StreamObserver* observer_;

  absl::Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kIdle;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<http::ClientCall> call_ ABSL_GUARDED_BY(mu_);
  TimerQueue::TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
  // The current attempt.
  const ModelEntry* model_ ABSL_GUARDED_BY(mu_) = nullptr;
  const ProviderInfo* provider_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::chrono::steady_clock::time_point attempt_start_ ABSL_GUARDED_BY(mu_);
  int http_status_ ABSL_GUARDED_BY(mu_) = 0;
  bool headers_received_ ABSL_GUARDED_BY(mu_) = false;
  int64_t retry_after_ms_ ABSL_GUARDED_BY(mu_) = 0;
  std::string body_ ABSL_GUARDED_BY(mu_);
  // Body bytes delivered before on_headers (libs/http can report the first body piece of a read
  // before the head it arrived with); replayed once the status is known.
  std::string early_body_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<StreamRelay> relay_ ABSL_GUARDED_BY(mu_);
  // A provider call was sent (vs. candidates skipped before sending).
  bool any_sent_ ABSL_GUARDED_BY(mu_) = false;
  // The first "this protocol cannot express the request" error, reported when nothing was sent.
  std::optional<absl::Status> encode_error_ ABSL_GUARDED_BY(mu_);
  bool decision_sent_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;  // the end event is being sent
  // Unary success, kept until NextAttempt says kDone.
  v1::ChatCompletion completion_ ABSL_GUARDED_BY(mu_);
  v1::CostBreakdown cost_ ABSL_GUARDED_BY(mu_);
};

// Body bytes kept of a provider's error answer (the rest is dropped).
inline constexpr size_t kMaxErrorBodyBytes = 64 * 1024;

// Usage of a non-streamed answer whose provider reported none: input = the request's estimate,
// output = EstimateTextTokens of the answer's text and tool calls; estimated = true.
v1::TokenUsage EstimateCompletionUsage(const v1::ChatCompletion& completion,
                                       int64_t estimated_input_tokens);

}  // namespace p402::router
