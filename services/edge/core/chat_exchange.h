// File: services/edge/core/chat_exchange.h
// Internal to the chat pipeline (chat_pipeline.h): the state of one request as it moves through
// the asynchronous steps. chat_pipeline.cc has the main flow (decode -> Authorize -> Route or
// StreamRoute -> answer -> Commit/Release); chat_stream.cc relays a stream's events and handles
// the client going away; chat_guard.cc has the billing-guard parts (waiting for an approval,
// watching a session's stream, cutting it and billing what was delivered).
//
// Threads: steps run on whatever thread completed the previous one (gRPC, timer or io thread),
// one after the other, except that while a stream runs the router's events, the timers and the
// reservation checks may race; `mu_` orders them, and sink calls are made under it so frames
// never interleave. The client-gone callback may fire inline inside a sink call, so it takes no
// lock of ours: it sets an atomic and schedules the router-stream cancel on the Scheduler.
// Never call the router, RouteStream::Cancel (gRPC may run OnDone inline) or a policy RPC whose
// callback touches the exchange while holding `mu_` (fakes answer inline).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/openai/chat_request.h"
#include "libs/openai/chat_response.h"
#include "libs/openai/p402_metadata.h"
#include "libs/openai/token_estimate.h"
#include "services/edge/core/chat_pipeline.h"
#include "services/edge/core/error_mapping.h"

namespace p402::edge {

inline constexpr char kChatRouteLabel[] = "chat";

// Owned by shared_ptrs held in the pending callbacks; dies when the last one ran. During an
// approval hold the poll timer owns it (nothing else does); the timers of a running stream hold
// weak_ptrs (the router stream owns the exchange then), so they never keep it alive.
class ChatExchange : public std::enable_shared_from_this<ChatExchange>, public RouteStreamObserver {
 public:
  ChatExchange(ChatPipeline& pipeline, ChatCall call, std::shared_ptr<ResponseSink> sink)
      : p_(pipeline), call_(std::move(call)), sink_(std::move(sink)) {}

  void Start();

  // RouteStreamObserver (stream mode)
  void OnEvent(const v1::StreamRouteResponse& event) override;
  void OnDone(absl::Status status) override;

 private:
  // --- chat_pipeline.cc: the main flow (WatchClient / OnClientGone / CancelRouterStream and the
  // observer methods are in chat_stream.cc).
  void Authorize();
  void OnAuthorized(absl::StatusOr<v1::AuthorizeResponse> result);
  void Dispatch();
  void OnRouted(absl::StatusOr<v1::RouteResponse> result);
  // Answers with an error: a JSON error response, or -- once the event stream started (a held
  // stream) -- an SSE error event, [DONE] and the end of the stream.
  void Fail(const HttpError& e, std::string_view param = {});
  void FailStatus(const absl::Status& status);
  openai::P402Metadata Metadata(const v1::RoutingDecision& decision, const v1::CostBreakdown& cost,
                                const v1::TokenUsage& usage) const;
  HeaderList ResponseHeaders() const;
  void Commit(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
              const v1::ModelRef& model);
  void Release(std::string_view reason);
  int64_t ElapsedMs() const;
  int64_t NowUnixMs() const;
  openai::ChunkHeader ChunkHeader() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return {.id = completion_id_, .created = created_, .model = stream_model_};
  }
  void StartEventStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Registers the client-gone callback (once).
  void WatchClient();
  void OnClientGone();
  void CancelRouterStream();

  // --- chat_guard.cc: approval hold.
  void Hold();
  void ScheduleApprovalPoll();
  void PollApproval();
  void OnApproval(absl::StatusOr<v1::GetApprovalResponse> result);
  void WriteAwaitingComment();
  // Ends the hold without an approval; `outcome` is the metric label.
  void EndHold(std::string_view outcome, const HttpError& e);
  void EndHoldClientGone();

  // --- chat_guard.cc: session stream watch, edge cut and the delivered estimate.
  void WatchSession();
  void ScheduleReservationCheck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CheckReservation();
  void OnReservationChecked(absl::StatusOr<v1::CheckReservationResponse> result);
  // Stops the stream because policy said so (reason: "session_revoked", ...).
  void CutStream(std::string reason);
  // What was delivered so far, estimated: usage and cost at the chosen model's catalog prices,
  // capped at the reservation.
  void DeliveredEstimate(v1::TokenUsage& usage, v1::CostBreakdown& cost) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a stream that delivered tokens but got no StreamEnd: optional usage chunk, an error
  // event with the estimated metadata, [DONE], Finish. Returns what to commit.
  void EndWithEstimateLocked(std::string_view type, std::string_view code, std::string_view message,
                             v1::TokenUsage& usage, v1::CostBreakdown& cost)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelTimersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ChatPipeline& p_;
  ChatCall call_;
  std::shared_ptr<ResponseSink> sink_;
  openai::DecodedChatRequest request_;
  std::shared_ptr<const CatalogView> catalog_;
  const v1::ModelInfo* model_ = nullptr;  // the explicit model, when one was named and known
  int64_t input_tokens_ = 0;              // prompt estimate
  // Sent to Authorize; approval_id is added when a hold was approved.
  v1::AuthorizeRequest authorize_;
  v1::AuthorizeResponse auth_;
  // The approval a held request waits for, and the wall-clock limit of the wait.
  v1::Approval approval_;
  int64_t hold_deadline_unix_ms_ = 0;

  std::atomic<bool> client_gone_{false};
  std::atomic<bool> watching_client_{false};
  absl::Mutex stream_mu_;
  std::shared_ptr<RouteStream> stream_ ABSL_GUARDED_BY(stream_mu_);

  absl::Mutex mu_;
  // The text/event-stream response was started (by the first router event, or by a hold).
  bool sse_started_ ABSL_GUARDED_BY(mu_) = false;
  // The router sent its first event (the provider answered): tokens may have been delivered.
  bool first_event_ ABSL_GUARDED_BY(mu_) = false;
  // The response is complete (StreamEnd relayed, or the edge ended it): later events are dropped.
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  // The edge ended the stream itself (CutStream): OnDone has nothing left to do.
  bool cut_ ABSL_GUARDED_BY(mu_) = false;
  v1::RoutingDecision decision_ ABSL_GUARDED_BY(mu_);
  openai::TextTokenCounter delivered_ ABSL_GUARDED_BY(mu_);
  std::string completion_id_ ABSL_GUARDED_BY(mu_);
  std::string stream_model_ ABSL_GUARDED_BY(mu_);
  int64_t created_ ABSL_GUARDED_BY(mu_) = 0;
  Scheduler::TimerId check_timer_ ABSL_GUARDED_BY(mu_) = 0;
  Scheduler::TimerId expiry_timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace p402::edge
