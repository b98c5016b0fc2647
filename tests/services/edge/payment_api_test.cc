// The payments API core (services/edge/core/payment_api.h) against an in-test SettlementClient
// and PolicyAdminClient: the facilitator API (/verify, /settle, /supported with the bodies the
// official x402-express / @x402/express send), the prepaid top-up (402 with the offer, then the
// paid retry), balance and usage paging, the Bazaar, key auth (401/403), routing (404/405) and
// the error mapping; and that no input makes it crash or answer twice.
#include "services/edge/core/payment_api.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <random>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/openai/error_param.h"
#include "libs/x402/codec.h"

namespace p402::edge {
namespace {

// Records every call; answers inline with the configured response, or the configured error.
class FakeSettlement final : public SettlementClient {
 public:
  std::vector<std::string> calls;
  std::map<std::string, absl::Status> errors;

#define P402_FAKE_SETTLEMENT_RPC(Name, Req, Resp)                                  \
  v1::Req last_##Name;                                                             \
  v1::Resp resp_##Name;                                                            \
  void Name(const v1::Req& request, Callback<v1::Resp> done) override {            \
    calls.push_back(#Name);                                                        \
    last_##Name = request;                                                         \
    if (auto it = errors.find(#Name); it != errors.end()) return done(it->second); \
    done(resp_##Name);                                                             \
  }
  P402_FAKE_SETTLEMENT_RPC(GetPaymentRequirements, GetPaymentRequirementsRequest,
                           GetPaymentRequirementsResponse)
  P402_FAKE_SETTLEMENT_RPC(VerifyPayment, VerifyPaymentRequest, VerifyPaymentResponse)
  P402_FAKE_SETTLEMENT_RPC(SettlePayment, SettlePaymentRequest, SettlePaymentResponse)
  P402_FAKE_SETTLEMENT_RPC(ReleasePayment, ReleasePaymentRequest, ReleasePaymentResponse)
  P402_FAKE_SETTLEMENT_RPC(TopUp, TopUpRequest, TopUpResponse)
  P402_FAKE_SETTLEMENT_RPC(RecordUsage, RecordUsageRequest, RecordUsageResponse)
  P402_FAKE_SETTLEMENT_RPC(GetBalance, GetBalanceRequest, GetBalanceResponse)
  P402_FAKE_SETTLEMENT_RPC(ListUsage, ListUsageRequest, ListUsageResponse)
  P402_FAKE_SETTLEMENT_RPC(CreateListing, CreateListingRequest, CreateListingResponse)
  P402_FAKE_SETTLEMENT_RPC(ListListings, ListListingsRequest, ListListingsResponse)
  P402_FAKE_SETTLEMENT_RPC(DiscoverListings, DiscoverListingsRequest, DiscoverListingsResponse)
  P402_FAKE_SETTLEMENT_RPC(HoldBalance, HoldBalanceRequest, HoldBalanceResponse)
  P402_FAKE_SETTLEMENT_RPC(CaptureHold, CaptureHoldRequest, CaptureHoldResponse)
  P402_FAKE_SETTLEMENT_RPC(ReleaseHold, ReleaseHoldRequest, ReleaseHoldResponse)
#undef P402_FAKE_SETTLEMENT_RPC

  v1::GetSupportedResponse resp_GetSupported;
  void GetSupported(Callback<v1::GetSupportedResponse> done) override {
    calls.push_back("GetSupported");
    if (auto it = errors.find("GetSupported"); it != errors.end()) return done(it->second);
    done(resp_GetSupported);
  }

  int Count(std::string_view name) const {
    return static_cast<int>(std::count(calls.begin(), calls.end(), name));
  }
};

// Only Authenticate and GetSession are used by the payments API; the rest answer Unimplemented.
class FakeAdmin final : public PolicyAdminClient {
 public:
  FakeAdmin() {
    auth.set_authenticated(true);
    auth.set_tenant_id("t1");
    auth.set_api_key_id("key_1");
  }
  v1::AuthenticateResponse auth;
  std::optional<absl::Status> auth_error;
  std::optional<absl::Status> session_error;
  std::vector<std::string> tokens;
  std::vector<v1::GetSessionRequest> sessions;

  void Authenticate(std::string_view, const v1::AuthenticateRequest& request,
                    Callback<v1::AuthenticateResponse> done) override {
    tokens.push_back(request.credential().api_key());
    if (auth_error) return done(*auth_error);
    done(auth);
  }
  void GetSession(std::string_view, const v1::GetSessionRequest& request,
                  Callback<v1::GetSessionResponse> done) override {
    sessions.push_back(request);
    if (session_error) return done(*session_error);
    v1::GetSessionResponse r;
    r.mutable_session()->set_id(request.session_id());
    done(r);
  }

#define P402_UNUSED_RPC(Name)                                                              \
  void Name(std::string_view, const v1::Name##Request&, Callback<v1::Name##Response> done) \
      override {                                                                           \
    done(absl::UnimplementedError(#Name));                                                 \
  }
  P402_UNUSED_RPC(GetTenant)
  P402_UNUSED_RPC(UpdateTenant)
  P402_UNUSED_RPC(SetTenantPaused)
  P402_UNUSED_RPC(CreateApiKey)
  P402_UNUSED_RPC(ListApiKeys)
  P402_UNUSED_RPC(RevokeApiKey)
  P402_UNUSED_RPC(CreatePolicy)
  P402_UNUSED_RPC(GetPolicy)
  P402_UNUSED_RPC(ListPolicies)
  P402_UNUSED_RPC(UpdatePolicy)
  P402_UNUSED_RPC(DeletePolicy)
  P402_UNUSED_RPC(CreateSession)
  P402_UNUSED_RPC(ListSessions)
  P402_UNUSED_RPC(UpdateSession)
  P402_UNUSED_RPC(RevokeSession)
  P402_UNUSED_RPC(GetApproval)
  P402_UNUSED_RPC(ListApprovals)
  P402_UNUSED_RPC(DecideApproval)
#undef P402_UNUSED_RPC
};

class FixedClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1'795'430'000'000));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override { return {}; }
};

struct Result {
  PaymentReply reply;
  json::Value body;

  std::string Code() const { return ErrorField("code"); }
  std::string Type() const { return ErrorField("type"); }
  std::string Param() const { return ErrorField("param"); }
  std::string Message() const { return ErrorField("message"); }
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [k, v] : reply.headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return v;
      }
    }
    return std::nullopt;
  }
  std::string Str(std::string_view key) const {
    auto v = body.GetString(key);
    return v ? std::string(*v) : "<absent>";
  }

 private:
  std::string ErrorField(std::string_view key) const {
    const json::Value* error = body.Find("error");
    if (error == nullptr || !error->is_object()) return "<no error>";
    const json::Value* v = error->Find(key);
    return v == nullptr || v->is_null() ? "" : v->AsString();
  }
};

struct Harness {
  FakeSettlement settlement;
  FakeAdmin admin;
  FixedClock clock;

