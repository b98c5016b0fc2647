// libs/x402 JSON shapes against what the official servers and the reference facilitator produced
// in the x402 trial (data/ holds the captured samples).
#include "libs/x402/codec.h"

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/x402/payload.h"
#include "libs/x402/reasons.h"
#include "tests/libs/x402/x402_test_data.h"
#include "tests/support/catch_status.h"

namespace p402::x402 {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;
using testdata::At;
using testdata::ReadJson;
using testdata::With;
using testdata::Without;

constexpr char kAsset[] = "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab";
constexpr char kPayTo[] = "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b";
constexpr char kPayer[] = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";

v1::PaymentRequirement TrialRequirement(std::string network, std::string resource,
                                        std::string description) {
  v1::PaymentRequirement r;
  r.set_scheme("exact");
  r.set_network(std::move(network));
  r.set_amount("10000");
  r.set_asset(kAsset);
  r.set_pay_to(kPayTo);
  r.set_max_timeout_seconds(60);
  r.set_resource(std::move(resource));
  r.set_description(std::move(description));
  r.set_mime_type("application/json");
  r.set_extra_json(R"({"name":"USDC","version":"2"})");
  return r;
}

json::Value Parse(std::string_view text) {
  absl::StatusOr<json::Value> v = json::Value::Parse(text);
  REQUIRE_THAT(v.status(), IsOk());
  return *v;
}

json::Value ParseBase64(std::string_view text) {
  std::optional<std::string> bytes = crypto::Base64Decode(text);
  REQUIRE(bytes.has_value());
  return Parse(*bytes);
}

// operator== on json::Value is member-order sensitive, so these also pin the key order.
TEST_CASE("RequirementToJson v1 reproduces x402-express's requirement", "[unit]") {
  const json::Value sample = At(ReadJson("server-v1-402.json"), {"body", "accepts"}).AsArray()[0];
  v1::PaymentRequirement r =
      TrialRequirement("base-sepolia", "http://127.0.0.1:33651/paid", "v1 trial resource");
  r.set_output_schema_json(R"({"input":{"type":"http","method":"GET","discoverable":true}})");
  CHECK(RequirementToJson(r, 1).Serialize() == sample.Serialize());

  // Without an output schema (the trial's own v1 server) outputSchema is omitted.
  r.clear_output_schema_json();
  json::Value j = RequirementToJson(r, 1);
  CHECK(j.Find("outputSchema") == nullptr);
  CHECK(j == Without(sample, {"outputSchema"}));

  // Round trip through the facilitator-side parser.
  absl::StatusOr<v1::PaymentRequirement> back = RequirementFromJson(sample, 1);
  REQUIRE_THAT(back.status(), IsOk());
  CHECK(back->resource() == "http://127.0.0.1:33651/paid");
  CHECK(back->description() == "v1 trial resource");
  CHECK(back->mime_type() == "application/json");
  CHECK(back->amount() == "10000");
  CHECK(RequirementToJson(*back, 1) == sample);
}

TEST_CASE("RequirementToJson v2 reproduces @x402/express's requirement and header", "[unit]") {
  const json::Value server = ReadJson("server-v2-402.json");
  const json::Value& decoded = At(server, {"paymentRequiredDecoded"});
  const json::Value& sample = At(decoded, {"accepts"}).AsArray()[0];
  const v1::PaymentRequirement r =
      TrialRequirement("eip155:84532", "http://127.0.0.1:43715/paid", "v2 trial resource");
  CHECK(RequirementToJson(r, 2).Serialize() == sample.Serialize());

  // The whole PAYMENT-REQUIRED header is byte-identical to the one the official server sent.
  const std::string header = EncodePaymentRequiredHeaderV2({r}, "Payment required");
  CHECK(ParseBase64(header) == decoded);
  CHECK(header == std::string(At(server, {"headers", "payment-required"}).AsString()));

  // And decodes back, resource fields included.
  absl::StatusOr<std::vector<v1::PaymentRequirement>> back =
      DecodePaymentRequiredHeaderV2(At(server, {"headers", "payment-required"}).AsString());
  REQUIRE_THAT(back.status(), IsOk());
  REQUIRE(back->size() == 1);
  CHECK(back->at(0).resource() == "http://127.0.0.1:43715/paid");
  CHECK(back->at(0).description() == "v2 trial resource");
  CHECK(back->at(0).mime_type() == "application/json");
  CHECK(RequirementToJson(back->at(0), 2) == sample);

  // The client's v2 copy (PAYMENT-REQUIRED of the trial's own server) too.
  const json::Value other = ReadJson("v2-PAYMENT-REQUIRED.decoded.json");
  absl::StatusOr<v1::PaymentRequirement> parsed =
      RequirementFromJson(At(other, {"accepts"}).AsArray()[0], 2);
  REQUIRE_THAT(parsed.status(), IsOk());
  CHECK(RequirementToJson(*parsed, 2) == At(other, {"accepts"}).AsArray()[0]);
}

TEST_CASE("RequirementToJson: extra defaults to {}, description is kept as given", "[unit]") {
  v1::PaymentRequirement r = TrialRequirement("base", "https://p402.test/v1/chat", "");
  r.set_extra_json("");
  CHECK(RequirementToJson(r, 2).Find("extra")->Serialize() == "{}");
  r.set_extra_json("not json");
  CHECK(RequirementToJson(r, 1).Find("extra")->Serialize() == "{}");
  r.set_extra_json("[1]");
  CHECK(RequirementToJson(r, 1).Find("extra")->Serialize() == "{}");
  r.set_description("P402 chat completion (fast mode, gpt-4o-mini)");
  CHECK(RequirementToJson(r, 1).GetString("description") ==
        std::string_view("P402 chat completion (fast mode, gpt-4o-mini)"));
  // The v2 shape has exactly the seven fields.
  CHECK(RequirementToJson(r, 2).AsObject().size() == 7);
}

TEST_CASE("RequirementFromJson names a missing or mistyped field", "[unit]") {
  const json::Value v2 = At(ReadJson("v2-PAYMENT-REQUIRED.decoded.json"), {"accepts"}).AsArray()[0];
  const json::Value v1 = At(ReadJson("server-v1-402.json"), {"body", "accepts"}).AsArray()[0];
  auto expect_bad = [](const json::Value& doc, int version, std::string_view field) {
    INFO(doc.Serialize());
    absl::StatusOr<v1::PaymentRequirement> r = RequirementFromJson(doc, version);
    CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument, std::string(field)));
    CHECK(ReasonOf(r.status()) == std::string(kInvalidPaymentRequirements));
  };
  for (const char* f : {"scheme", "network", "amount", "asset", "payTo", "maxTimeoutSeconds"}) {
    expect_bad(Without(v2, {f}), 2, f);
    expect_bad(With(v2, {f}, json::Value::EmptyArray()), 2, f);
  }
  for (const char* f : {"scheme", "network", "maxAmountRequired", "resource", "description",
                        "mimeType", "payTo", "maxTimeoutSeconds", "asset"}) {
    expect_bad(Without(v1, {f}), 1, f);
  }
  expect_bad(With(v2, {"amount"}, 10000), 2, "amount");
  expect_bad(With(v2, {"amount"}, "0010000"), 2, "amount");
  expect_bad(With(v2, {"amount"}, "1.5"), 2, "amount");
  expect_bad(With(v2, {"maxTimeoutSeconds"}, "60"), 2, "maxTimeoutSeconds");
  expect_bad(With(v2, {"maxTimeoutSeconds"}, -1), 2, "maxTimeoutSeconds");
  expect_bad(With(v2, {"maxTimeoutSeconds"}, 1.5), 2, "maxTimeoutSeconds");
  expect_bad(With(v2, {"extra"}, "x"), 2, "extra");
  expect_bad(With(v1, {"outputSchema"}, 1), 1, "outputSchema");
  expect_bad(json::Value("x"), 2, "object");
  // A v2 requirement lacks v1's maxAmountRequired.
  expect_bad(v2, 1, "maxAmountRequired");
  // Optional members may be absent or null.
  CHECK_THAT(RequirementFromJson(Without(v2, {"extra"}), 2).status(), IsOk());
  CHECK_THAT(RequirementFromJson(With(v1, {"outputSchema"}, json::Value()), 1).status(), IsOk());
  CHECK(ReasonOf(RequirementFromJson(v2, 3).status()) == std::string(kInvalidX402Version));
}

