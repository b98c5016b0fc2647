// End-to-end x402 rejections (issue 4): payments crafted in C++ (libs/evm EIP-712 digest,
// libs/crypto secp256k1 with ganache key #1, base64) that no official client would send. Each one
// must be answered 402 with its x402 reason code, call no provider and move NO token (the payer's
// and the seller's balances are read on the chain before and after). A control case first shows
// that the crafted payment is accepted when nothing is wrong with it, so the rejections below are
// caused by the one thing each case changes.
#include <algorithm>
#include <ctime>
#include <functional>
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/base64.h"
#include "libs/json/value.h"
#include "libs/x402/reasons.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/x402_support.h"

namespace p402::e2e::x402test {
namespace {

constexpr std::string_view kPaymentV2 = "PAYMENT-SIGNATURE";
constexpr std::string_view kPaymentV1 = "X-PAYMENT";

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

// Balances that must not move, and the provider counter that must not move either.
struct Snapshot {
  uint64_t buyer = 0;
  uint64_t seller = 0;
  uint64_t poor = 0;
  int64_t provider_requests = 0;
};
Snapshot Take(World& w) {
  return {Balance(*w.chain, w.chain->buyer()), Balance(*w.chain, w.chain->seller()),
          Balance(*w.chain, w.chain->poor()), ProviderRequests(*w.suite)};
}
void CheckUnchanged(World& w, const Snapshot& before) {
  Snapshot after = Take(w);
  CHECK(after.buyer == before.buyer);
  CHECK(after.seller == before.seller);
  CHECK(after.poor == before.poor);
  CHECK(after.provider_requests == before.provider_requests);
}

// Sends `header_value` and checks: 402, `reason`, nothing moved, nothing served.
void ExpectRejected(World& w, std::string_view header_name, const std::string& header_value,
                    std::string_view reason, const std::string& body = PaidChatBody()) {
  Snapshot before = Take(w);
  HttpResult r = PostChat(*w.suite, body, header_name, header_value);
  INFO("expected " << reason << "; got " << r.status << " " << r.body);
  CHECK(r.status == 402);
  CHECK(ReasonOf(r) == reason);
  CheckUnchanged(w, before);
}

TEST_CASE("x402 rejections: control -- an untampered C++-signed payment is accepted",
          "[e2e][x402]") {
  World& w = SharedWorld();
  Challenge c = GetChallenge(*w.suite, PaidChatBody());
  Payment p = BuyerPaymentV2(*w.chain, c, "cost");
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  HttpResult r = PostChat(*w.suite, PaidChatBody(), kPaymentV2, p.header);
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 200);
  CHECK(r.headers.Get("payment-response").has_value());
  CHECK(Balance(*w.chain, w.chain->seller()) == seller_before + std::stoull(p.auth.value));
  CHECK(NonceUsed(*w.chain, p.auth.from, p.auth.nonce));

