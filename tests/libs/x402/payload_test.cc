// libs/x402 payload decoding against the headers the official clients sent in the x402 trial
// (x402-fetch 1.2.0 / @x402/fetch 2.27.0), the shape checks, RequirementMatches, and a small fuzz.
#include "libs/x402/payload.h"

#include <random>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"
#include "libs/evm/address.h"
#include "libs/x402/codec.h"
#include "libs/x402/reasons.h"
#include "tests/libs/x402/x402_test_data.h"
#include "tests/support/catch_status.h"

namespace p402::x402 {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;
using testdata::At;
using testdata::ReadJson;
using testdata::ReadText;
using testdata::With;
using testdata::Without;

std::string Str(const json::Value& root, std::initializer_list<std::string_view> path) {
  const json::Value& v = At(root, path);
  REQUIRE(v.is_string());
  return v.AsString();
}

std::string DecimalOf(const evm::Uint256& v) {
  // Small values only (tests): the low 8 bytes.
  uint64_t x = 0;
  for (size_t i = 24; i < 32; ++i) x = (x << 8) | v[i];
  for (size_t i = 0; i < 24; ++i) REQUIRE(v[i] == 0);
  return std::to_string(x);
}

// Checks the parsed authorization/signature against the JSON the client sent.
void CheckAuthorization(const PaymentPayload& p, const json::Value& sent) {
  const json::Value& auth = At(sent, {"payload", "authorization"});
  CHECK(evm::ToChecksum(p.authorization.from) == Str(auth, {"from"}));
  CHECK(evm::ToChecksum(p.authorization.to) == Str(auth, {"to"}));
  CHECK(p.value_text == Str(auth, {"value"}));
  CHECK(p.valid_after_text == Str(auth, {"validAfter"}));
  CHECK(p.valid_before_text == Str(auth, {"validBefore"}));
  CHECK(DecimalOf(p.authorization.value) == p.value_text);
  CHECK(DecimalOf(p.authorization.valid_after) == p.valid_after_text);
  CHECK(DecimalOf(p.authorization.valid_before) == p.valid_before_text);
  CHECK("0x" + crypto::HexEncode(p.authorization.nonce) == Str(auth, {"nonce"}));
  CHECK("0x" + crypto::HexEncode(p.signature) == Str(sent, {"payload", "signature"}));
  // The re-serialised JSON is the same document.
  absl::StatusOr<json::Value> reparsed = json::Value::Parse(p.json);
  REQUIRE_THAT(reparsed.status(), IsOk());
  CHECK(*reparsed == sent);
}

TEST_CASE("the real x402-fetch 1.2.0 X-PAYMENT header decodes", "[unit]") {
  const json::Value sent = ReadJson("v1-X-PAYMENT.decoded.json");
  absl::StatusOr<PaymentPayload> p = DecodePaymentHeader(ReadText("v1-X-PAYMENT.b64.txt"));
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(p->version == 1);
  CHECK(p->scheme == "exact");
  CHECK(p->network == "base-sepolia");
  CHECK_FALSE(p->accepted.has_value());
  CHECK(p->resource_url.empty());
  CHECK(p->value_text == "10000");
  CHECK(p->valid_after_text == "1795430888");
  CHECK(p->signature[64] == 0x1b);  // v = 27 kept as sent
  CheckAuthorization(*p, sent);
}

TEST_CASE("the real @x402/fetch 2.27 PAYMENT-SIGNATURE header decodes", "[unit]") {
  const json::Value sent = ReadJson("v2-PAYMENT-SIGNATURE.decoded.json");
  absl::StatusOr<PaymentPayload> p = DecodePaymentHeader(ReadText("v2-PAYMENT-SIGNATURE.b64.txt"));
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(p->version == 2);
  CHECK(p->scheme == "exact");
  CHECK(p->network == "eip155:84532");
  CHECK(p->resource_url == "http://127.0.0.1:46415/v2/paid");
  CHECK(p->valid_after_text == "0");
  REQUIRE(p->accepted.has_value());
  CHECK(p->accepted->amount() == "10000");
  CHECK(p->accepted->asset() == "0xe78A0F7E598Cc8b0Bb87894B0F60dD2a88d6a8Ab");
  CHECK(p->accepted->pay_to() == "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b");
  CHECK(p->accepted->max_timeout_seconds() == 60);
  CHECK(p->accepted->extra_json() == R"({"name":"USDC","version":"2"})");
  CHECK(p->accepted_json == At(sent, {"accepted"}));
  CheckAuthorization(*p, sent);

  // The same from the JSON text and from a parsed value.
  absl::StatusOr<PaymentPayload> from_text =
      ParsePaymentPayload(ReadText("v2-PAYMENT-SIGNATURE.decoded.json"));
  REQUIRE_THAT(from_text.status(), IsOk());
  CHECK(from_text->json == p->json);
  absl::StatusOr<PaymentPayload> from_value = ParsePaymentPayload(sent);
  REQUIRE_THAT(from_value.status(), IsOk());
  CHECK(from_value->json == p->json);
}

TEST_CASE("RequirementMatches: the real v2 payload matches the offer it answered", "[unit]") {
  const json::Value required = ReadJson("v2-PAYMENT-REQUIRED.decoded.json");
  absl::StatusOr<v1::PaymentRequirement> offer =
      RequirementFromJson(At(required, {"accepts"}).AsArray().at(0), 2);
  REQUIRE_THAT(offer.status(), IsOk());
  const json::Value sent = ReadJson("v2-PAYMENT-SIGNATURE.decoded.json");
  absl::StatusOr<PaymentPayload> p = ParsePaymentPayload(sent);
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(RequirementMatches(*p, *offer));

  // P402-only fields of the proto (mode, prices, resource...) are not part of the v2 shape.
  v1::PaymentRequirement priced = *offer;
  priced.set_model_cost_micro_usd(9000);
  priced.set_platform_fee_micro_usd(1000);
  priced.set_resource("http://elsewhere/");
  CHECK(RequirementMatches(*p, priced));

  SECTION("any differing field of the offer breaks the match") {
    v1::PaymentRequirement r = *offer;
    SECTION("amount") { r.set_amount("10001"); }
    SECTION("payTo case") { r.set_pay_to("0x22d491bde2303f2f43325b2108d26f1eaba1e32b"); }
    SECTION("asset") { r.set_asset("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"); }
    SECTION("network") { r.set_network("eip155:8453"); }
    SECTION("scheme") { r.set_scheme("upto"); }
    SECTION("maxTimeoutSeconds") { r.set_max_timeout_seconds(61); }
    SECTION("an extra key the payload lacks") {
      r.set_extra_json(R"({"name":"USDC","version":"2","p402_mode":"fast"})");
    }
    SECTION("an extra value that differs") {
      r.set_extra_json(R"({"name":"USD Coin","version":"2"})");
    }
    CHECK_FALSE(RequirementMatches(*p, r));
  }

  SECTION("the payload's copy differs from the offer") {
    json::Value changed;
    SECTION("a member the offer lacks") {
      changed = With(sent, {"accepted", "outputSchema"}, json::Value::EmptyObject());
    }
    SECTION("extra missing") { changed = Without(sent, {"accepted", "extra"}); }
    SECTION("extra.version missing") { changed = Without(sent, {"accepted", "extra", "version"}); }
    SECTION("maxTimeoutSeconds") { changed = With(sent, {"accepted", "maxTimeoutSeconds"}, 30); }
    absl::StatusOr<PaymentPayload> q = ParsePaymentPayload(changed);
    REQUIRE_THAT(q.status(), IsOk());
    CHECK_FALSE(RequirementMatches(*q, *offer));
  }

  SECTION("extra keys the client added, and member order, do not matter") {
    json::Value more = With(sent, {"accepted", "extra", "assetTransferMethod"}, "eip3009");
    json::Value reordered = json::Value::EmptyObject();
    const json::Value& acc = At(more, {"accepted"});
    for (auto it = acc.AsObject().rbegin(); it != acc.AsObject().rend(); ++it) {
      reordered.Set(it->first, it->second);
    }
    more = With(more, {"accepted"}, reordered);
    absl::StatusOr<PaymentPayload> q = ParsePaymentPayload(more);
    REQUIRE_THAT(q.status(), IsOk());
    CHECK(RequirementMatches(*q, *offer));
  }

  SECTION("an offer with an empty extra accepts any extra") {
    v1::PaymentRequirement r = *offer;
    r.set_extra_json("");
    CHECK(RequirementMatches(*p, r));
  }
}

TEST_CASE("RequirementMatches for v1 compares scheme and network", "[unit]") {
  absl::StatusOr<PaymentPayload> p = DecodePaymentHeader(ReadText("v1-X-PAYMENT.b64.txt"));
  REQUIRE_THAT(p.status(), IsOk());
  const json::Value body = ReadJson("server-v1-402.json");
  absl::StatusOr<v1::PaymentRequirement> offer =
      RequirementFromJson(At(body, {"body", "accepts"}).AsArray().at(0), 1);
  REQUIRE_THAT(offer.status(), IsOk());
  CHECK(RequirementMatches(*p, *offer));
  v1::PaymentRequirement other = *offer;
  other.set_amount("1");  // left to the verifier
  CHECK(RequirementMatches(*p, other));
  other.set_network("base");
  CHECK_FALSE(RequirementMatches(*p, other));
  other = *offer;
  other.set_scheme("upto");
  CHECK_FALSE(RequirementMatches(*p, other));
  // A v1 offer's CAIP-2 network never matches a v1 payload's name.
  other = *offer;
  other.set_network("eip155:84532");
  CHECK_FALSE(RequirementMatches(*p, other));
}

void ExpectRejected(const json::Value& doc, std::string_view reason, std::string_view needle) {
  INFO(doc.Serialize());
  absl::StatusOr<PaymentPayload> p = ParsePaymentPayload(doc);
  REQUIRE_THAT(p.status(), StatusIs(absl::StatusCode::kInvalidArgument, std::string(needle)));
  CHECK(ReasonOf(p.status()) == std::string(reason));
  // The header path gives the same answer.
  absl::StatusOr<PaymentPayload> h = DecodePaymentHeader(crypto::Base64Encode(doc.Serialize()));
  CHECK(ReasonOf(h.status()) == std::string(reason));
}

TEST_CASE("malformed payloads are rejected with a reason naming the field", "[unit]") {
  const json::Value v1 = ReadJson("v1-X-PAYMENT.decoded.json");
  const json::Value v2 = ReadJson("v2-PAYMENT-SIGNATURE.decoded.json");
  const std::string k = std::string(kInvalidPayload);

  ExpectRejected(json::Value::EmptyArray(), k, "object");
  ExpectRejected(json::Value("x"), k, "object");
  ExpectRejected(Without(v1, {"x402Version"}), k, "x402Version");
  ExpectRejected(With(v1, {"x402Version"}, "1"), k, "x402Version");
  ExpectRejected(With(v1, {"x402Version"}, 3), std::string(kInvalidX402Version), "x402Version");
  ExpectRejected(With(v1, {"x402Version"}, 1.5), std::string(kInvalidX402Version), "x402Version");
  ExpectRejected(With(v1, {"x402Version"}, 0), std::string(kInvalidX402Version), "x402Version");
  ExpectRejected(Without(v1, {"scheme"}), k, "scheme");
  ExpectRejected(With(v1, {"network"}, 84532), k, "network");
  ExpectRejected(Without(v1, {"payload"}), k, "payload");
  ExpectRejected(With(v1, {"payload"}, "0x"), k, "payload");
  ExpectRejected(Without(v1, {"payload", "authorization"}), k, "payload.authorization");
  ExpectRejected(Without(v1, {"payload", "signature"}), k, "payload.signature");

  // Addresses: 0x + 40 hex exactly.
  for (const char* bad :
       {"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f", "FFcf8FDEE72ac11b5c542428B35EEF5769C409f000",
        "0XFFcf8FDEE72ac11b5c542428B35EEF5769C409f0", "0xGFcf8FDEE72ac11b5c542428B35EEF5769C409f0",
        "", "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0 "}) {
    ExpectRejected(With(v1, {"payload", "authorization", "from"}, bad), k,
                   "payload.authorization.from");
    ExpectRejected(With(v2, {"payload", "authorization", "to"}, bad), k,
                   "payload.authorization.to");
  }
  ExpectRejected(Without(v1, {"payload", "authorization", "to"}), k, "payload.authorization.to");
  // Integers: exact decimal uint256 strings only (no JSON numbers, signs, leading zeros, hex).
  for (const char* field : {"value", "validAfter", "validBefore"}) {
    const std::string path = std::string("payload.authorization.") + field;
    ExpectRejected(With(v1, {"payload", "authorization", field}, 10000), k, path);
    ExpectRejected(With(v2, {"payload", "authorization", field}, 10000.0), k, path);
    for (const char* bad :
         {"", "-1", "+1", "01", "1e4", "0x10", " 1", "1.0",
          "115792089237316195423570985008687907853269984665640564039457584007913129639936"}) {
      ExpectRejected(With(v1, {"payload", "authorization", field}, bad), k, path);
    }
    ExpectRejected(Without(v2, {"payload", "authorization", field}), k, path);
  }
  // The largest uint256 is fine.
  CHECK_THAT(
      ParsePaymentPayload(
          With(v1, {"payload", "authorization", "value"},
               "115792089237316195423570985008687907853269984665640564039457584007913129639935"))
          .status(),
      IsOk());
  // Nonce: 0x + 64 hex.
  for (const char* bad :
       {"0x1234", "e2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630b0e9e3a8332",
        "0xe2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630b0e9e3a833",
        "0xe2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630b0e9e3a83321",
        "0xz2a6c96f803dfcd6db0e7e20e3e7ca79793a40f4de5b832f92630b0e9e3a8332"}) {
    ExpectRejected(With(v1, {"payload", "authorization", "nonce"}, bad), k,
                   "payload.authorization.nonce");
  }
  ExpectRejected(With(v1, {"payload", "authorization", "nonce"}, 5), k,
                 "payload.authorization.nonce");
  // Signature: 0x + 130 hex.
  const std::string sig = Str(v1, {"payload", "signature"});
  for (const std::string& bad : {sig.substr(0, 130), sig + "1b", sig.substr(2),
                                 "0x" + std::string(129, 'a') + "g", std::string("0x")}) {
    ExpectRejected(With(v1, {"payload", "signature"}, bad), k, "payload.signature");
  }
  // v2 envelope.
  ExpectRejected(Without(v2, {"accepted"}), k, "accepted");
  ExpectRejected(With(v2, {"accepted"}, "exact"), k, "accepted");
  ExpectRejected(With(v2, {"accepted", "amount"}, 10000), k, "amount");
  ExpectRejected(Without(v2, {"accepted", "network"}), k, "network");
  ExpectRejected(With(v2, {"accepted", "maxTimeoutSeconds"}, "60"), k, "maxTimeoutSeconds");
  ExpectRejected(With(v2, {"accepted", "extra"}, "USDC"), k, "extra");
  ExpectRejected(With(v2, {"resource"}, "http://x/"), k, "resource");
  ExpectRejected(With(v2, {"resource", "url"}, 1), k, "resource.url");
  // v2 keeps its network in accepted: a top-level one is ignored, resource is optional.
  absl::StatusOr<PaymentPayload> no_resource = ParsePaymentPayload(Without(v2, {"resource"}));
  REQUIRE_THAT(no_resource.status(), IsOk());
  CHECK(no_resource->resource_url.empty());
}

TEST_CASE("header encoding must be strict padded standard base64 within 16 KiB", "[unit]") {
  const std::string good = ReadText("v2-PAYMENT-SIGNATURE.b64.txt");
  REQUIRE_THAT(DecodePaymentHeader(good).status(), IsOk());
  const std::string json_text = ReadText("v2-PAYMENT-SIGNATURE.decoded.json");
  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 2),                // padding removed
      good.substr(0, 100) + "\n" + good.substr(100),  // embedded newline
      " " + good,
      good + " ",
      crypto::Base64UrlEncode(json_text),  // URL-safe alphabet
      "!!!!",
      json_text,  // raw JSON instead of base64
  };
  for (const std::string& h : bad) {
    INFO(h.substr(0, 40));
    absl::StatusOr<PaymentPayload> p = DecodePaymentHeader(h);
    CHECK_THAT(p.status(), StatusIs(absl::StatusCode::kInvalidArgument));
    CHECK(ReasonOf(p.status()) == std::string(kInvalidPayload));
  }
  // Base64 of something that is not JSON / not an object.
  for (const char* text : {"not json", "[1,2]", "\"x\"", "{", "null"}) {
    absl::StatusOr<PaymentPayload> p = DecodePaymentHeader(crypto::Base64Encode(text));
    CHECK(ReasonOf(p.status()) == std::string(kInvalidPayload));
  }
  // Over 16 KiB (a valid payload padded with an ignored member) is refused, under is accepted.
  json::Value big = ReadJson("v2-PAYMENT-SIGNATURE.decoded.json");
  big.Set("extensions", json::Value::EmptyObject()).Set("pad", std::string(13000, 'a'));
  CHECK_THAT(DecodePaymentHeader(crypto::Base64Encode(big.Serialize())).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "16 KiB"));
  json::Value small = ReadJson("v2-PAYMENT-SIGNATURE.decoded.json");
  small.Set("extensions", json::Value::EmptyObject()).Set("pad", std::string(9000, 'a'));
  CHECK_THAT(DecodePaymentHeader(crypto::Base64Encode(small.Serialize())).status(), IsOk());
  CHECK_THAT(ParsePaymentPayload(std::string(16 * 1024 + 1, ' ')).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "16 KiB"));
}

