#include "services/edge/core/payment_api.h"

#include <array>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/openai/error_body.h"
#include "libs/openai/error_param.h"
#include "libs/x402/codec.h"
#include "libs/x402/reasons.h"
#include "services/edge/core/payment_exchange.h"
#include "services/edge/core/payment_json.h"

namespace p402::edge {

namespace payment_internal {

v1::RequestMeta Exchange::Meta(std::string_view session_id) const {
  v1::RequestMeta meta;
  meta.set_request_id(call.request_id);
  meta.set_tenant_id(tenant_id);
  meta.set_api_key_id(api_key_id);
  meta.set_session_id(std::string(session_id));
  meta.set_received_unix_ms(received_unix_ms);
  return meta;
}

PaymentReply Json(int status, const json::Value& body) {
  return PaymentReply{.status = status, .body = body.Serialize(), .headers = {}};
}

PaymentReply Error(int status, std::string_view type, std::string_view code,
                   std::string_view message, std::optional<std::string> param) {
  return PaymentReply{
      .status = status,
      .body = openai::EncodeError(
          message, type, param ? std::optional<std::string_view>(*param) : std::nullopt, code),
      .headers = {}};
}

PaymentReply BadRequest(const absl::Status& status) {
  return Error(400, "invalid_request_error", ReasonOf(status).value_or("invalid_value"),
               MessageOf(status), openai::ParamOf(status));
}

PaymentReply SettlementError(const absl::Status& status, const std::string& request_id) {
  std::optional<std::string> reason = ReasonOf(status);
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return BadRequest(status);
    case absl::StatusCode::kNotFound:
      return Error(404, "not_found_error", reason.value_or("not_found"), MessageOf(status));
    case absl::StatusCode::kFailedPrecondition:
      // The only documented one: settlement_not_configured (no chain RPC / facilitator key).
      return Error(503, "server_error", reason.value_or("settlement_not_configured"),
                   MessageOf(status));
    case absl::StatusCode::kDeadlineExceeded:
      P402_LOG(kWarn, "payments call timed out at the settlement service").RequestId(request_id);
      return Error(504, "timeout", "settlement_timeout",
                   "The settlement service did not answer in time. A payment may still settle: "
                   "present the same payment again to get its result (it is never charged "
                   "twice).");
    default:
      P402_LOG(kWarn, "payments call failed: settlement service unavailable")
          .RequestId(request_id)
          .Field("code", absl::StatusCodeToString(status.code()))
          .Field("error", MessageOf(status));
      return Error(503, "server_error", "settlement_unavailable",
                   "The settlement service is unavailable. Please retry shortly.");
  }
}

PaymentReply PolicyError(const absl::Status& status, const std::string& request_id) {
  P402_LOG(kWarn, "payments call failed: policy service unavailable")
      .RequestId(request_id)
      .Field("code", absl::StatusCodeToString(status.code()))
      .Field("error", MessageOf(status));
  return Error(503, "server_error", "guard_unavailable",
               "The billing guard is unavailable. Please retry shortly.");
}

}  // namespace payment_internal

