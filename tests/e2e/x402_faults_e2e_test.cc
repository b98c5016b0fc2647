// End-to-end x402 faults (issue 4): what a paid chat request costs the payer when a part of the
// payment path dies mid-request. The rule under test: money moves only for a request that was
// served AND settled; a request whose settlement could not happen is not charged (no token moves,
// the authorization's nonce stays unused on chain, so the client may pay again) and the client is
// not told it paid.
//
// Timing without sleeps: the mock provider is told (directive in the prompt) to answer after
// 1.5 s; the test waits until the provider has RECEIVED the request (mock stats -- the payment was
// verified by then, the edge routes only verified requests) and then kills the chain or the
// settlement service, so the failure lands between verify and settle.
// Each test has its own chain and suite (it breaks them).
#include <chrono>
#include <string>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/crypto/base64.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/metrics_text.h"
#include "tests/e2e/x402_support.h"
#include "tests/support/catch_status.h"

namespace p402::e2e::x402test {
namespace {

using testing::IsOk;

constexpr std::string_view kPaymentV2 = "PAYMENT-SIGNATURE";
// Under the router's 2 s header timeout (tests/e2e/wiring.cc), so the provider call succeeds.
const std::string kSlowPrompt = "Answer slowly. [[mock:latency_ms=1500]]";

// Polls (10 s) until a provider has received more than `before` requests.
void AwaitProviderCall(Suite& suite, int64_t before) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (ProviderRequests(suite) <= before) {
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL("no provider received the paid request within 10 s (was the payment refused?)\n"
           << suite.LogTails(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string SettlementMetrics(Suite& suite) {
  HttpResult r = suite.HttpGet(suite.SettlementAdminUrl("/metrics"));
  REQUIRE(r.status == 200);
  return r.body;
}
double Settled(const std::string& m) {
  return MetricValueOr0(m, "p402_settlement_settle_total", {{"result", "settled"}});
}
double Pending(const std::string& m) {
  return MetricValueOr0(m, "p402_settlement_settle_total", {{"result", "pending"}});
}
double ChainFailures(const std::string& m) {
  return MetricValueOr0(m, "p402_settlement_chain_failures_total");
}

// The client was not told it paid: no payment-response header saying success.
void CheckNotPaid(const HttpResult& r) {
  for (std::string_view name : {"payment-response", "x-payment-response"}) {
    if (auto v = r.headers.Get(name)) {
      auto raw = crypto::Base64Decode(*v);
      REQUIRE(raw.has_value());
      auto parsed = json::Value::Parse(*raw);
      REQUIRE(parsed.ok());
      CHECK(parsed->GetBool("success") != true);
    }
  }
}

TEST_CASE("x402 faults: chain RPC down at settle time -- the request is not charged",
          "[e2e][x402][faults]") {
  auto chain = StartChain();
  Suite suite(X402SuiteOptions(*chain));
  const std::string body = PaidChatBody(kSlowPrompt);
  Challenge c = GetChallenge(suite, body);
  Payment p = BuyerPaymentV2(*chain, c, "cost");
  const uint64_t buyer_before = Balance(*chain, chain->buyer());
  const uint64_t seller_before = Balance(*chain, chain->seller());
  const int64_t provider_before = ProviderRequests(suite);
  const std::string metrics_before = SettlementMetrics(suite);

  PendingPost post(suite.EdgeUrl(kChatPath), body, kPaymentV2, p.header);
  AwaitProviderCall(suite, provider_before);
  chain->Stop();  // the provider is still "thinking": settlement will find no chain
  HttpResult r = post.Wait();
  INFO(r.status << " " << r.body);
  // Not served as paid: the settlement call fails (chain down -> UNAVAILABLE) and the edge fails
  // closed with 503 payment_unavailable; a settle that answered success=false would be a 402.
  CHECK((r.status == 503 || r.status == 402));
  CheckNotPaid(r);
  suite.RequireAllAlive();  // a dead chain is no reason to crash
  // Failed before anything was signed (services/settlement/README.md "Chain node down"): no
  // settlement, none pending (a pending one would be rebroadcast by the reconciler later).
  const std::string metrics_after = SettlementMetrics(suite);
  CHECK(ChainFailures(metrics_after) > ChainFailures(metrics_before));
  CHECK(Settled(metrics_after) == Settled(metrics_before));
  CHECK(Pending(metrics_after) == Pending(metrics_before));

  REQUIRE_THAT(chain->Restart(), IsOk());  // same state: the database dir survives
  CHECK(Balance(*chain, chain->buyer()) == buyer_before);
  CHECK(Balance(*chain, chain->seller()) == seller_before);
  CHECK_FALSE(NonceUsed(*chain, p.auth.from, p.auth.nonce));
  // TODO(lead): also assert the ledger's payment_failed entry once the settlement service
  // exposes it (pay-per-call has no tenant for GET /v2/usage; a settlement /metrics counter name
  // is not documented yet).
}

TEST_CASE("x402 faults: chain RPC down before the paid request -- refused, nothing served",
          "[e2e][x402][faults]") {
  auto chain = StartChain();
  Suite suite(X402SuiteOptions(*chain));
  const std::string body = PaidChatBody();
  Challenge c = GetChallenge(suite, body);
  Payment p = BuyerPaymentV2(*chain, c, "cost");
  const uint64_t buyer_before = Balance(*chain, chain->buyer());
  const int64_t provider_before = ProviderRequests(suite);
  const std::string metrics_before = SettlementMetrics(suite);

  chain->Stop();  // after the 402: the payment cannot be checked against the chain
  HttpResult r = PostChat(suite, body, kPaymentV2, p.header);
  INFO(r.status << " " << r.body);
  // Verify cannot reach the chain -> UNAVAILABLE -> the edge fails closed.
  CHECK(r.status == 503);
  CHECK(ReasonOf(r) == "payment_unavailable");
  CheckNotPaid(r);
  // Fail closed: an unverifiable payment is not served.
  CHECK(ProviderRequests(suite) == provider_before);
  suite.RequireAllAlive();
  CHECK(ChainFailures(SettlementMetrics(suite)) > ChainFailures(metrics_before));

  REQUIRE_THAT(chain->Restart(), IsOk());
  CHECK(Balance(*chain, chain->buyer()) == buyer_before);
  CHECK_FALSE(NonceUsed(*chain, p.auth.from, p.auth.nonce));
  // The chain is back: the same payment is still good (it was never claimed for good).
  HttpResult again = PostChat(suite, body, kPaymentV2, p.header);
  INFO("retry: " << again.status << " " << again.body);
  CHECK(again.status == 200);
  CHECK(Balance(*chain, chain->buyer()) == buyer_before - std::stoull(p.auth.value));
}

TEST_CASE("x402 faults: settlement service killed between verify and settle -- not charged",
          "[e2e][x402][faults]") {
  auto chain = StartChain();
  Suite suite(X402SuiteOptions(*chain));
  const std::string body = PaidChatBody(kSlowPrompt);
  Challenge c = GetChallenge(suite, body);
  Payment p = BuyerPaymentV2(*chain, c, "cost");
  const uint64_t buyer_before = Balance(*chain, chain->buyer());
  const uint64_t seller_before = Balance(*chain, chain->seller());
  const int64_t provider_before = ProviderRequests(suite);

  PendingPost post(suite.EdgeUrl(kChatPath), body, kPaymentV2, p.header);
  AwaitProviderCall(suite, provider_before);
  suite.Kill("settlement");
  HttpResult r = post.Wait();
  INFO(r.status << " " << r.body);
  // SettlePayment cannot be called: the edge fails closed (nothing delivered unsettled).
  CHECK(r.status == 503);
  CHECK(ReasonOf(r) == "payment_unavailable");
  CheckNotPaid(r);
  // The edge survives its settlement service dying.
  CHECK(suite.process("edge").alive());
  // The chain never saw the transfer.
  CHECK(Balance(*chain, chain->buyer()) == buyer_before);
  CHECK(Balance(*chain, chain->seller()) == seller_before);
  CHECK_FALSE(NonceUsed(*chain, p.auth.from, p.auth.nonce));
  // Not covered (the harness cannot restart one process of a suite yet): after a settlement
  // restart the same payment should be accepted again and be charged exactly once.
}

}  // namespace
}  // namespace p402::e2e::x402test
