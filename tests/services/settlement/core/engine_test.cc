// Tests of SettlementEngine's verification (claims, chain checks), offers, /supported and ledger
// RPCs, over the in-memory adapters and a FakeChain.
#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/x402/reasons.h"
#include "tests/services/settlement/core/engine_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::Addr;
using testing::EngineEnv;
using testing::Offer;

TEST_CASE("Create requires a store, a ledger, a clock and valid terms", "[unit]") {
  testing::FakeClock clock;
  InMemoryPaymentStore store;
  InMemoryLedger ledger(clock);
  EngineDeps deps;
  deps.terms = testing::SepoliaTerms();
  deps.payments = &store;
  deps.ledger = &ledger;
  deps.clock = &clock;
  CHECK(SettlementEngine::Create(deps).ok());
  EngineDeps no_store = deps;
  no_store.payments = nullptr;
  CHECK_THAT(SettlementEngine::Create(no_store).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "PaymentStore"));
  EngineDeps no_ledger = deps;
  no_ledger.ledger = nullptr;
  CHECK_THAT(SettlementEngine::Create(no_ledger).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "Ledger"));
  EngineDeps no_clock = deps;
  no_clock.clock = nullptr;
  CHECK_THAT(SettlementEngine::Create(no_clock).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "Clock"));
  EngineDeps bad_terms = deps;
  bad_terms.terms.pay_to = {};
  CHECK_THAT(SettlementEngine::Create(bad_terms).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "pay_to"));
}

TEST_CASE("a valid payment verifies and reports what it matched", "[unit]") {
  EngineEnv env;
  for (int version : {1, 2}) {
    const v1::PaymentRequirement offer = Offer(env.terms, version, 10'000);
    v1::VerifyPaymentRequest request = env.VerifyRequest(env.Pay(version, 10'000, version), offer,
                                                         "req-v" + std::to_string(version));
    *request.add_accepted() = Offer(env.terms, version, 20'000);
    auto response = env.engine->VerifyPayment(request);
    REQUIRE(response.ok());
    INFO(response->invalid_reason() << " " << response->invalid_message());
    CHECK(response->valid());
    CHECK(response->invalid_reason().empty());
    CHECK(response->payer() == testing::kBuyer);
    CHECK(response->matched_index() == 0);
    CHECK(response->matched().amount() == "10000");
    CHECK(response->x402_version() == version);
    CHECK(response->nonce() == "0x000000000000000000000000000000000000000000000000000000000000000" +
                                   std::to_string(version));
  }
  CHECK(env.chain.broadcasts().empty());
}

TEST_CASE("malformed payloads are answers, malformed requests are errors", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, 10'000);
  testing::SignedPayment payment = env.Pay(2, 10'000);
  v1::VerifyPaymentRequest request = env.VerifyRequest(payment, offer);
  request.set_payment_payload_json("{not json");
  auto garbage = env.engine->VerifyPayment(request);
  REQUIRE(garbage.ok());
  CHECK_FALSE(garbage->valid());
  CHECK(garbage->invalid_reason() == x402::kInvalidPayload);
  CHECK(garbage->matched_index() == -1);
  request.set_payment_payload_json("{\"x402Version\":7}");
  auto version = env.engine->VerifyPayment(request);
  REQUIRE(version.ok());
  CHECK(version->invalid_reason() == x402::kInvalidX402Version);

  v1::VerifyPaymentRequest no_offers = env.VerifyRequest(payment, offer);
  no_offers.clear_accepted();
  CHECK_THAT(env.engine->VerifyPayment(no_offers).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "accepted"));
  v1::VerifyPaymentRequest anonymous_claim = env.VerifyRequest(payment, offer, "");
  CHECK_THAT(env.engine->VerifyPayment(anonymous_claim).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "request_id"));
  // Without a claim no request id is needed.
  auto no_claim = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "", false));
  REQUIRE(no_claim.ok());
  CHECK(no_claim->valid());
}