  Result Run(PaymentCall call) {
    if (call.request_id.empty()) call.request_id = "req_test";
    PaymentApi api(settlement, admin, clock);
    int calls = 0;
    PaymentReply reply;
    api.Handle(std::move(call), [&](PaymentReply r) {
      ++calls;
      reply = std::move(r);
    });
    REQUIRE(calls == 1);  // the fakes answer inline: exactly one reply
    absl::StatusOr<json::Value> parsed = json::Value::Parse(reply.body);
    INFO(reply.body);
    REQUIRE(parsed.ok());
    return Result{std::move(reply), std::move(*parsed)};
  }
  Result Call(std::string method, std::string path, std::string body = "", QueryParams query = {},
              std::string token = "") {
    return Run(PaymentCall{.method = std::move(method),
                           .path = std::move(path),
                           .query = std::move(query),
                           .bearer_token = std::move(token),
                           .body = std::move(body),
                           .request_id = "req_test",
                           .payment_v1 = "",
                           .payment_v2 = "",
                           .resource_url = "http://edge.test/v2/topup"});
  }
};

absl::Status Err(absl::Status status, std::string_view reason) {
  return WithReason(std::move(status), reason);
}

// Request bodies exactly as x402-express 1.2 and @x402/express 2.27 sent them to a facilitator
// (shared/reference/x402-trial/samples/facilitator-http-log.json).
constexpr std::string_view kV1Body =
    R"({"x402Version":1,"paymentPayload":{"x402Version":1,"scheme":"exact","network":"base-sepolia","payload":{"signature":"0x784fc40a4ac2b3c6f02dc0c69edcee4168749f6b1d882344dbaea5806cbb2e5f729f1f7cb710cffed075cee24b71ab6de502167c251a54844b50a75b54f98aa71c","authorization":{"from":"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0","to":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","value":"10000","validAfter":"1795430890","validBefore":"1795431550","nonce":"0x93bbd3d79d390dfdbb193fdf68efaad2485e9973cd3b0035de9ac5349355cc9e"}}},"paymentRequirements":{"scheme":"exact","network":"base-sepolia","maxAmountRequired":"10000","resource":"http://127.0.0.1:33651/paid","description":"v1 trial resource","mimeType":"application/json","payTo":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","maxTimeoutSeconds":60,"asset":"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab","outputSchema":{"input":{"type":"http","method":"GET","discoverable":true}},"extra":{"name":"USDC","version":"2"}}})";
constexpr std::string_view kV2Body =
    R"({"x402Version":2,"paymentPayload":{"x402Version":2,"payload":{"authorization":{"from":"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0","to":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","value":"10000","validAfter":"0","validBefore":"1795431550","nonce":"0x9fe51c59333a94276f3495fb1d2ed2826fb801d9666ceb66641efb04b6bc41e3"},"signature":"0xafdc7958dcf4d9986757872e78d1e698c9883b3eb98339b9c4ade4e2e95791eb4b1c99fa00bd535d8a65ba83580a294f4b92ae409b3706702f15d7802d0afa4a1b"},"resource":{"url":"http://127.0.0.1:43715/paid","description":"v2 trial resource","mimeType":"application/json"},"accepted":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab","payTo":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}},"paymentRequirements":{"scheme":"exact","network":"eip155:84532","amount":"10000","asset":"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab","payTo":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}})";

