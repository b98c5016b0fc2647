// The streaming half of ProviderExecution (see provider_execution.h): relaying a 2xx provider
// stream to the observer, the first-token decision, and the one `end` event.
#include <utility>
#include <vector>

#include "libs/common/status_util.h"
#include "services/router/adapters/provider_execution.h"
#include "services/router/core/cost.h"

namespace p402::router {

void ProviderExecution::RelayBody(std::string_view chunk) {
  std::vector<v1::ChatDelta> deltas;
  absl::Status fed = relay_->Feed(chunk, deltas);
  if (!decision_sent_ && relay_->first_token()) {
    if (!SendDecision()) return;
  }
  for (v1::ChatDelta& d : deltas) {
    v1::StreamRouteResponse event;
    *event.mutable_delta() = std::move(d);
    if (!Emit(std::move(event))) return;
  }
  if (!fed.ok()) {
    const std::string reason = ReasonOf(fed).value_or("");
    const std::string message = MessageOf(fed);
    AbandonCall();
    if (reason == "budget_exhausted") {
      if (decision_sent_) {
        EndStream(v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED, "budget_exhausted", message, false);
      } else {
        // Not even the first token fits: fail like any pre-token failure (RESOURCE_EXHAUSTED).
        RecordAttempt(v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED, message);
        Step();
      }
      return;
    }
    if (decision_sent_) {
      EndStream(v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED, "stream_interrupted", message, false);
    } else {
      RecordAttempt(reason == "provider_error" ? v1::ATTEMPT_OUTCOME_SERVER_ERROR
                                               : v1::ATTEMPT_OUTCOME_INVALID_RESPONSE,
                    message);
      Step();
    }
    return;
  }
  if (relay_->done()) {
    // The end marker arrived: answer now. The HTTP call finishes on its own, so its connection
    // can go back to the keep-alive pool.
    EndStream(v1::ATTEMPT_OUTCOME_SUCCESS, "", "", true);
  }
}

void ProviderExecution::StreamBodyEnded(const absl::Status& status) {
  if (status.ok() && relay_->complete()) {
    EndStream(v1::ATTEMPT_OUTCOME_SUCCESS, "", "", true);
    return;
  }
  if (decision_sent_) {
    const bool deadline = status.code() == absl::StatusCode::kDeadlineExceeded &&
                          req_.deadline.has_value() && TimeLeftMs() <= 50;
    std::string message = status.ok() ? "the provider stream ended without its end marker"
                                      : "the provider stream broke: " + MessageOf(status);
    EndStream(v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED,
              deadline ? "deadline_exceeded" : "stream_interrupted", std::move(message), false);
    return;
  }
  if (status.ok()) {
    RecordAttempt(v1::ATTEMPT_OUTCOME_INVALID_RESPONSE,
                  "the provider stream ended before any token and without its end marker");
    Step();
    return;
  }
  TransportFailure(status);
}

bool ProviderExecution::SendDecision() {
  v1::Attempt* a = req_.plan.decision.add_attempts();
  a->mutable_model()->set_provider(model_->provider);
  a->mutable_model()->set_model(model_->id);
  a->set_outcome(v1::ATTEMPT_OUTCOME_SUCCESS);  // updated when the stream ends
  a->set_http_status(http_status_);
  a->set_latency_ms(ElapsedMs());  // time to first token
  decision_sent_ = true;
  v1::StreamRouteResponse event;
  *event.mutable_decision() = req_.plan.decision;
  return Emit(std::move(event));
}

bool ProviderExecution::Emit(v1::StreamRouteResponse event) {
  if (observer_ != nullptr && observer_->OnEvent(std::move(event))) return true;
  // The consumer is gone or cannot keep up: stop the provider call.
  AbandonCall();
  if (decision_sent_) {
    v1::Attempt* last = req_.plan.decision.mutable_attempts(req_.plan.decision.attempts_size() - 1);
    if (!ending_ && last->outcome() == v1::ATTEMPT_OUTCOME_SUCCESS) {
      last->set_outcome(v1::ATTEMPT_OUTCOME_CANCELLED);
      last->set_error("the stream consumer went away");
      Report(*last);
    }
  }
  FinishWithStatus(WithReason(absl::CancelledError("the stream consumer went away"), "cancelled"));
  return false;
}

void ProviderExecution::EndStream(v1::AttemptOutcome outcome, std::string_view reason,
                                  std::string message, bool complete) {
  if (!decision_sent_) {
    // The provider finished without a single token (an empty answer): the decision still comes
    // first, then whatever was held back (role, finish_reason).
    if (!SendDecision()) return;
    for (v1::ChatDelta& d : relay_->TakeHeld()) {
      v1::StreamRouteResponse event;
      *event.mutable_delta() = std::move(d);
      if (!Emit(std::move(event))) return;
    }
  }
  v1::Attempt* last = req_.plan.decision.mutable_attempts(req_.plan.decision.attempts_size() - 1);
  last->set_outcome(outcome);
  if (!message.empty()) last->set_error(message);
  Report(*last);

  const StreamSummary& summary = relay_->summary();
  v1::StreamRouteResponse event;
  v1::StreamEnd* end = event.mutable_end();
  *end->mutable_usage() = relay_->Usage(complete);
  *end->mutable_cost() = ComputeCost(end->usage(), model_->prices, req_.plan.direct_prices);
  *end->mutable_decision() = req_.plan.decision;
  if (!reason.empty()) {
    end->mutable_error()->set_reason(std::string(reason));
    end->mutable_error()->set_message(message);
  }
  end->set_completion_id(summary.id.empty() ? "chatcmpl-" + req_.plan.decision.decision_id()
                                            : summary.id);
  end->set_model(summary.model.empty() ? model_->id : summary.model);
  end->set_created(summary.created != 0 ? summary.created : UnixMillis(deps_.clock.Now()) / 1000);
  end->set_system_fingerprint(summary.system_fingerprint);
  deps_.metrics.stream_ends.WithLabels({reason.empty() ? std::string_view("ok") : reason}).Inc();
  ending_ = true;
  if (!Emit(std::move(event))) return;
  FinishWithStatus(absl::OkStatus());
}

}  // namespace p402::router
