// End-to-end x402 (issue 4) with the OFFICIAL clients and servers from npm against a local chain
// (ganache + the test EIP-3009 token, tests/support/local_chain.h):
//   - the local chain itself (token, balances, our EIP-712 code against the token, restart);
//   - the 402 challenge of the edge: four offers (cost/quality/speed/balanced), v1 body + v2
//   header;
//   - x402-fetch 1.2.0 and @x402/fetch 2.27.0 paying a chat completion (X-PAYMENT /
//     PAYMENT-SIGNATURE), the seller's balance moving by exactly the chosen offer;
//   - x402-express 1.2.0 and @x402/express 2.27.0 sellers using the P402 edge as facilitator.
// Scripts: tests/e2e/x402/{pay_chat,seller_buy}.mjs (one JSON line each; assertions are here).
#include <ctime>
#include <regex>
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/x402_support.h"
#include "tests/support/catch_status.h"

namespace p402::e2e::x402test {
namespace {

using testing::IsOk;
using testing::StatusIs;

const std::set<std::string> kModes = {"cost", "quality", "speed", "balanced"};

bool IsTxHash(std::string_view s) {
  return std::regex_match(std::string(s), std::regex("^0x[0-9a-f]{64}$"));
}

// ---------------------------------------------------------------------------------------------
// The local chain on its own (no P402 services).

TEST_CASE("x402 local chain: token deployed, buyer funded, EIP-712 agrees with the token",
          "[e2e][x402][chain]") {
  auto chain = StartChain();
  INFO(chain->setup_json());
  CHECK(evm::IsValidChecksum(chain->token()));
  CHECK(chain->buyer() == "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0");   // ganache #1
  CHECK(chain->seller() == "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b");  // ganache #2
  CHECK(RpcOk(*chain, "eth_chainId", "[]") == "\"0x14a34\"");              // 84532
  CHECK(Balance(*chain, chain->buyer()) == 10'000'000);                    // 10 USDC
  CHECK(Balance(*chain, chain->seller()) == 0);
  CHECK(Balance(*chain, chain->poor()) == 0);

  // libs/evm's domain separator equals the token's DOMAIN_SEPARATOR() (0x3644e515).
  evm::Eip712Domain domain{"USDC", "2", 84532, *evm::ParseAddress(chain->token())};
  std::string on_chain = RpcOk(
      *chain, "eth_call", R"([{"to":")" + chain->token() + R"(","data":"0x3644e515"},"latest"])");
  CHECK(on_chain == "\"0x" + crypto::HexEncode(evm::DomainSeparator(domain)) + "\"");

  // A C++-signed authorization (what the rejection tests craft) is accepted by the token itself:
  // transferWithAuthorization(from,to,value,validAfter,validBefore,nonce,v,r,s) sent by ganache #0.
  Authorization auth{chain->buyer(),
                     chain->seller(),
                     "12345",
                     0,
                     static_cast<uint64_t>(std::time(nullptr)) + 300,
                     ""};
  Domain d;
  d.verifying_contract = chain->token();
  std::string sig = SignAuthorization(d, auth, testing::kGanacheKeyBuyer);
  auto word = [](std::string hex) { return std::string(64 - hex.size(), '0') + hex; };
  char before_hex[32];
  std::snprintf(before_hex, sizeof(before_hex), "%llx",
                static_cast<unsigned long long>(auth.valid_before));
  auto call_data = [&](const std::string& s) {
    return "0xe3ee160e" + word(auth.from.substr(2)) + word(auth.to.substr(2)) + word("3039") +
           word("0") + word(before_hex) + auth.nonce.substr(2) + word(s.substr(130, 2)) +
           s.substr(2, 64) + s.substr(66, 64);
  };
  auto call = [&](const std::string& data) {
    return R"({"from":")" + chain->facilitator() + R"(","to":")" + chain->token() +
           R"(","data":")" + data + R"(","gas":"0x30000"})";
  };
  // The high-s twin of the same authorization is refused by the token (eth_call reverts).
  CHECK_FALSE(chain->Rpc("eth_call", "[" + call(call_data(HighSTwin(sig))) + R"(,"latest"])").ok());
  std::string hash = RpcOk(*chain, "eth_sendTransaction", "[" + call(call_data(sig)) + "]");
  CHECK(ReceiptStatus(*chain, hash.substr(1, hash.size() - 2)) == "0x1");
  CHECK(Balance(*chain, chain->seller()) == 12345);
  CHECK(Balance(*chain, chain->buyer()) == 10'000'000 - 12345);
  CHECK(NonceUsed(*chain, auth.from, auth.nonce));

  // Stop: the RPC refuses; Restart: same port, same state (database dir).
  chain->Stop();
  CHECK_FALSE(chain->running());
  CHECK_THAT(chain->Rpc("eth_chainId", "[]").status(), StatusIs(absl::StatusCode::kUnavailable));
  REQUIRE_THAT(chain->Restart(), IsOk());
  CHECK(Balance(*chain, chain->seller()) == 12345);
  CHECK(NonceUsed(*chain, auth.from, auth.nonce));
}

