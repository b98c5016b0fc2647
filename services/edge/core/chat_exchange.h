// File: services/edge/core/chat_exchange.h
// Internal to the chat pipeline (chat_pipeline.h): the state of one request as it moves through
// the asynchronous steps. chat_pipeline.cc has the main flow (decode -> Authorize -> Route or
// StreamRoute -> answer -> Commit/Release); chat_stream.cc relays a stream's events and handles
// the client going away; chat_guard.cc has the billing-guard parts (waiting for an approval,
// watching a session's stream, cutting it and billing what was delivered); chat_payment.cc has
// x402 pay-per-call (no API key, PipelineOptions.settlement set): Quote -> offers -> 402, or
// verify the payment header -> route in the paid mode -> settle -> answer.
//
// Threads: steps run on whatever thread completed the previous one (gRPC, timer or io thread),
// one after the other, except that while a stream runs the router's events, the timers and the
// reservation checks may race; `mu_` orders them, and sink calls are made under it so frames
// never interleave. The client-gone callback may fire inline inside a sink call, so it takes no
// lock of ours: it sets an atomic and schedules the router-stream cancel on the Scheduler.
// Never call the router, RouteStream::Cancel (gRPC may run OnDone inline) or a policy or
// settlement RPC whose callback touches the exchange while holding `mu_` (fakes answer inline).
// A paid stream holds the router's events (and OnDone) under `mu_` while SettlePayment runs; the
// settle callback replays them in order, flipping to "settled" only once the queue is empty, so
// events relayed directly afterwards can never overtake held ones.
#pragma once

#include <atomic>
#include <charconv>
#include <optional>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/money.h"
#include "libs/openai/chat_request.h"
#include "libs/openai/chat_response.h"
#include "libs/openai/p402_metadata.h"
#include "libs/openai/token_estimate.h"
#include "services/edge/core/chat_pipeline.h"
#include "services/edge/core/error_mapping.h"

namespace p402::edge {

inline constexpr char kChatRouteLabel[] = "chat";

// Shared by chat_payment.cc and chat_payment_settle.cc.
namespace payment_internal {
inline constexpr char kPaymentResponseV1Header[] = "x-payment-response";
inline constexpr char kPaymentResponseV2Header[] = "payment-response";
// A non-negative decimal amount string (x402 `amount`); nullopt when it is not one or does not
// fit.
inline std::optional<MicroUsd> ParseAmount(std::string_view text) {
  MicroUsd value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}
}  // namespace payment_internal

// Prepaid CaptureHold/ReleaseHold retries (chat_prepaid.cc). `stopped` (set by StopSettleRetries)
// is checked under `mu` before the scheduler or the metrics are touched, so neither is used after
// Stop returns; the scheduler is called under `mu` (RunAfter never runs inline), settlement never.
struct ChatPipeline::PrepaidRetries {
  PrepaidRetries(SettlementClient* s, Scheduler& sch, EdgeMetrics& m)
      : settlement(s), scheduler(sch), metrics(m) {}
  SettlementClient* const settlement;
  Scheduler& scheduler;
  EdgeMetrics& metrics;
  absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;
};

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
  // Sends the route request (Route, or StreamRoute for a stream); shared by the keyed and the
  // paid flow.
  void SendRoute(const v1::RouteRequest& route);
  void OnRouted(absl::StatusOr<v1::RouteResponse> result);
  // 200 with the completion and p402_metadata, then Commit.
  void DeliverCompletion(const v1::RouteResponse& r);
  // Answers with an error: a JSON error response, or -- once the event stream started (a held
  // stream) -- an SSE error event, [DONE] and the end of the stream.
  void Fail(const HttpError& e, std::string_view param = {});
  void FailStatus(const absl::Status& status);
  // 401 missing_api_key: no key, and no way to pay instead.
  void FailMissingApiKey();
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
  // chat_stream.cc: the event relay and the end of a stream (OnEvent/OnDone add the paid-stream
  // hold in front of them).
  void RelayEvent(const v1::StreamRouteResponse& event);
  void FinishStream(absl::Status status);

