// x402 pay-per-call, the settlement half (chat_payment.cc has the offers and the verification):
// once the provider answered, SettlePayment with the provider cost (the settlement service adds
// the fee and keeps the rest of the paid worst case as the payer's credit), the payment-response
// header and p402_metadata.payment on success, a 402 without the completion when the settlement
// did not succeed, and ReleasePayment when nothing was served.
#include <algorithm>
#include <limits>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/openai/error_body.h"
#include "libs/x402/codec.h"
#include "libs/x402/reasons.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {

using payment_internal::kPaymentResponseV1Header;
using payment_internal::kPaymentResponseV2Header;
using payment_internal::ParseAmount;

void ChatExchange::AnswerSettleFailed(const v1::SettlePaymentResponse& settle) {
  std::string code = settle.error_reason().empty() ? std::string(x402::kUnexpectedSettleError)
                                                   : settle.error_reason();
  std::string message;
  if (code == x402::kSettlementPending) {
    // Not a failure of the payment: paying again would pay twice.
    message = "The payment was sent (transaction " + settle.transaction() +
              ") but is not confirmed yet, so the answer was not delivered. Do not pay again: "
              "retry with the same payment once it is confirmed.";
  } else {
    message = "The payment could not be settled (" + code + ")" +
              (settle.error_message().empty() ? "" : ": " + settle.error_message()) +
              "; the answer was not delivered.";
  }
  p_.metrics_.CountPayment("settle_failed");
  p_.metrics_.CountChat("payment_failed");
  HeaderList headers = ResponseHeaders();
  const char* name = payment_version_ == 1 ? kPaymentResponseV1Header : kPaymentResponseV2Header;
  headers.emplace_back(name, x402::EncodePaymentResponseHeader(settle));
  headers.emplace_back("access-control-expose-headers", name);
  p_.metrics_.CountRequest(kChatRouteLabel, 402);
  sink_->SendJson(402, openai::EncodeError(message, "payment_required", std::nullopt, code),
                  std::move(headers));
  P402_LOG(kWarn, "x402 settlement did not succeed")
      .RequestId(call_.request_id)
      .Field("reason", code)
      .Field("transaction", settle.transaction())
      .Field("error", settle.error_message());
}

MicroUsd ChatExchange::Charged(MicroUsd provider_cost) const {
  // The provider cost of the call, within the model cost the offer priced; the settlement service
  // adds P402's fee and caps the total at what was paid (the rest stays as the payer's credit).
  MicroUsd model_cost = std::max<MicroUsd>(matched_.model_cost_micro_usd(), 0);
  return std::clamp<MicroUsd>(provider_cost, 0, model_cost);
}

v1::SettlePaymentRequest ChatExchange::SettleRequest(MicroUsd charged) const {
  v1::SettlePaymentRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.mutable_meta()->set_received_unix_ms(NowUnixMs());
  req.set_payment_payload_json(payment_json_);
  *req.mutable_requirement() = matched_;
  req.set_charged_micro_usd(charged);
  return req;
}

void ChatExchange::Settled(const v1::SettlePaymentResponse& settle, MicroUsd charged) {
  openai::PaymentReceipt receipt;
  receipt.transaction = settle.transaction();
  receipt.network = settle.network().empty() ? matched_.network() : settle.network();
  receipt.payer = settle.payer();
  receipt.amount_micro_usd =
      ParseAmount(settle.amount()).value_or(ParseAmount(matched_.amount()).value_or(0));
  // The settlement service's figures are authoritative (fee at the payer's tier, capped at the
  // amount); a replayed settlement (duplicate) reports none, then the edge's own view stands.
  if (settle.charged_micro_usd() > 0 || settle.credit_micro_usd() > 0) {
    receipt.charged_micro_usd = settle.charged_micro_usd();
    receipt.fee_micro_usd = settle.platform_fee_micro_usd();
    if (settle.credit_micro_usd() > 0) receipt.credit_micro_usd = settle.credit_micro_usd();
  } else {
    receipt.charged_micro_usd = charged;
    receipt.fee_micro_usd = 0;
  }
  receipt_ = std::move(receipt);
  const char* name = payment_version_ == 1 ? kPaymentResponseV1Header : kPaymentResponseV2Header;
  payment_headers_.emplace_back(name, x402::EncodePaymentResponseHeader(settle));
  payment_headers_.emplace_back("access-control-expose-headers", name);
  p_.metrics_.CountPayment("settled");
  P402_LOG(kInfo, "x402 payment settled")
      .RequestId(call_.request_id)
      .Field("transaction", settle.transaction())
      .Field("payer", settle.payer())
      .Field("charged_micro_usd", charged)
      .Field("duplicate", settle.duplicate());
}

void ChatExchange::SettleCompletion(v1::RouteResponse r) {
  MicroUsd charged = Charged(r.cost().total_micro_usd());
  auto routed = std::make_shared<const v1::RouteResponse>(std::move(r));
  auto self = shared_from_this();
  p_.options_.settlement->SettlePayment(
      SettleRequest(charged),
      [self, routed, charged](absl::StatusOr<v1::SettlePaymentResponse> result) {
        self->OnCompletionSettled(std::move(result), *routed, charged);
      });
}

void ChatExchange::OnCompletionSettled(absl::StatusOr<v1::SettlePaymentResponse> result,
                                       const v1::RouteResponse& r, MicroUsd charged) {
  // The provider cost was incurred whatever the settlement says.
  if (!result.ok()) {
    // The settlement may or may not have happened: the claim stays (the settlement service
    // reconciles it); the completion is not delivered unpaid.
    PaymentUnavailable(result.status(), "SettlePayment");
    return;
  }
  if (!result->success()) {
    AnswerSettleFailed(*result);
    return;
  }
  Settled(*result, charged);
  DeliverCompletion(r);
}

void ChatExchange::ReleasePayment(std::string_view reason) {
  if (!paid_ || p_.options_.settlement == nullptr) {
    return;
  }
  p_.metrics_.CountPayment("released");
  v1::ReleasePaymentRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.set_payment_payload_json(payment_json_);
  req.set_reason(std::string(reason));
  // Fire and forget: a claim nobody releases only blocks this payment until it expires.
  p_.options_.settlement->ReleasePayment(
      req, [request_id = call_.request_id,
            why = std::string(reason)](absl::StatusOr<v1::ReleasePaymentResponse> result) {
        if (!result.ok()) {
          P402_LOG(kWarn, "x402 payment release failed")
              .RequestId(request_id)
              .Field("reason", why)
              .Field("error", MessageOf(result.status()));
          return;
        }
        P402_LOG(kInfo, "x402 payment released")
            .RequestId(request_id)
            .Field("reason", why)
            .Field("released", result->released());
      });
}

}  // namespace p402::edge
