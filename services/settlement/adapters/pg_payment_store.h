// File: services/settlement/adapters/pg_payment_store.h
// PgPaymentStore: the PaymentStore (core/ports.h) in PostgreSQL (table settlement.payments,
// schema/0001_payments_ledger.sql), shared by settlement replicas. The primary key
// (chain_id, asset, payer, nonce) is the replay guard: Claim is one INSERT ... ON CONFLICT DO
// NOTHING, so of any number of concurrent claims in any number of processes exactly one inserts.
// Transition is one UPDATE ... WHERE state = expected (compare-and-set, re-checked by PostgreSQL
// under the row lock), Release one DELETE ... WHERE <releasable by owner>.
// Semantics beyond ports.h are those of InMemoryPaymentStore (memory_payment_store.h); in addition
// a chain_id above INT64_MAX is InvalidArgument (the column is bigint).
//
// Blocking (libpq through libs/store PgPool): call from worker threads. Thread-safe. Connection
// loss and an exhausted pool are Unavailable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/store/pg_pool.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class PgPaymentStore final : public PaymentStore {
 public:
  static constexpr int kMaxListLimit = 10'000;

  // Applies SettlementMigrations() (idempotent, safe from several processes at once) and returns
  // a store over `pool`, which must outlive it. Errors from libs/store Migrate.
  static absl::StatusOr<std::unique_ptr<PgPaymentStore>> Open(store::PgPool& pool);
  // A store over an already migrated database (no I/O here).
  explicit PgPaymentStore(store::PgPool& pool) : pool_(pool) {}

  absl::StatusOr<std::optional<PaymentRecord>> Claim(const PaymentRecord& record) override;
  absl::StatusOr<std::optional<PaymentRecord>> Get(const PaymentKey& key) override;
  absl::StatusOr<bool> Transition(const PaymentKey& key, PaymentState expected,
                                  const PaymentRecord& next) override;
  absl::StatusOr<bool> Release(const PaymentKey& key, std::string_view claim_owner) override;
  absl::StatusOr<std::vector<PaymentRecord>> ListSubmitted(int limit) override;

 private:
  store::PgPool& pool_;
};

}  // namespace p402::settlement
