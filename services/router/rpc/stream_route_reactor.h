// File: services/router/rpc/stream_route_reactor.h
// The StreamRoute reactor: bridges an HttpProviderExecutor stream (StreamObserver) to a gRPC
// server-streaming call. One write in flight at a time; events that arrive meanwhile wait in a
// bounded queue. When the client reads slower than the provider writes, consecutive text deltas
// of a choice are merged into the last queued one (so the queue holds at most kMaxQueuedEvents
// events, and its bytes grow only with the answer itself, up to kMaxQueuedBytes, after which
// the stream is stopped with RESOURCE_EXHAUSTED "stream_consumer_too_slow"). OnCancel (client
// gone, deadline) cancels the execution, which cancels the provider call.
//
// Lifetime rule: Finish is called only after the execution's OnFinish, so the execution never
// calls a deleted reactor (OnDone deletes it).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "p402/v1/router.pb.h"
#include "services/router/adapters/http_provider_executor.h"

namespace p402::router {

class RouterService;

inline constexpr size_t kMaxQueuedEvents = 32;
inline constexpr size_t kMaxQueuedBytes = 8u << 20;

class StreamRouteReactor final : public grpc::ServerWriteReactor<v1::StreamRouteResponse>,
                                 public StreamObserver {
 public:
  StreamRouteReactor(RouterService& service, grpc::CallbackServerContext* ctx,
                     const v1::RouteRequest* req);
  // Validates, plans and starts the execution (or finishes with the error).
  void Start();

  // StreamObserver (called by the execution, serialised).
  bool OnEvent(v1::StreamRouteResponse event) override;
  void OnFinish(ExecutionResult result) override;

  // grpc::ServerWriteReactor.
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  // Merges `event` into the last queued event when both are text deltas of the same choice.
  bool MergeIntoBack(const v1::StreamRouteResponse& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  RouterService& service_;
  grpc::CallbackServerContext* ctx_;
  const v1::RouteRequest* req_;

  absl::Mutex mu_;
  std::shared_ptr<Execution> execution_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<v1::StreamRouteResponse> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  v1::StreamRouteResponse in_flight_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;    // a write failed: the client is gone
  bool overflow_ ABSL_GUARDED_BY(mu_) = false;  // the queue limit was hit
  std::optional<grpc::Status> final_status_ ABSL_GUARDED_BY(mu_);
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // Finish called
};

}  // namespace p402::router
