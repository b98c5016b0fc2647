// The streaming half of a chat exchange (chat_exchange.h): relaying the router's StreamRoute
// events as OpenAI SSE chunks, the end of a stream, the client going away, and the settlement
// hold of a paid (x402) stream.
#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {

void ChatExchange::OnEvent(const v1::StreamRouteResponse& event) {
  // A paid stream settles on the first event, before anything is sent (chat_payment.cc).
  if (paid_ && HoldUntilSettled(event)) {
    return;
  }
  RelayEvent(event);
}

void ChatExchange::OnDone(absl::Status status) {
  if (paid_ && HoldDoneUntilSettled(status)) {
    return;
  }
  FinishStream(std::move(status));
}

void ChatExchange::RelayEvent(const v1::StreamRouteResponse& event) {
  absl::ReleasableMutexLock lock(&mu_);
  if (ended_) {
    return;  // the edge ended the response (cut); late events are dropped
  }
  switch (event.event_case()) {
    case v1::StreamRouteResponse::kDecision:
      first_event_ = true;
      decision_ = event.decision();
      stream_model_ = event.decision().chosen().model();
      StartEventStreamLocked();
      return;
    case v1::StreamRouteResponse::kDelta: {
      first_event_ = true;
      StartEventStreamLocked();
      // Counted for the estimate the edge bills if it has to end the stream itself.
      const v1::ChatDelta& d = event.delta();
      delivered_.Add(d.content());
      delivered_.Add(d.refusal());
      for (const v1::ToolCall& call : d.tool_calls()) {
        delivered_.Add(call.name());
        delivered_.Add(call.arguments());
      }
      std::string frame;
      openai::EncodeChunk(ChunkHeader(), &d, nullptr, nullptr, frame);
      sink_->WriteEvent(std::move(frame));
      return;
    }
    case v1::StreamRouteResponse::kEnd: {
      const v1::StreamEnd& end = event.end();
      first_event_ = true;
      ended_ = true;
      CancelTimersLocked();
      StartEventStreamLocked();
      openai::P402Metadata meta = Metadata(end.decision(), end.cost(), end.usage());
      std::string frame;
      if (end.has_error() && !end.error().reason().empty()) {
        // Never a silent truncation: an explicit error event carrying the cost of what was
        // delivered, then [DONE].
        if (request_.chat.include_usage()) {
          openai::EncodeChunk(ChunkHeader(), nullptr, &end.usage(), nullptr, frame);
        }
        openai::EncodeStreamError(end.error().message(), "server_error", end.error().reason(),
                                  &meta, frame);
        p_.metrics_.CountChat(end.error().reason());
      } else {
        // The usage chunk (choices: []) carries p402_metadata; without include_usage an extra
        // empty-choices chunk does (SDKs accept both).
        openai::EncodeChunk(ChunkHeader(), nullptr,
                            request_.chat.include_usage() ? &end.usage() : nullptr, &meta, frame);
        p_.metrics_.CountChat("ok");
      }
      openai::EncodeDone(frame);
      sink_->WriteEvent(std::move(frame));
      lock.Release();
      Commit(end.cost(), end.usage(), end.decision().chosen());
      return;
    }
    default:
      return;
  }
}

void ChatExchange::FinishStream(absl::Status status) {
  absl::ReleasableMutexLock lock(&mu_);
  CancelTimersLocked();
  if (cut_) {
    return;  // CutStream already answered, committed and finished
  }
  if (!first_event_) {
    lock.Release();
    if (client_gone_) {
      // The client left before the first token: nobody to answer, nothing delivered. Not a
      // failure of ours (it used to be logged and counted as a 500 CANCELLED).
      Release("client_gone");
      ReleasePayment("client_gone");
      p_.metrics_.CountChat("client_gone");
      P402_LOG(kInfo, "client left before the first token").RequestId(call_.request_id);
      return;
    }
    // Failed before the first token: nothing was delivered. A normal HTTP error when nothing
    // was sent yet (a held stream gets an SSE error event instead).
    Release(status.ok() ? "empty_stream" : "provider_failed");
    ReleasePayment(status.ok() ? "empty_stream" : "provider_failed");
    p_.metrics_.CountChat("provider_error");
    FailStatus(status.ok() ? Internal("router ended the stream without events") : status);
    return;
  }
  bool commit = false;
  std::string_view outcome;
  v1::TokenUsage usage;
  v1::CostBreakdown cost;
  v1::ModelRef model;
  if (!ended_) {
    // Tokens went out but no StreamEnd came (the client left and the call was cancelled, or the
    // router went away): say so explicitly, never a silent truncation, and bill the estimate of
    // what was delivered (the provider charged for it).
    ended_ = true;
    outcome = client_gone_ ? "client_gone" : "stream_interrupted";
    std::string message =
        client_gone_ ? "The client went away." : "The stream was interrupted: " + MessageOf(status);
    EndWithEstimateLocked("server_error", outcome, message, usage, cost);
    model = decision_.chosen();
    commit = true;
  }
  lock.Release();
  if (commit) {
    Commit(cost, usage, model);
    p_.metrics_.CountChat(outcome);
  }
  p_.metrics_.CountRequest(kChatRouteLabel, 200);
  p_.metrics_.ObserveLatency(ElapsedMs() / 1000.0);
  sink_->Finish();
}