namespace {

using payment_internal::BadRequest;
using payment_internal::Error;
using payment_internal::Ex;
using payment_internal::Exchange;
using payment_internal::Json;
using payment_internal::PolicyError;
using payment_internal::SettlementError;
using payment_internal::TopUp;

// ---- Facilitator API (public) ----

// The reference facilitator answers 400 for a body it cannot read; `settle` picks the
// SettleResponse shape, else the VerifyResponse one.
PaymentReply UnreadableBody(const absl::Status& status, bool settle) {
  std::string reason = ReasonOf(status).value_or(std::string(x402::kInvalidPayload));
  std::string message = MessageOf(status);
  return PaymentReply{.status = 400,
                      .body = settle ? FacilitatorSettleError(reason, message)
                                     : FacilitatorVerifyError(reason, message),
                      .headers = {}};
}

void Verify(const Ex& ex) {
  absl::StatusOr<x402::FacilitatorRequest> req = x402::DecodeFacilitatorRequest(ex->call.body);
  if (!req.ok()) return ex->Finish(UnreadableBody(req.status(), /*settle=*/false));
  v1::VerifyPaymentRequest verify;
  *verify.mutable_meta() = ex->Meta();
  verify.set_payment_payload_json(std::move(req->payment_payload_json));
  *verify.add_accepted() = std::move(req->requirement);
  verify.set_claim(false);
  ex->settlement.VerifyPayment(verify, [ex](absl::StatusOr<v1::VerifyPaymentResponse> r) {
    if (r.ok()) {
      // 200 for valid and invalid alike, like the reference facilitator.
      return ex->Finish(PaymentReply{.status = 200, .body = x402::EncodeVerifyResponse(*r)});
    }
    if (r.status().code() == absl::StatusCode::kInvalidArgument) {
      return ex->Finish(UnreadableBody(WithReason(r.status(), x402::kInvalidPaymentRequirements),
                                       /*settle=*/false));
    }
    ex->Finish(SettlementError(r.status(), ex->call.request_id));
  });
}

void Settle(const Ex& ex) {
  absl::StatusOr<x402::FacilitatorRequest> req = x402::DecodeFacilitatorRequest(ex->call.body);
  if (!req.ok()) return ex->Finish(UnreadableBody(req.status(), /*settle=*/true));
  v1::SettlePaymentRequest settle;
  *settle.mutable_meta() = ex->Meta();
  settle.set_payment_payload_json(std::move(req->payment_payload_json));
  std::string network = req->requirement.network();
  *settle.mutable_requirement() = std::move(req->requirement);
  settle.set_charged_micro_usd(0);  // a third-party seller's payment: no P402 usage, no fee
  ex->settlement.SettlePayment(settle, [ex, network](absl::StatusOr<v1::SettlePaymentResponse> r) {
    if (r.ok()) {
      return ex->Finish(PaymentReply{.status = 200, .body = x402::EncodeSettleResponse(*r)});
    }
    if (r.status().code() == absl::StatusCode::kInvalidArgument) {
      return ex->Finish(UnreadableBody(WithReason(r.status(), x402::kInvalidPaymentRequirements),
                                       /*settle=*/true));
    }
    if (r.status().code() == absl::StatusCode::kFailedPrecondition) {
      // No chain configured: a settle outcome the seller can forward to its buyer (sellers
      // turn any failure into a 402), rather than a transport-looking 5xx.
      v1::SettlePaymentResponse failed;
      failed.set_success(false);
      failed.set_error_reason(ReasonOf(r.status()).value_or("settlement_not_configured"));
      failed.set_error_message(MessageOf(r.status()));
      failed.set_network(network);
      return ex->Finish(PaymentReply{.status = 200, .body = x402::EncodeSettleResponse(failed)});
    }
    ex->Finish(SettlementError(r.status(), ex->call.request_id));
  });
}

void Supported(const Ex& ex) {
  ex->settlement.GetSupported([ex](absl::StatusOr<v1::GetSupportedResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    ex->Finish(PaymentReply{.status = 200, .body = x402::EncodeSupported(*r)});
  });
}

// ---- Prepaid ledger (key) ----

// The session a key endpoint acts for: a session token's own (a different ?session_id is 403),
// else the query's (empty = the tenant's own account).
bool ResolveSession(const Ex& ex, std::string& session_id) {
  if (ex->token_session_id.empty()) return true;
  if (!session_id.empty() && session_id != ex->token_session_id) {
    ex->Finish(Error(403, "permission_error", "session_mismatch",
                     "A session token can only act for its own session."));
    return false;
  }
  session_id = ex->token_session_id;
  return true;
}

void Balance(const Ex& ex) {
  absl::StatusOr<v1::GetBalanceRequest> req = ParseBalanceQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  if (!ResolveSession(ex, *req->mutable_session_id())) return;
  req->set_tenant_id(ex->tenant_id);
  std::string session = req->session_id();
  ex->settlement.GetBalance(*req, [ex, session](absl::StatusOr<v1::GetBalanceResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    ex->Finish(Json(200, BalanceJson(*r, session)));
  });
}

void Usage(const Ex& ex) {
  absl::StatusOr<v1::ListUsageRequest> req = ParseUsageQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  if (!ResolveSession(ex, *req->mutable_session_id())) return;
  req->set_tenant_id(ex->tenant_id);
  ex->settlement.ListUsage(*req, [ex](absl::StatusOr<v1::ListUsageResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    ex->Finish(Json(200, UsageListJson(*r)));
  });
}

// ---- Bazaar ----

void Discover(const Ex& ex) {
  absl::StatusOr<v1::DiscoverListingsRequest> req = ParseDiscoverQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  ex->settlement.DiscoverListings(*req, [ex](absl::StatusOr<v1::DiscoverListingsResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    v1::ListListingsResponse found;
    *found.mutable_listings() = std::move(*r->mutable_listings());
    ex->Finish(Json(200, ListingListJson(found, /*paged=*/false)));
  });
}

void ListListings(const Ex& ex) {
  absl::StatusOr<v1::ListListingsRequest> req = ParseListingsQuery(ex->call.query);
  if (!req.ok()) return ex->Finish(BadRequest(req.status()));
  ex->settlement.ListListings(*req, [ex](absl::StatusOr<v1::ListListingsResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    ex->Finish(Json(200, ListingListJson(*r, /*paged=*/true)));
  });
}

void CreateListing(const Ex& ex) {
  absl::StatusOr<v1::Listing> listing = ParseListingBody(ex->call.body);
  if (!listing.ok()) return ex->Finish(BadRequest(listing.status()));
  v1::CreateListingRequest req;
  req.set_tenant_id(ex->tenant_id);
  *req.mutable_listing() = std::move(*listing);
  ex->settlement.CreateListing(req, [ex](absl::StatusOr<v1::CreateListingResponse> r) {
    if (!r.ok()) return ex->Finish(SettlementError(r.status(), ex->call.request_id));
    ex->Finish(Json(201, ListingJson(r->listing())));
  });
}

// ---- Routing ----

using HandlerFn = void (*)(const Ex&);
struct Endpoint {
  std::string_view method;
  HandlerFn fn;
  // Needs a tenant API key (or session token).
  bool key = false;
  // Whether the query goes to the endpoint's parser (else any parameter is unknown_parameter);
  // the facilitator endpoints ignore queries, as the reference does.
  enum class Query { kReject, kParsed, kIgnored } query = Query::kReject;
};

std::vector<Endpoint> Match(std::string_view path) {
  using Q = Endpoint::Query;
  if (path.substr(0, 4) == "/v2/") {
    std::string_view rest = path.substr(3);  // keeps the leading '/'
    if (rest == "/verify" || rest == "/settle" || rest == "/supported") path = rest;
  }
  if (path == "/verify") return {{"POST", Verify, false, Q::kIgnored}};
  if (path == "/settle") return {{"POST", Settle, false, Q::kIgnored}};
  if (path == "/supported") return {{"GET", Supported, false, Q::kIgnored}};
  if (path == "/v2/topup") return {{"POST", TopUp, true, Q::kReject}};
  if (path == "/v2/balance") return {{"GET", Balance, true, Q::kParsed}};
  if (path == "/v2/usage") return {{"GET", Usage, true, Q::kParsed}};
  if (path == "/v2/bazaar/discover") return {{"GET", Discover, false, Q::kParsed}};
  if (path == "/v2/bazaar/listings") {
    return {{"GET", ListListings, false, Q::kParsed}, {"POST", CreateListing, true, Q::kReject}};
  }
  return {};
}

void Authenticate(PolicyAdminClient& admin, const Ex& ex, HandlerFn next) {
  if (ex->call.bearer_token.empty()) {
    return ex->Finish(Error(401, "authentication_error", "missing_api_key",
                            "You didn't provide an API key. Send a P402 API key (or session "
                            "token) as 'Authorization: Bearer <key>'."));
  }
  v1::AuthenticateRequest auth;
  auth.mutable_credential()->set_api_key(ex->call.bearer_token);
  admin.Authenticate(
      ex->call.request_id, auth, [ex, next](absl::StatusOr<v1::AuthenticateResponse> who) {
        if (!who.ok()) {
          if (who.status().code() == absl::StatusCode::kInvalidArgument) {
            return ex->Finish(Error(401, "authentication_error", "invalid_api_key",
                                    "Incorrect API key provided."));
          }
          return ex->Finish(PolicyError(who.status(), ex->call.request_id));
        }
        if (!who->authenticated() || who->tenant_id().empty()) {
          return ex->Finish(
              Error(401, "authentication_error",
                    who->reason().empty() ? "invalid_api_key" : who->reason(),
                    who->message().empty() ? "Incorrect API key provided." : who->message()));
        }
        ex->tenant_id = who->tenant_id();
        ex->api_key_id = who->api_key_id();
        ex->token_session_id = who->session_id();
        next(ex);
      });
}

}  // namespace