// ---------------------------------------------------------------------------------------------
// The edge's 402.

TEST_CASE("x402 402: an unpaid chat request gets four offers, v1 body and v2 header",
          "[e2e][x402]") {
  World& w = SharedWorld();
  Suite& suite = *w.suite;
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  int64_t provider_before = ProviderRequests(suite);

  HttpResult r = PostChat(suite, PaidChatBody());
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 402);
  Challenge c = ReadChallenge(r);

  // v1: the JSON body (x402-fetch 1.x reads x402Version + accepts), also an OpenAI error.
  REQUIRE(c.body.is_object());
  CHECK(c.body.GetInt("x402Version") == 1);
  const json::Value* error = c.body.Find("error");
  REQUIRE(error != nullptr);
  CHECK(error->GetString("type") == "payment_required");
  CHECK_FALSE(std::string(error->GetString("message").value_or("")).empty());
  const json::Value* v1 = c.body.Find("accepts");
  REQUIRE(v1 != nullptr);
  REQUIRE(v1->AsArray().size() == 4);
  // v2: the PAYMENT-REQUIRED header.
  INFO(c.payment_required.Serialize());
  REQUIRE(c.payment_required.is_object());
  CHECK(c.payment_required.GetInt("x402Version") == 2);
  const json::Value* v2 = c.payment_required.Find("accepts");
  REQUIRE(v2 != nullptr);
  REQUIRE(v2->AsArray().size() == 4);
  const json::Value* resource = c.payment_required.Find("resource");
  REQUIRE(resource != nullptr);
  CHECK(resource->GetString("url") == suite.EdgeUrl(kChatPath));

  std::set<std::string> seen;
  for (const std::string& mode : kModes) {
    INFO("mode " << mode);
    const json::Value* a1 = c.AcceptV1(mode);
    const json::Value* a2 = c.AcceptV2(mode);
    REQUIRE(a1 != nullptr);
    REQUIRE(a2 != nullptr);
    seen.insert(mode);
    CHECK(a1->GetString("scheme") == "exact");
    CHECK(a1->GetString("network") == "base-sepolia");
    CHECK(a2->GetString("scheme") == "exact");
    CHECK(a2->GetString("network") == "eip155:84532");
    for (const json::Value* a : {a1, a2}) {
      CHECK(a->GetString("asset") == w.chain->token());
      CHECK(a->GetString("payTo") == w.chain->seller());
      CHECK(a->Find("maxTimeoutSeconds") != nullptr);
      const json::Value* extra = a->Find("extra");
      REQUIRE(extra != nullptr);
      CHECK(extra->GetString("name") == "USDC");
      CHECK(extra->GetString("version") == "2");
    }
    // The same price in both shapes: a positive integer string of atomic units.
    std::string amount(a2->GetString("amount").value_or(""));
    CHECK(std::regex_match(amount, std::regex("^[1-9][0-9]*$")));
    CHECK(a1->GetString("maxAmountRequired") == amount);
    CHECK(a1->GetString("resource") == suite.EdgeUrl(kChatPath));
    CHECK(a1->GetString("mimeType").has_value());
  }
  CHECK(seen == kModes);
  // Asking costs nothing and calls no provider.
  CHECK(ProviderRequests(suite) == provider_before);
  CHECK(Balance(*w.chain, w.chain->buyer()) == buyer_before);
}

