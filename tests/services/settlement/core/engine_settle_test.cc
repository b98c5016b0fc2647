// Tests of SettlementEngine's settlement: idempotency, record-before-broadcast, receipts and
// timeouts, chain failures and reverts (and that no money moved on every rejection), ledger
// entries and fees, top-ups, the reconciler, and concurrent settles of one payment.
#include <atomic>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/x402/reasons.h"
#include "tests/services/settlement/core/engine_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::StatusIs;
using testing::Addr;
using testing::EngineEnv;
using testing::FakeChain;
using testing::Offer;
using testing::SignedPayment;

constexpr int64_t kPaid = 10'000;

v1::SettlePaymentResponse Settle(EngineEnv& env, const SignedPayment& payment,
                                 const v1::PaymentRequirement& offer, int64_t charged,
                                 const std::string& request_id = "req-1",
                                 const std::string& tenant = "") {
  auto response =
      env.engine->SettlePayment(env.SettleRequest(payment, offer, charged, request_id, tenant));
  REQUIRE(response.ok());
  return *response;
}

int64_t Balance(EngineEnv& env, const std::string& tenant, const std::string& session = "") {
  auto balance = env.ledger.GetBalance(tenant, session);
  REQUIRE(balance.ok());
  return balance->balance_micro_usd;
}

TEST_CASE("ReasonForRevert maps revert texts like @x402/evm", "[unit]") {
  const std::string_view fallback = x402::kTransactionFailed;
  CHECK(ReasonForRevert("FiatTokenV2: authorization is expired", fallback) == x402::kValidBefore);
  CHECK(ReasonForRevert("execution reverted: valid before", fallback) == x402::kValidBefore);
  CHECK(ReasonForRevert("FiatTokenV2: authorization is not yet valid", fallback) ==
        x402::kValidAfter);
  CHECK(ReasonForRevert("FiatTokenV2: authorization is used or canceled", fallback) ==
        x402::kNonceAlreadyUsed);
  CHECK(ReasonForRevert("ERC20: transfer amount exceeds balance", fallback) ==
        x402::kInsufficientBalance);
  CHECK(ReasonForRevert("Insufficient Balance", fallback) == x402::kInsufficientBalance);
  CHECK(ReasonForRevert("FiatTokenV2: invalid signature", fallback) == x402::kSignature);
  CHECK(ReasonForRevert("execution reverted", fallback) == fallback);
  CHECK(ReasonForRevert("", x402::kSimulationFailed) == x402::kSimulationFailed);
}

TEST_CASE("without a chain, settling and top-ups are not configured", "[unit]") {
  EngineEnv env(/*with_chain=*/false);
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  auto settle = env.engine->SettlePayment(env.SettleRequest(env.Pay(2, kPaid), offer, 100));
  CHECK_THAT(settle.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(settle.status()) == std::string(kSettlementNotConfigured));
  v1::TopUpRequest topup;
  topup.mutable_meta()->set_tenant_id("tenant-a");
  auto credited = env.engine->TopUp(topup);
  CHECK(ReasonOf(credited.status()) == std::string(kSettlementNotConfigured));
  auto reconciled = env.engine->ReconcileSubmitted();
  REQUIRE(reconciled.ok());
  CHECK(*reconciled == 0);
}

