#include "services/router/core/failover.h"

#include <charconv>
#include <cmath>
#include <set>
#include <string>

#include "libs/common/status_util.h"

namespace p402::router {
namespace {

bool SameModel(const v1::ModelRef& ref, const ModelEntry& m) {
  return ref.provider() == m.provider && ref.model() == m.id;
}

std::string Describe(const v1::Attempt& a) {
  std::string out = a.model().provider() + "/" + a.model().model() + ": ";
  if (!a.error().empty()) {
    out += a.error();
  } else {
    out += v1::AttemptOutcome_Name(a.outcome());
    if (a.http_status() != 0) out += " (HTTP " + std::to_string(a.http_status()) + ")";
  }
  return out;
}

FailoverStep Stop(absl::Status status, std::string_view reason, int64_t retry_after_ms = 0) {
  FailoverStep step;
  step.action = FailoverAction::kStop;
  step.status = WithReason(std::move(status), reason);
  step.retry_after_ms = retry_after_ms;
  return step;
}

FailoverStep Call(size_t candidate, int64_t wait_ms = 0) {
  FailoverStep step;
  step.action = FailoverAction::kCall;
  step.candidate = candidate;
  step.wait_ms = wait_ms;
  return step;
}

// The next candidate to fail over to, or nullopt when every candidate was tried.
std::optional<size_t> PickNext(const RoutePlan& plan, const v1::RoutingDecision& decision) {
  std::set<size_t> tried;
  std::set<std::string> failed_providers;
  for (const v1::Attempt& a : decision.attempts()) {
    for (size_t i = 0; i < plan.attempt_order.size(); ++i) {
      if (SameModel(a.model(), *plan.attempt_order[i])) tried.insert(i);
    }
    if (a.outcome() != v1::ATTEMPT_OUTCOME_SUCCESS) failed_providers.insert(a.model().provider());
  }
  std::optional<size_t> first_untried;
  for (size_t i = 0; i < plan.attempt_order.size(); ++i) {
    if (tried.count(i)) continue;
    if (!first_untried) first_untried = i;
    if (!failed_providers.count(plan.attempt_order[i]->provider)) return i;
  }
  return first_untried;
}

FailoverStep Exhausted(const v1::RoutingDecision& decision) {
  const v1::Attempt& last = decision.attempts(decision.attempts_size() - 1);
  std::string msg = "all " + std::to_string(decision.attempts_size()) +
                    " provider attempt(s) failed; last: " + Describe(last);
  return Stop(Unavailable(msg), "providers_unavailable");
}

}  // namespace

FailoverStep NextAttempt(const RoutePlan& plan, const v1::RoutingDecision& decision,
                         int64_t time_left_ms, const FailoverConfig& config) {
  if (plan.attempt_order.empty()) {
    return Stop(FailedPrecondition("no candidate to call"), "no_candidate");
  }
  if (decision.attempts().empty()) {
    if (time_left_ms <= 0) return Stop(DeadlineExceeded("deadline passed"), "deadline_exceeded");
    return Call(0);
  }
  const v1::Attempt& last = decision.attempts(decision.attempts_size() - 1);
  bool can_retry = plan.failover_enabled && decision.attempts_size() < plan.max_attempts;
  switch (last.outcome()) {
    case v1::ATTEMPT_OUTCOME_SUCCESS: {
      FailoverStep done;
      done.action = FailoverAction::kDone;
      return done;
    }
    case v1::ATTEMPT_OUTCOME_CANCELLED:
      return Stop(absl::CancelledError("the caller cancelled the request"), "cancelled");
    case v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED:
      return Stop(ResourceExhausted("the spend limit of the request was reached"),
                  "budget_exhausted");
    case v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED:
      return Stop(Unavailable("the provider stream broke after the first token: " + Describe(last)),
                  "stream_interrupted");
    case v1::ATTEMPT_OUTCOME_CLIENT_ERROR:
      return Stop(InvalidArgument("the provider rejected the request: " + Describe(last)),
                  "provider_rejected");
    case v1::ATTEMPT_OUTCOME_RATE_LIMITED: {
      int64_t retry_after = last.retry_after_ms();
      if (plan.rate_limit_strategy == v1::RATE_LIMIT_STRATEGY_FAIL) {
        return Stop(ResourceExhausted("the provider is rate limiting: " + Describe(last)),
                    "rate_limited", retry_after);
      }
      if (plan.rate_limit_strategy == v1::RATE_LIMIT_STRATEGY_QUEUE) {
        int64_t wait = retry_after > 0 ? retry_after : config.default_retry_after_ms;
        if (!can_retry || wait > config.max_queue_wait_ms || wait >= time_left_ms) {
          return Stop(ResourceExhausted("the provider is rate limiting and the wait does not "
                                        "fit: " +
                                        Describe(last)),
                      "rate_limited", retry_after);
        }
        for (size_t i = 0; i < plan.attempt_order.size(); ++i) {
          if (SameModel(last.model(), *plan.attempt_order[i])) return Call(i, wait);
        }
        return Exhausted(decision);
      }
      break;  // SWITCH: fail over like a server error
    }
    default:
      break;  // CONNECT_ERROR, SERVER_ERROR, TIMEOUT, INVALID_RESPONSE, UNSPECIFIED
  }
  if (!can_retry) return Exhausted(decision);
  std::optional<size_t> next = PickNext(plan, decision);
  if (!next) return Exhausted(decision);
  if (time_left_ms <= 0) {
    return Stop(DeadlineExceeded("deadline passed after " + Describe(last)), "deadline_exceeded");
  }
  return Call(*next);
}

v1::AttemptOutcome ClassifyHttpStatus(int http_status) {
  if (http_status >= 200 && http_status < 300) return v1::ATTEMPT_OUTCOME_SUCCESS;
  if (http_status == 429) return v1::ATTEMPT_OUTCOME_RATE_LIMITED;
  if (http_status == 408) return v1::ATTEMPT_OUTCOME_TIMEOUT;
  if (http_status >= 500 && http_status < 600) return v1::ATTEMPT_OUTCOME_SERVER_ERROR;
  if (http_status >= 400 && http_status < 500) return v1::ATTEMPT_OUTCOME_CLIENT_ERROR;
  return v1::ATTEMPT_OUTCOME_INVALID_RESPONSE;
}

std::optional<int64_t> ParseRetryAfterMs(std::string_view value, bool is_ms) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty() || value.size() > 32) return std::nullopt;
  for (char c : value) {
    if (!((c >= '0' && c <= '9') || c == '.')) return std::nullopt;
  }
  double number = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(number)) {
    return std::nullopt;
  }
  double ms = is_ms ? number : number * 1000.0;
  if (ms > 86'400'000.0) ms = 86'400'000.0;  // a day: anything longer is not worth waiting for
  return static_cast<int64_t>(std::ceil(ms));
}

}  // namespace p402::router