  SECTION("replaying the settled payment is refused") {
    // Offers are priced without live health data (router PricingHealthView), so the replay
    // still matches its offer and is refused for what it is.
    Snapshot before = Take(w);
    HttpResult r = PostChat(*w.suite, PaidChatBody(), kPaymentV2, p.header);
    INFO(r.status << " " << r.body);
    CHECK(r.status == 402);
    CHECK(ReasonOf(r) == x402::kNonceAlreadyUsed);
    CheckUnchanged(w, before);
  }
}

TEST_CASE("x402 rejections: the same payment sent twice at once is served once", "[e2e][x402]") {
  World& w = SharedWorld();
  Challenge c = GetChallenge(*w.suite, PaidChatBody());
  Payment p = BuyerPaymentV2(*w.chain, c, "cost");
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  auto [a, b] = SendConcurrently(w.suite->EdgeUrl(kChatPath), PaidChatBody(), kPaymentV2, p.header);
  INFO("first: " << a.status << " " << a.body << "\nsecond: " << b.status << " " << b.body);
  const HttpResult& ok = a.status == 200 ? a : b;
  const HttpResult& refused = a.status == 200 ? b : a;
  CHECK(ok.status == 200);
  CHECK(refused.status == 402);
  CHECK(ReasonOf(refused) == x402::kNonceAlreadyUsed);
  uint64_t price = std::stoull(p.auth.value);
  CHECK(Balance(*w.chain, w.chain->seller()) == seller_before + price);
  CHECK(Balance(*w.chain, w.chain->buyer()) == buyer_before - price);
}

TEST_CASE("x402 rejections: bad signatures", "[e2e][x402]") {
  World& w = SharedWorld();
  Challenge c = GetChallenge(*w.suite, PaidChatBody());

  SECTION("high-s twin of a valid signature") {
    Payment p = BuyerPaymentV2(*w.chain, c, "cost");
    // The malleable twin: same authorization, other signature bytes (r, n - s, v ^ 1).
    json::Value twin = PayloadV2(*c.AcceptV2("cost"), *c.payment_required.Find("resource"), p.auth,
                                 HighSTwin(p.signature));
    ExpectRejected(w, kPaymentV2, EncodeHeader(twin), x402::kNonCanonicalSignature);
    CHECK_FALSE(NonceUsed(*w.chain, p.auth.from, p.auth.nonce));
  }
  SECTION("signed under the Base mainnet domain name \"USD Coin\"") {
    Domain d;
    d.name = "USD Coin";
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", d);
    ExpectRejected(w, kPaymentV2, p.header, x402::kSignature);
  }
  SECTION("signed for another chain id (8453)") {
    Domain d;
    d.chain_id = 8453;
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", d);
    ExpectRejected(w, kPaymentV2, p.header, x402::kSignature);
  }
  SECTION("signed by someone other than `from`") {
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", {}, nullptr, testing::kGanacheKeyPoor);
    ExpectRejected(w, kPaymentV2, p.header, x402::kSignature);
  }
}

TEST_CASE("x402 rejections: wrong recipient, amount or validity window", "[e2e][x402]") {
  World& w = SharedWorld();
  Challenge c = GetChallenge(*w.suite, PaidChatBody());
  const json::Value* offer = c.AcceptV2("cost");
  REQUIRE(offer != nullptr);
  uint64_t amount = std::stoull(std::string(offer->GetString("amount").value_or("0")));
  REQUIRE(amount > 1);
  using Mutate = std::function<void(Authorization&)>;

  SECTION("to is not the offer's payTo") {
    std::string poor = w.chain->poor();
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", {}, [&](Authorization& a) { a.to = poor; });
    ExpectRejected(w, kPaymentV2, p.header, x402::kRecipientMismatch);
  }
  SECTION("under-payment by one atomic unit") {
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", {},
                               [&](Authorization& a) { a.value = std::to_string(amount - 1); });
    ExpectRejected(w, kPaymentV2, p.header, x402::kValueMismatch);
  }
  SECTION("over-payment by one atomic unit (exact scheme: equality)") {
    Payment p = BuyerPaymentV2(*w.chain, c, "cost", {},
                               [&](Authorization& a) { a.value = std::to_string(amount + 1); });
    ExpectRejected(w, kPaymentV2, p.header, x402::kValueMismatch);
  }
  SECTION("v1 payload under-paying: the v1 spelling of the reason") {
    // A v1 payload names no offer, so pay less than the cheapest one.
    uint64_t cheapest = amount;
    for (const json::Value& a : c.body.Find("accepts")->AsArray()) {
      cheapest = std::min<uint64_t>(
          cheapest, std::stoull(std::string(a.GetString("maxAmountRequired").value_or("0"))));
    }
    REQUIRE(cheapest > 1);
    Authorization a{w.chain->buyer(),
                    std::string(offer->GetString("payTo").value_or("")),
                    std::to_string(cheapest - 1),
                    Now() - 600,
                    Now() + 300,
                    ""};
    Domain d;
    d.verifying_contract = w.chain->token();
    std::string sig = SignAuthorization(d, a, testing::kGanacheKeyBuyer);
    ExpectRejected(w, kPaymentV1, EncodeHeader(PayloadV1("base-sepolia", a, sig)),
                   x402::kValueMismatchV1);
  }
  SECTION("expired: validBefore in the past") {
    Mutate m = [](Authorization& a) { a.valid_before = Now() - 10; };
    ExpectRejected(w, kPaymentV2, BuyerPaymentV2(*w.chain, c, "cost", {}, m).header,
                   x402::kValidBefore);
  }
  SECTION("expiring: validBefore less than 6 s ahead") {
    Mutate m = [](Authorization& a) { a.valid_before = Now() + 2; };
    ExpectRejected(w, kPaymentV2, BuyerPaymentV2(*w.chain, c, "cost", {}, m).header,
                   x402::kValidBefore);
  }
  SECTION("not yet valid: validAfter in the future") {
    Mutate m = [](Authorization& a) { a.valid_after = Now() + 600; };
    ExpectRejected(w, kPaymentV2, BuyerPaymentV2(*w.chain, c, "cost", {}, m).header,
                   x402::kValidAfter);
  }
}

TEST_CASE("x402 rejections: a payer without funds (ganache #3)", "[e2e][x402]") {
  World& w = SharedWorld();
  REQUIRE(Balance(*w.chain, w.chain->poor()) == 0);
  Challenge c = GetChallenge(*w.suite, PaidChatBody());
  std::string poor = w.chain->poor();
  Payment p = BuyerPaymentV2(
      *w.chain, c, "cost", {}, [&](Authorization& a) { a.from = poor; }, testing::kGanacheKeyPoor);
  ExpectRejected(w, kPaymentV2, p.header, x402::kInsufficientBalance);
}

TEST_CASE("x402 rejections: malformed payment headers", "[e2e][x402]") {
  World& w = SharedWorld();
  for (std::string_view header : {kPaymentV1, kPaymentV2}) {
    INFO("header " << header);
    ExpectRejected(w, header, "not base64 at all!", x402::kInvalidPayload);
    // {"x402Version":2} without its '=' padding: not the padded standard base64 x402 uses.
    ExpectRejected(w, header, "eyJ4NDAyVmVyc2lvbiI6Mn0", x402::kInvalidPayload);
    ExpectRejected(w, header, crypto::Base64Encode("{not json"), x402::kInvalidPayload);
    ExpectRejected(w, header, crypto::Base64Encode("[]"), x402::kInvalidPayload);
    ExpectRejected(w, header, crypto::Base64Encode(R"({"x402Version":2})"), x402::kInvalidPayload);
    ExpectRejected(w, header,
                   crypto::Base64Encode(R"({"x402Version":7,"scheme":"exact","payload":{}})"),
                   x402::kInvalidX402Version);
  }
}

}  // namespace
}  // namespace p402::e2e::x402test