// ---------------------------------------------------------------------------------------------
// x402 paid streams (chat_payment.cc): settle on the router's first event, before the SSE
// response starts, holding events (and OnDone) meanwhile.

bool ChatExchange::HoldUntilSettled(const v1::StreamRouteResponse& event) {
  bool abandoned = false;
  {
    absl::MutexLock lock(&mu_);
    switch (stream_settle_) {
      case StreamSettle::kSettled:
        return false;
      case StreamSettle::kDropped:
        return true;
      case StreamSettle::kSettling:
        held_events_.push_back(event);
        return true;
      case StreamSettle::kNone:
        if (client_gone_) {
          stream_settle_ = StreamSettle::kDropped;
          abandoned = true;
        } else {
          stream_settle_ = StreamSettle::kSettling;
          held_events_.push_back(event);
        }
        break;
    }
  }
  if (abandoned) {
    // Nobody to deliver to: do not take the money.
    CancelRouterStream();
    ReleasePayment("client_gone");
    p_.metrics_.CountChat("client_gone");
    P402_LOG(kInfo, "client left before a paid stream was settled").RequestId(call_.request_id);
    return true;
  }
  // The stream's cost is unknown until its end: the ledger is charged the whole paid amount.
  MicroUsd charged = Charged(matched_.model_cost_micro_usd());
  auto self = shared_from_this();
  p_.options_.settlement->SettlePayment(
      SettleRequest(charged), [self, charged](absl::StatusOr<v1::SettlePaymentResponse> result) {
        self->OnStreamSettled(std::move(result), charged);
      });
  return true;
}

bool ChatExchange::HoldDoneUntilSettled(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  switch (stream_settle_) {
    case StreamSettle::kSettling:
      held_done_ = status;
      return true;
    case StreamSettle::kDropped:
      CancelTimersLocked();
      return true;  // answered (or abandoned) already
    default:
      return false;
  }
}

void ChatExchange::OnStreamSettled(absl::StatusOr<v1::SettlePaymentResponse> result,
                                   MicroUsd charged) {
  if (!result.ok() || !result->success()) {
    {
      absl::MutexLock lock(&mu_);
      stream_settle_ = StreamSettle::kDropped;
      held_events_.clear();
      held_done_.reset();
    }
    CancelRouterStream();
    if (!result.ok()) {
      PaymentUnavailable(result.status(), "SettlePayment");
    } else {
      AnswerSettleFailed(*result);
    }
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    // Before the first relayed event starts the SSE response with ResponseHeaders().
    Settled(*result, charged);
  }
  // Replay in order. Events arriving meanwhile queue behind (state still kSettling); the state
  // flips only with an empty queue.
  for (;;) {
    std::optional<v1::StreamRouteResponse> next;
    std::optional<absl::Status> done;
    {
      absl::MutexLock lock(&mu_);
      if (!held_events_.empty()) {
        next = std::move(held_events_.front());
        held_events_.erase(held_events_.begin());
      } else {
        stream_settle_ = StreamSettle::kSettled;
        done = std::move(held_done_);
        held_done_.reset();
      }
    }
    if (next) {
      RelayEvent(*next);
      continue;
    }
    if (done) {
      FinishStream(std::move(*done));
    }
    return;
  }
}

void ChatExchange::WatchClient() {
  if (watching_client_.exchange(true)) {
    return;
  }
  // May run inline (the client already left): OnClientGone takes no lock of ours.
  sink_->OnClientGone([weak = weak_from_this()] {
    if (auto ex = weak.lock()) {
      ex->OnClientGone();
    }
  });
}

void ChatExchange::OnClientGone() {
  client_gone_ = true;
  // Not inline: this may run inside a sink call made under mu_, and a gRPC cancel can run the
  // stream's OnDone (which takes mu_) on the calling thread.
  p_.scheduler_.RunAfter(std::chrono::milliseconds(0), [weak = weak_from_this()] {
    if (auto ex = weak.lock()) {
      ex->CancelRouterStream();
    }
  });
}

void ChatExchange::CancelRouterStream() {
  std::shared_ptr<RouteStream> stream;
  {
    absl::MutexLock lock(&stream_mu_);
    stream = stream_;
  }
  if (stream != nullptr) {
    stream->Cancel();
  }
}

}  // namespace p402::edge
