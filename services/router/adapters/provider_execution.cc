#include "services/router/adapters/provider_execution.h"

#include <algorithm>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/openai/token_estimate.h"
#include "services/router/adapters/protocol.h"
#include "services/router/core/cost.h"

namespace p402::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

bool Is2xx(int status) { return status >= 200 && status < 300; }

bool SameModel(const v1::ModelRef& ref, const ModelEntry& m) {
  return ref.provider() == m.provider && ref.model() == m.id;
}

}  // namespace

v1::TokenUsage EstimateCompletionUsage(const v1::ChatCompletion& completion,
                                       int64_t estimated_input_tokens) {
  std::string text;
  for (const v1::ChatChoice& choice : completion.choices()) {
    const v1::ChatMessage& m = choice.message();
    text += m.content();
    for (const v1::ContentPart& part : m.parts()) text += part.text();
    text += m.refusal();
    for (const v1::ToolCall& tc : m.tool_calls()) {
      text += tc.name();
      text += tc.arguments();
    }
  }
  v1::TokenUsage usage;
  usage.set_input_tokens(std::max<int64_t>(estimated_input_tokens, 0));
  usage.set_output_tokens(text.empty() ? 0 : openai::EstimateTextTokens(text));
  usage.set_estimated(true);
  return usage;
}

ProviderExecution::ProviderExecution(const HttpProviderExecutor::Deps& deps,
                                     ExecutionRequest request, Mode mode,
                                     std::function<void(ExecutionResult)> done,
                                     StreamObserver* observer)
    : deps_(deps),
      req_(std::move(request)),
      mode_(mode),
      done_(std::move(done)),
      observer_(observer) {
  req_.chat.set_stream(mode_ == Mode::kStream);
}

void ProviderExecution::Start() {
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kIdle) return;  // cancelled before it started
  Step();
}

int64_t ProviderExecution::TimeLeftMs() const {
  if (!req_.deadline) return kNoDeadline;
  auto left = std::chrono::duration_cast<milliseconds>(*req_.deadline - steady_clock::now());
  return std::max<int64_t>(left.count(), 0);
}

int64_t ProviderExecution::ElapsedMs() const {
  auto d = deps_.clock.MonotonicNow() - attempt_start_;
  return std::max<int64_t>(std::chrono::duration_cast<milliseconds>(d).count(), 0);
}

bool ProviderExecution::Stale(uint64_t generation) const {
  return generation != generation_ || phase_ != Phase::kCalling;
}

void ProviderExecution::Step() {
  FailoverStep step =
      NextAttempt(req_.plan, req_.plan.decision, TimeLeftMs(), deps_.options.failover);
  switch (step.action) {
    case FailoverAction::kDone: {
      ExecutionResult result;
      result.completion = std::move(completion_);
      result.cost = std::move(cost_);
      Finish(std::move(result));
      return;
    }
    case FailoverAction::kStop:
      if (!any_sent_ && encode_error_) {
        // No candidate could even encode the request: it is the request that is bad.
        FinishWithStatus(*encode_error_);
      } else {
        FinishWithStatus(step.status, step.retry_after_ms);
      }
      return;
    case FailoverAction::kCall:
      break;
  }
  const auto& attempts = req_.plan.decision.attempts();
  if (!attempts.empty() &&
      !SameModel(attempts[attempts.size() - 1].model(), *req_.plan.attempt_order[step.candidate])) {
    deps_.metrics.failovers.Inc();
  }
  if (step.wait_ms > 0) {
    phase_ = Phase::kWaiting;
    const uint64_t gen = ++generation_;
    const size_t candidate = step.candidate;
    timer_ = deps_.timers.RunAfter(
        milliseconds(step.wait_ms),
        [self = shared_from_this(), gen, candidate] { self->OnTimer(gen, candidate); });
    return;
  }
  BeginAttempt(step.candidate);
}

void ProviderExecution::OnTimer(uint64_t generation, size_t candidate) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_ || phase_ != Phase::kWaiting) return;
  BeginAttempt(candidate);
}

