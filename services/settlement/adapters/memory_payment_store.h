// File: services/settlement/adapters/memory_payment_store.h
// InMemoryPaymentStore: the PaymentStore (core/ports.h) of a single settlement process, the
// embedded default and the tests' store. Everything lives under one absl::Mutex, so Claim's
// insert-unless-present is atomic within the process; replicas sharing payments use
// PgPaymentStore. Semantics beyond ports.h, shared with PgPaymentStore through the contract test
// (tests/services/settlement/adapters/payment_store_contract_test.cc):
//   - Claim stores the record with state kClaimed whatever record.state says.
//   - Transition copies state, tx_hash, raw_tx, error_reason, error_message and updated_unix_ms
//     from `next`, and claim_owner when next.claim_owner is non-empty (a failed payment without a
//     transaction may be claimed again by a new owner).
//   - Release requires claim_owner to match in both cases (kClaimed; kFailed without tx_hash).
//   - ListSubmitted orders by created_unix_ms, then the key; limit must be 1..kMaxListLimit
//     (InvalidArgument otherwise).
// Thread-safe; never blocks on I/O.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class InMemoryPaymentStore final : public PaymentStore {
 public:
  static constexpr int kMaxListLimit = 10'000;

  InMemoryPaymentStore() = default;
  InMemoryPaymentStore(const InMemoryPaymentStore&) = delete;
  InMemoryPaymentStore& operator=(const InMemoryPaymentStore&) = delete;

  absl::StatusOr<std::optional<PaymentRecord>> Claim(const PaymentRecord& record) override;
  absl::StatusOr<std::optional<PaymentRecord>> Get(const PaymentKey& key) override;
  absl::StatusOr<bool> Transition(const PaymentKey& key, PaymentState expected,
                                  const PaymentRecord& next) override;
  absl::StatusOr<bool> Release(const PaymentKey& key, std::string_view claim_owner) override;
  absl::StatusOr<std::vector<PaymentRecord>> ListSubmitted(int limit) override;

 private:
  using MapKey = std::tuple<uint64_t, std::string, std::string, std::string>;
  static MapKey ToMapKey(const PaymentKey& key) {
    return {key.chain_id, key.asset, key.payer, key.nonce};
  }

  absl::Mutex mu_;
  std::map<MapKey, PaymentRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::settlement