// The decoded X-PAYMENT of the trial (x402-fetch 1.2), for the top-up tests.
constexpr std::string_view kV1Payment =
    R"({"x402Version":1,"scheme":"exact","network":"base-sepolia","payload":{"signature":"0x28b6c7b5f314fe293ba08bc0d6fbeb251350cdff8c8a5ee33cf5bbb61a24298f5ca232572c87033ce5420790c4d8b8798aeee870cca7ccc3b9077198e1eda2101b","authorization":{"from":"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0","to":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","value":"5000000","validAfter":"1795430888","validBefore":"1795431548","nonce":"0xe2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630b0e9e3a8332"}}})";
// The decoded PAYMENT-SIGNATURE of the trial (@x402/fetch 2.27), `accepted` = the top-up offer.
constexpr std::string_view kV2Payment =
    R"({"x402Version":2,"payload":{"authorization":{"from":"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0","to":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","value":"5000000","validAfter":"0","validBefore":"1795431549","nonce":"0x182d70dbbbcd4f3533664886fc7e33c4d530491dd6df4adaf45b5d02a2fcb2ea"},"signature":"0x415503e973fec430c1c598ead928ec18a34206e01579db27d2e1986bbafc29266d28471a1f043810fed3632b1fd2d976ae036bc49f6d7b58451ebcaa6c827f041b"},"resource":{"url":"http://edge.test/v2/topup","description":"P402 prepaid top-up","mimeType":"application/json"},"accepted":{"scheme":"exact","network":"eip155:84532","amount":"5000000","asset":"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab","payTo":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}})";
constexpr std::string_view kPayer = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";

v1::PaymentRequirement TopUpOffer(int64_t amount) {
  v1::PaymentRequirement r;
  r.set_scheme("exact");
  r.set_network("eip155:84532");
  r.set_amount(std::to_string(amount));
  r.set_asset("0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab");
  r.set_pay_to("0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b");
  r.set_max_timeout_seconds(60);
  r.set_resource("http://edge.test/v2/topup");
  r.set_description("P402 prepaid top-up");
  r.set_mime_type("application/json");
  r.set_extra_json(R"({"name":"USDC","version":"2"})");
  r.set_model_cost_micro_usd(amount);
  return r;
}

TEST_CASE("payment paths are recognised exactly", "[unit][payments]") {
  for (const char* p : {"/verify", "/settle", "/supported", "/v2/verify", "/v2/settle",
                        "/v2/supported", "/v2/topup", "/v2/balance", "/v2/usage",
                        "/v2/bazaar/discover", "/v2/bazaar/listings", "/v2/bazaar"}) {
    CHECK(IsPaymentPath(p));
  }
  for (const char* p : {"/verifyx", "/v1/verify", "/v2/topups", "/v2/usage/1", "/v2/bazaarx",
                        "/v2/keys", "/v2/chat/completions", "/"}) {
    CHECK_FALSE(IsPaymentPath(p));
  }
}

TEST_CASE("facilitator /verify passes the seller's request through, 200 valid or not",
          "[unit][payments]") {
  Harness h;
  SECTION("x402-express (v1) body") {
    h.settlement.resp_VerifyPayment.set_valid(true);
    h.settlement.resp_VerifyPayment.set_payer(std::string(kPayer));
    Result r = h.Call("POST", "/verify", std::string(kV1Body));
    CHECK(r.reply.status == 200);
    CHECK(r.body.GetBool("isValid") == std::optional<bool>(true));
    CHECK(r.Str("payer") == kPayer);
    const v1::VerifyPaymentRequest& sent = h.settlement.last_VerifyPayment;
    CHECK_FALSE(sent.claim());
    REQUIRE(sent.accepted_size() == 1);
    CHECK(sent.accepted(0).network() == "base-sepolia");
    CHECK(sent.accepted(0).amount() == "10000");
    CHECK(sent.accepted(0).resource() == "http://127.0.0.1:33651/paid");
    CHECK(sent.payment_payload_json().find("0x93bbd3d79d390dfdbb193fdf68efaad2485e9973cd3b0035de9"
                                           "ac5349355cc9e") != std::string::npos);
    CHECK(sent.meta().request_id() == "req_test");
    CHECK(sent.meta().tenant_id().empty());
    CHECK(sent.meta().received_unix_ms() == 1'795'430'000'000);
  }
  SECTION("@x402/express (v2) body under /v2/verify; an invalid payment is still 200") {
    h.settlement.resp_VerifyPayment.set_valid(false);
    h.settlement.resp_VerifyPayment.set_invalid_reason("invalid_exact_evm_signature");
    h.settlement.resp_VerifyPayment.set_payer(std::string(kPayer));
    Result r = h.Call("POST", "/v2/verify", std::string(kV2Body));
    CHECK(r.reply.status == 200);
    CHECK(r.body.GetBool("isValid") == std::optional<bool>(false));
    CHECK(r.Str("invalidReason") == "invalid_exact_evm_signature");
    REQUIRE(h.settlement.last_VerifyPayment.accepted_size() == 1);
    CHECK(h.settlement.last_VerifyPayment.accepted(0).network() == "eip155:84532");
  }
}