void ProviderExecution::BeginAttempt(size_t candidate) {
  const uint64_t gen = ++generation_;
  model_ = req_.plan.attempt_order[candidate];
  provider_ = &deps_.catalog.ProviderOf(*model_);
  v1::ModelRef* chosen = req_.plan.decision.mutable_chosen();
  chosen->set_provider(model_->provider);
  chosen->set_model(model_->id);
  attempt_start_ = deps_.clock.MonotonicNow();
  http_status_ = 0;
  headers_received_ = false;
  retry_after_ms_ = 0;
  body_.clear();
  early_body_.clear();
  relay_.reset();
  phase_ = Phase::kCalling;

  auto key = deps_.keys.find(provider_->id);
  absl::StatusOr<ProviderHttpRequest> built = BuildProviderRequest(
      req_.chat, *model_, *provider_, key == deps_.keys.end() ? "" : key->second);
  if (!built.ok() && built.status().code() == absl::StatusCode::kInvalidArgument &&
      !encode_error_) {
    // This protocol cannot express the request (e.g. an Anthropic-only limit on parts); another
    // candidate may. If none was ever sent, the caller gets this error (see Step).
    encode_error_ = WithReason(InvalidArgument(MessageOf(built.status())), "invalid_request");
  }
  if (built.ok() && mode_ == Mode::kStream) {
    auto relay = StreamRelay::Create(provider_->protocol, model_->prices,
                                     req_.plan.estimated_input_tokens, req_.spend_limit,
                                     req_.chat.has_max_tokens() ? req_.chat.max_tokens() : 0);
    if (relay.ok()) {
      relay_ = std::move(*relay);
    } else {
      built = relay.status();
    }
  }
  if (!built.ok()) {
    RecordAttempt(v1::ATTEMPT_OUTCOME_UNSPECIFIED, "not sent: " + MessageOf(built.status()),
                  /*report=*/false);
    Step();
    return;
  }
  if (!deps_.health.AdmitCall(provider_->id)) {
    RecordAttempt(v1::ATTEMPT_OUTCOME_CONNECT_ERROR,
                  "not sent: circuit breaker open for provider " + provider_->id,
                  /*report=*/false);
    Step();
    return;
  }

  http::ClientRequest request;
  request.method = built->method;
  request.url = std::move(built->url);
  for (auto& [name, value] : built->headers) request.headers.Add(name, std::move(value));
  request.body = std::move(built->body);
  request.timeouts.connect = deps_.options.connect_timeout;
  request.timeouts.headers = deps_.options.header_timeout;
  request.timeouts.idle = deps_.options.idle_timeout;
  if (req_.deadline) request.timeouts.total = milliseconds(std::max<int64_t>(TimeLeftMs(), 1));
  if (mode_ == Mode::kUnary) request.max_response_body_bytes = deps_.options.max_response_bytes;

  auto self = shared_from_this();
  http::ClientCallbacks callbacks;
  callbacks.on_headers = [self, gen](int status, http::Headers headers) {
    self->OnHeaders(gen, status, headers);
  };
  callbacks.on_body = [self, gen](std::string_view chunk) { self->OnBody(gen, chunk); };
  callbacks.on_complete = [self, gen](absl::Status status) {
    self->deps_.metrics.calls_in_flight.Dec();
    self->OnComplete(gen, std::move(status));
  };
  deps_.metrics.calls_in_flight.Inc();
  any_sent_ = true;
  // Send never runs a callback inline, so holding mu_ here is safe.
  call_ = deps_.client.Send(std::move(request), std::move(callbacks));
  if (mode_ == Mode::kStream) {
    deps_.timers.RunAfter(deps_.options.first_token_timeout,
                          [self, gen] { self->OnFirstTokenTimeout(gen); });
  }
}

void ProviderExecution::OnFirstTokenTimeout(uint64_t generation) {
  absl::MutexLock lock(&mu_);
  if (Stale(generation) || decision_sent_) return;
  // Abandoning the call makes its completion callback stale once Step() moves on.
  AbandonCall();
  RecordAttempt(v1::ATTEMPT_OUTCOME_TIMEOUT,
                "no first token within " +
                    std::to_string(deps_.options.first_token_timeout.count()) + " ms");
  Step();
}