TEST_CASE("a claim reserves the payment for one request until released", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, 10'000);
  testing::SignedPayment payment = env.Pay(2, 10'000);
  auto first = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a"));
  REQUIRE(first.ok());
  CHECK(first->valid());
  REQUIRE(env.Record(payment).has_value());
  CHECK(env.Record(payment)->state == PaymentState::kClaimed);
  CHECK(env.Record(payment)->claim_owner == "req-a");

  // Another request (claiming or not) sees it used; the same request may verify again.
  for (bool claim : {true, false}) {
    auto second = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-b", claim));
    REQUIRE(second.ok());
    CHECK_FALSE(second->valid());
    CHECK(second->invalid_reason() == x402::kNonceAlreadyUsed);
  }
  auto again = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a"));
  REQUIRE(again.ok());
  CHECK(again->valid());

  // A high-s twin is the same authorization, not a new payment.
  testing::SignedPayment twin = payment;
  testing::MakeHighSTwin(twin);
  auto twin_result = env.engine->VerifyPayment(env.VerifyRequest(twin, offer, "req-b"));
  REQUIRE(twin_result.ok());
  CHECK(twin_result->invalid_reason() == x402::kNonCanonicalSignature);

  // Release: only by the owner, idempotent.
  v1::ReleasePaymentRequest release;
  release.mutable_meta()->set_request_id("req-b");
  release.set_payment_payload_json(payment.json);
  release.set_reason("providers_unavailable");
  auto not_owner = env.engine->ReleasePayment(release);
  REQUIRE(not_owner.ok());
  CHECK_FALSE(not_owner->released());
  release.mutable_meta()->set_request_id("req-a");
  auto released = env.engine->ReleasePayment(release);
  REQUIRE(released.ok());
  CHECK(released->released());
  CHECK_FALSE(env.Record(payment).has_value());
  auto twice = env.engine->ReleasePayment(release);
  REQUIRE(twice.ok());
  CHECK_FALSE(twice->released());
  release.set_payment_payload_json("garbage");
  auto garbage = env.engine->ReleasePayment(release);
  REQUIRE(garbage.ok());
  CHECK_FALSE(garbage->released());
  release.mutable_meta()->clear_request_id();
  CHECK_THAT(env.engine->ReleasePayment(release).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "request_id"));

  auto after = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-b"));
  REQUIRE(after.ok());
  CHECK(after->valid());
  CHECK(env.chain.broadcasts().empty());
}

