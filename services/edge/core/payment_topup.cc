// POST /v2/topup: a prepaid top-up paid with x402 (docs/PAYMENTS_API.md "Top-up").
//
// Without a payment header the answer is a 402 carrying one offer for exactly the amount, shaped
// like the chat 402 (x402 v1 JSON body + v2 PAYMENT-REQUIRED header). The paid retry recomputes
// the same offer (GetPaymentRequirements is deterministic for the same amount, resource and
// description) and hands it to Settlement.TopUp, which verifies, settles and credits.
#include <optional>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/x402/codec.h"
#include "libs/x402/network.h"
#include "libs/x402/payload.h"
#include "libs/x402/reasons.h"
#include "services/edge/core/payment_exchange.h"
#include "services/edge/core/payment_json.h"

namespace p402::edge::payment_internal {
namespace {

constexpr std::string_view kDescription = "P402 prepaid top-up";

// The offer in both protocol versions: the service builds the v2 one; v1 differs only in the
// network's spelling (nullopt when the chain has no v1 name: v1 clients cannot pay there).
struct Offer {
  v1::PaymentRequirement v2;
  std::optional<v1::PaymentRequirement> v1;
};

Offer MakeOffer(const v1::PaymentRequirement& v2) {
  Offer offer{.v2 = v2, .v1 = std::nullopt};
  absl::StatusOr<uint64_t> chain = x402::ChainIdOfNetwork(v2.network());
  if (chain.ok()) {
    if (std::optional<std::string> name = x402::NetworkForVersion(*chain, 1)) {
      offer.v1 = v2;
      offer.v1->set_network(*name);
    }
  }
  return offer;
}

// A 402 with the offer: the v1 body (also an OpenAI error object with `code`) and the v2
// PAYMENT-REQUIRED header whose `error` is "Payment required" or the failure reason.
PaymentReply PaymentRequired(const Offer& offer, std::string_view code, std::string_view message) {
  std::vector<v1::PaymentRequirement> v1_accepts;
  if (offer.v1) v1_accepts.push_back(*offer.v1);
  PaymentReply reply{.status = 402,
                     .body = x402::EncodePaymentRequiredBodyV1(v1_accepts, code, message),
                     .headers = {}};
  std::string error = code == "payment_required" ? "Payment required" : std::string(code);
  reply.headers.emplace_back(std::string(x402::kHeaderPaymentRequired),
                             x402::EncodePaymentRequiredHeaderV2({offer.v2}, error));
  reply.headers.emplace_back("cache-control", "no-store");
  return reply;
}

std::string ResponseHeaderName(int version) {
  return std::string(version == 1 ? x402::kHeaderPaymentResponseV1
                                  : x402::kHeaderPaymentResponseV2);
}

void Credit(const Ex& ex, const Offer& offer, const std::string& session_id) {
  // PAYMENT-SIGNATURE (v2) wins when a client sent both.
  const std::string& header =
      !ex->call.payment_v2.empty() ? ex->call.payment_v2 : ex->call.payment_v1;
  absl::StatusOr<x402::PaymentPayload> payload = x402::DecodePaymentHeader(header);
  if (!payload.ok()) {
    std::string reason = ReasonOf(payload.status()).value_or(std::string(x402::kInvalidPayload));
    return ex->Finish(PaymentRequired(offer, reason, MessageOf(payload.status())));
  }
  int version = payload->version;
  if (version == 1 && !offer.v1) {
    return ex->Finish(
        PaymentRequired(offer, x402::kNetworkMismatch,
                        "The top-up network has no x402 v1 name; pay with an x402 v2 client."));
  }
  v1::TopUpRequest req;
  *req.mutable_meta() = ex->Meta(session_id);
  req.set_session_id(session_id);
  req.set_payment_payload_json(payload->json);
  *req.mutable_requirement() = version == 1 ? *offer.v1 : offer.v2;
  ex->settlement.TopUp(req, [ex, offer, session_id, version](absl::StatusOr<v1::TopUpResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    const v1::SettlePaymentResponse& settle = r->settlement();
    if (!settle.success()) {
      std::string reason = settle.error_reason().empty() ? std::string(x402::kUnexpectedSettleError)
                                                         : settle.error_reason();
      std::string message = settle.error_message().empty()
                                ? "The top-up payment was not settled (" + reason + ")."
                                : settle.error_message();
      P402_LOG(kInfo, "top-up payment refused")
          .RequestId(ex->call.request_id)
          .Field("reason", reason)
          .Field("transaction", settle.transaction());
      PaymentReply reply = PaymentRequired(offer, reason, message);
      reply.headers.emplace_back(ResponseHeaderName(version),
                                 x402::EncodePaymentResponseHeader(settle));
      return ex->Finish(std::move(reply));
    }
    PaymentReply reply = Json(200, TopUpJson(*r, session_id));
    reply.headers.emplace_back(ResponseHeaderName(version),
                               x402::EncodePaymentResponseHeader(settle));
    reply.headers.emplace_back("cache-control", "private");
    ex->Finish(std::move(reply));
  });
}

void Offer402OrCredit(const Ex& ex, MicroUsd amount, const std::string& session_id) {
  v1::GetPaymentRequirementsRequest req;
  *req.mutable_meta() = ex->Meta(session_id);
  req.set_resource(ex->call.resource_url);
  v1::ModeCost* cost = req.add_mode_costs();
  cost->set_mode(v1::ROUTING_MODE_UNSPECIFIED);
  cost->set_worst_case_micro_usd(amount);
  req.set_x402_version(2);
  req.set_description(std::string(kDescription));
  req.set_top_up(true);  // no platform fee, no mode in extra
  ex->settlement.GetPaymentRequirements(
      req, [ex, amount, session_id](absl::StatusOr<v1::GetPaymentRequirementsResponse> r) {
        if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
        if (r->accepts_size() != 1) {
          return ex->Finish(SettlementError(
              absl::InternalError("GetPaymentRequirements returned " +
                                  std::to_string(r->accepts_size()) + " offers for a top-up"),
              ex->call.request_id));
        }
        Offer offer = MakeOffer(r->accepts(0));
        if (ex->call.payment_v1.empty() && ex->call.payment_v2.empty()) {
          return ex->Finish(PaymentRequired(
              offer, "payment_required",
              "Top-up of " + FormatUsd(amount) +
                  " USD: pay the offer in 'accepts' (x402) and send the payment in the "
                  "X-PAYMENT or PAYMENT-SIGNATURE header with the same request."));
        }
        Credit(ex, offer, session_id);
      });
}

}  // namespace

void TopUp(const Ex& ex) {
  absl::StatusOr<TopUpBody> body = ParseTopUpBody(ex->call.body);
  if (!body.ok()) return ex->Finish(BadRequest(body.status()));
  MicroUsd amount = body->amount_micro_usd;
  std::string session_id = body->session_id;
  if (!ex->token_session_id.empty()) {
    if (!session_id.empty() && session_id != ex->token_session_id) {
      return ex->Finish(Error(403, "permission_error", "session_mismatch",
                              "A session token can only top up its own session."));
    }
    return Offer402OrCredit(ex, amount, ex->token_session_id);
  }
  if (session_id.empty()) {
    return Offer402OrCredit(ex, amount, "");
  }
  // Money is about to move: make sure the session exists in this tenant before offering, so a
  // typo never strands a credit on an account nobody can spend from.
  v1::GetSessionRequest get;
  get.set_tenant_id(ex->tenant_id);
  get.set_session_id(session_id);
  ex->admin.GetSession(
      ex->call.request_id, get, [ex, amount, session_id](absl::StatusOr<v1::GetSessionResponse> r) {
        if (r.ok()) return Offer402OrCredit(ex, amount, session_id);
        if (r.status().code() == absl::StatusCode::kNotFound ||
            r.status().code() == absl::StatusCode::kInvalidArgument) {
          return ex->Finish(Error(404, "not_found_error", "session_not_found",
                                  "No session with id '" + session_id + "'.", "session_id"));
        }
        ex->Finish(PolicyError(r.status(), ex->call.request_id));
      });
}

}  // namespace p402::edge::payment_internal