TEST_CASE("facilitator: unreadable bodies are 400 in the facilitator's shape", "[unit][payments]") {
  Harness h;
  Result bad = h.Call("POST", "/verify", "{not json");
  CHECK(bad.reply.status == 400);
  CHECK(bad.body.GetBool("isValid") == std::optional<bool>(false));
  CHECK(bad.Str("invalidReason") == "invalid_payload");
  CHECK_FALSE(bad.Str("invalidMessage").empty());

  Result no_req = h.Call("POST", "/verify", R"({"x402Version":1,"paymentPayload":{}})");
  CHECK(no_req.reply.status == 400);
  CHECK(no_req.body.GetBool("isValid") == std::optional<bool>(false));
  CHECK(no_req.Str("invalidReason") != "<absent>");

  Result settle = h.Call("POST", "/settle", "[]");
  CHECK(settle.reply.status == 400);
  CHECK(settle.body.GetBool("success") == std::optional<bool>(false));
  CHECK(settle.Str("errorReason") != "<absent>");
  CHECK(h.settlement.calls.empty());  // nothing reached the settlement service

  // The service refusing the seller's requirements.
  h.settlement.errors["VerifyPayment"] =
      absl::InvalidArgumentError("paymentRequirements.payTo is not an address");
  Result refused = h.Call("POST", "/verify", std::string(kV1Body));
  CHECK(refused.reply.status == 400);
  CHECK(refused.Str("invalidReason") == "invalid_payment_requirements");
}

TEST_CASE("facilitator /settle: charged 0, success or not; not configured is a settle answer",
          "[unit][payments]") {
  Harness h;
  v1::SettlePaymentResponse& ok = h.settlement.resp_SettlePayment;
  ok.set_success(true);
  ok.set_transaction("0x6fc3304e3e2d964ad7fbe1f1f32416c2ec951cbcc822b3689588bfdaee1049a0");
  ok.set_network("base-sepolia");
  ok.set_payer(std::string(kPayer));
  Result r = h.Call("POST", "/settle", std::string(kV1Body));
  CHECK(r.reply.status == 200);
  CHECK(r.body.GetBool("success") == std::optional<bool>(true));
  CHECK(r.Str("transaction") == ok.transaction());
  CHECK(r.Str("network") == "base-sepolia");
  CHECK(h.settlement.last_SettlePayment.charged_micro_usd() == 0);
  CHECK(h.settlement.last_SettlePayment.requirement().amount() == "10000");

  h.settlement.errors["SettlePayment"] =
      Err(absl::FailedPreconditionError("no chain RPC configured"), "settlement_not_configured");
  Result off = h.Call("POST", "/v2/settle", std::string(kV2Body));
  CHECK(off.reply.status == 200);
  CHECK(off.body.GetBool("success") == std::optional<bool>(false));
  CHECK(off.Str("errorReason") == "settlement_not_configured");
  CHECK(off.Str("network") == "eip155:84532");
}

TEST_CASE("facilitator /supported lists the service's kinds and signers", "[unit][payments]") {
  Harness h;
  v1::SupportedKind* k = h.settlement.resp_GetSupported.add_kinds();
  k->set_x402_version(2);
  k->set_scheme("exact");
  k->set_network("eip155:84532");
  h.settlement.resp_GetSupported.add_signers("0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1");
  for (const char* path : {"/supported", "/v2/supported"}) {
    Result r = h.Call("GET", path, "", {{"ignored", "1"}});
    CHECK(r.reply.status == 200);
    const json::Value* kinds = r.body.Find("kinds");
    REQUIRE(kinds != nullptr);
    REQUIRE(kinds->is_array());
    REQUIRE(kinds->AsArray().size() == 1);
    CHECK(kinds->AsArray()[0].GetString("network") ==
          std::optional<std::string_view>("eip155:84532"));
  }
}

TEST_CASE("settlement down: 503 OpenAI error, no internal address echoed", "[unit][payments]") {
  Harness h;
  h.settlement.errors["VerifyPayment"] =
      absl::UnavailableError("failed to connect to all addresses; last error: 10.0.0.9:50055");
  Result r = h.Call("POST", "/verify", std::string(kV1Body));
  CHECK(r.reply.status == 503);
  CHECK(r.Type() == "server_error");
  CHECK(r.Code() == "settlement_unavailable");
  CHECK(r.reply.body.find("10.0.0.9") == std::string::npos);

  h.settlement.errors["GetSupported"] = absl::DeadlineExceededError("deadline");
  CHECK(h.Call("GET", "/supported").reply.status == 504);
}

TEST_CASE("routing: unknown paths 404, wrong methods 405 with Allow", "[unit][payments]") {
  Harness h;
  Result unknown = h.Call("GET", "/v2/bazaar/nothing");
  CHECK(unknown.reply.status == 404);
  CHECK(unknown.Code() == "unknown_url");
  CHECK(h.Call("GET", "/v2/bazaar").reply.status == 404);

  Result get_verify = h.Call("GET", "/verify");
  CHECK(get_verify.reply.status == 405);
  CHECK(get_verify.Code() == "method_not_allowed");
  CHECK(get_verify.Header("allow") == std::optional<std::string>("POST"));
  Result del = h.Call("DELETE", "/v2/bazaar/listings", "", {}, "sk-p402-x");
  CHECK(del.reply.status == 405);
  CHECK(del.Header("allow") == std::optional<std::string>("GET, POST"));
  CHECK(h.Call("POST", "/v2/balance", "", {}, "sk-p402-x").reply.status == 405);
  CHECK(h.admin.tokens.empty());  // routing answers before any auth call
  CHECK(h.settlement.calls.empty());
}