TEST_CASE("verify without a claim reserves nothing", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 1, 10'000);
  testing::SignedPayment payment = env.Pay(1, 10'000);
  auto peek = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a", false));
  REQUIRE(peek.ok());
  CHECK(peek->valid());
  CHECK_FALSE(env.Record(payment).has_value());
}

TEST_CASE("chain checks: token code, used nonce, balance; failures give the claim back", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, 10'000);
  testing::SignedPayment payment = env.Pay(2, 10'000);
  auto verify = [&] {
    auto response = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a"));
    REQUIRE(response.ok());
    return *response;
  };
  SECTION("token without code") {
    env.chain.Edit([](auto& s) { s.has_code = false; });
    CHECK(verify().invalid_reason() == kAssetNotDeployed);
  }
  SECTION("nonce used on chain") {
    env.chain.MarkNonceUsed(payment.payload.authorization.from,
                            payment.payload.authorization.nonce);
    CHECK(verify().invalid_reason() == x402::kNonceAlreadyUsed);
  }
  SECTION("balance too low") {
    env.chain.SetBalance(Addr(testing::kBuyer), 9'999);
    CHECK(verify().invalid_reason() == x402::kInsufficientBalance);
  }
  SECTION("balance exactly enough") {
    env.chain.SetBalance(Addr(testing::kBuyer), 10'000);
    CHECK(verify().valid());
    CHECK(env.Record(payment).has_value());
    return;
  }
  SECTION("chain down: Unavailable, fail closed") {
    for (const char* method : {"HasCode", "AuthorizationUsed", "BalanceOf"}) {
      env.chain.Edit([&](auto& s) { s.unavailable = {method}; });
      INFO(method);
      CHECK_THAT(env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a")).status(),
                 StatusIs(absl::StatusCode::kUnavailable, "chain"));
      CHECK_FALSE(env.Record(payment).has_value());
    }
  }
  CHECK_FALSE(env.Record(payment).has_value());
  CHECK(env.chain.broadcasts().empty());
}

TEST_CASE("without a chain, verify skips the chain checks", "[unit]") {
  EngineEnv env(/*with_chain=*/false);
  env.chain.SetBalance(Addr(testing::kBuyer), 0);
  const v1::PaymentRequirement offer = Offer(env.terms, 2, 10'000);
  auto response = env.engine->VerifyPayment(env.VerifyRequest(env.Pay(2, 10'000), offer));
  REQUIRE(response.ok());
  CHECK(response->valid());
  CHECK(env.chain.calls("BalanceOf") == 0);
}

TEST_CASE("stateless failures come from the verifier", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, 10'000);
  testing::SignOptions options;
  options.now_unix_seconds = env.now();
  options.valid_before = env.now() + 2;
  auto expired =
      env.engine->VerifyPayment(env.VerifyRequest(testing::SignPayment(offer, 2, options), offer));
  REQUIRE(expired.ok());
  CHECK(expired->invalid_reason() == x402::kValidBefore);
  CHECK_FALSE(expired->invalid_message().empty());
  CHECK(expired->matched_index() == 0);
  // Verified with the engine's clock: the same payment is fine a minute earlier.
  PaymentTerms mainnet = env.terms;
  mainnet.chain_id = 8453;
  const v1::PaymentRequirement foreign = Offer(mainnet, 2, 10'000);
  options.valid_before.reset();
  auto network = env.engine->VerifyPayment(
      env.VerifyRequest(testing::SignPayment(foreign, 2, options), foreign));
  REQUIRE(network.ok());
  CHECK(network->invalid_reason() == x402::kNetworkMismatch);
  CHECK_FALSE(env.Record(testing::SignPayment(offer, 2, options)).has_value());
}

TEST_CASE("GetPaymentRequirements picks the tenant's fee tier from this month's volume", "[unit]") {
  EngineEnv env;
  v1::GetPaymentRequirementsRequest request;
  request.set_resource(testing::kResource);
  v1::ModeCost* cost = request.add_mode_costs();
  cost->set_mode(v1::ROUTING_MODE_COST);
  cost->mutable_model()->set_provider("openai");
  cost->mutable_model()->set_model("gpt-4o-mini");
  cost->set_worst_case_micro_usd(10'000);
  request.mutable_meta()->set_tenant_id("tenant-a");
  auto first = env.engine->GetPaymentRequirements(request);
  REQUIRE(first.ok());
  CHECK(first->accepts(0).amount() == "10200");  // 2%

  // $1,000 of usage last month does not count; this month it does.
  LedgerEntry usage;
  usage.tenant_id = "tenant-a";
  usage.kind = kEntryUsage;
  usage.cost_micro_usd = 1'000'000'000;
  usage.idempotency_key = "old";
  usage.created_unix_ms = env.clock.NowMillis() - 40LL * 24 * 3600 * 1000;
  REQUIRE(env.ledger.Append(usage).ok());
  auto still = env.engine->GetPaymentRequirements(request);
  REQUIRE(still.ok());
  CHECK(still->accepts(0).amount() == "10200");
  usage.idempotency_key = "new";
  usage.created_unix_ms = env.clock.NowMillis();
  REQUIRE(env.ledger.Append(usage).ok());
  auto tier2 = env.engine->GetPaymentRequirements(request);
  REQUIRE(tier2.ok());
  CHECK(tier2->accepts(0).amount() == "10100");  // 1%
  // Another tenant (or none) stays at 2%.
  request.mutable_meta()->set_tenant_id("");
  auto anonymous = env.engine->GetPaymentRequirements(request);
  REQUIRE(anonymous.ok());
  CHECK(anonymous->accepts(0).amount() == "10200");
  request.clear_mode_costs();
  CHECK_THAT(env.engine->GetPaymentRequirements(request).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("GetSupported lists the chain in both versions and the signer", "[unit]") {
  EngineEnv env;
  v1::GetSupportedResponse supported = env.engine->GetSupported();
  REQUIRE(supported.kinds_size() == 2);
  CHECK(supported.kinds(0).x402_version() == 2);
  CHECK(supported.kinds(0).scheme() == "exact");
  CHECK(supported.kinds(0).network() == "eip155:84532");
  CHECK(supported.kinds(1).x402_version() == 1);
  CHECK(supported.kinds(1).network() == "base-sepolia");
  REQUIRE(supported.signers_size() == 1);
  CHECK(supported.signers(0) == evm::ToChecksum(env.chain.SignerAddress()));

  PaymentTerms local = testing::SepoliaTerms();
  local.chain_id = 31337;
  EngineEnv local_env(true, local);
  CHECK(local_env.engine->GetSupported().kinds_size() == 1);  // no v1 name for 31337
  EngineEnv no_chain(false);
  CHECK(no_chain.engine->GetSupported().kinds_size() == 0);
  CHECK(no_chain.engine->GetSupported().signers_size() == 0);
}

TEST_CASE("TopUpRequirement is a plain amount offer", "[unit]") {
  EngineEnv env;
  auto offer = env.engine->TopUpRequirement(2'500'000, 1, "https://api.p402.test/v2/topup");
  REQUIRE(offer.ok());
  CHECK(offer->amount() == "2500000");
  CHECK(offer->network() == "base-sepolia");
  CHECK(offer->pay_to() == testing::kPayTo);
  CHECK_THAT(env.engine->TopUpRequirement(0, 2, "https://api.p402.test/v2/topup").status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

v1::RecordUsageRequest Usage(const std::string& key, int64_t deduct) {
  v1::RecordUsageRequest request;
  request.mutable_meta()->set_tenant_id("tenant-a");
  request.mutable_meta()->set_request_id("req-" + key);
  request.set_idempotency_key(key);
  request.mutable_model()->set_provider("openai");
  request.mutable_model()->set_model("gpt-4o-mini");
  request.mutable_usage()->set_input_tokens(100);
  request.mutable_usage()->set_output_tokens(20);
  request.mutable_cost()->set_total_micro_usd(deduct - 3);
  request.mutable_cost()->set_platform_fee_micro_usd(3);
  request.set_deduct_micro_usd(deduct);
  return request;
}

TEST_CASE("RecordUsage deducts once per idempotency key and never below zero", "[unit]") {
  EngineEnv env;
  LedgerEntry credit;
  credit.tenant_id = "tenant-a";
  credit.kind = kEntryTopUp;
  credit.amount_micro_usd = 1'000;
  credit.idempotency_key = "topup-1";
  REQUIRE(env.ledger.Append(credit).ok());

  auto first = env.engine->RecordUsage(Usage("u1", 300));
  REQUIRE(first.ok());
  CHECK_FALSE(first->duplicate());
  CHECK(first->balance_after_micro_usd() == 700);
  auto replay = env.engine->RecordUsage(Usage("u1", 300));
  REQUIRE(replay.ok());
  CHECK(replay->duplicate());
  CHECK(replay->entry_id() == first->entry_id());
  auto too_much = env.engine->RecordUsage(Usage("u2", 701));
  CHECK(too_much.status().code() == absl::StatusCode::kFailedPrecondition);

  auto balance = env.engine->GetBalance([] {
    v1::GetBalanceRequest r;
    r.set_tenant_id("tenant-a");
    return r;
  }());
  REQUIRE(balance.ok());
  CHECK(balance->balance_micro_usd() == 700);
  CHECK(balance->total_topped_up_micro_usd() == 1'000);
  CHECK(balance->total_spent_micro_usd() == 300);

  v1::RecordUsageRequest no_tenant = Usage("u3", 1);
  no_tenant.mutable_meta()->clear_tenant_id();
  CHECK_THAT(env.engine->RecordUsage(no_tenant).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));
  v1::RecordUsageRequest no_key = Usage("", 1);
  CHECK_THAT(env.engine->RecordUsage(no_key).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "idempotency_key"));
  CHECK_THAT(env.engine->RecordUsage(Usage("u4", -1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "deduct"));
  CHECK_THAT(env.engine->GetBalance(v1::GetBalanceRequest()).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));

  // Key-billed usage (deduct 0) is recorded without touching the balance.
  auto recorded = env.engine->RecordUsage(Usage("u5", 0));
  REQUIRE(recorded.ok());
  CHECK(recorded->balance_after_micro_usd() == 700);
}

TEST_CASE("ListUsage maps ledger entries and pages", "[unit]") {
  EngineEnv env;
  LedgerEntry credit;
  credit.tenant_id = "tenant-a";
  credit.kind = kEntryTopUp;
  credit.amount_micro_usd = 1'000;
  credit.idempotency_key = "topup-1";
  credit.transaction = "0xabc";
  REQUIRE(env.ledger.Append(credit).ok());
  REQUIRE(env.engine->RecordUsage(Usage("u1", 300)).ok());
  REQUIRE(env.engine->RecordUsage(Usage("u2", 200)).ok());

  v1::ListUsageRequest request;
  request.set_tenant_id("tenant-a");
  request.set_page_size(2);
  auto page = env.engine->ListUsage(request);
  REQUIRE(page.ok());
  REQUIRE(page->entries_size() == 2);
  CHECK(page->entries(0).kind() == "topup");
  CHECK(page->entries(0).transaction() == "0xabc");
  CHECK(page->entries(0).balance_after_micro_usd() == 1'000);
  const v1::UsageEntry& usage = page->entries(1);
  CHECK(usage.kind() == "usage");
  CHECK(usage.request_id() == "req-u1");
  CHECK(usage.model().provider() == "openai");
  CHECK(usage.model().model() == "gpt-4o-mini");
  CHECK(usage.usage().input_tokens() == 100);
  CHECK(usage.usage().output_tokens() == 20);
  CHECK(usage.cost_micro_usd() == 300);
  CHECK(usage.platform_fee_micro_usd() == 3);
  CHECK(usage.balance_before_micro_usd() == 1'000);
  CHECK(usage.balance_after_micro_usd() == 700);
  CHECK(usage.created_unix_ms() == env.clock.NowMillis());
  REQUIRE_FALSE(page->next_page_token().empty());
  request.set_page_token(page->next_page_token());
  auto rest = env.engine->ListUsage(request);
  REQUIRE(rest.ok());
  REQUIRE(rest->entries_size() == 1);
  CHECK(rest->entries(0).balance_after_micro_usd() == 500);

  request.set_page_size(1001);
  CHECK_THAT(env.engine->ListUsage(request).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "page_size"));
  request.set_page_size(0);
  request.clear_tenant_id();
  CHECK_THAT(env.engine->ListUsage(request).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));
}

}  // namespace
}  // namespace p402::settlement