// ---------------------------------------------------------------------------------------------
// Official clients pay a chat completion.

json::Value PayChat(World& w, int version, std::string_view prefer_mode = "", bool sdk = false,
                    bool stream = false) {
  json::Value in = json::Value::EmptyObject();
  in.Set("edge_url", w.suite->EdgeUrl());
  in.Set("version", version);
  in.Set("private_key", testing::kGanacheKeyBuyer);
  in.Set("token", w.chain->token());
  in.Set("chain_id", static_cast<int64_t>(w.chain->chain_id()));
  in.Set("body", *json::Value::Parse(PaidChatBody()));
  in.Set("max_value", static_cast<int64_t>(kMaxValue));
  if (!prefer_mode.empty()) {
    in.Set("prefer_mode", prefer_mode);
  }
  in.Set("sdk", sdk);
  in.Set("stream", stream);
  return RunX402Script("pay_chat.mjs", in, w.suite->work_dir());
}

// The checks shared by every successful paid chat: 200 + completion, a payment-response header
// with success and a mined tx hash, and the seller paid exactly the chosen offer's amount.
void CheckPaidChat(World& w, const json::Value& r, int version, uint64_t seller_before,
                   uint64_t buyer_before) {
  INFO(r.Serialize());
  REQUIRE(r.Find("error")->is_null());
  REQUIRE(r.GetInt("status") == 200);
  CHECK_FALSE(std::string(r.GetString("content").value_or("")).empty());
  const json::Value* sent = r.Find("payment_sent");
  REQUIRE(sent != nullptr);
  REQUIRE(sent->is_object());
  CHECK(sent->GetInt("x402Version") == version);
  const json::Value& auth = *sent->Find("payload")->Find("authorization");
  std::string value(auth.GetString("value").value_or(""));
  // The value signed is the amount of one offered accepts entry (of the payload's version).
  const json::Value& first = *r.Find("first");
  CHECK(first.GetInt("status") == 402);
  bool matches_offer = false;
  if (version == 1) {
    for (const json::Value& a : first.Find("body")->Find("accepts")->AsArray()) {
      matches_offer |= a.GetString("maxAmountRequired") == value;
    }
  } else {
    for (const json::Value& a : first.Find("payment_required")->Find("accepts")->AsArray()) {
      matches_offer |= a.GetString("amount") == value;
    }
    CHECK(sent->Find("accepted")->GetString("amount") == value);
  }
  CHECK(matches_offer);
  const json::Value* pr = r.Find("payment_response");
  REQUIRE(pr != nullptr);
  REQUIRE(pr->is_object());
  CHECK(r.Find("headers")->Find(version == 1 ? "x-payment-response" : "payment-response") !=
        nullptr);
  CHECK(pr->GetBool("success") == true);
  std::string tx(pr->GetString("transaction").value_or(""));
  CHECK(IsTxHash(tx));
  CHECK(pr->GetString("network") == (version == 1 ? "base-sepolia" : "eip155:84532"));
  CHECK(pr->GetString("payer") == w.chain->buyer());
  if (IsTxHash(tx)) {
    CHECK(ReceiptStatus(*w.chain, tx) == "0x1");
  }
  uint64_t price = std::stoull(value);
  CHECK(Balance(*w.chain, w.chain->seller()) == seller_before + price);
  CHECK(Balance(*w.chain, w.chain->buyer()) == buyer_before - price);
  CHECK(NonceUsed(*w.chain, w.chain->buyer(), std::string(auth.GetString("nonce").value_or(""))));
}

TEST_CASE("x402 pay-per-call: x402-fetch 1.2.0 pays a chat completion (X-PAYMENT)", "[e2e][x402]") {
  World& w = SharedWorld();
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value r = PayChat(w, 1);
  CheckPaidChat(w, r, 1, seller_before, buyer_before);
  CHECK(r.Find("payment_sent")->GetString("network") == "base-sepolia");
}

TEST_CASE("x402 pay-per-call: @x402/fetch 2.27.0 pays a chat completion (PAYMENT-SIGNATURE)",
          "[e2e][x402]") {
  World& w = SharedWorld();
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value r = PayChat(w, 2);
  CheckPaidChat(w, r, 2, seller_before, buyer_before);
}