TEST_CASE("key endpoints: 401 without a valid key, 503 when policy is down", "[unit][payments]") {
  Harness h;
  Result none = h.Call("POST", "/v2/topup", R"({"amount_usd":"5.00"})");
  CHECK(none.reply.status == 401);
  CHECK(none.Type() == "authentication_error");
  CHECK(none.Code() == "missing_api_key");

  h.admin.auth.set_authenticated(false);
  h.admin.auth.set_reason("revoked_api_key");
  h.admin.auth.set_message("This API key was revoked.");
  Result revoked = h.Call("GET", "/v2/balance", "", {}, "sk-p402-old");
  CHECK(revoked.reply.status == 401);
  CHECK(revoked.Code() == "revoked_api_key");
  CHECK(h.admin.tokens == std::vector<std::string>{"sk-p402-old"});

  h.admin.auth_error = absl::UnavailableError("connect failed: 10.0.0.7:50052");
  Result down = h.Call("GET", "/v2/usage", "", {}, "sk-p402-k");
  CHECK(down.reply.status == 503);
  CHECK(down.Code() == "guard_unavailable");
  CHECK(down.reply.body.find("10.0.0.7") == std::string::npos);

  Result listing = h.Call("POST", "/v2/bazaar/listings", "{}");
  CHECK(listing.reply.status == 401);
  CHECK(h.settlement.calls.empty());
}

TEST_CASE("top-up without payment: 402 with one fee-less offer, v1 body + v2 header",
          "[unit][payments]") {
  Harness h;
  *h.settlement.resp_GetPaymentRequirements.add_accepts() = TopUpOffer(5'000'000);
  Result r = h.Call("POST", "/v2/topup", R"({"amount_usd":"5.00"})", {}, "sk-p402-k");
  REQUIRE(r.reply.status == 402);
  const v1::GetPaymentRequirementsRequest& asked = h.settlement.last_GetPaymentRequirements;
  CHECK(asked.top_up());
  REQUIRE(asked.mode_costs_size() == 1);
  CHECK(asked.mode_costs(0).mode() == v1::ROUTING_MODE_UNSPECIFIED);
  CHECK(asked.mode_costs(0).worst_case_micro_usd() == 5'000'000);
  CHECK(asked.resource() == "http://edge.test/v2/topup");
  CHECK(asked.x402_version() == 2);
  CHECK(asked.meta().tenant_id() == "t1");

  // v1 body: network converted to the legacy name, amount as maxAmountRequired.
  CHECK(r.body.GetInt("x402Version") == std::optional<int64_t>(1));
  CHECK(r.Code() == "payment_required");
  const json::Value* accepts = r.body.Find("accepts");
  REQUIRE(accepts != nullptr);
  REQUIRE(accepts->AsArray().size() == 1);
  CHECK(accepts->AsArray()[0].GetString("network") ==
        std::optional<std::string_view>("base-sepolia"));
  CHECK(accepts->AsArray()[0].GetString("maxAmountRequired") ==
        std::optional<std::string_view>("5000000"));
  // v2 header: the service's offer as is.
  std::optional<std::string> header = r.Header("payment-required");
  REQUIRE(header.has_value());
  auto offers = x402::DecodePaymentRequiredHeaderV2(*header);
  REQUIRE(offers.ok());
  REQUIRE(offers->size() == 1);
  CHECK((*offers)[0].network() == "eip155:84532");
  CHECK((*offers)[0].amount() == "5000000");
  CHECK(r.Header("cache-control") == std::optional<std::string>("no-store"));
  CHECK(h.settlement.Count("TopUp") == 0);
}