TEST_CASE("the v1 402 body is x402-shaped and an OpenAI-style error", "[unit]") {
  const v1::PaymentRequirement r =
      TrialRequirement("base-sepolia", "https://p402.test/v1/chat/completions", "chat");
  const json::Value body =
      Parse(EncodePaymentRequiredBodyV1({r, r}, "payment_required", "Payment required"));
  CHECK(body.GetInt("x402Version") == 1);
  CHECK(At(body, {"error", "message"}).AsString() == "Payment required");
  CHECK(At(body, {"error", "type"}).AsString() == "payment_required");
  CHECK(At(body, {"error", "code"}).AsString() == "payment_required");
  REQUIRE(At(body, {"accepts"}).AsArray().size() == 2);
  CHECK(At(body, {"accepts"}).AsArray()[0] == RequirementToJson(r, 1));
  CHECK(At(body, {"accepts"}).AsArray()[0].GetString("maxAmountRequired") ==
        std::string_view("10000"));
  CHECK(Parse(EncodePaymentRequiredBodyV1({}, "c", "m")).Find("accepts")->AsArray().empty());
}

TEST_CASE("PAYMENT-REQUIRED decoding rejects junk", "[unit]") {
  for (const std::string& bad :
       {std::string("!!"), crypto::Base64Encode("[]"),
        crypto::Base64Encode(R"({"x402Version":1,"accepts":[]})"),
        crypto::Base64Encode(R"({"x402Version":2,"accepts":{}})"),
        crypto::Base64Encode(R"({"x402Version":2,"accepts":[{"scheme":"exact"}]})"),
        crypto::Base64Encode(R"({"x402Version":2,"resource":"u","accepts":[]})")}) {
    INFO(bad);
    CHECK_THAT(DecodePaymentRequiredHeaderV2(bad).status(),
               StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("payment-response headers match what the official servers sent", "[unit]") {
  for (const char* file :
       {"v1-X-PAYMENT-RESPONSE.decoded.json", "v2-PAYMENT-RESPONSE.decoded.json"}) {
    INFO(file);
    const json::Value sample = ReadJson(file);
    v1::SettlePaymentResponse s;
    s.set_success(true);
    s.set_transaction(At(sample, {"transaction"}).AsString());
    s.set_network(At(sample, {"network"}).AsString());
    s.set_payer(At(sample, {"payer"}).AsString());
    s.set_amount("10000");  // not part of the exact-scheme response
    const std::string header = EncodePaymentResponseHeader(s);
    CHECK(ParseBase64(header).Serialize() == sample.Serialize());
    CHECK(EncodeSettleResponse(s) == sample.Serialize());
    absl::StatusOr<v1::SettlePaymentResponse> back = DecodePaymentResponseHeader(header);
    REQUIRE_THAT(back.status(), IsOk());
    CHECK(back->success());
    CHECK(back->transaction() == s.transaction());
    CHECK(back->network() == s.network());
    CHECK(back->payer() == s.payer());
  }
}

TEST_CASE("a failed settlement carries errorReason and errorMessage", "[unit]") {
  v1::SettlePaymentResponse s;
  s.set_success(false);
  s.set_error_reason(std::string(kSettlementPending));
  s.set_error_message("receipt not seen");
  s.set_transaction("0xabc");
  s.set_network("eip155:84532");
  s.set_payer(kPayer);
  const std::string want =
      R"({"success":false,"errorReason":"settlement_pending","errorMessage":"receipt not seen",)"
      R"("transaction":"0xabc","network":"eip155:84532","payer":")" +
      std::string(kPayer) + R"("})";
  CHECK(EncodeSettleResponse(s) == want);
  absl::StatusOr<v1::SettlePaymentResponse> back =
      DecodePaymentResponseHeader(EncodePaymentResponseHeader(s));
  REQUIRE_THAT(back.status(), IsOk());
  CHECK_FALSE(back->success());
  CHECK(back->error_reason() == kSettlementPending);
  CHECK(back->error_message() == "receipt not seen");

  // Nothing broadcast, no payer known: transaction "" stays, payer and errorMessage are omitted.
  v1::SettlePaymentResponse bare;
  bare.set_error_reason(std::string(kInvalidPayload));
  bare.set_network("base");
  CHECK(EncodeSettleResponse(bare) ==
        R"({"success":false,"errorReason":"invalid_payload","transaction":"","network":"base"})");
  // Success never carries the error members.
  v1::SettlePaymentResponse ok = s;
  ok.set_success(true);
  CHECK(Parse(EncodeSettleResponse(ok)).Find("errorReason") == nullptr);
  CHECK(Parse(EncodeSettleResponse(ok)).Find("errorMessage") == nullptr);

  for (const std::string& bad : {std::string("%%"), crypto::Base64Encode("{}"),
                                 crypto::Base64Encode(R"({"success":"true"})"),
                                 crypto::Base64Encode(R"({"success":true,"transaction":5})")}) {
    CHECK_FALSE(DecodePaymentResponseHeader(bad).ok());
  }
}

