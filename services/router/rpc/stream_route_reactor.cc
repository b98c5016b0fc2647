#include "services/router/rpc/stream_route_reactor.h"

#include <exception>
#include <string>
#include <utility>

#include "libs/common/status_util.h"
#include "services/router/rpc/router_service.h"

namespace p402::router {
namespace {

// Bytes an event holds beyond a fixed per-event overhead (its text); decision and end events
// count as a fixed size (they are small and come once).
constexpr size_t kEventOverhead = 64;

size_t PayloadBytes(const v1::StreamRouteResponse& e) {
  if (!e.has_delta()) return 1024;
  size_t n = e.delta().content().size() + e.delta().refusal().size();
  for (const v1::ToolCall& tc : e.delta().tool_calls()) {
    n += tc.arguments().size() + tc.name().size() + tc.id().size();
  }
  return n;
}

size_t EventBytes(const v1::StreamRouteResponse& e) { return PayloadBytes(e) + kEventOverhead; }

}  // namespace

StreamRouteReactor::StreamRouteReactor(RouterService& service, grpc::CallbackServerContext* ctx,
                                       const v1::RouteRequest* req)
    : service_(service), ctx_(ctx), req_(req) {}

void StreamRouteReactor::Start() {
  absl::StatusOr<ExecutionRequest> prepared;
  try {
    prepared = service_.Prepare(*ctx_, *req_);
  } catch (const std::exception& e) {
    prepared = Internal(std::string("router: unexpected exception: ") + e.what());
  }
  if (!prepared.ok()) {
    grpc::Status status = RouterStatus(prepared.status());
    service_.Count("StreamRoute", status);
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    Finish(std::move(status));
    return;
  }
  std::shared_ptr<Execution> execution = service_.executor().Stream(std::move(*prepared), *this);
  bool cancel = false;
  {
    absl::MutexLock lock(&mu_);
    execution_ = execution;
    started_ = true;
    cancel = cancelled_;
  }
  // OnDone cannot run before this handler has returned the reactor, so members stay valid.
  if (cancel) execution->Cancel();
}

bool StreamRouteReactor::MergeIntoBack(const v1::StreamRouteResponse& event) {
  if (queue_.empty() || !event.has_delta() || !queue_.back().has_delta()) return false;
  v1::ChatDelta& into = *queue_.back().mutable_delta();
  const v1::ChatDelta& d = event.delta();
  if (into.index() != d.index() || !into.finish_reason().empty() || !d.role().empty()) {
    return false;
  }
  into.mutable_content()->append(d.content());
  into.mutable_refusal()->append(d.refusal());
  for (const v1::ToolCall& tc : d.tool_calls()) {
    const int n = into.tool_calls_size();
    if (n > 0 && into.tool_calls(n - 1).index() == tc.index() && tc.id().empty() &&
        tc.name().empty()) {
      into.mutable_tool_calls(n - 1)->mutable_arguments()->append(tc.arguments());
    } else {
      *into.add_tool_calls() = tc;
    }
  }
  if (!d.finish_reason().empty()) into.set_finish_reason(d.finish_reason());
  return true;
}

void StreamRouteReactor::WriteNextLocked() {
  in_flight_ = std::move(queue_.front());
  queued_bytes_ -= EventBytes(in_flight_);
  queue_.pop_front();
  writing_ = true;
  StartWrite(&in_flight_);  // never runs OnWriteDone inline
}

bool StreamRouteReactor::OnEvent(v1::StreamRouteResponse event) {
  absl::MutexLock lock(&mu_);
  if (broken_ || cancelled_ || finished_) return false;
  if (queue_.size() >= kMaxQueuedEvents && MergeIntoBack(event)) {
    queued_bytes_ += PayloadBytes(event);  // the merged event keeps one overhead
  } else {
    queued_bytes_ += EventBytes(event);
    queue_.push_back(std::move(event));
  }
  if (queued_bytes_ > kMaxQueuedBytes) {
    overflow_ = true;
    return false;
  }
  if (!writing_) WriteNextLocked();
  return true;
}

void StreamRouteReactor::OnFinish(ExecutionResult result) {
  grpc::Status status;
  bool finish_now = false;
  {
    absl::MutexLock lock(&mu_);
    if (overflow_) {
      status = RouterStatus(
          WithReason(ResourceExhausted("the stream consumer does not keep up with the provider"),
                     "stream_consumer_too_slow"),
          0, &result.decision);
    } else {
      status = RouterStatus(result.status, result.retry_after_ms, &result.decision);
    }
    if (broken_ || overflow_) queue_.clear();
    final_status_ = status;
    if (!writing_ && queue_.empty() && !finished_) {
      finished_ = true;
      finish_now = true;
    }
  }
  if (finish_now) {
    service_.Count("StreamRoute", status);
    Finish(std::move(status));  // last action: OnDone may delete this
  }
}

void StreamRouteReactor::OnWriteDone(bool ok) {
  std::shared_ptr<Execution> to_cancel;
  {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      broken_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    } else if (!queue_.empty()) {
      WriteNextLocked();
      return;
    }
    if (final_status_ && !finished_) {
      // A reaction: OnDone cannot run before it returns, so finishing under the lock is safe.
      finished_ = true;
      service_.Count("StreamRoute", *final_status_);
      Finish(*final_status_);
      return;
    }
    if (broken_) to_cancel = execution_;
  }
  if (to_cancel) to_cancel->Cancel();  // OnFinish then finishes the call
}

void StreamRouteReactor::OnCancel() {
  std::shared_ptr<Execution> execution;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    execution = execution_;
  }
  if (execution) execution->Cancel();
}

void StreamRouteReactor::OnDone() { delete this; }

}  // namespace p402::router