TEST_CASE("a paid chat settles once, books payment and usage, and replays as a duplicate",
          "[unit]") {
  EngineEnv env;
  for (int version : {2, 1}) {
    const uint64_t nonce = static_cast<uint64_t>(version);
    const v1::PaymentRequirement offer = Offer(env.terms, version, kPaid);
    SignedPayment payment = env.Pay(version, kPaid, nonce);
    const std::string request_id = "req-v" + std::to_string(version);
    auto verified = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, request_id));
    REQUIRE(verified.ok());
    REQUIRE(verified->valid());
    const size_t broadcasts_before = env.chain.broadcasts().size();

    v1::SettlePaymentResponse settled = Settle(env, payment, offer, 1'000, request_id);
    INFO(settled.error_reason() << " " << settled.error_message());
    REQUIRE(settled.success());
    CHECK_FALSE(settled.duplicate());
    CHECK(settled.transaction().size() == 66);
    CHECK(settled.network() == offer.network());
    CHECK(settled.payer() == testing::kBuyer);
    CHECK(settled.amount() == "10000");
    CHECK(settled.error_reason().empty());
    // The receipt: provider cost 1000 + 2% fee, the rest of the worst-case price is credit.
    CHECK(settled.charged_micro_usd() == 1'020);
    CHECK(settled.platform_fee_micro_usd() == 20);
    CHECK(settled.credit_micro_usd() == kPaid - 1'020);
    CHECK(env.chain.broadcasts().size() == broadcasts_before + 1);
    CHECK(env.Record(payment)->state == PaymentState::kSettled);
    CHECK(env.Record(payment)->tx_hash == settled.transaction());

    // Replays (same or other request, later than validBefore) find the first settlement.
    env.clock.Advance(std::chrono::hours(2));
    v1::SettlePaymentResponse replay = Settle(env, payment, offer, 1'000, "req-other");
    CHECK(replay.success());
    CHECK(replay.duplicate());
    CHECK(replay.transaction() == settled.transaction());
    CHECK(env.chain.broadcasts().size() == broadcasts_before + 1);
    // The high-s twin of a settled payment is not a second payment.
    SignedPayment twin = payment;
    testing::MakeHighSTwin(twin);
    CHECK(Settle(env, twin, offer, 1'000).error_reason() == x402::kNonCanonicalSignature);
    // Verify and Release after the settlement.
    auto reverify = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-x", false));
    REQUIRE(reverify.ok());
    CHECK_FALSE(reverify->valid());
    v1::ReleasePaymentRequest release;
    release.mutable_meta()->set_request_id(request_id);
    release.set_payment_payload_json(payment.json);
    auto released = env.engine->ReleasePayment(release);
    REQUIRE(released.ok());
    CHECK_FALSE(released->released());
    CHECK(env.Record(payment)->state == PaymentState::kSettled);
    env.clock.Advance(-std::chrono::hours(2));
  }
  // Money moved on chain: 2 x 10000 from the buyer to P402.
  CHECK(env.chain.BalanceOfOwner(Addr(testing::kBuyer)) == 10'000'000 - 2 * kPaid);
  CHECK(env.chain.BalanceOfOwner(Addr(testing::kPayTo)) == 2 * kPaid);
  // Ledger: per payment +10000 then -(1000 + 2% fee); replays booked nothing.
  std::vector<LedgerEntry> entries = env.Entries(testing::WalletAccount());
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].kind == kEntryPayment);
  CHECK(entries[0].amount_micro_usd == kPaid);
  CHECK(entries[0].payer == evm::ToLowerHex(Addr(testing::kBuyer)));
  CHECK(entries[1].kind == kEntryUsage);
  CHECK(entries[1].amount_micro_usd == -1'020);
  CHECK(entries[1].cost_micro_usd == 1'020);
  CHECK(entries[1].platform_fee_micro_usd == 20);
  CHECK(entries[1].transaction == entries[0].transaction);
  CHECK(Balance(env, testing::WalletAccount()) == 2 * (kPaid - 1'020));
}

TEST_CASE("the transaction is recorded before it is broadcast", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SignedPayment payment = env.Pay(2, kPaid);
  std::optional<PaymentRecord> at_broadcast;
  std::string broadcast_hash;
  env.chain.OnBroadcast([&](const PreparedTransfer& transfer) {
    broadcast_hash = transfer.tx_hash;
    at_broadcast = env.Record(payment);
  });
  v1::SettlePaymentResponse settled = Settle(env, payment, offer, 500);
  REQUIRE(settled.success());
  REQUIRE(at_broadcast.has_value());
  CHECK(at_broadcast->state == PaymentState::kSubmitted);
  CHECK(at_broadcast->tx_hash == broadcast_hash);
  CHECK_FALSE(at_broadcast->raw_tx.empty());
  CHECK(env.chain.broadcasts().at(0).raw_tx == at_broadcast->raw_tx);
}

TEST_CASE("rejections move no money and say why", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  testing::SignOptions options;
  options.now_unix_seconds = env.now();
  auto settle_with = [&](const testing::SignOptions& o, const v1::PaymentRequirement& req) {
    return Settle(env, testing::SignPayment(req, 2, o), req, 100);
  };
  SECTION("not JSON") {
    SignedPayment bad = env.Pay(2, kPaid);
    bad.json = "{\"x402Version\":2,";
    CHECK(Settle(env, bad, offer, 100).error_reason() == x402::kInvalidPayload);
  }
  SECTION("bad signature") {
    testing::SignOptions o = options;
    o.domain_name = "USD Coin";
    v1::SettlePaymentResponse r = settle_with(o, offer);
    CHECK(r.error_reason() == x402::kSignature);
    CHECK(r.payer() == testing::kBuyer);
    CHECK(r.network() == "eip155:84532");
  }
  SECTION("expired") {
    testing::SignOptions o = options;
    o.valid_before = env.now() + 3;
    CHECK(settle_with(o, offer).error_reason() == x402::kValidBefore);
    CHECK_FALSE(env.Record(testing::SignPayment(offer, 2, o)).has_value());  // claim dropped
  }
  SECTION("not yet valid") {
    testing::SignOptions o = options;
    o.valid_after = env.now() + 100;
    CHECK(settle_with(o, offer).error_reason() == x402::kValidAfter);
  }
  SECTION("value differs") {
    testing::SignOptions o = options;
    o.value = "9999";
    CHECK(settle_with(o, offer).error_reason() == x402::kValueMismatch);
  }
  SECTION("network differs from the terms") {
    PaymentTerms mainnet = env.terms;
    mainnet.chain_id = 8453;
    CHECK(settle_with(options, Offer(mainnet, 2, kPaid)).error_reason() == x402::kNetworkMismatch);
    CHECK(settle_with(options, Offer(mainnet, 1, kPaid)).error_reason() == x402::kNetworkMismatch);
  }
  SECTION("a chat payment to someone else") {
    PaymentTerms other = env.terms;
    other.pay_to = Addr(testing::kThirdParty);
    CHECK(settle_with(options, Offer(other, 2, kPaid)).error_reason() == x402::kRecipientMismatch);
  }
  SECTION("claimed by another request") {
    SignedPayment payment = env.Pay(2, kPaid);
    REQUIRE(env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-a"))->valid());
    CHECK(Settle(env, payment, offer, 100, "req-b").error_reason() == x402::kNonceAlreadyUsed);
    CHECK(env.Record(payment)->state == PaymentState::kClaimed);
  }
  SECTION("balance too low (simulation)") {
    env.chain.SetBalance(Addr(testing::kBuyer), 10);
    v1::SettlePaymentResponse r = Settle(env, env.Pay(2, kPaid), offer, 100);
    CHECK(r.error_reason() == x402::kInsufficientBalance);
    CHECK_THAT(r.error_message(), Catch::Contains("exceeds balance"));
  }
  SECTION("nonce used on chain (simulation)") {
    SignedPayment payment = env.Pay(2, kPaid);
    env.chain.MarkNonceUsed(payment.payload.authorization.from,
                            payment.payload.authorization.nonce);
    CHECK(Settle(env, payment, offer, 100).error_reason() == x402::kNonceAlreadyUsed);
  }
  SECTION("unexplained simulation revert is diagnosed or reported as such") {
    env.chain.Edit([](auto& s) { s.simulate_revert = "execution reverted"; });
    CHECK(Settle(env, env.Pay(2, kPaid), offer, 100).error_reason() == x402::kSimulationFailed);
    env.chain.SetBalance(Addr(testing::kBuyer), 1);
    CHECK(Settle(env, env.Pay(2, kPaid, 2), offer, 100).error_reason() ==
          x402::kInsufficientBalance);
  }
  SECTION("revert at gas estimation is mapped") {
    env.chain.Edit([](auto& s) { s.prepare_revert = "FiatTokenV2: authorization is expired"; });
    CHECK(Settle(env, env.Pay(2, kPaid), offer, 100).error_reason() == x402::kValidBefore);
    env.chain.Edit([](auto& s) { s.prepare_revert = "out of gas"; });
    CHECK(Settle(env, env.Pay(2, kPaid, 2), offer, 100).error_reason() == x402::kTransactionFailed);
  }
  CHECK(env.chain.broadcasts().empty());
  CHECK(env.chain.distinct_transactions() == 0);
  CHECK(env.chain.BalanceOfOwner(Addr(testing::kPayTo)) == 0);
  CHECK(Balance(env, testing::WalletAccount()) == 0);
}

TEST_CASE("a revert leaves the payment unused: it settles once the cause is gone", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SignedPayment payment = env.Pay(2, kPaid);
  env.chain.SetBalance(Addr(testing::kBuyer), 10);
  CHECK(Settle(env, payment, offer, 100).error_reason() == x402::kInsufficientBalance);
  CHECK(env.Record(payment)->state == PaymentState::kFailed);
  CHECK(env.Record(payment)->tx_hash.empty());
  env.chain.SetBalance(Addr(testing::kBuyer), kPaid);
  CHECK(Settle(env, payment, offer, 100, "req-2").success());
  CHECK(env.chain.broadcasts().size() == 1);
}

TEST_CASE("chain unreachable before signing: failed without a tx, noted, retryable", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SignedPayment payment = env.Pay(2, kPaid);
  for (const char* method : {"SimulateTransfer", "PrepareTransfer"}) {
    env.chain.Edit([&](auto& s) { s.unavailable = {method}; });
    v1::SettlePaymentResponse failed = Settle(env, payment, offer, 100, "req-1", "tenant-a");
    INFO(method);
    CHECK_FALSE(failed.success());
    CHECK(failed.error_reason() == x402::kUnexpectedSettleError);
    CHECK(failed.transaction().empty());
    CHECK_THAT(failed.error_message(), Catch::Contains("down"));
    REQUIRE(env.Record(payment).has_value());
    CHECK(env.Record(payment)->state == PaymentState::kFailed);
    CHECK(env.Record(payment)->tx_hash.empty());
  }
  CHECK(env.chain.broadcasts().empty());
  std::vector<LedgerEntry> notes = env.Entries("tenant-a");
  REQUIRE(notes.size() == 2);
  CHECK(notes[0].kind == kEntryPaymentFailed);
  CHECK(notes[0].amount_micro_usd == 0);
  CHECK_THAT(notes[0].note, Catch::Contains(std::string(x402::kUnexpectedSettleError)));
  CHECK(Balance(env, "tenant-a") == 0);

  // The payer was not charged; the same payment works once the chain is back.
  env.chain.Edit([](auto& s) { s.unavailable.clear(); });
  auto verified = env.engine->VerifyPayment(env.VerifyRequest(payment, offer, "req-2"));
  REQUIRE(verified.ok());
  CHECK(verified->valid());
  v1::SettlePaymentResponse settled = Settle(env, payment, offer, 100, "req-2", "tenant-a");
  CHECK(settled.success());
  CHECK(env.chain.broadcasts().size() == 1);
}

TEST_CASE("receipt reads failing after the broadcast: pending with the hash", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  env.chain.Edit([](auto& s) { s.unavailable = {"GetReceipt"}; });
  v1::SettlePaymentResponse pending = Settle(env, env.Pay(2, kPaid), offer, 100);
  CHECK(pending.error_reason() == x402::kSettlementPending);
  CHECK_FALSE(pending.transaction().empty());
  CHECK(env.chain.broadcasts().size() == 1);
}

TEST_CASE("receipt timeout: pending with the hash, finished later without a second tx", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SignedPayment payment = env.Pay(2, kPaid);
  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kNever; });
  v1::SettlePaymentResponse pending = Settle(env, payment, offer, 1'000);
  CHECK_FALSE(pending.success());
  CHECK(pending.error_reason() == x402::kSettlementPending);
  REQUIRE_FALSE(pending.transaction().empty());
  CHECK(pending.network() == "eip155:84532");
  CHECK(env.Record(payment)->state == PaymentState::kSubmitted);
  CHECK(Balance(env, testing::WalletAccount()) == 0);  // nothing booked while pending

  // A retry while still unmined: pending again, nothing new signed.
  v1::SettlePaymentResponse again = Settle(env, payment, offer, 1'000);
  CHECK(again.error_reason() == x402::kSettlementPending);
  CHECK(again.transaction() == pending.transaction());
  CHECK(env.chain.prepare_calls() == 1);

  // Mined now: the retry finishes it and books it.
  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kSuccess; });
  v1::SettlePaymentResponse done = Settle(env, payment, offer, 1'000);
  CHECK(done.success());
  CHECK(done.transaction() == pending.transaction());
  CHECK(env.chain.prepare_calls() == 1);
  CHECK(env.chain.distinct_transactions() + 0 == 0);  // mined: out of the pool
  CHECK(env.Record(payment)->state == PaymentState::kSettled);
  CHECK(Balance(env, testing::WalletAccount()) == kPaid - 1'020);
}

TEST_CASE("slow mining within the timeout is waited for", "[unit]") {
  EngineEnv env;
  env.chain.Edit([](auto& s) { s.polls_before_mined = 5; });
  v1::SettlePaymentResponse settled =
      Settle(env, env.Pay(2, kPaid), Offer(env.terms, 2, kPaid), 10);
  CHECK(settled.success());
  CHECK(env.chain.calls("GetReceipt") == 6);
}

TEST_CASE("broadcast lost in transit: the receipt or a rebroadcast of the same bytes decides",
          "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SECTION("it arrived anyway") {
    env.chain.Edit([](auto& s) {
      s.broadcast_error = Unavailable("connection reset");
      s.broadcast_arrives_anyway = true;
    });
    CHECK(Settle(env, env.Pay(2, kPaid), offer, 10).success());
  }
  SECTION("it did not arrive: pending, then the reconciler rebroadcasts and finishes it") {
    env.chain.Edit([](auto& s) { s.broadcast_error = Unavailable("connection reset"); });
    SignedPayment payment = env.Pay(2, kPaid);
    v1::SettlePaymentResponse pending = Settle(env, payment, offer, 10);
    CHECK(pending.error_reason() == x402::kSettlementPending);
    CHECK(env.chain.distinct_transactions() == 0);
    env.chain.Edit([](auto& s) { s.broadcast_error.reset(); });
    auto first = env.engine->ReconcileSubmitted();
    REQUIRE(first.ok());
    CHECK(*first == 0);  // rebroadcast, not mined yet
    REQUIRE(env.chain.broadcasts().size() == 1);
    CHECK(env.chain.broadcasts()[0].tx_hash == pending.transaction());
    CHECK(env.Record(payment)->raw_tx == env.chain.broadcasts()[0].raw_tx);
    auto second = env.engine->ReconcileSubmitted();
    REQUIRE(second.ok());
    CHECK(*second == 1);
    CHECK(env.Record(payment)->state == PaymentState::kSettled);
    CHECK(env.chain.prepare_calls() == 1);
    // The buyer's retry gets the settlement.
    v1::SettlePaymentResponse replay = Settle(env, payment, offer, 10);
    CHECK(replay.success());
    CHECK(replay.duplicate());
    CHECK(replay.transaction() == pending.transaction());
  }
}

TEST_CASE("the node rejecting the transaction leaves the payment unused", "[unit]") {
  EngineEnv env;
  env.chain.Edit([](auto& s) { s.broadcast_error = FailedPrecondition("nonce too low"); });
  SignedPayment payment = env.Pay(2, kPaid);
  v1::SettlePaymentResponse failed = Settle(env, payment, Offer(env.terms, 2, kPaid), 10);
  CHECK(failed.error_reason() == x402::kUnexpectedSettleError);
  CHECK(failed.transaction().empty());
  CHECK(env.Record(payment)->state == PaymentState::kFailed);
  CHECK(env.Record(payment)->tx_hash.empty());
  CHECK(env.chain.distinct_transactions() == 0);
}

TEST_CASE("mined but failed: reverted or without the Transfer log", "[unit]") {
  EngineEnv env;
  REQUIRE(env.bazaar
              .Create([&] {
                v1::Listing l;
                l.set_id("lst_1");
                l.set_pay_to(testing::kPayTo);
                return l;
              }())
              .ok());
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kReverted; });
  SignedPayment reverted = env.Pay(2, kPaid, 1);
  v1::SettlePaymentResponse failed = Settle(env, reverted, offer, 10);
  CHECK(failed.error_reason() == x402::kTransactionFailed);
  CHECK_FALSE(failed.transaction().empty());
  CHECK(env.Record(reverted)->state == PaymentState::kFailed);
  CHECK(env.Record(reverted)->tx_hash == failed.transaction());
  // A replay reports the same failure and sends nothing new.
  v1::SettlePaymentResponse replay = Settle(env, reverted, offer, 10);
  CHECK(replay.error_reason() == x402::kTransactionFailed);
  CHECK(replay.transaction() == failed.transaction());
  CHECK(env.chain.broadcasts().size() == 1);

  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kNoTransferLog; });
  v1::SettlePaymentResponse no_log = Settle(env, env.Pay(2, kPaid, 2), offer, 10);
  CHECK(no_log.error_reason() == x402::kTransferEventMismatch);
  CHECK(Balance(env, testing::WalletAccount()) == 0);

  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kSuccess; });
  CHECK(Settle(env, env.Pay(2, kPaid, 3), offer, 10).success());
  auto all = env.bazaar.All();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->at(0).failed_count() == 2);
  CHECK(all->at(0).settled_count() == 1);
  CHECK(all->at(0).volume_micro_usd() == kPaid);  // only the settled transfer counts
}