TEST_CASE("facilitator requests the official servers sent decode", "[unit]") {
  const json::Value log = ReadJson("facilitator-http-log.json");
  int posts = 0;
  for (const json::Value& entry : log.AsArray()) {
    if (entry.GetString("method") != std::string_view("POST")) continue;
    ++posts;
    const json::Value& body = At(entry, {"requestBody"});
    INFO(entry.GetString("path").value_or("") << " " << body.Serialize().substr(0, 80));
    absl::StatusOr<FacilitatorRequest> req = DecodeFacilitatorRequest(body.Serialize());
    REQUIRE_THAT(req.status(), IsOk());
    CHECK(req->version == At(body, {"x402Version"}).AsInt());
    CHECK(Parse(req->payment_payload_json) == At(body, {"paymentPayload"}));
    // The requirement survives the round trip exactly (v1 with outputSchema, v2 the seven).
    CHECK(RequirementToJson(req->requirement, req->version) == At(body, {"paymentRequirements"}));
    // The payload is well formed and answers that requirement.
    absl::StatusOr<PaymentPayload> payload = ParsePaymentPayload(req->payment_payload_json);
    REQUIRE_THAT(payload.status(), IsOk());
    CHECK(payload->version == req->version);
    CHECK(RequirementMatches(*payload, req->requirement));

    // The reference facilitator's answers, re-encoded by us, are identical.
    const json::Value& response = At(entry, {"responseBody"});
    if (entry.GetString("path") == std::string_view("/verify")) {
      v1::VerifyPaymentResponse v;
      v.set_valid(At(response, {"isValid"}).AsBool());
      v.set_payer(At(response, {"payer"}).AsString());
      CHECK(EncodeVerifyResponse(v) == response.Serialize());
    } else {
      v1::SettlePaymentResponse s;
      s.set_success(At(response, {"success"}).AsBool());
      s.set_transaction(At(response, {"transaction"}).AsString());
      s.set_network(At(response, {"network"}).AsString());
      s.set_payer(At(response, {"payer"}).AsString());
      CHECK(EncodeSettleResponse(s) == response.Serialize());
    }
  }
  CHECK(posts == 6);
}