  // --- chat_payment.cc: x402 pay-per-call. Paid requests skip policy Authorize/Commit in this
  // increment (no tenant, no reservation): the payment itself is the budget, capped by the
  // router's spend limit (the matched offer's model cost).
  using OffersNext = std::function<void(std::vector<v1::PaymentRequirement>)>;
  void StartPaid();
  // Router.Quote (modes in offer order) -> Settlement.GetPaymentRequirements(version) -> `next`.
  // Quote errors are answered as router errors; settlement errors as 503 payment_unavailable.
  void FetchOffers(int version, OffersNext next);
  void OnQuoted(absl::StatusOr<v1::QuoteResponse> result, int version, OffersNext next);
  void VerifyPayment(std::vector<v1::PaymentRequirement> offers);
  void OnVerified(absl::StatusOr<v1::VerifyPaymentResponse> result);
  void DispatchPaid(v1::PaymentRequirement matched);
  // 402: v1 JSON body (OpenAI error + accepts) and the v2 PAYMENT-REQUIRED header.
  void AnswerPaymentRequired(const std::vector<v1::PaymentRequirement>& offers,
                             std::string_view code, std::string_view message,
                             std::string_view header_error);
  // 402 after a settlement that did not succeed, with the payment-response header (success:false).
  void AnswerSettleFailed(const v1::SettlePaymentResponse& settle);
  // 503 payment_unavailable (fail closed).
  void PaymentUnavailable(const absl::Status& status, std::string_view step);
  // What the ledger is charged for a provider cost: min(cost, the paid model cost) + fee.
  MicroUsd Charged(MicroUsd provider_cost) const;
  v1::SettlePaymentRequest SettleRequest(MicroUsd charged) const;
  // Records a successful settlement: the receipt for p402_metadata and the payment-response
  // headers of the answer. Before the response starts.
  void Settled(const v1::SettlePaymentResponse& settle, MicroUsd charged);
  void SettleCompletion(v1::RouteResponse r);
  void OnCompletionSettled(absl::StatusOr<v1::SettlePaymentResponse> result,
                           const v1::RouteResponse& r, MicroUsd charged);
  // (chat_stream.cc) Paid stream: true when `event` was taken (held until the settlement
  // answered, or dropped); false when it should be relayed now. The first event starts
  // SettlePayment.
  bool HoldUntilSettled(const v1::StreamRouteResponse& event);
  // Paid stream: true when OnDone was taken (held or nothing left to do).
  bool HoldDoneUntilSettled(const absl::Status& status);
  void OnStreamSettled(absl::StatusOr<v1::SettlePaymentResponse> result, MicroUsd charged);
  // Drops the payment's claim (fire and forget, logged): the payer is not charged.
  void ReleasePayment(std::string_view reason);

  // --- chat_prepaid.cc: prepaid balance (keyed requests with a settlement client).
  // HoldBalance(hold id = reservation id, amount = reservation amount) -> OnHeld -> Dispatch, or
  // 402 insufficient_balance / 503 payment_unavailable (reservation released).
  void HoldPrepaid();
  void OnHeld(absl::StatusOr<v1::HoldBalanceResponse> result);
  // Fire and forget, retried (ChatPipeline::PrepaidRetries); at most one of them per hold, and
  // only when a hold was taken.
  void CaptureHold(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
                   const v1::ModelRef& model);
  void ReleaseHold(std::string_view reason);

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

  // x402 (chat_payment.cc). Written on the step chain before routing (or, for a stream's
  // receipt and headers, under mu_ before the first event is relayed), read-only afterwards.
  bool paid_ = false;
  int payment_version_ = 0;
  std::string payment_json_;  // the decoded payload, re-serialised
  std::vector<v1::PaymentRequirement> offers_;
  v1::PaymentRequirement matched_;
  std::optional<openai::PaymentReceipt> receipt_;
  // The payment-response headers, added to ResponseHeaders() once settled.
  HeaderList payment_headers_;

  // Prepaid: the hold taken on the caller's balance ("" = none: postpaid or paid). Written on the
  // step chain before routing, read-only afterwards; hold_finished_ makes capture and release of
  // it mutually exclusive (the first wins).
  std::string hold_id_;
  std::atomic<bool> hold_finished_{false};

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
  // Paid stream: kNone until the first router event, kSettling while SettlePayment runs (events
  // and OnDone are held), kSettled once they may be relayed, kDropped when the settlement failed
  // (answered 402/503) or the client left before it started (released).
  enum class StreamSettle { kNone, kSettling, kSettled, kDropped };
  StreamSettle stream_settle_ ABSL_GUARDED_BY(mu_) = StreamSettle::kNone;
  std::vector<v1::StreamRouteResponse> held_events_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> held_done_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::edge
