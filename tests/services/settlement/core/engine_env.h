// File: tests/services/settlement/core/engine_env.h
// EngineEnv: a SettlementEngine over the in-memory adapters, a FakeChain (optional) and a
// FakeClock, with P402 terms on Base Sepolia, plus request builders for the engine tests.
#pragma once

#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "services/settlement/adapters/memory_bazaar_store.h"
#include "services/settlement/adapters/memory_ledger.h"
#include "services/settlement/adapters/memory_payment_store.h"
#include "services/settlement/core/settlement_engine.h"
#include "tests/services/settlement/core/fake_chain.h"
#include "tests/services/settlement/core/fake_clock.h"
#include "tests/services/settlement/core/payment_fixture.h"

namespace p402::settlement::testing {

struct EngineEnv {
  explicit EngineEnv(bool with_chain = true, PaymentTerms t = SepoliaTerms())
      : terms(std::move(t)), ledger(clock) {
    EngineDeps deps;
    deps.terms = terms;
    deps.payments = &store;
    deps.ledger = &ledger;
    deps.chain = with_chain ? &chain : nullptr;
    deps.bazaar = &bazaar;
    deps.clock = &clock;
    absl::StatusOr<std::unique_ptr<SettlementEngine>> created = SettlementEngine::Create(deps);
    REQUIRE(created.ok());
    engine = std::move(*created);
    chain.SetBalance(Addr(kBuyer), 10'000'000);  // 10 USDC
  }

  uint64_t now() const { return clock.NowSeconds(); }

  // A payment of `amount` answering a plain P402 offer.
  SignedPayment Pay(int version, int64_t amount, uint64_t nonce = 1) {
    SignOptions options;
    options.now_unix_seconds = now();
    options.nonce = nonce;
    return SignPayment(Offer(terms, version, amount), version, options);
  }

  v1::VerifyPaymentRequest VerifyRequest(const SignedPayment& payment,
                                         const v1::PaymentRequirement& offer,
                                         std::string request_id = "req-1", bool claim = true) {
    v1::VerifyPaymentRequest request;
    request.mutable_meta()->set_request_id(std::move(request_id));
    request.set_payment_payload_json(payment.json);
    *request.add_accepted() = offer;
    request.set_claim(claim);
    return request;
  }

  v1::SettlePaymentRequest SettleRequest(const SignedPayment& payment,
                                         const v1::PaymentRequirement& offer, int64_t charged,
                                         std::string request_id = "req-1",
                                         std::string tenant = "") {
    v1::SettlePaymentRequest request;
    request.mutable_meta()->set_request_id(std::move(request_id));
    request.mutable_meta()->set_tenant_id(std::move(tenant));
    request.set_payment_payload_json(payment.json);
    *request.mutable_requirement() = offer;
    // P402's chat offers carry their routing mode (that is what makes a settlement a paid chat,
    // not a facilitator one); the plain fixture offers stand for both.
    if (charged > 0 && offer.mode() == v1::ROUTING_MODE_UNSPECIFIED) {
      request.mutable_requirement()->set_mode(v1::ROUTING_MODE_BALANCED);
    }
    request.set_charged_micro_usd(charged);
    return request;
  }

  std::optional<PaymentRecord> Record(const SignedPayment& payment) {
    PaymentKey key;
    key.chain_id = terms.chain_id;
    key.asset = evm::ToLowerHex(terms.asset);
    key.payer = evm::ToLowerHex(payment.payload.authorization.from);
    key.nonce = "0x" + crypto::HexEncode(std::span<const uint8_t>(
                           payment.payload.authorization.nonce.data(), 32));
    absl::StatusOr<std::optional<PaymentRecord>> record = store.Get(key);
    REQUIRE(record.ok());
    return *record;
  }

  std::vector<LedgerEntry> Entries(const std::string& tenant) {
    absl::StatusOr<LedgerPage> page = ledger.List(tenant, "", "", 1000);
    REQUIRE(page.ok());
    return page->entries;
  }

  PaymentTerms terms;
  FakeClock clock;
  InMemoryPaymentStore store;
  InMemoryLedger ledger;
  InMemoryBazaarStore bazaar;
  FakeChain chain;
  std::unique_ptr<SettlementEngine> engine;
};

inline std::string WalletAccount() { return "wallet:" + evm::ToLowerHex(Addr(kBuyer)); }

}  // namespace p402::settlement::testing