TEST_CASE("fees: the tenant's tier, capped at the amount paid", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  // Tenant over $1,000 this month: 1%.
  LedgerEntry volume;
  volume.tenant_id = "tenant-big";
  volume.kind = kEntryUsage;
  volume.cost_micro_usd = 1'000'000'000;
  volume.idempotency_key = "volume";
  REQUIRE(env.ledger.Append(volume).ok());
  REQUIRE(Settle(env, env.Pay(2, kPaid, 1), offer, 5'000, "req-1", "tenant-big").success());
  std::vector<LedgerEntry> big = env.Entries("tenant-big");
  REQUIRE(big.size() == 3);
  CHECK(big[2].amount_micro_usd == -5'050);
  CHECK(big[2].platform_fee_micro_usd == 50);
  CHECK(Balance(env, "tenant-big") == kPaid - 5'050);
  // Charged more than paid: the usage entry takes exactly what was paid.
  REQUIRE(Settle(env, env.Pay(2, kPaid, 2), offer, 9'900, "req-2", "tenant-small").success());
  std::vector<LedgerEntry> small = env.Entries("tenant-small");
  REQUIRE(small.size() == 2);
  CHECK(small[1].amount_micro_usd == -kPaid);
  CHECK(small[1].platform_fee_micro_usd == 100);
  CHECK(Balance(env, "tenant-small") == 0);
}

TEST_CASE("facilitator settlements (charged 0) are recorded for the seller, no balance", "[unit]") {
  EngineEnv env;
  PaymentTerms seller = env.terms;
  seller.pay_to = Addr(testing::kThirdParty);
  const v1::PaymentRequirement offer = Offer(seller, 1, kPaid);
  testing::SignOptions o;
  o.now_unix_seconds = env.now();
  SignedPayment payment = testing::SignPayment(offer, 1, o);
  v1::SettlePaymentResponse settled = Settle(env, payment, offer, 0, "");
  REQUIRE(settled.success());
  CHECK(settled.network() == "base-sepolia");
  CHECK(env.chain.BalanceOfOwner(Addr(testing::kThirdParty)) == kPaid);
  const std::string account = "facilitator:" + evm::ToLowerHex(Addr(testing::kThirdParty));
  std::vector<LedgerEntry> entries = env.Entries(account);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind == kEntryPayment);
  CHECK(entries[0].amount_micro_usd == 0);
  CHECK(entries[0].cost_micro_usd == kPaid);
  CHECK(entries[0].transaction == settled.transaction());
  CHECK(Balance(env, account) == 0);
  v1::SettlePaymentResponse replay = Settle(env, payment, offer, 0, "");
  CHECK(replay.duplicate());
  CHECK(env.Entries(account).size() == 1);
}

v1::TopUpRequest TopUpRequest(const SignedPayment& payment, const v1::PaymentRequirement& offer,
                              const std::string& tenant, const std::string& session = "") {
  v1::TopUpRequest request;
  request.mutable_meta()->set_tenant_id(tenant);
  request.mutable_meta()->set_request_id("topup-req");
  request.set_session_id(session);
  request.set_payment_payload_json(payment.json);
  *request.mutable_requirement() = offer;
  return request;
}

TEST_CASE("top-ups credit the amount once", "[unit]") {
  EngineEnv env;
  auto offer = env.engine->TopUpRequirement(2'000'000, 2, "https://api.p402.test/v2/topup");
  REQUIRE(offer.ok());
  testing::SignOptions o;
  o.now_unix_seconds = env.now();
  SignedPayment payment = testing::SignPayment(*offer, 2, o);
  auto credited = env.engine->TopUp(TopUpRequest(payment, *offer, "tenant-a", "sess-1"));
  REQUIRE(credited.ok());
  CHECK(credited->settlement().success());
  CHECK(credited->credited_micro_usd() == 2'000'000);
  CHECK(credited->balance_micro_usd() == 2'000'000);
  CHECK_FALSE(credited->entry_id().empty());
  CHECK_FALSE(credited->duplicate());
  CHECK(Balance(env, "tenant-a", "sess-1") == 2'000'000);
  CHECK(Balance(env, "tenant-a") == 0);

  auto replay = env.engine->TopUp(TopUpRequest(payment, *offer, "tenant-a", "sess-1"));
  REQUIRE(replay.ok());
  CHECK(replay->duplicate());
  CHECK(replay->settlement().duplicate());
  CHECK(replay->entry_id() == credited->entry_id());
  CHECK(Balance(env, "tenant-a", "sess-1") == 2'000'000);
  CHECK(env.chain.broadcasts().size() == 1);

  // The same payment cannot credit another account.
  auto elsewhere = env.engine->TopUp(TopUpRequest(payment, *offer, "tenant-b"));
  REQUIRE(elsewhere.ok());
  CHECK_FALSE(elsewhere->settlement().success());
  CHECK(elsewhere->settlement().error_reason() == x402::kNonceAlreadyUsed);
  CHECK(Balance(env, "tenant-b") == 0);

  // Nor can a chat payment be reused as a top-up.
  const v1::PaymentRequirement chat_offer = Offer(env.terms, 2, kPaid);
  SignedPayment chat = env.Pay(2, kPaid, 9);
  REQUIRE(Settle(env, chat, chat_offer, 100, "req-9", "tenant-a").success());
  auto reused = env.engine->TopUp(TopUpRequest(chat, chat_offer, "tenant-a"));
  REQUIRE(reused.ok());
  CHECK(reused->settlement().error_reason() == x402::kNonceAlreadyUsed);
  CHECK(Balance(env, "tenant-a") == kPaid - 102);
}

TEST_CASE("top-up rejections", "[unit]") {
  EngineEnv env;
  PaymentTerms other = env.terms;
  other.pay_to = Addr(testing::kThirdParty);
  const v1::PaymentRequirement foreign = Offer(other, 2, kPaid);
  testing::SignOptions o;
  o.now_unix_seconds = env.now();
  auto to_other =
      env.engine->TopUp(TopUpRequest(testing::SignPayment(foreign, 2, o), foreign, "t"));
  REQUIRE(to_other.ok());
  CHECK(to_other->settlement().error_reason() == x402::kRecipientMismatch);
  CHECK(to_other->credited_micro_usd() == 0);
  CHECK_THAT(
      env.engine->TopUp(TopUpRequest(env.Pay(2, kPaid), Offer(env.terms, 2, kPaid), "")).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));
  env.chain.SetBalance(Addr(testing::kBuyer), 0);
  auto broke = env.engine->TopUp(TopUpRequest(env.Pay(2, kPaid), Offer(env.terms, 2, kPaid), "t"));
  REQUIRE(broke.ok());
  CHECK(broke->settlement().error_reason() == x402::kInsufficientBalance);
  CHECK(Balance(env, "t") == 0);
  CHECK(env.chain.broadcasts().empty());
}

TEST_CASE("8 threads settling one payment broadcast once", "[unit]") {
  EngineEnv env;
  env.chain.Edit([](auto& s) { s.polls_before_mined = 3; });
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  SignedPayment payment = env.Pay(2, kPaid);
  const bool same_request = GENERATE(false, true);
  std::vector<v1::SettlePaymentResponse> responses(8);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < 8) std::this_thread::yield();
      auto response = env.engine->SettlePayment(env.SettleRequest(
          payment, offer, 1'000, same_request ? "req-same" : "req-" + std::to_string(i)));
      if (response.ok()) responses[i] = *response;
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(env.chain.broadcasts().size() == 1);
  CHECK(env.chain.prepare_calls() == 1);
  const std::string tx = env.chain.broadcasts().at(0).tx_hash;
  int successes = 0;
  int fresh = 0;
  for (const v1::SettlePaymentResponse& r : responses) {
    INFO(r.error_reason());
    if (r.success()) {
      ++successes;
      if (!r.duplicate()) ++fresh;
      CHECK(r.transaction() == tx);
    } else {
      CHECK((r.error_reason() == x402::kNonceAlreadyUsed ||
             r.error_reason() == x402::kSettlementPending));
    }
  }
  CHECK(successes >= 1);
  CHECK(fresh == 1);
  CHECK(env.chain.BalanceOfOwner(Addr(testing::kPayTo)) == kPaid);
  std::vector<LedgerEntry> entries = env.Entries(testing::WalletAccount());
  CHECK(entries.size() == 2);  // one payment, one usage
  CHECK(Balance(env, testing::WalletAccount()) == kPaid - 1'020);
}

TEST_CASE("the reconciler finishes submitted payments and leaves the rest", "[unit]") {
  EngineEnv env;
  const v1::PaymentRequirement offer = Offer(env.terms, 2, kPaid);
  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kNever; });
  SignedPayment a = env.Pay(2, kPaid, 1);
  SignedPayment b = env.Pay(2, kPaid, 2);
  CHECK(Settle(env, a, offer, 10, "req-a").error_reason() == x402::kSettlementPending);
  CHECK(Settle(env, b, offer, 10, "req-b").error_reason() == x402::kSettlementPending);
  auto none = env.engine->ReconcileSubmitted();
  REQUIRE(none.ok());
  CHECK(*none == 0);
  env.chain.Edit([](auto& s) { s.mining = FakeChain::Mining::kSuccess; });
  auto both = env.engine->ReconcileSubmitted(10);
  REQUIRE(both.ok());
  CHECK(*both == 2);
  CHECK(env.Record(a)->state == PaymentState::kSettled);
  CHECK(env.Record(b)->state == PaymentState::kSettled);
  auto again = env.engine->ReconcileSubmitted();
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(env.chain.prepare_calls() == 2);
  env.chain.Edit([](auto& s) { s.unavailable = {"GetReceipt"}; });
  CHECK(env.engine->ReconcileSubmitted().ok());  // nothing submitted any more
}

}  // namespace
}  // namespace p402::settlement