TEST_CASE("paid top-up: the recomputed offer goes to TopUp; 200 with the credit",
          "[unit][payments]") {
  Harness h;
  *h.settlement.resp_GetPaymentRequirements.add_accepts() = TopUpOffer(5'000'000);
  v1::TopUpResponse& done = h.settlement.resp_TopUp;
  done.mutable_settlement()->set_success(true);
  done.mutable_settlement()->set_transaction("0xabc1");
  done.mutable_settlement()->set_network("base-sepolia");
  done.mutable_settlement()->set_payer(std::string(kPayer));
  done.set_credited_micro_usd(5'000'000);
  done.set_balance_micro_usd(7'250'000);
  done.set_entry_id("le_9");

  PaymentCall call{.method = "POST",
                   .path = "/v2/topup",
                   .query = {},
                   .bearer_token = "sk-p402-k",
                   .body = R"({"amount_micro_usd":5000000})",
                   .request_id = "req_pay",
                   .payment_v1 = crypto::Base64Encode(kV1Payment),
                   .payment_v2 = "",
                   .resource_url = "http://edge.test/v2/topup"};
  Result r = h.Run(call);
  REQUIRE(r.reply.status == 200);
  CHECK(r.Str("object") == "topup");
  CHECK(r.Str("credited_usd") == "5.000000");
  CHECK(r.Str("balance_usd") == "7.250000");
  CHECK(r.Str("transaction") == "0xabc1");
  CHECK(r.Str("entry_id") == "le_9");
  CHECK(r.body.GetBool("duplicate") == std::optional<bool>(false));
  const v1::TopUpRequest& sent = h.settlement.last_TopUp;
  CHECK(sent.meta().tenant_id() == "t1");
  CHECK(sent.meta().request_id() == "req_pay");
  CHECK(sent.session_id().empty());
  CHECK(sent.requirement().network() == "base-sepolia");  // the v1 form for a v1 payment
  CHECK(sent.requirement().amount() == "5000000");
  CHECK(sent.payment_payload_json().find("0xe2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630"
                                         "b0e9e3a8332") != std::string::npos);
  std::optional<std::string> response = r.Header("x-payment-response");
  REQUIRE(response.has_value());
  auto decoded = x402::DecodePaymentResponseHeader(*response);
  REQUIRE(decoded.ok());
  CHECK(decoded->success());
  CHECK(decoded->transaction() == "0xabc1");

  CHECK(r.Header("cache-control") == std::optional<std::string>("private"));
  CHECK_FALSE(r.Header("payment-response").has_value());

  SECTION("a v2 payment (PAYMENT-SIGNATURE wins over X-PAYMENT) pays the CAIP-2 offer") {
    call.payment_v2 = crypto::Base64Encode(kV2Payment);
    Result v2 = h.Run(call);
    REQUIRE(v2.reply.status == 200);
    CHECK(h.settlement.last_TopUp.requirement().network() == "eip155:84532");
    CHECK(h.settlement.last_TopUp.payment_payload_json().find("0x182d70dbbbcd4f3533664886fc7e33c4"
                                                              "d530491dd6df4adaf45b5d02a2fcb2ea") !=
          std::string::npos);
    CHECK(v2.Header("payment-response").has_value());
    CHECK_FALSE(v2.Header("x-payment-response").has_value());
  }
  SECTION("a refused payment is a 402 with its reason and the offer again") {
    done.mutable_settlement()->set_success(false);
    done.mutable_settlement()->set_error_reason("invalid_exact_evm_insufficient_balance");
    done.mutable_settlement()->set_transaction("");
    Result refused = h.Run(call);
    CHECK(refused.reply.status == 402);
    CHECK(refused.Code() == "invalid_exact_evm_insufficient_balance");
    CHECK(refused.Header("payment-required").has_value());
    REQUIRE(refused.Header("x-payment-response").has_value());
    auto failed = x402::DecodePaymentResponseHeader(*refused.Header("x-payment-response"));
    REQUIRE(failed.ok());
    CHECK_FALSE(failed->success());
  }
  SECTION("a malformed payment header is 402 invalid_payload; nothing is settled") {
    call.payment_v1 = "not base64!";
    Result bad = h.Run(call);
    CHECK(bad.reply.status == 402);
    CHECK(bad.Code() == "invalid_payload");
    CHECK(h.settlement.Count("TopUp") == 1);  // only the first, successful one above
  }
  SECTION("settlement without a chain: 503 settlement_not_configured") {
    h.settlement.errors["TopUp"] =
        Err(absl::FailedPreconditionError("no chain configured"), "settlement_not_configured");
    Result off = h.Run(call);
    CHECK(off.reply.status == 503);
    CHECK(off.Code() == "settlement_not_configured");
  }
}

TEST_CASE("top-up sessions: checked with policy; a session token tops up its own only",
          "[unit][payments]") {
  Harness h;
  *h.settlement.resp_GetPaymentRequirements.add_accepts() = TopUpOffer(1'000'000);
  Result ok =
      h.Call("POST", "/v2/topup", R"({"amount_usd":1,"session_id":"sess_1"})", {}, "sk-p402-k");
  CHECK(ok.reply.status == 402);
  REQUIRE(h.admin.sessions.size() == 1);
  CHECK(h.admin.sessions[0].tenant_id() == "t1");
  CHECK(h.admin.sessions[0].session_id() == "sess_1");
  CHECK(h.settlement.last_GetPaymentRequirements.meta().session_id() == "sess_1");

  h.admin.session_error = Err(absl::NotFoundError("no such session"), "session_not_found");
  Result missing =
      h.Call("POST", "/v2/topup", R"({"amount_usd":"1","session_id":"sess_x"})", {}, "sk-p402-k");
  CHECK(missing.reply.status == 404);
  CHECK(missing.Code() == "session_not_found");

  h.admin.auth.set_session_id("sess_own");
  Result other = h.Call("POST", "/v2/topup", R"({"amount_usd":"1","session_id":"sess_1"})", {},
                        "sk-p402-sess-t");
  CHECK(other.reply.status == 403);
  CHECK(other.Code() == "session_mismatch");
  Result own = h.Call("POST", "/v2/topup", R"({"amount_usd":"1"})", {}, "sk-p402-sess-t");
  CHECK(own.reply.status == 402);
  CHECK(h.settlement.last_GetPaymentRequirements.meta().session_id() == "sess_own");
}