void ProviderExecution::OnHeaders(uint64_t generation, int status, const http::Headers& headers) {
  absl::MutexLock lock(&mu_);
  if (Stale(generation)) return;
  headers_received_ = true;
  http_status_ = status;
  std::optional<int64_t> retry;
  if (auto ms = headers.Get("retry-after-ms")) retry = ParseRetryAfterMs(*ms, /*is_ms=*/true);
  if (!retry) {
    if (auto s = headers.Get("retry-after")) retry = ParseRetryAfterMs(*s);
  }
  retry_after_ms_ = retry.value_or(0);
  if (!early_body_.empty()) {
    std::string early = std::move(early_body_);
    early_body_.clear();
    HandleBody(early);
  }
}

void ProviderExecution::OnBody(uint64_t generation, std::string_view chunk) {
  absl::MutexLock lock(&mu_);
  if (Stale(generation)) return;
  if (!headers_received_) {
    early_body_.append(chunk.data(), chunk.size());
    return;
  }
  HandleBody(chunk);
}

void ProviderExecution::HandleBody(std::string_view chunk) {
  if (Is2xx(http_status_)) {
    if (mode_ == Mode::kStream) {
      RelayBody(chunk);
    } else {
      body_.append(chunk.data(), chunk.size());  // bounded by max_response_body_bytes
    }
    return;
  }
  if (body_.size() < kMaxErrorBodyBytes) {
    body_.append(chunk.substr(0, kMaxErrorBodyBytes - body_.size()));
  }
}

void ProviderExecution::OnComplete(uint64_t generation, absl::Status status) {
  absl::MutexLock lock(&mu_);
  if (Stale(generation)) return;
  call_.reset();
  if (mode_ == Mode::kStream && Is2xx(http_status_) && relay_ != nullptr) {
    StreamBodyEnded(status);
    return;
  }
  if (!status.ok()) {
    TransportFailure(status);
    return;
  }
  if (Is2xx(http_status_)) {
    CompleteUnary();
    return;
  }
  ProviderError error = ParseProviderError(provider_->protocol, http_status_, body_);
  RecordAttempt(ClassifyHttpStatus(http_status_), error.type + ": " + error.message);
  Step();
}

void ProviderExecution::TransportFailure(const absl::Status& status) {
  v1::AttemptOutcome outcome = v1::ATTEMPT_OUTCOME_CONNECT_ERROR;
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      outcome = v1::ATTEMPT_OUTCOME_TIMEOUT;
      break;
    case absl::StatusCode::kCancelled:
      outcome = v1::ATTEMPT_OUTCOME_CANCELLED;
      break;
    case absl::StatusCode::kResourceExhausted:
      outcome = v1::ATTEMPT_OUTCOME_INVALID_RESPONSE;  // answer larger than we accept
      break;
    default:
      // A connection that broke after the headers is the provider failing mid-answer.
      outcome =
          headers_received_ ? v1::ATTEMPT_OUTCOME_SERVER_ERROR : v1::ATTEMPT_OUTCOME_CONNECT_ERROR;
      break;
  }
  RecordAttempt(outcome, MessageOf(status));
  Step();
}

void ProviderExecution::CompleteUnary() {
  absl::StatusOr<ParsedCompletion> parsed = ParseProviderResponse(provider_->protocol, body_);
  if (!parsed.ok()) {
    RecordAttempt(v1::ATTEMPT_OUTCOME_INVALID_RESPONSE, MessageOf(parsed.status()));
    Step();
    return;
  }
  v1::ChatCompletion completion = std::move(parsed->completion);
  if (!parsed->usage_reported) {
    *completion.mutable_usage() =
        EstimateCompletionUsage(completion, req_.plan.estimated_input_tokens);
  }
  if (completion.id().empty()) completion.set_id("chatcmpl-" + req_.plan.decision.decision_id());
  if (completion.model().empty()) completion.set_model(model_->id);
  if (completion.created() == 0) completion.set_created(UnixMillis(deps_.clock.Now()) / 1000);
  cost_ = ComputeCost(completion.usage(), model_->prices, req_.plan.direct_prices);
  completion_ = std::move(completion);
  RecordAttempt(v1::ATTEMPT_OUTCOME_SUCCESS, "");
  Step();
}

