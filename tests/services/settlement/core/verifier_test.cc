// Tests of VerifyPayload / CheckValidityWindow: the 11 ordered checks and their reason codes, on
// payments signed for real (payment_fixture.h) and on the published EIP-3009 vectors.
#include "services/settlement/core/verifier.h"

#include "catch2/catch.hpp"
#include "libs/crypto/secp256k1.h"
#include "libs/x402/payload.h"
#include "libs/x402/reasons.h"
#include "tests/services/settlement/core/payment_fixture.h"

namespace p402::settlement {
namespace {

using testing::Addr;
using testing::kBuyer;
using testing::Offer;
using testing::SignedPayment;
using testing::SignOptions;
using testing::SignPayment;

constexpr uint64_t kNow = 1'795'435'200;

VerifyOptions Options() {
  VerifyOptions options;
  options.now_unix_seconds = kNow;
  options.expected_chain_id = 84532;
  options.expected_asset = Addr(testing::kSepoliaUsdc);
  return options;
}

SignOptions Sign(uint64_t nonce = 1) {
  SignOptions options;
  options.now_unix_seconds = kNow;
  options.nonce = nonce;
  return options;
}

VerifyResult Verify(const SignedPayment& payment, const v1::PaymentRequirement& offer,
                    const VerifyOptions& options = Options()) {
  return VerifyPayload(payment.payload, {offer}, options);
}

TEST_CASE("fixture keys are the ganache accounts", "[unit]") {
  auto buyer = crypto::AddressOf(testing::KeyFromHex(testing::kBuyerKeyHex));
  REQUIRE(buyer.ok());
  CHECK(evm::ToChecksum(*buyer) == kBuyer);
  auto other = crypto::AddressOf(testing::KeyFromHex(testing::kOtherKeyHex));
  REQUIRE(other.ok());
  CHECK(evm::ToChecksum(*other) == testing::kPayTo);
}

TEST_CASE("a correctly signed v1 and v2 payment is valid", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  for (int version : {1, 2}) {
    const v1::PaymentRequirement offer = Offer(terms, version, 10'000);
    VerifyResult result = Verify(SignPayment(offer, version, Sign()), offer);
    INFO(result.reason << ": " << result.message);
    CHECK(result.valid);
    CHECK(result.reason.empty());
    CHECK(result.matched_index == 0);
    CHECK(result.payer == kBuyer);
  }
}

TEST_CASE("the published Base mainnet vector verifies, decoded from its headers", "[unit]") {
  // tests/libs/evm/data/eip3009-vectors.json (vectors[0]): validBefore 1900000000.
  constexpr char kV1Header[] =
      "eyJ4NDAyVmVyc2lvbiI6MSwic2NoZW1lIjoiZXhhY3QiLCJuZXR3b3JrIjoiYmFzZSIsInBheWxvYWQiOnsic2lnbmF0"
      "dXJlIjoiMHg5NWM4NTkxZmQwYzU1ZTJmMTc0NzU4MGZmNjg5MjQ3MjdhNjY4ZDE2YWIxODg3ZjU1YjY5OTVhYjU5ZDMx"
      "MGQ1NzVjOTczY2ZlZjljYjQyMDJiNDRjMDFiODNkZjRhODAwOTZmYWE0NWM4NzUzMDkyN2ZjZWZlOGIwNjQwN2YxNjFi"
      "IiwiYXV0aG9yaXphdGlvbiI6eyJmcm9tIjoiMHhGRmNmOEZERUU3MmFjMTFiNWM1NDI0MjhCMzVFRUY1NzY5QzQwOWYw"
      "IiwidG8iOiIweDIyZDQ5MUJkZTIzMDNmMmY0MzMyNWIyMTA4RDI2ZjFlQWJBMWUzMmIiLCJ2YWx1ZSI6IjEwMDAwIiwi"
      "dmFsaWRBZnRlciI6IjAiLCJ2YWxpZEJlZm9yZSI6IjE5MDAwMDAwMDAiLCJub25jZSI6IjB4MDAwMDAwMDAwMDAwMDAw"
      "MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMSJ9fX0=";
  constexpr char kV2Header[] =
      "eyJ4NDAyVmVyc2lvbiI6MiwicGF5bG9hZCI6eyJhdXRob3JpemF0aW9uIjp7ImZyb20iOiIweEZGY2Y4RkRFRTcyYWMx"
      "MWI1YzU0MjQyOEIzNUVFRjU3NjlDNDA5ZjAiLCJ0byI6IjB4MjJkNDkxQmRlMjMwM2YyZjQzMzI1YjIxMDhEMjZmMWVB"
      "YkExZTMyYiIsInZhbHVlIjoiMTAwMDAiLCJ2YWxpZEFmdGVyIjoiMCIsInZhbGlkQmVmb3JlIjoiMTkwMDAwMDAwMCIs"
      "Im5vbmNlIjoiMHgwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw"
      "MDAwMDAxIn0sInNpZ25hdHVyZSI6IjB4OTVjODU5MWZkMGM1NWUyZjE3NDc1ODBmZjY4OTI0NzI3YTY2OGQxNmFiMTg4"
      "N2Y1NWI2OTk1YWI1OWQzMTBkNTc1Yzk3M2NmZWY5Y2I0MjAyYjQ0YzAxYjgzZGY0YTgwMDk2ZmFhNDVjODc1MzA5Mjdm"
      "Y2VmZThiMDY0MDdmMTYxYiJ9LCJyZXNvdXJjZSI6eyJ1cmwiOiJodHRwczovL2FwaS5leGFtcGxlLnRlc3QvcGFpZCIs"
      "ImRlc2NyaXB0aW9uIjoiIiwibWltZVR5cGUiOiJhcHBsaWNhdGlvbi9qc29uIn0sImFjY2VwdGVkIjp7InNjaGVtZSI6"
      "ImV4YWN0IiwibmV0d29yayI6ImVpcDE1NTo4NDUzIiwiYW1vdW50IjoiMTAwMDAiLCJhc3NldCI6IjB4ODMzNTg5ZkNE"
      "NmVEYjZFMDhmNGM3QzMyRDRmNzFiNTRiZEEwMjkxMyIsInBheVRvIjoiMHgyMmQ0OTFCZGUyMzAzZjJmNDMzMjViMjEw"
      "OEQyNmYxZUFiQTFlMzJiIiwibWF4VGltZW91dFNlY29uZHMiOjYwLCJleHRyYSI6eyJuYW1lIjoiVVNEIENvaW4iLCJ2"
      "ZXJzaW9uIjoiMiJ9fX0=";
  PaymentTerms mainnet = testing::SepoliaTerms();
  mainnet.chain_id = 8453;
  mainnet.asset = Addr(testing::kMainnetUsdc);
  mainnet.asset_name = "USD Coin";
  mainnet.max_timeout_seconds = 60;
  VerifyOptions options;
  options.now_unix_seconds = 1'900'000'000 - 120;
  options.expected_chain_id = 8453;
  options.expected_asset = mainnet.asset;
  for (int version : {1, 2}) {
    auto payload = x402::DecodePaymentHeader(version == 1 ? kV1Header : kV2Header);
    REQUIRE(payload.ok());
    v1::PaymentRequirement offer = Offer(mainnet, version, 10'000, "https://api.example.test/paid");
    VerifyResult result = VerifyPayload(*payload, {offer}, options);
    INFO("v" << version << " " << result.reason << ": " << result.message);
    CHECK(result.valid);
    CHECK(result.payer == kBuyer);
    // The same signature on Base Sepolia's domain never recovers to the payer (X402.md 4).
    PaymentTerms sepolia = testing::SepoliaTerms();
    sepolia.asset = mainnet.asset;
    sepolia.asset_name = "USD Coin";
    v1::PaymentRequirement wrong_chain =
        Offer(sepolia, version, 10'000, "https://api.example.test/paid");
    x402::PaymentPayload moved = *payload;
    moved.network = wrong_chain.network();
    if (version == 2) moved.accepted_json = x402::RequirementToJson(wrong_chain, 2);
    VerifyOptions sepolia_options = options;
    sepolia_options.expected_chain_id = 84532;
    CHECK(VerifyPayload(moved, {wrong_chain}, sepolia_options).reason == x402::kSignature);
  }
}

TEST_CASE("the fixture's wire JSON parses back to the same payment", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 12'345);
  SignedPayment payment = SignPayment(offer, 2, Sign(7));
  auto parsed = x402::ParsePaymentPayload(payment.json);
  REQUIRE(parsed.ok());
  CHECK(parsed->signature == payment.payload.signature);
  CHECK(parsed->authorization.nonce == payment.payload.authorization.nonce);
  CHECK(parsed->value_text == "12345");
  CHECK(Verify(SignedPayment{*parsed, payment.json}, offer).valid);
  auto decoded = x402::DecodePaymentHeader(testing::HeaderValue(payment));
  REQUIRE(decoded.ok());
  CHECK(decoded->signature == payment.payload.signature);
  v1::PaymentRequirement v1_offer = Offer(testing::SepoliaTerms(), 1, 500);
  SignedPayment v1_payment = SignPayment(v1_offer, 1, Sign(8));
  auto v1_parsed = x402::DecodePaymentHeader(testing::HeaderValue(v1_payment));
  REQUIRE(v1_parsed.ok());
  CHECK(v1_parsed->version == 1);
  CHECK(v1_parsed->network == "base-sepolia");
  CHECK(VerifyPayload(*v1_parsed, {v1_offer}, Options()).valid);
}

TEST_CASE("1: no offer matches", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  const v1::PaymentRequirement offer = Offer(terms, 2, 10'000);
  v1::PaymentRequirement other = offer;
  other.set_amount("10001");  // the client's `accepted` no longer equals the offer
  VerifyResult result = Verify(SignPayment(offer, 2, Sign()), other);
  CHECK_FALSE(result.valid);
  CHECK(result.reason == x402::kNoMatchingRequirements);
  CHECK(result.matched_index == -1);

  const v1::PaymentRequirement v1_offer = Offer(terms, 1, 10'000);
  v1::PaymentRequirement mainnet = v1_offer;
  mainnet.set_network("base");
  CHECK(Verify(SignPayment(v1_offer, 1, Sign()), mainnet).reason == x402::kNoMatchingRequirements);
  CHECK(VerifyPayload(SignPayment(v1_offer, 1, Sign()).payload, {}, Options()).reason ==
        x402::kNoMatchingRequirements);
}

TEST_CASE("v1 takes the offer whose amount equals the value", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  std::vector<v1::PaymentRequirement> offers = {Offer(terms, 1, 100), Offer(terms, 1, 200),
                                                Offer(terms, 1, 300)};
  VerifyResult result = VerifyPayload(SignPayment(offers[1], 1, Sign()).payload, offers, Options());
  CHECK(result.valid);
  CHECK(result.matched_index == 1);
  // No amount fits: the first offer of the network, and its value mismatch.
  SignOptions options = Sign();
  options.value = "150";
  result = VerifyPayload(SignPayment(offers[1], 1, options).payload, offers, Options());
  CHECK(result.matched_index == 0);
  CHECK(result.reason == x402::kValueMismatchV1);
}

TEST_CASE("2: scheme other than exact", "[unit]") {
  v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
  offer.set_scheme("upto");
  VerifyResult result = Verify(SignPayment(offer, 2, Sign()), offer);
  CHECK(result.reason == x402::kInvalidScheme);
  CHECK(result.matched_index == 0);
}

TEST_CASE("3: the requirement lacks the EIP-712 domain", "[unit]") {
  for (const char* extra : {"{}", "{\"name\":\"USDC\"}", "{\"name\":\"\",\"version\":\"2\"}", ""}) {
    v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
    offer.set_extra_json(extra);
    INFO(extra);
    CHECK(Verify(SignPayment(offer, 2, Sign()), offer).reason == x402::kMissingEip712Domain);
  }
}

TEST_CASE("4: a network other than the settled chain", "[unit]") {
  PaymentTerms mainnet = testing::SepoliaTerms();
  mainnet.chain_id = 8453;
  for (int version : {1, 2}) {
    const v1::PaymentRequirement offer = Offer(mainnet, version, 10'000);
    CHECK(Verify(SignPayment(offer, version, Sign()), offer).reason == x402::kNetworkMismatch);
  }
  v1::PaymentRequirement unknown = Offer(testing::SepoliaTerms(), 1, 10'000);
  unknown.set_network("solana");
  SignedPayment payment = SignPayment(Offer(testing::SepoliaTerms(), 1, 10'000), 1, Sign());
  payment.payload.network = "solana";
  CHECK(Verify(payment, unknown).reason == x402::kNetworkMismatch);
}

TEST_CASE("5: an asset other than the settled token", "[unit]") {
  PaymentTerms terms = testing::SepoliaTerms();
  terms.asset = Addr(testing::kMainnetUsdc);
  const v1::PaymentRequirement offer = Offer(terms, 2, 10'000);
  CHECK(Verify(SignPayment(offer, 2, Sign()), offer).reason == x402::kAssetMismatch);
  // Any case of the same address is the same asset.
  v1::PaymentRequirement lower = Offer(testing::SepoliaTerms(), 1, 10'000);
  lower.set_asset(evm::ToLowerHex(Addr(testing::kSepoliaUsdc)));
  CHECK(Verify(SignPayment(lower, 1, Sign()), lower).valid);
}

TEST_CASE("6: high-s twins and odd v are rejected before recovery", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
  SignedPayment twin = SignPayment(offer, 2, Sign());
  testing::MakeHighSTwin(twin);
  VerifyResult result = Verify(twin, offer);
  CHECK(result.reason == x402::kNonCanonicalSignature);
  for (uint8_t v : {0, 1, 26, 29, 255}) {
    SignedPayment odd = SignPayment(offer, 2, Sign());
    odd.payload.signature[64] = v;
    INFO(int(v));
    CHECK(Verify(odd, offer).reason == x402::kNonCanonicalSignature);
  }
}

TEST_CASE("7: signature by someone else or over another domain", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
  SignOptions wrong_name = Sign();
  wrong_name.domain_name = "USD Coin";  // Base mainnet's name on Base Sepolia (X402.md 4)
  CHECK(Verify(SignPayment(offer, 2, wrong_name), offer).reason == x402::kSignature);
  SignOptions wrong_chain = Sign();
  wrong_chain.domain_chain_id = 8453;
  CHECK(Verify(SignPayment(offer, 2, wrong_chain), offer).reason == x402::kSignature);
  SignOptions impostor = Sign();
  impostor.key_hex = testing::kOtherKeyHex;
  impostor.from = Addr(kBuyer);
  CHECK(Verify(SignPayment(offer, 2, impostor), offer).reason == x402::kSignature);
  // A value changed after signing is caught by the signature, before the amount check.
  SignedPayment tampered = SignPayment(offer, 2, Sign());
  tampered.payload.authorization.value = evm::Uint256FromU64(1);
  tampered.payload.value_text = "1";
  CHECK(Verify(tampered, offer).reason == x402::kSignature);
  // r = 0 does not recover at all.
  SignedPayment zero = SignPayment(offer, 2, Sign());
  std::fill(zero.payload.signature.begin(), zero.payload.signature.begin() + 32, 0);
  CHECK(Verify(zero, offer).reason == x402::kSignature);
}

TEST_CASE("8: the authorization pays someone else", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
  SignOptions options = Sign();
  options.to = Addr(testing::kThirdParty);
  CHECK(Verify(SignPayment(offer, 2, options), offer).reason == x402::kRecipientMismatch);
  // Recipient comes before the window: an expired payment to the wrong address names the address.
  options.valid_before = kNow - 1;
  CHECK(Verify(SignPayment(offer, 2, options), offer).reason == x402::kRecipientMismatch);
}

TEST_CASE("9: validBefore too close or too far", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);  // 300 s
  auto with_before = [&](uint64_t valid_before) {
    SignOptions options = Sign();
    options.valid_before = valid_before;
    return Verify(SignPayment(offer, 2, options), offer);
  };
  CHECK(with_before(kNow + 5).reason == x402::kValidBefore);
  CHECK(with_before(kNow - 100).reason == x402::kValidBefore);
  CHECK(with_before(kNow + 6).valid);
  CHECK(with_before(kNow + 300 + 600).valid);
  CHECK(with_before(kNow + 300 + 601).reason == x402::kValidBefore);
  VerifyOptions unbounded = Options();
  unbounded.max_valid_before_slack_seconds = 0;
  SignOptions far = Sign();
  far.valid_before = kNow + 10'000'000;
  CHECK(Verify(SignPayment(offer, 2, far), offer, unbounded).valid);
}

TEST_CASE("10: validAfter in the future", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 1, 10'000);
  SignOptions options = Sign();
  options.valid_after = kNow + 30;
  CHECK(Verify(SignPayment(offer, 1, options), offer).reason == x402::kValidAfter);
  options.valid_after = kNow;
  CHECK(Verify(SignPayment(offer, 1, options), offer).valid);
  options.valid_after = kNow - 600;  // v1 clients back-date by 10 minutes
  CHECK(Verify(SignPayment(offer, 1, options), offer).valid);
}

TEST_CASE("11: value must equal the amount exactly, with the version's spelling", "[unit]") {
  const PaymentTerms terms = testing::SepoliaTerms();
  for (const char* value : {"9999", "10001", "0"}) {
    SignOptions options = Sign();
    options.value = value;
    const v1::PaymentRequirement v2_offer = Offer(terms, 2, 10'000);
    const v1::PaymentRequirement v1_offer = Offer(terms, 1, 10'000);
    INFO(value);
    CHECK(Verify(SignPayment(v2_offer, 2, options), v2_offer).reason == x402::kValueMismatch);
    CHECK(Verify(SignPayment(v1_offer, 1, options), v1_offer).reason == x402::kValueMismatchV1);
  }
}

TEST_CASE("check_time=false skips the window; CheckValidityWindow checks it alone", "[unit]") {
  const v1::PaymentRequirement offer = Offer(testing::SepoliaTerms(), 2, 10'000);
  SignOptions options = Sign();
  options.valid_before = kNow - 10;
  SignedPayment expired = SignPayment(offer, 2, options);
  VerifyOptions no_time = Options();
  no_time.check_time = false;
  CHECK(Verify(expired, offer, no_time).valid);
  CHECK(CheckValidityWindow(expired.payload, offer, Options()).reason == x402::kValidBefore);
  CHECK(CheckValidityWindow(SignPayment(offer, 2, Sign()).payload, offer, Options()).valid);
}

TEST_CASE("Uint256ToU64", "[unit]") {
  CHECK(Uint256ToU64(evm::Uint256FromU64(0)) == 0u);
  CHECK(Uint256ToU64(evm::Uint256FromU64(UINT64_MAX)) == UINT64_MAX);
  evm::Uint256 big{};
  big[23] = 1;
  CHECK_FALSE(Uint256ToU64(big).has_value());
}

}  // namespace
}  // namespace p402::settlement