TEST_CASE("top-up body validation", "[unit][payments]") {
  Harness h;
  struct Case {
    const char* body;
    const char* code;
    const char* param;
  };
  const Case cases[] = {
      {"", "missing_required_parameter", "amount_usd"},
      {"{", "invalid_json", ""},
      {R"({"amount_usd":"5.00","amount_micro_usd":5})", "invalid_value", "amount_micro_usd"},
      {R"({"amount_usd":"-1"})", "invalid_value", "amount_usd"},
      {R"({"amount_usd":"0"})", "invalid_value", "amount_usd"},
      {R"({"amount_usd":"1.0000001"})", "invalid_value", "amount_usd"},
      {R"({"amount_usd":"1e3"})", "invalid_value", "amount_usd"},
      {R"({"amount_usd":"2000000"})", "invalid_value", "amount_usd"},
      {R"({"amount_micro_usd":1.5})", "invalid_type", "amount_micro_usd"},
      {R"({"amount_usd":"1","session_id":"../x"})", "invalid_value", "session_id"},
      {R"({"amount_usd":"1","tip":1})", "unknown_parameter", "tip"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    Result r = h.Call("POST", "/v2/topup", c.body, {}, "sk-p402-k");
    CHECK(r.reply.status == 400);
    CHECK(r.Code() == c.code);
    CHECK(r.Param() == c.param);
  }
  CHECK(h.Call("POST", "/v2/topup", R"({"amount_usd":"1"})", {{"x", "1"}}, "sk-p402-k")
            .reply.status == 400);
  CHECK(h.settlement.calls.empty());
}

TEST_CASE("balance and usage: the caller's tenant, decimals, paging", "[unit][payments]") {
  Harness h;
  h.settlement.resp_GetBalance.set_balance_micro_usd(2'500'001);
  h.settlement.resp_GetBalance.set_total_topped_up_micro_usd(10'000'000);
  h.settlement.resp_GetBalance.set_total_spent_micro_usd(7'499'999);
  Result b = h.Call("GET", "/v2/balance", "", {{"session_id", "sess_1"}}, "sk-p402-k");
  REQUIRE(b.reply.status == 200);
  CHECK(b.Str("balance_usd") == "2.500001");
  CHECK(b.Str("total_topped_up_usd") == "10.000000");
  CHECK(b.Str("total_spent_usd") == "7.499999");
  CHECK(b.Str("session_id") == "sess_1");
  CHECK(h.settlement.last_GetBalance.tenant_id() == "t1");
  CHECK(h.settlement.last_GetBalance.session_id() == "sess_1");

  v1::UsageEntry* e = h.settlement.resp_ListUsage.add_entries();
  e->set_entry_id("le_1");
  e->set_kind("usage");
  e->set_request_id("req_a");
  e->mutable_model()->set_provider("openai");
  e->mutable_model()->set_model("gpt-4o-mini");
  e->mutable_usage()->set_input_tokens(12);
  e->mutable_usage()->set_output_tokens(3);
  e->set_cost_micro_usd(1'234);
  e->set_balance_before_micro_usd(5'000'000);
  e->set_balance_after_micro_usd(4'998'766);
  e->set_created_unix_ms(1'795'430'000'123);
  h.settlement.resp_ListUsage.set_next_page_token("cur_2");
  Result u =
      h.Call("GET", "/v2/usage", "", {{"page_size", "1"}, {"page_token", "cur_1"}}, "sk-p402-k");
  REQUIRE(u.reply.status == 200);
  CHECK(h.settlement.last_ListUsage.tenant_id() == "t1");
  CHECK(h.settlement.last_ListUsage.page_size() == 1);
  CHECK(h.settlement.last_ListUsage.page_token() == "cur_1");
  CHECK(u.Str("next_page_token") == "cur_2");
  CHECK(u.body.GetBool("has_more") == std::optional<bool>(true));
  const json::Value& entry = u.body.Find("data")->AsArray().at(0);
  CHECK(entry.GetString("id") == std::optional<std::string_view>("le_1"));
  CHECK(entry.GetString("model") == std::optional<std::string_view>("openai/gpt-4o-mini"));
  CHECK(entry.GetString("cost_usd") == std::optional<std::string_view>("0.001234"));
  CHECK(entry.GetString("amount_usd") == std::optional<std::string_view>("-0.001234"));
  CHECK(entry.GetInt("created_at") == std::optional<int64_t>(1'795'430'000));

  h.settlement.resp_ListUsage.clear_next_page_token();
  Result last = h.Call("GET", "/v2/usage", "", {}, "sk-p402-k");
  CHECK(last.body.GetBool("has_more") == std::optional<bool>(false));
  CHECK(last.body.Find("next_page_token")->is_null());

  CHECK(h.Call("GET", "/v2/usage", "", {{"page_size", "0"}}, "sk-p402-k").Param() == "page_size");
  CHECK(h.Call("GET", "/v2/usage", "", {{"limit", "5"}}, "sk-p402-k").Code() ==
        "unknown_parameter");

  // A session token reads its own session only.
  h.admin.auth.set_session_id("sess_own");
  h.Call("GET", "/v2/usage", "", {}, "sk-p402-sess-t");
  CHECK(h.settlement.last_ListUsage.session_id() == "sess_own");
  CHECK(
      h.Call("GET", "/v2/balance", "", {{"session_id", "sess_1"}}, "sk-p402-sess-t").reply.status ==
      403);
}

TEST_CASE("bazaar: discover filters, paged listings, keyed create", "[unit][payments]") {
  Harness h;
  v1::Listing l;
  l.set_id("lst_1");
  l.set_provider("acme");
  l.set_name("Search");
  l.add_capabilities("search");
  l.set_price_micro_usd(10'000);
  l.set_reliability_bps(9'950);
  *h.settlement.resp_DiscoverListings.add_listings() = l;
  Result d = h.Call("GET", "/v2/bazaar/discover", "",
                    {{"capability", "search"},
                     {"max_price_usd", "0.05"},
                     {"min_reliability", "0.99"},
                     {"limit", "5"}});
  REQUIRE(d.reply.status == 200);
  const v1::DiscoverListingsRequest& asked = h.settlement.last_DiscoverListings;
  CHECK(asked.capability() == "search");
  CHECK(asked.max_price_micro_usd() == 50'000);
  CHECK(asked.min_reliability_bps() == 9'900);
  CHECK(asked.limit() == 5);
  const json::Value& item = d.body.Find("data")->AsArray().at(0);
  CHECK(item.GetString("price_usd") == std::optional<std::string_view>("0.010000"));
  CHECK(item.GetInt("reliability_bps") == std::optional<int64_t>(9'950));
  CHECK(item.GetString("pricing_model") == std::optional<std::string_view>("per-request"));
  CHECK(h.admin.tokens.empty());  // public

  CHECK(h.Call("GET", "/v2/bazaar/discover", "", {{"min_reliability", "1.5"}}).Param() ==
        "min_reliability");
  CHECK(h.Call("GET", "/v2/bazaar/discover", "", {{"max_price_usd", "abc"}}).reply.status == 400);

  h.settlement.resp_ListListings.set_next_page_token("p2");
  Result list = h.Call("GET", "/v2/bazaar/listings", "", {{"page_size", "10"}});
  CHECK(list.reply.status == 200);
  CHECK(h.settlement.last_ListListings.page_size() == 10);
  CHECK(list.Str("next_page_token") == "p2");

  *h.settlement.resp_CreateListing.mutable_listing() = l;
  const std::string body =
      R"({"provider":"acme","name":"Search","capabilities":["search"],"price_usd":"0.01",)"
      R"("endpoint":"https://acme.test/search","network":"eip155:84532",)"
      R"("asset":"0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab",)"
      R"("pay_to":"0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b"})";
  Result created = h.Call("POST", "/v2/bazaar/listings", body, {}, "sk-p402-k");
  CHECK(created.reply.status == 201);
  CHECK(created.Str("id") == "lst_1");
  CHECK(h.settlement.last_CreateListing.tenant_id() == "t1");
  CHECK(h.settlement.last_CreateListing.listing().price_micro_usd() == 10'000);
  CHECK(h.settlement.last_CreateListing.listing().pay_to() ==
        "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b");

  Result missing = h.Call("POST", "/v2/bazaar/listings", R"({"provider":"acme"})", {}, "sk-p402-k");
  CHECK(missing.reply.status == 400);
  CHECK(missing.Code() == "missing_required_parameter");

  h.settlement.errors["CreateListing"] = Err(
      openai::WithParam(absl::InvalidArgumentError("endpoint must be an http(s) URL"), "endpoint"),
      "invalid_value");
  Result refused = h.Call("POST", "/v2/bazaar/listings", body, {}, "sk-p402-k");
  CHECK(refused.reply.status == 400);
  CHECK(refused.Code() == "invalid_value");
  CHECK(refused.Message() == "endpoint must be an http(s) URL");
}

TEST_CASE("payments API never crashes and answers once on arbitrary input", "[unit][payments]") {
  Harness h;
  *h.settlement.resp_GetPaymentRequirements.add_accepts() = TopUpOffer(1);
  std::mt19937 rng(402);
  const std::vector<std::string> paths = {
      "/verify",   "/settle",     "/supported",          "/v2/topup",
      "/v2/usage", "/v2/balance", "/v2/bazaar/listings", "/v2/bazaar/discover"};
  const std::vector<std::string> seeds = {
      std::string(kV1Body), std::string(kV2Body), R"({"amount_usd":"1"})", "{}", "null", "[1,2]"};
  for (int i = 0; i < 300; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    for (int k = 0; k < 3 && !body.empty(); ++k) {
      body[rng() % body.size()] = static_cast<char>(rng() % 256);
    }
    PaymentCall call{.method = (rng() % 2) != 0u ? "POST" : "GET",
                     .path = paths[rng() % paths.size()],
                     .query = {{std::string(1, static_cast<char>(rng() % 256)), body.substr(0, 8)}},
                     .bearer_token = (rng() % 2) != 0u ? "sk-p402-k" : "",
                     .body = body,
                     .request_id = "req_fuzz",
                     .payment_v1 = (rng() % 3) == 0u ? body : "",
                     .payment_v2 = (rng() % 3) == 0u ? crypto::Base64Encode(body) : "",
                     .resource_url = "http://edge.test/v2/topup"};
    if (rng() % 2) call.query.clear();
    Result r = h.Run(std::move(call));
    CHECK(r.reply.status >= 200);
    CHECK(r.reply.status < 600);
  }
}

}  // namespace
}  // namespace p402::edge