bool IsPaymentPath(std::string_view path) {
  static constexpr std::array<std::string_view, 10> kExact = {
      "/verify",       "/settle",   "/supported",  "/v2/verify", "/v2/settle",
      "/v2/supported", "/v2/topup", "/v2/balance", "/v2/usage",  "/v2/bazaar"};
  for (std::string_view p : kExact) {
    if (path == p) return true;
  }
  constexpr std::string_view kBazaar = "/v2/bazaar/";
  return path.substr(0, kBazaar.size()) == kBazaar;
}

void PaymentApi::Handle(PaymentCall call, std::function<void(PaymentReply)> done) {
  auto ex = std::make_shared<Exchange>(std::move(call), std::move(done), settlement_, admin_,
                                       UnixMillis(clock_.Now()));
  const PaymentCall& c = ex->call;
  std::vector<Endpoint> endpoints = Match(c.path);
  if (endpoints.empty()) {
    return ex->Finish(Error(404, "not_found_error", "unknown_url",
                            "Unknown request URL: " + c.method + " " + c.path + "."));
  }
  const Endpoint* endpoint = nullptr;
  std::string allow;
  for (const Endpoint& e : endpoints) {
    if (e.method == c.method) endpoint = &e;
    allow.append(allow.empty() ? "" : ", ").append(e.method);
  }
  if (endpoint == nullptr) {
    PaymentReply reply = Error(405, "invalid_request_error", "method_not_allowed",
                               "Use " + allow + " for " + c.path + ".");
    reply.headers.emplace_back("allow", allow);
    return ex->Finish(std::move(reply));
  }
  if (endpoint->query == Endpoint::Query::kReject && !c.query.empty()) {
    const std::string& key = c.query.front().first;
    return ex->Finish(Error(400, "invalid_request_error", "unknown_parameter",
                            "Unknown parameter: '" + key + "'.", key));
  }
  if (endpoint->key) {
    return Authenticate(admin_, ex, endpoint->fn);
  }
  endpoint->fn(ex);
}

}  // namespace p402::edge
