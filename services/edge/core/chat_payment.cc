// x402 pay-per-call for chat completions (chat_exchange.h; X402.md 1, 4). A request without an
// API key, when the edge has a settlement client:
//   no payment header -> Router.Quote -> Settlement.GetPaymentRequirements (v2) -> 402 with the v1
//     JSON body (also an OpenAI error) and the v2 PAYMENT-REQUIRED header;
//   X-PAYMENT (v1) / PAYMENT-SIGNATURE (v2) -> decode (shape only) -> Quote ->
//     GetPaymentRequirements (the payload's version) -> VerifyPayment(claim) -> route in the
//     matched offer's mode, spend limit = its model cost -> provider answered -> SettlePayment ->
//     the answer with X-PAYMENT-RESPONSE / PAYMENT-RESPONSE; the provider failed ->
//     ReleasePayment (nothing charged).
// A stream settles on the router's first event (the provider answered) and only then starts the
// SSE response, so the payment-response header goes out with the 200 headers.
//
// Deliberately NOT in this increment: policy Authorize/Commit for paid requests. There is no
// tenant or API key to authorize, so no guard rules, rate limits or reservations apply; the
// payment caps the spend (the router never exceeds the spend limit) and the settlement service
// books it in its ledger.
//
// Fail closed: any settlement call that fails answers 503 payment_unavailable; nothing is served
// unverified and nothing is delivered unsettled.
#include <algorithm>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/openai/error_body.h"
#include "libs/openai/p402_extension.h"
#include "libs/x402/codec.h"
#include "libs/x402/network.h"
#include "libs/x402/payload.h"
#include "libs/x402/reasons.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {
namespace {

constexpr std::string_view kPayMessage =
    "Payment required. Pay for this request with x402: answer one of the offers (the `accepts` "
    "list of this body for x402 v1, sent back in an X-PAYMENT header; the PAYMENT-REQUIRED header "
    "for x402 v2, sent back in a PAYMENT-SIGNATURE header), or use an API key (Authorization: "
    "Bearer YOUR_KEY).";

// Header names as sent (lowercase like the edge's other headers; HTTP names are
// case-insensitive).
constexpr char kPaymentRequiredHeader[] = "payment-required";

// The client's named mode first, then the others in a fixed order; without one (explicit model or
// custom weights) balanced leads.
std::vector<v1::RoutingMode> QuoteModes(v1::RoutingMode requested) {
  constexpr v1::RoutingMode kOrder[] = {v1::ROUTING_MODE_COST, v1::ROUTING_MODE_QUALITY,
                                        v1::ROUTING_MODE_SPEED, v1::ROUTING_MODE_BALANCED};
  bool named = std::find(std::begin(kOrder), std::end(kOrder), requested) != std::end(kOrder);
  if (!named) {
    return {v1::ROUTING_MODE_BALANCED, v1::ROUTING_MODE_COST, v1::ROUTING_MODE_QUALITY,
            v1::ROUTING_MODE_SPEED};
  }
  std::vector<v1::RoutingMode> modes{requested};
  for (v1::RoutingMode m : kOrder) {
    if (m != requested) modes.push_back(m);
  }
  return modes;
}

// The offers with their network in the form of x402 `version` (v1 legacy name, v2 CAIP-2).
// Offers whose chain has no name in that version (or whose network is unreadable) are left out:
// a v1 client cannot pay on a chain v1 has no name for.
std::vector<v1::PaymentRequirement> OffersForVersion(
    const std::vector<v1::PaymentRequirement>& offers, int version) {
  std::vector<v1::PaymentRequirement> out;
  out.reserve(offers.size());
  for (const v1::PaymentRequirement& offer : offers) {
    absl::StatusOr<uint64_t> chain = x402::ChainIdOfNetwork(offer.network());
    if (!chain.ok()) continue;
    std::optional<std::string> network = x402::NetworkForVersion(*chain, version);
    if (!network) continue;
    v1::PaymentRequirement copy = offer;
    copy.set_network(*network);
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

void ChatExchange::StartPaid() {
  // Only the delivered-token estimate of an interrupted stream uses the catalog; none is fine.
  catalog_ = p_.catalog_();
  input_tokens_ = openai::EstimatePromptTokens(request_.chat);
  auto self = shared_from_this();
  const std::string* header = nullptr;
  int header_version = 0;
  std::string_view header_name;
  // A client sends one of the two; should both come, the current protocol's wins.
  if (!call_.payment_v2.empty()) {
    header = &call_.payment_v2;
    header_version = 2;
    header_name = x402::kHeaderPaymentV2;
  } else if (!call_.payment_v1.empty()) {
    header = &call_.payment_v1;
    header_version = 1;
    header_name = x402::kHeaderPaymentV1;
  }
  if (header == nullptr) {
    FetchOffers(2, [self](std::vector<v1::PaymentRequirement> offers) {
      self->p_.metrics_.CountPayment("required");
      self->p_.metrics_.CountChat("payment_required");
      self->AnswerPaymentRequired(offers, "payment_required", kPayMessage, kPayMessage);
    });
    return;
  }
  absl::StatusOr<x402::PaymentPayload> payload = x402::DecodePaymentHeader(*header);
  std::string code;
  std::string message;
  if (!payload.ok()) {
    std::optional<std::string> reason = ReasonOf(payload.status());
    code = reason == x402::kInvalidX402Version ? std::string(x402::kInvalidX402Version)
                                               : std::string(x402::kInvalidPayload);
    message = "The " + std::string(header_name) +
              " header is not a valid x402 payment: " + MessageOf(payload.status());
  } else if (payload->version != header_version) {
    code = std::string(x402::kInvalidPayload);
    message = "The " + std::string(header_name) + " header carries an x402 version " +
              std::to_string(payload->version) + " payment; it takes version " +
              std::to_string(header_version) + " (X-PAYMENT: 1, PAYMENT-SIGNATURE: 2).";
  }
  if (!code.empty()) {
    P402_LOG(kInfo, "x402 payment header rejected")
        .RequestId(call_.request_id)
        .Field("code", code)
        .Field("error", message);
    // No Verify: the header is unreadable. Fresh offers so the client can pay properly.
    FetchOffers(2, [self, code, message](std::vector<v1::PaymentRequirement> offers) {
      self->p_.metrics_.CountPayment("invalid");
      self->p_.metrics_.CountChat("payment_invalid");
      self->AnswerPaymentRequired(offers, code, message, code);
    });
    return;
  }
  payment_version_ = payload->version;
  payment_json_ = std::move(payload->json);
  FetchOffers(payment_version_, [self](std::vector<v1::PaymentRequirement> offers) {
    self->VerifyPayment(std::move(offers));
  });
}

void ChatExchange::FetchOffers(int version, OffersNext next) {
  v1::QuoteRequest quote;
  quote.mutable_meta()->set_request_id(call_.request_id);
  quote.mutable_meta()->set_received_unix_ms(NowUnixMs());
  *quote.mutable_chat() = request_.chat;
  *quote.mutable_options() = request_.ext.routing;
  for (v1::RoutingMode mode : QuoteModes(request_.ext.routing.mode())) {
    quote.add_modes(mode);
  }
  auto self = shared_from_this();
  p_.router_.Quote(quote, [self, version, next = std::move(next)](
                              absl::StatusOr<v1::QuoteResponse> result) mutable {
    self->OnQuoted(std::move(result), version, std::move(next));
  });
}

void ChatExchange::OnQuoted(absl::StatusOr<v1::QuoteResponse> result, int version,
                            OffersNext next) {
  if (result.ok() && result->quotes_size() == 0) {
    result = WithReason(FailedPrecondition("No model can serve this request."), "no_candidate");
  }
  if (!result.ok()) {
    // The router's answer as for a keyed request (no_candidate -> 400, router down -> 503).
    p_.metrics_.CountChat("provider_error");
    FailStatus(result.status());
    return;
  }
  v1::GetPaymentRequirementsRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.mutable_meta()->set_received_unix_ms(NowUnixMs());
  req.set_resource(call_.resource_url);
  req.set_x402_version(version);
  for (const v1::ModeQuote& q : result->quotes()) {
    v1::ModeCost* cost = req.add_mode_costs();
    cost->set_mode(q.mode());
    *cost->mutable_model() = q.model();
    cost->set_worst_case_micro_usd(q.worst_case_micro_usd());
  }
  auto self = shared_from_this();
  p_.options_.settlement->GetPaymentRequirements(
      req, [self, next = std::move(next)](
               absl::StatusOr<v1::GetPaymentRequirementsResponse> offers) mutable {
        if (offers.ok() && offers->accepts_size() == 0) {
          offers = Unavailable("the settlement service offered no payment option");
        }
        if (!offers.ok() && ReasonOf(offers.status()) == "settlement_not_configured") {
          // The settlement service takes no payments (no recipient configured): x402 is off
          // for this deployment, so a request without a key is what it always was.
          self->FailMissingApiKey();
          return;
        }
        if (!offers.ok()) {
          self->PaymentUnavailable(offers.status(), "GetPaymentRequirements");
          return;
        }
        next(std::vector<v1::PaymentRequirement>(offers->accepts().begin(),
                                                 offers->accepts().end()));
      });
}

void ChatExchange::VerifyPayment(std::vector<v1::PaymentRequirement> offers) {
  offers_ = std::move(offers);
  v1::VerifyPaymentRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.mutable_meta()->set_received_unix_ms(NowUnixMs());
  req.set_payment_payload_json(payment_json_);
  for (const v1::PaymentRequirement& offer : offers_) {
    *req.add_accepted() = offer;
  }
  // Claim the nonce for this request: a concurrent second use of the payment is rejected.
  req.set_claim(true);
  auto self = shared_from_this();
  p_.options_.settlement->VerifyPayment(req,
                                        [self](absl::StatusOr<v1::VerifyPaymentResponse> result) {
                                          self->OnVerified(std::move(result));
                                        });
}

void ChatExchange::OnVerified(absl::StatusOr<v1::VerifyPaymentResponse> result) {
  if (!result.ok()) {
    PaymentUnavailable(result.status(), "VerifyPayment");
    return;
  }
  if (!result->valid()) {
    std::string code = result->invalid_reason().empty() ? std::string(x402::kInvalidPayload)
                                                        : result->invalid_reason();
    std::string message = result->invalid_message().empty()
                              ? "The payment was rejected (" + code + ")."
                              : "The payment was rejected: " + result->invalid_message();
    P402_LOG(kInfo, "x402 payment rejected")
        .RequestId(call_.request_id)
        .Field("reason", code)
        .Field("payer", result->payer());
    p_.metrics_.CountPayment("invalid");
    p_.metrics_.CountChat("payment_invalid");
    AnswerPaymentRequired(offers_, code, message, code);
    return;
  }
  v1::PaymentRequirement matched = result->matched();
  int index = result->matched_index();
  if (matched.scheme().empty() && index >= 0 && static_cast<size_t>(index) < offers_.size()) {
    matched = offers_[static_cast<size_t>(index)];
  }
  paid_ = true;  // from here on the claim is ours to settle or release
  if (matched.scheme().empty()) {
    // Valid but matched nothing we offered: a settlement bug; serve nothing, keep nothing.
    ReleasePayment("no_matched_offer");
    PaymentUnavailable(Internal("verify answered valid without a matched offer"), "VerifyPayment");
    return;
  }
  p_.metrics_.CountPayment("verified");
  P402_LOG(kInfo, "x402 payment verified")
      .RequestId(call_.request_id)
      .Field("payer", result->payer())
      .Field("amount", matched.amount())
      .Field("mode", openai::RoutingModeName(matched.mode()));
  DispatchPaid(std::move(matched));
}

void ChatExchange::DispatchPaid(v1::PaymentRequirement matched) {
  matched_ = std::move(matched);
  v1::RouteRequest route;
  v1::RequestMeta* meta = route.mutable_meta();
  meta->set_request_id(call_.request_id);
  meta->set_received_unix_ms(NowUnixMs());
  // The client's model field is kept; the paid mode replaces p402.mode (the router may then
  // pick another model, within the spend limit the price was computed from).
  *route.mutable_chat() = request_.chat;
  *route.mutable_options() = request_.ext.routing;
  if (matched_.mode() != v1::ROUTING_MODE_UNSPECIFIED) {
    route.mutable_options()->set_mode(matched_.mode());
    if (matched_.mode() != v1::ROUTING_MODE_CUSTOM) {
      route.mutable_options()->clear_weights();
    }
  }
  MicroUsd limit = std::max<MicroUsd>(matched_.model_cost_micro_usd(), 0);
  route.set_spend_limit_micro_usd(limit);
  // No policy reservation for a paid request: the paid model cost plays its role as the cap of
  // the delivered estimate of an interrupted stream (DeliveredEstimate). Without a reservation id
  // Release/Commit never reach policy.
  auth_.mutable_reservation()->set_amount_micro_usd(limit);
  SendRoute(route);
}

void ChatExchange::AnswerPaymentRequired(const std::vector<v1::PaymentRequirement>& offers,
                                         std::string_view code, std::string_view message,
                                         std::string_view header_error) {
  HeaderList headers = ResponseHeaders();
  headers.emplace_back(kPaymentRequiredHeader, x402::EncodePaymentRequiredHeaderV2(
                                                   OffersForVersion(offers, 2), header_error));
  headers.emplace_back("cache-control", "no-store");
  headers.emplace_back("access-control-expose-headers", kPaymentRequiredHeader);
  p_.metrics_.CountRequest(kChatRouteLabel, 402);
  sink_->SendJson(402,
                  x402::EncodePaymentRequiredBodyV1(OffersForVersion(offers, 1), code, message),
                  std::move(headers));
  P402_LOG(kInfo, "chat request answered 402 payment required")
      .RequestId(call_.request_id)
      .Field("code", code)
      .Field("offers", static_cast<int64_t>(offers.size()));
}

void ChatExchange::PaymentUnavailable(const absl::Status& status, std::string_view step) {
  p_.metrics_.CountPayment("unavailable");
  p_.metrics_.CountChat("payment_unavailable");
  P402_LOG(kWarn, "settlement call failed")
      .RequestId(call_.request_id)
      .Field("step", step)
      .Field("error", MessageOf(status));
  Fail({.status = 503,
        .type = "server_error",
        .code = "payment_unavailable",
        .message = "The payment service is unavailable; the request was not served. Retry "
                   "later."});
}

}  // namespace p402::edge
