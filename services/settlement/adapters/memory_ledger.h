// File: services/settlement/adapters/memory_ledger.h
// InMemoryLedger: the Ledger (core/ports.h) of a single settlement process, the embedded default
// and the tests' ledger. Entries, the idempotency index and the balances live under one
// absl::Mutex, so an append (idempotency check, balance check, entry, balance update) is atomic.
// Semantics beyond ports.h, shared with PgLedger through the contract test
// (tests/services/settlement/adapters/ledger_contract_test.cc):
//   - entry_id is "le_" + 16 random hex; created_unix_ms is taken from the Clock when 0.
//   - page tokens are the decimal sequence number of the last entry returned (opaque to callers).
//   - A balance that would overflow int64 is InvalidArgument.
// Thread-safe; never blocks on I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class InMemoryLedger final : public Ledger {
 public:
  // `clock` must outlive the ledger.
  explicit InMemoryLedger(const Clock& clock) : clock_(clock) {}
  InMemoryLedger(const InMemoryLedger&) = delete;
  InMemoryLedger& operator=(const InMemoryLedger&) = delete;

  absl::StatusOr<AppendResult> Append(const LedgerEntry& entry) override;
  absl::StatusOr<Balance> GetBalance(std::string_view tenant_id,
                                     std::string_view session_id) override;
  absl::StatusOr<LedgerPage> List(std::string_view tenant_id, std::string_view session_id,
                                  std::string_view page_token, int page_size) override;
  absl::StatusOr<std::optional<LedgerEntry>> FindByKey(std::string_view idempotency_key) override;
  absl::StatusOr<int64_t> VolumeSince(std::string_view tenant_id, int64_t since_unix_ms) override;

 private:
  using Account = std::pair<std::string, std::string>;  // (tenant_id, session_id)

  const Clock& clock_;
  absl::Mutex mu_;
  // All entries in append order; an entry's sequence number is its index + 1.
  std::vector<LedgerEntry> entries_ ABSL_GUARDED_BY(mu_);
  // tenant_id -> indexes into entries_, ascending.
  absl::flat_hash_map<std::string, std::vector<size_t>> by_tenant_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, size_t> by_key_ ABSL_GUARDED_BY(mu_);
  std::map<Account, Balance> balances_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::settlement
