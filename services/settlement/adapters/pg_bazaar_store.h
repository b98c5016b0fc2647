// File: services/settlement/adapters/pg_bazaar_store.h
// PgBazaarStore: the BazaarStore (core/ports.h) in PostgreSQL (table settlement.listings,
// schema/0002_bazaar.sql), shared by settlement replicas. Creation order is the bigserial `seq`
// column (also the page cursor); capabilities are a text[] column (GIN-indexed); RecordOutcome is
// one UPDATE incrementing the counters (atomic across processes). Semantics beyond ports.h are
// those of InMemoryBazaarStore (memory_bazaar_store.h): reliability_bps is derived from the
// counters on read, never stored.
//
// Blocking (libpq through libs/store PgPool): call from worker threads. Thread-safe. Connection
// loss and an exhausted pool are Unavailable.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/store/pg_pool.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement {

class PgBazaarStore final : public BazaarStore {
 public:
  static constexpr int kMaxPageSize = 1000;
  static constexpr int kMaxListings = 10'000;

  // Applies SettlementMigrations() (idempotent, safe from several processes at once) and returns
  // a store over `pool`, which must outlive it. Errors from libs/store Migrate.
  static absl::StatusOr<std::unique_ptr<PgBazaarStore>> Open(store::PgPool& pool);
  // A store over an already migrated database (no I/O here).
  explicit PgBazaarStore(store::PgPool& pool) : pool_(pool) {}

  absl::Status Create(const v1::Listing& listing) override;
  absl::StatusOr<v1::ListListingsResponse> List(std::string_view page_token,
                                                int page_size) override;
  absl::StatusOr<std::vector<v1::Listing>> All() override;
  absl::Status RecordOutcome(std::string_view pay_to, bool settled,
                             int64_t amount_micro_usd) override;

 private:
  store::PgPool& pool_;
};

}  // namespace p402::settlement
