// File: services/settlement/adapters/pg_ledger.h
// PgLedger: the Ledger (core/ports.h) in PostgreSQL (tables settlement.ledger_entries and
// settlement.balances, schema/0001_payments_ledger.sql), shared by settlement replicas.
// Append is one READ COMMITTED transaction: it creates the account's balances row if needed and
// locks it (SELECT ... FOR UPDATE), so appends to one account from any number of processes are
// serialised and each sees the balance the previous one left; then, in a fresh snapshot taken
// after the lock, it looks the idempotency key up, checks that a deduction keeps the balance >= 0,
// inserts the entry and updates the balances row. A replay racing with the first append of the
// same key on another account hits the unique index (SQLSTATE 23505) and answers the winner's
// entry with duplicate = true. Semantics beyond ports.h are those of InMemoryLedger
// (memory_ledger.h); page tokens are the entries' bigserial ids.
//
// Blocking (libpq through libs/store PgPool): call from worker threads. Thread-safe. Connection
// loss and an exhausted pool are Unavailable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/store/pg_pool.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class PgLedger final : public Ledger {
 public:
  // Applies SettlementMigrations() (idempotent, safe from several processes at once) and returns
  // a ledger over `pool`; `pool` and `clock` must outlive it. Errors from libs/store Migrate.
  static absl::StatusOr<std::unique_ptr<PgLedger>> Open(store::PgPool& pool,
                                                        const Clock& clock = SystemClock::Get());
  // A ledger over an already migrated database (no I/O here). `clock` stamps entries whose
  // created_unix_ms is 0.
  explicit PgLedger(store::PgPool& pool, const Clock& clock = SystemClock::Get())
      : pool_(pool), clock_(clock) {}

  absl::StatusOr<AppendResult> Append(const LedgerEntry& entry) override;
  absl::StatusOr<Balance> GetBalance(std::string_view tenant_id,
                                     std::string_view session_id) override;
  absl::StatusOr<LedgerPage> List(std::string_view tenant_id, std::string_view session_id,
                                  std::string_view page_token, int page_size) override;
  absl::StatusOr<std::optional<LedgerEntry>> FindByKey(std::string_view idempotency_key) override;
  absl::StatusOr<int64_t> VolumeSince(std::string_view tenant_id, int64_t since_unix_ms) override;

 private:
  store::PgPool& pool_;
  const Clock& clock_;
};

}  // namespace p402::settlement