TEST_CASE("decoding never crashes on hostile input", "[unit]") {
  const std::string header = ReadText("v1-X-PAYMENT.b64.txt");
  const std::string json_text = ReadText("v2-PAYMENT-SIGNATURE.decoded.json");
  std::mt19937 rng(402);

  // Every truncation of a real header / JSON document fails cleanly (none is complete).
  for (size_t n = 0; n < header.size(); ++n) {
    CHECK_FALSE(DecodePaymentHeader(header.substr(0, n)).ok());
  }
  for (size_t n = 0; n < json_text.size(); ++n) {
    absl::StatusOr<PaymentPayload> p = ParsePaymentPayload(json_text.substr(0, n));
    CHECK(ReasonOf(p.status()) == std::string(kInvalidPayload));
  }
  // Random bytes, raw and base64-wrapped.
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    CHECK_FALSE(DecodePaymentHeader(bytes).ok());
    CHECK_FALSE(DecodePaymentHeader(crypto::Base64Encode(bytes)).ok());
  }
  // Single-byte mutations of the real JSON: any outcome but a crash; successes stay well formed.
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = json_text;
    mutated[rng() % mutated.size()] = static_cast<char>(rng() & 0xff);
    absl::StatusOr<PaymentPayload> p = ParsePaymentPayload(mutated);
    if (p.ok()) {
      CHECK((p->version == 1 || p->version == 2));
    } else {
      CHECK(ReasonOf(p.status()).has_value());
    }
  }
  // Deep nesting, inside and outside the payload.
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  CHECK_FALSE(ParsePaymentPayload(deep).ok());
  const std::string deep_obj =
      R"({"x402Version":2,"accepted":)" + std::string(200, '[') + std::string(200, ']') + "}";
  CHECK(ReasonOf(ParsePaymentPayload(deep_obj).status()) == std::string(kInvalidPayload));
  CHECK_FALSE(DecodePaymentHeader(crypto::Base64Encode(deep)).ok());
  // Huge numbers and odd types where integers are expected.
  for (const char* doc : {R"({"x402Version":1e400})", R"({"x402Version":18446744073709551615})",
                          R"({"x402Version":-9223372036854775808})", R"({"x402Version":null})",
                          R"({"x402Version":true})", R"({"x402Version":[1]})"}) {
    INFO(doc);
    CHECK_FALSE(ParsePaymentPayload(std::string_view(doc)).ok());
  }
}

}  // namespace
}  // namespace p402::x402
