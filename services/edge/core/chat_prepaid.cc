// Prepaid balances in a chat exchange (chat_exchange.h, settlement.proto HoldBalance): after
// policy admitted a keyed request, its worst case (+ fee) is held on the caller's prepaid account
// before dispatch (refused with 402 insufficient_balance when it does not fit; billed as before
// when the account was never topped up), and the actual cost is captured -- or the hold
// released -- when the request ends, retried a few times off the response path.
#include <chrono>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {

namespace {

using PrepaidRetries = ChatPipeline::PrepaidRetries;
constexpr int kPrepaidRetries = 3;
constexpr std::chrono::milliseconds kPrepaidRetryDelay{500};

// One fire-and-forget settlement call (CaptureHold or ReleaseHold) and how to read its answer.
template <typename Req, typename Resp>
struct PrepaidOp {
  void (SettlementClient::*method)(const Req&, Callback<Resp>);
  bool (Resp::*succeeded)() const;  // captured() / released()
  std::string_view ok_label;
  std::string_view failed_label;
};

// Sends `req` and retries it (kPrepaidRetries times, kPrepaidRetryDelay apart) while the call
// fails. A definitive "no" (hold unknown, or already finished the other way) is not retried.
// Holds only the shared retry state and a copy of the request, never the exchange.
template <typename Req, typename Resp>
void SendPrepaid(std::shared_ptr<PrepaidRetries> r, PrepaidOp<Req, Resp> op,
                 std::shared_ptr<const Req> req, int attempt) {
  (r->settlement->*op.method)(*req, [r, op, req, attempt](absl::StatusOr<Resp> result) {
    absl::MutexLock lock(&r->mu);
    if (r->stopped) {
      P402_LOG(kWarn, "prepaid hold call answered after shutdown")
          .RequestId(req->meta().request_id())
          .Field("hold_id", req->hold_id())
          .Field("op", op.ok_label)
          .Field("ok", result.ok() && ((*result).*op.succeeded)());
      return;
    }
    if (result.ok()) {
      bool done = ((*result).*op.succeeded)();
      r->metrics.CountPrepaid(done ? op.ok_label : op.failed_label);
      if (!done) {
        P402_LOG(kWarn, "prepaid hold not finished: unknown or finished the other way")
            .RequestId(req->meta().request_id())
            .Field("hold_id", req->hold_id())
            .Field("outcome", op.failed_label);
      }
      return;
    }
    if (attempt < kPrepaidRetries) {
      // Under mu: Stop cannot return while a retry is being scheduled. Never runs inline.
      r->scheduler.RunAfter(kPrepaidRetryDelay, [r, op, req, attempt] {
        {
          absl::MutexLock lock(&r->mu);
          if (r->stopped) {
            P402_LOG(kWarn, "prepaid hold retry dropped at shutdown; the hold stays")
                .RequestId(req->meta().request_id())
                .Field("hold_id", req->hold_id())
                .Field("outcome", op.failed_label);
            return;
          }
        }
        SendPrepaid(r, op, req, attempt + 1);
      });
      return;
    }
    // Known gap: the hold stays in the ledger until reconciled by hand.
    r->metrics.CountPrepaid(op.failed_label);
    P402_LOG(kWarn, "prepaid hold call given up; the hold stays in the ledger")
        .RequestId(req->meta().request_id())
        .Field("hold_id", req->hold_id())
        .Field("outcome", op.failed_label)
        .Field("error", MessageOf(result.status()));
  });
}

void FillMeta(v1::RequestMeta* meta, const std::string& request_id,
              const v1::AuthorizeResponse& auth) {
  meta->set_request_id(request_id);
  meta->set_tenant_id(auth.tenant_id());
  meta->set_session_id(auth.session_id());
}

}  // namespace

void ChatExchange::HoldPrepaid() {
  const v1::Reservation& reservation = auth_.reservation();
  // Nothing to hold against without a reservation (HoldBalance needs an id and an amount > 0).
  if (p_.options_.settlement == nullptr || paid_ || reservation.id().empty() ||
      reservation.amount_micro_usd() <= 0) {
    Dispatch();
    return;
  }
  v1::HoldBalanceRequest req;
  FillMeta(req.mutable_meta(), call_.request_id, auth_);
  req.set_hold_id(reservation.id());
  req.set_amount_micro_usd(reservation.amount_micro_usd());
  auto self = shared_from_this();
  p_.options_.settlement->HoldBalance(req, [self](absl::StatusOr<v1::HoldBalanceResponse> result) {
    self->OnHeld(std::move(result));
  });
}

void ChatExchange::OnHeld(absl::StatusOr<v1::HoldBalanceResponse> result) {
  if (!result.ok()) {
    // Fail closed: a prepaid account is never spent unchecked.
    p_.metrics_.CountPrepaid("unavailable");
    p_.metrics_.CountChat("payment_unavailable");
    Release("payment_unavailable");
    P402_LOG(kWarn, "HoldBalance failed")
        .RequestId(call_.request_id)
        .Field("error", MessageOf(result.status()));
    Fail({.status = 503,
          .type = "server_error",
          .code = "payment_unavailable",
          .message = "The payment service is unavailable; the request was not processed and "
                     "nothing was charged. Retry later."});
    return;
  }
  if (result->held()) {
    hold_id_ = auth_.reservation().id();
    p_.metrics_.CountPrepaid("held");
    Dispatch();
    return;
  }
  if (result->reason() == "insufficient_balance") {
    p_.metrics_.CountPrepaid("insufficient");
    p_.metrics_.CountChat("insufficient_balance");
    Release("insufficient_balance");
    Fail({.status = 402,
          .type = "insufficient_quota",
          .code = "insufficient_balance",
          .message = "Your prepaid balance ($" + FormatUsd(result->balance_micro_usd()) +
                     ") does not cover this request's worst-case cost ($" +
                     FormatUsd(auth_.reservation().amount_micro_usd()) +
                     " plus fee). Top up your balance via POST /v2/topup and retry."});
    return;
  }
  // "no_prepaid_account" (or a reason this edge does not know): billed as before.
  p_.metrics_.CountPrepaid("postpaid");
  Dispatch();
}

void ChatExchange::CaptureHold(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
                               const v1::ModelRef& model) {
  if (hold_id_.empty() || hold_finished_.exchange(true)) {
    return;
  }
  auto req = std::make_shared<v1::CaptureHoldRequest>();
  FillMeta(req->mutable_meta(), call_.request_id, auth_);
  req->set_hold_id(hold_id_);
  req->set_cost_micro_usd(std::max<MicroUsd>(cost.total_micro_usd(), 0));
  *req->mutable_model() = model;
  *req->mutable_usage() = usage;
  SendPrepaid<v1::CaptureHoldRequest, v1::CaptureHoldResponse>(
      p_.prepaid_,
      {&SettlementClient::CaptureHold, &v1::CaptureHoldResponse::captured, "captured",
       "capture_failed"},
      std::move(req), 0);
}

void ChatExchange::ReleaseHold(std::string_view reason) {
  if (hold_id_.empty() || hold_finished_.exchange(true)) {
    return;
  }
  auto req = std::make_shared<v1::ReleaseHoldRequest>();
  FillMeta(req->mutable_meta(), call_.request_id, auth_);
  req->set_hold_id(hold_id_);
  req->set_reason(std::string(reason));
  SendPrepaid<v1::ReleaseHoldRequest, v1::ReleaseHoldResponse>(
      p_.prepaid_,
      {&SettlementClient::ReleaseHold, &v1::ReleaseHoldResponse::released, "released",
       "release_failed"},
      std::move(req), 0);
}

}  // namespace p402::edge