TEST_CASE("x402 pay-per-call: the signed offer picks the routing mode (quality)", "[e2e][x402]") {
  World& w = SharedWorld();
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value r = PayChat(w, 2, "quality");
  CheckPaidChat(w, r, 2, seller_before, buyer_before);
  const json::Value* accepted = r.Find("payment_sent")->Find("accepted");
  REQUIRE(accepted != nullptr);
  CHECK(accepted->Find("extra")->GetString("p402_mode") == "quality");
  const json::Value* meta = r.Find("body")->Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CHECK(meta->GetString("routing_mode") == "quality");
}

TEST_CASE("x402 pay-per-call: the official openai SDK over the @x402/fetch-wrapped fetch",
          "[e2e][x402]") {
  // (x402-fetch 1.2.0 spreads init.headers into a plain object, which empties the SDK's Headers
  // instance: its paid retry goes out without Content-Type (text/plain). So only v2 here.)
  World& w = SharedWorld();
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value r = PayChat(w, 2, "", /*sdk=*/true);
  CheckPaidChat(w, r, 2, seller_before, buyer_before);
  CHECK(r.Find("body")->GetString("object") == "chat.completion");
}

TEST_CASE("x402 pay-per-call: @x402/fetch pays a streamed completion", "[e2e][x402]") {
  // The edge settles on the provider's first event, before the SSE starts, so PAYMENT-RESPONSE
  // comes with the 200 headers.
  World& w = SharedWorld();
  uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value r = PayChat(w, 2, "", false, /*stream=*/true);
  CheckPaidChat(w, r, 2, seller_before, buyer_before);
  INFO(r.Serialize());
  CHECK(std::string(r.Find("headers")->GetString("content-type").value_or(""))
            .rfind("text/event-stream", 0) == 0);
  CHECK(r.Find("body")->GetBool("done_seen") == true);
}

// ---------------------------------------------------------------------------------------------
// Third-party sellers with P402 as their facilitator.

void SellerBuys(int version) {
  World& w = SharedWorld();
  // A seller other than P402's own pay-to: ganache #4 (holds no tokens, is never a payer).
  std::string seller = Account(*w.chain, 4);
  uint64_t seller_before = Balance(*w.chain, seller);
  uint64_t buyer_before = Balance(*w.chain, w.chain->buyer());
  json::Value in = json::Value::EmptyObject();
  in.Set("facilitator_url", w.suite->EdgeUrl());
  in.Set("version", version);
  in.Set("token", w.chain->token());
  in.Set("chain_id", static_cast<int64_t>(w.chain->chain_id()));
  in.Set("pay_to", seller);
  in.Set("buyer_key", testing::kGanacheKeyBuyer);
  in.Set("price", "10000");
  json::Value r = RunX402Script("seller_buy.mjs", in, w.suite->work_dir());
  INFO(r.Serialize());
  CHECK(r.Find("unpaid")->GetInt("status") == 402);
  const json::Value& paid = *r.Find("paid");
  REQUIRE(paid.Find("error")->is_null());
  REQUIRE(paid.GetInt("status") == 200);
  CHECK(paid.Find("body")->GetBool("paid") == true);
  CHECK(r.GetInt("handler_calls") == 1);
  const json::Value* pr = paid.Find("payment_response");
  REQUIRE(pr != nullptr);
  REQUIRE(pr->is_object());
  CHECK(pr->GetBool("success") == true);
  std::string tx(pr->GetString("transaction").value_or(""));
  CHECK(IsTxHash(tx));
  CHECK(pr->GetString("payer") == w.chain->buyer());
  CHECK(Balance(*w.chain, seller) == seller_before + 10000);
  CHECK(Balance(*w.chain, w.chain->buyer()) == buyer_before - 10000);
}

TEST_CASE("x402 facilitator: an x402-express 1.2.0 seller settles through P402", "[e2e][x402]") {
  SellerBuys(1);
}

TEST_CASE("x402 facilitator: an @x402/express 2.27.0 seller settles through P402", "[e2e][x402]") {
  SellerBuys(2);
}

}  // namespace
}  // namespace p402::e2e::x402test
