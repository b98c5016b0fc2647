// Prepaid balances end to end (issue 4, capability 4): a tenant tops up with one x402 payment
// (POST /v2/topup, signed like the official v2 client signs), then its chat requests spend the
// balance with no per-call signature: the worst case (+ fee) is held before dispatch, the actual
// cost captured after, and a request whose worst case the balance cannot cover is refused before
// any provider is called.
#include <chrono>
#include <string>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "tests/e2e/x402_support.h"

namespace p402::e2e::x402test {
namespace {

// The tenant's balance in micro-USD from GET /v2/balance (REQUIREs 200).
MicroUsd BalanceMicros(Suite& suite) {
  HttpResult r = suite.HttpGet(suite.EdgeUrl("/v2/balance"), suite.AuthHeaders());
  INFO(r.body);
  REQUIRE(r.status == 200);
  std::optional<MicroUsd> usd = ParseUsd(r.Json().GetString("balance_usd").value_or(""));
  REQUIRE(usd.has_value());
  return *usd;
}

// Polls until the balance differs from `from` (the capture runs after the answer), or 10 s.
MicroUsd BalanceAfterChange(Suite& suite, MicroUsd from) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  MicroUsd now = BalanceMicros(suite);
  while (now == from && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = BalanceMicros(suite);
  }
  return now;
}

std::string KeyedChat(std::string_view extra = "") {
  return R"({"model":"gpt-4o-mini","max_tokens":16,)" + std::string(extra) +
         R"("messages":[{"role":"user","content":"Say hello."}]})";
}

TEST_CASE("x402 prepaid: top up once, then chat spends the balance without signatures",
          "[e2e][x402]") {
  World& w = SharedWorld();
  Suite& suite = *w.suite;
  http::Headers json_auth = suite.AuthHeaders();

  // Before any top-up the tenant is billed as usual (not prepaid).
  HttpResult before = suite.HttpPost(suite.EdgeUrl("/v1/chat/completions"), KeyedChat(), json_auth);
  INFO(before.body);
  REQUIRE(before.status == 200);
  CHECK(before.Json().Find("p402_metadata")->Find("prepaid") == nullptr);
  const MicroUsd start = BalanceMicros(suite);

  // 1. The top-up offer: exactly the amount, no fee.
  const std::string topup_body = R"({"amount_usd":"0.05"})";
  HttpResult offer = suite.HttpPost(suite.EdgeUrl("/v2/topup"), topup_body, json_auth);
  INFO(offer.body);
  REQUIRE(offer.status == 402);
  Challenge c = ReadChallenge(offer);
  REQUIRE(c.payment_required.is_object());
  const json::Value& accepted = c.payment_required.Find("accepts")->AsArray().at(0);
  CHECK(accepted.GetString("amount") == "50000");

  // 2. Pay it (v2, the buyer's key) and get credited; the payee receives exactly the amount.
  Authorization auth{.from = w.chain->buyer(),
                     .to = std::string(accepted.GetString("payTo").value_or("")),
                     .value = "50000",
                     .valid_after = 0,
                     .valid_before = static_cast<uint64_t>(
                         std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() +
                         300)};
  Domain domain{.verifying_contract = w.chain->token()};
  std::string signature = SignAuthorization(domain, auth, testing::kGanacheKeyBuyer);
  std::string header =
      EncodeHeader(PayloadV2(accepted, *c.payment_required.Find("resource"), auth, signature));
  const uint64_t seller_before = Balance(*w.chain, w.chain->seller());
  http::Headers paid = json_auth;
  paid.Set("PAYMENT-SIGNATURE", header);
  HttpResult credited = suite.HttpPost(suite.EdgeUrl("/v2/topup"), topup_body, paid);
  INFO(credited.body);
  REQUIRE(credited.status == 200);
  CHECK(credited.Json().GetString("credited_usd") == "0.050000");
  CHECK(credited.headers.Get("payment-response").has_value());
  CHECK(Balance(*w.chain, w.chain->seller()) == seller_before + 50'000);
  const MicroUsd topped = BalanceMicros(suite);
  CHECK(topped == start + 50'000);

  // The same payment again is not credited twice.
  HttpResult replay = suite.HttpPost(suite.EdgeUrl("/v2/topup"), topup_body, paid);
  INFO(replay.body);
  CHECK(replay.status == 200);
  CHECK(replay.Json().GetBool("duplicate") == true);
  CHECK(BalanceMicros(suite) == topped);

  // 3. A keyed chat now spends the balance: held before dispatch, the actual cost (+ fee)
  // captured after; the rest of the hold comes back.
  HttpResult spent = suite.HttpPost(suite.EdgeUrl("/v1/chat/completions"), KeyedChat(), json_auth);
  INFO(spent.body);
  REQUIRE(spent.status == 200);
  const json::Value spent_body = spent.Json();
  const json::Value* meta = spent_body.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CHECK(meta->GetBool("prepaid") == true);
  const MicroUsd cost = meta->GetInt("cost_micro_usd").value_or(-1);
  REQUIRE(cost > 0);
  const MicroUsd after = BalanceAfterChange(suite, topped);
  CHECK(after < topped);
  // cost + the platform fee (2% tier, rounded up), never the whole worst case.
  CHECK(topped - after >= cost);
  CHECK(topped - after <= cost + cost / 50 + 1);

  // 4. A request whose worst case the balance cannot cover is refused before any provider call.
  const int64_t provider_before = ProviderRequests(suite);
  HttpResult refused = suite.HttpPost(
      suite.EdgeUrl("/v1/chat/completions"),
      R"({"model":"gpt-4o","max_tokens":16000,)"
      R"("messages":[{"role":"user","content":"Write a book."}]})",
      json_auth);
  INFO(refused.body);
  CHECK(refused.status == 402);
  CHECK(refused.Json().Find("error")->GetString("code") == "insufficient_balance");
  CHECK(ProviderRequests(suite) == provider_before);
  CHECK(BalanceMicros(suite) == after);  // the refused hold took nothing

  // 5. The ledger tells the story, oldest first.
  HttpResult usage = suite.HttpGet(suite.EdgeUrl("/v2/usage?page_size=1000"), json_auth);
  INFO(usage.body);
  REQUIRE(usage.status == 200);
  std::string kinds;
  const json::Value entries = usage.Json();
  for (const json::Value& e : entries.Find("data")->AsArray()) {
    kinds += std::string(e.GetString("kind").value_or("?")) + " ";
  }
  CHECK(kinds.find("topup hold capture") != std::string::npos);
}

}  // namespace
}  // namespace p402::e2e::x402test