void ProviderExecution::RecordAttempt(v1::AttemptOutcome outcome, std::string error, bool report) {
  v1::Attempt* a = req_.plan.decision.add_attempts();
  a->mutable_model()->set_provider(model_->provider);
  a->mutable_model()->set_model(model_->id);
  a->set_outcome(outcome);
  a->set_http_status(http_status_);
  a->set_latency_ms(report ? ElapsedMs() : 0);
  if (outcome == v1::ATTEMPT_OUTCOME_RATE_LIMITED) a->set_retry_after_ms(retry_after_ms_);
  a->set_error(std::move(error));
  if (report) Report(*a);
  if (outcome != v1::ATTEMPT_OUTCOME_SUCCESS && outcome != v1::ATTEMPT_OUTCOME_CANCELLED) {
    P402_LOG(kInfo, "provider attempt failed")
        .RequestId(req_.request_id)
        .Field("provider", model_->provider)
        .Field("model", model_->id)
        .Field("outcome", OutcomeLabel(outcome))
        .Field("http_status", http_status_)
        .Field("error", a->error());
  }
  body_.clear();
  early_body_.clear();
  relay_.reset();
  call_.reset();
}

void ProviderExecution::Report(const v1::Attempt& a) {
  const std::string& provider = a.model().provider();
  deps_.health.Record({.provider = provider,
                       .model = a.model().model(),
                       .outcome = a.outcome(),
                       .latency_ms = a.latency_ms(),
                       .retry_after_ms = a.retry_after_ms()});
  deps_.metrics.attempts.WithLabels({provider, OutcomeLabel(a.outcome())}).Inc();
  if (a.outcome() != v1::ATTEMPT_OUTCOME_CANCELLED) {
    deps_.metrics.latency.WithLabels({provider})
        .Observe(static_cast<double>(a.latency_ms()) / 1000.0);
  }
  deps_.metrics.circuit.WithLabels({provider})
      .Set(static_cast<double>(static_cast<int>(deps_.health.Circuit(provider))));
}

void ProviderExecution::AbandonCall() {
  if (call_) call_->Cancel();
  call_.reset();
}

void ProviderExecution::Cancel() {
  absl::MutexLock lock(&mu_);
  switch (phase_) {
    case Phase::kFinished:
      return;
    case Phase::kCalling:
      AbandonCall();
      if (decision_sent_) {
        v1::Attempt* last =
            req_.plan.decision.mutable_attempts(req_.plan.decision.attempts_size() - 1);
        last->set_outcome(v1::ATTEMPT_OUTCOME_CANCELLED);
        last->set_error("the caller cancelled the stream");
        Report(*last);
      } else {
        RecordAttempt(v1::ATTEMPT_OUTCOME_CANCELLED, "the caller cancelled the request");
      }
      break;
    case Phase::kWaiting:
      deps_.timers.Cancel(timer_);
      break;
    case Phase::kIdle:
      break;
  }
  FinishWithStatus(
      WithReason(absl::CancelledError("the caller cancelled the request"), "cancelled"));
}

void ProviderExecution::FinishWithStatus(absl::Status status, int64_t retry_after_ms) {
  ExecutionResult result;
  result.status = std::move(status);
  result.retry_after_ms = retry_after_ms;
  Finish(std::move(result));
}

void ProviderExecution::Finish(ExecutionResult result) {
  if (phase_ == Phase::kFinished) return;
  if (phase_ == Phase::kWaiting) deps_.timers.Cancel(timer_);
  phase_ = Phase::kFinished;
  ++generation_;  // every later callback is stale
  // A stream that saw its end marker leaves its call running so the connection can be reused;
  // everything else has already cancelled or completed its call.
  call_.reset();
  result.decision = std::move(req_.plan.decision);  // nothing reads it after this
  if (mode_ == Mode::kUnary) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
  } else {
    StreamObserver* observer = observer_;
    observer_ = nullptr;
    if (observer != nullptr) observer->OnFinish(std::move(result));
  }
}

}  // namespace p402::router
