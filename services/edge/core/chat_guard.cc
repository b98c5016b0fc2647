// The billing-guard parts of a chat exchange (chat_exchange.h): waiting for an approval,
// watching a session's stream, cutting it, and billing what was delivered when no StreamEnd
// comes.
#include <algorithm>
#include <limits>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {
namespace {

// What the client reads when the edge stops a session's stream.
std::string CutMessage(std::string_view reason) {
  if (reason == "session_revoked") {
    return "The agent session was revoked; the stream was stopped.";
  }
  if (reason == "session_expired") {
    return "The agent session expired; the stream was stopped.";
  }
  if (reason == "tenant_paused") {
    return "All traffic of this account was paused; the stream was stopped.";
  }
  return "The request may no longer spend (" + std::string(reason) + "); the stream was stopped.";
}

// Chat outcome label for a cut (the reason comes from another service: keep the set closed).
std::string_view CutOutcome(std::string_view reason) {
  for (std::string_view known :
       {"session_revoked", "session_expired", "tenant_paused", "reservation_finalized"}) {
    if (reason == known) return known;
  }
  return "stream_cut";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Approval hold. Nothing is reserved while a request is held (policy holds no budget for it);
// the re-authorization with approval_id reserves as usual.

void ChatExchange::Hold() {
  approval_ = auth_.approval();
  int64_t now = NowUnixMs();
  hold_deadline_unix_ms_ = now + p_.options_.approval_max_wait.count();
  if (approval_.expires_unix_ms() > 0) {
    hold_deadline_unix_ms_ = std::min(hold_deadline_unix_ms_, approval_.expires_unix_ms());
  }
  P402_LOG(kInfo, "chat request held for approval")
      .RequestId(call_.request_id)
      .Field("approval_id", approval_.id())
      .Field("wait_ms", hold_deadline_unix_ms_ - now);
  WatchClient();
  if (client_gone_) {
    EndHoldClientGone();
    return;
  }
  if (request_.chat.stream()) {
    // Start the SSE response now so clients and proxies see progress instead of an idle socket.
    absl::MutexLock lock(&mu_);
    StartEventStreamLocked();
  }
  WriteAwaitingComment();
  ScheduleApprovalPoll();
}

void ChatExchange::ScheduleApprovalPoll() {
  // The timer owns the exchange during the hold: nothing else does.
  p_.scheduler_.RunAfter(p_.options_.approval_poll_interval,
                         [self = shared_from_this()] { self->PollApproval(); });
}

void ChatExchange::PollApproval() {
  if (client_gone_) {
    EndHoldClientGone();
    return;
  }
  if (NowUnixMs() >= hold_deadline_unix_ms_) {
    EndHold("timeout", ApprovalError("approval_timeout", ""));
    return;
  }
  v1::GetApprovalRequest req;
  req.set_tenant_id(auth_.tenant_id());
  req.set_approval_id(approval_.id());
  auto self = shared_from_this();
  p_.policy_.GetApproval(call_.request_id, req,
                         [self](absl::StatusOr<v1::GetApprovalResponse> result) {
                           self->OnApproval(std::move(result));
                         });
}

void ChatExchange::OnApproval(absl::StatusOr<v1::GetApprovalResponse> result) {
  if (client_gone_) {
    EndHoldClientGone();
    return;
  }
  bool past_deadline = NowUnixMs() >= hold_deadline_unix_ms_;
  v1::ApprovalStatus status =
      result.ok() ? result->approval().status() : v1::APPROVAL_STATUS_UNSPECIFIED;
  switch (status) {
    case v1::APPROVAL_STATUS_APPROVED:
      p_.metrics_.CountApprovalWait("approved");
      P402_LOG(kInfo, "approval granted")
          .RequestId(call_.request_id)
          .Field("approval_id", approval_.id());
      authorize_.set_approval_id(approval_.id());
      Authorize();
      return;
    case v1::APPROVAL_STATUS_DENIED: {
      std::string message = "The request needed approval and it was denied";
      const std::string& why = result->approval().decision_reason();
      message += why.empty() ? "." : ": " + why;
      EndHold("denied", ApprovalError("approval_denied", message));
      return;
    }
    case v1::APPROVAL_STATUS_EXPIRED:
      EndHold("timeout", ApprovalError("approval_timeout", ""));
      return;
    case v1::APPROVAL_STATUS_USED:
      // Used by another request with the same approval: this one may not spend on it.
      EndHold("denied",
              ApprovalError("approval_denied", "The approval for this request was already used."));
      return;
    default:
      // PENDING, or the poll failed (kept polling until the deadline: a policy blip must not
      // deny a request an operator is about to approve).
      if (!result.ok()) {
        P402_LOG(kWarn, "approval poll failed")
            .RequestId(call_.request_id)
            .Field("error", MessageOf(result.status()));
      }
      if (past_deadline) {
        EndHold("timeout", ApprovalError("approval_timeout", ""));
        return;
      }
      WriteAwaitingComment();
      ScheduleApprovalPoll();
      return;
  }
}

void ChatExchange::WriteAwaitingComment() {
  absl::MutexLock lock(&mu_);
  if (sse_started_ && !ended_) {
    // An SSE comment: ignored by clients, but it keeps proxies and idle timeouts from closing
    // the connection and shows the wait.
    sink_->WriteEvent(": awaiting approval " + approval_.id() + "\n\n");
  }
}

void ChatExchange::EndHold(std::string_view outcome, const HttpError& e) {
  p_.metrics_.CountApprovalWait(outcome);
  p_.metrics_.CountChat("denied");
  Fail(e);
}

void ChatExchange::EndHoldClientGone() {
  p_.metrics_.CountApprovalWait("client_gone");
  p_.metrics_.CountChat("client_gone");
  P402_LOG(kInfo, "client left while held for approval")
      .RequestId(call_.request_id)
      .Field("approval_id", approval_.id());
  absl::MutexLock lock(&mu_);
  ended_ = true;
}

// ---------------------------------------------------------------------------------------------
// Session streams.

void ChatExchange::WatchSession() {
  if (auth_.session_id().empty()) {
    return;
  }
  absl::MutexLock lock(&mu_);
  if (ended_) {
    return;
  }
  if (!auth_.reservation().id().empty()) {
    ScheduleReservationCheck();
  }
  if (auth_.session_expires_unix_ms() > 0) {
    // Cut at expiry without waiting for the next poll.
    int64_t delay = std::max<int64_t>(auth_.session_expires_unix_ms() - NowUnixMs(), 0);
    expiry_timer_ =
        p_.scheduler_.RunAfter(std::chrono::milliseconds(delay), [weak = weak_from_this()] {
          if (auto ex = weak.lock()) ex->CutStream("session_expired");
        });
  }
}

void ChatExchange::ScheduleReservationCheck() {
  check_timer_ =
      p_.scheduler_.RunAfter(p_.options_.reservation_check_interval, [weak = weak_from_this()] {
        if (auto ex = weak.lock()) ex->CheckReservation();
      });
}

void ChatExchange::CheckReservation() {
  {
    absl::MutexLock lock(&mu_);
    check_timer_ = 0;
    if (ended_) {
      return;
    }
  }
  v1::CheckReservationRequest req;
  req.set_reservation_id(auth_.reservation().id());
  auto self = shared_from_this();
  p_.policy_.CheckReservation(call_.request_id, req,
                              [self](absl::StatusOr<v1::CheckReservationResponse> result) {
                                self->OnReservationChecked(std::move(result));
                              });
}

void ChatExchange::OnReservationChecked(absl::StatusOr<v1::CheckReservationResponse> result) {
  if (result.ok() && !result->active()) {
    CutStream(result->reason().empty() ? "reservation_inactive" : result->reason());
    return;
  }
  if (!result.ok()) {
    // Fail open for this check only: the reservation still caps what the stream can spend.
    p_.metrics_.ReservationCheckFailed();
    P402_LOG(kWarn, "reservation check failed")
        .RequestId(call_.request_id)
        .Field("error", MessageOf(result.status()));
  }
  absl::MutexLock lock(&mu_);
  if (!ended_) {
    ScheduleReservationCheck();
  }
}

void ChatExchange::CutStream(std::string reason) {
  std::string message = CutMessage(reason);
  absl::ReleasableMutexLock lock(&mu_);
  if (ended_) {
    return;
  }
  ended_ = true;
  cut_ = true;
  CancelTimersLocked();
  p_.metrics_.CountStreamCut(reason);
  P402_LOG(kInfo, "stream stopped by the billing guard")
      .RequestId(call_.request_id)
      .Field("reason", reason)
      .Field("session_id", auth_.session_id());
  if (!first_event_) {
    // The provider has not answered yet: nothing delivered, nothing to bill.
    lock.Release();
    CancelRouterStream();
    Release(reason);
    p_.metrics_.CountChat(CutOutcome(reason));
    Fail({.status = 403, .type = "permission_error", .code = reason, .message = message});
    return;
  }
  v1::TokenUsage usage;
  v1::CostBreakdown cost;
  EndWithEstimateLocked("permission_error", reason, message, usage, cost);
  v1::ModelRef model = decision_.chosen();
  sink_->Finish();
  lock.Release();
  // After Cancel the router sends no StreamEnd (hence no usage): the estimate is the bill.
  CancelRouterStream();
  Commit(cost, usage, model);
  p_.metrics_.CountChat(CutOutcome(reason));
  p_.metrics_.CountRequest(kChatRouteLabel, 200);
  p_.metrics_.ObserveLatency(ElapsedMs() / 1000.0);
}

void ChatExchange::EndWithEstimateLocked(std::string_view type, std::string_view code,
                                         std::string_view message, v1::TokenUsage& usage,
                                         v1::CostBreakdown& cost) {
  StartEventStreamLocked();
  DeliveredEstimate(usage, cost);
  openai::P402Metadata meta = Metadata(decision_, cost, usage);
  meta.cost_estimated = true;
  std::string frame;
  if (request_.chat.include_usage()) {
    openai::EncodeChunk(ChunkHeader(), nullptr, &usage, nullptr, frame);
  }
  openai::EncodeStreamError(message, type, code, &meta, frame);
  openai::EncodeDone(frame);
  sink_->WriteEvent(std::move(frame));
}

// Delivered = prompt estimate (the provider read the whole prompt) + the libs/openai estimate
// of every text, refusal and tool-call name/argument delta forwarded, at the catalog prices of
// the model the router chose. Hidden reasoning tokens are not visible in deltas and are not
// counted; the estimator's upward bias on text (~4 chars/token real vs 3 counted) covers part
// of that. Never more than the reservation; when the model's price is unknown to the edge's
// catalog copy, the reservation itself (the router could not have spent more).
void ChatExchange::DeliveredEstimate(v1::TokenUsage& usage, v1::CostBreakdown& cost) const {
  usage.set_input_tokens(input_tokens_);
  usage.set_output_tokens(delivered_.tokens());
  usage.set_estimated(true);
  cost.set_estimated(true);
  const v1::ModelInfo* model = nullptr;
  const v1::ModelRef& chosen = decision_.chosen();
  if (catalog_ != nullptr && !chosen.model().empty()) {
    model = catalog_->Find(chosen.provider() + "/" + chosen.model());
  }
  if (model == nullptr) {
    model = model_;
  }
  MicroUsd reserved = std::max<MicroUsd>(auth_.reservation().amount_micro_usd(), 0);
  MicroUsd total = reserved;
  if (model != nullptr) {
    *cost.mutable_prices() = model->prices();
    MicroUsd in = TokenCost(usage.input_tokens(), model->prices().input_per_mtok_micro_usd());
    MicroUsd out = TokenCost(usage.output_tokens(), model->prices().output_per_mtok_micro_usd());
    cost.set_input_micro_usd(in);
    cost.set_output_micro_usd(out);
    total = std::min(reserved, AddMoney(in, out).value_or(std::numeric_limits<MicroUsd>::max()));
  }
  cost.set_total_micro_usd(total);
  cost.set_direct_micro_usd(total);
}

void ChatExchange::CancelTimersLocked() {
  if (check_timer_ != 0) {
    p_.scheduler_.Cancel(check_timer_);
    check_timer_ = 0;
  }
  if (expiry_timer_ != 0) {
    p_.scheduler_.Cancel(expiry_timer_);
    expiry_timer_ = 0;
  }
}

}  // namespace p402::edge