TEST_CASE("malformed facilitator requests are rejected with a reason", "[unit]") {
  const json::Value log = ReadJson("facilitator-http-log.json");
  const json::Value& good = At(log.AsArray().at(3), {"requestBody"});  // v2 /verify
  REQUIRE(good.GetInt("x402Version") == 2);
  auto expect = [](std::string_view body, std::string_view reason) {
    INFO(body.substr(0, 120));
    absl::StatusOr<FacilitatorRequest> r = DecodeFacilitatorRequest(body);
    CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument));
    CHECK(ReasonOf(r.status()) == std::string(reason));
  };
  expect("", kInvalidPayload);
  expect("not json", kInvalidPayload);
  expect("[]", kInvalidPayload);
  expect(Without(good, {"paymentPayload"}).Serialize(), kInvalidPayload);
  expect(With(good, {"paymentPayload"}, "eyJ4").Serialize(), kInvalidPayload);
  expect(Without(good, {"paymentRequirements"}).Serialize(), kInvalidPaymentRequirements);
  expect(Without(good, {"paymentRequirements", "payTo"}).Serialize(), kInvalidPaymentRequirements);
  expect(Without(good, {"x402Version"}).Serialize(), kInvalidX402Version);
  expect(With(good, {"x402Version"}, 3).Serialize(), kInvalidX402Version);
  // Envelope says v1, payload is v2.
  expect(With(good, {"x402Version"}, 1).Serialize(), kInvalidX402Version);
}

TEST_CASE("verify responses follow the reference facilitator's shape", "[unit]") {
  v1::VerifyPaymentResponse v;
  v.set_valid(false);
  v.set_invalid_reason(std::string(kNonceAlreadyUsed));
  v.set_payer(kPayer);
  v.set_invalid_message("authorization is used or canceled");
  CHECK(EncodeVerifyResponse(v) ==
        R"({"isValid":false,"invalidReason":"invalid_exact_evm_nonce_already_used","payer":")" +
            std::string(kPayer) + R"(","invalidMessage":"authorization is used or canceled"})");
  v.clear_invalid_message();
  v.clear_payer();
  CHECK(EncodeVerifyResponse(v) ==
        R"({"isValid":false,"invalidReason":"invalid_exact_evm_nonce_already_used"})");
  v1::VerifyPaymentResponse ok;
  ok.set_valid(true);
  ok.set_payer(kPayer);
  ok.set_invalid_message("ignored when valid");
  CHECK(EncodeVerifyResponse(ok) == R"({"isValid":true,"payer":")" + std::string(kPayer) + "\"}");
}

TEST_CASE("EncodeSupported reproduces the reference facilitator's /supported", "[unit]") {
  const json::Value sample = ReadJson("facilitator-supported.json");
  v1::GetSupportedResponse s;
  for (const json::Value& kind : At(sample, {"kinds"}).AsArray()) {
    v1::SupportedKind* k = s.add_kinds();
    k->set_x402_version(static_cast<int32_t>(At(kind, {"x402Version"}).AsInt()));
    k->set_scheme(At(kind, {"scheme"}).AsString());
    k->set_network(At(kind, {"network"}).AsString());
  }
  for (const json::Value& signer : At(sample, {"signers", "eip155:*"}).AsArray()) {
    s.add_signers(signer.AsString());
  }
  CHECK(EncodeSupported(s) == sample.Serialize());
  CHECK(EncodeSupported(v1::GetSupportedResponse()) ==
        R"({"kinds":[],"extensions":[],"signers":{"eip155:*":[]}})");
}

}  // namespace
}  // namespace p402::x402
