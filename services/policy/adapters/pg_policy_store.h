// File: services/policy/adapters/pg_policy_store.h
// PgPolicyStore: the PolicyStore in PostgreSQL (schema services/policy/schema/*.sql, tables
// policy.tenants, policy.api_keys, policy.reservations), so several policy processes can share one
// budget. The budget check and the hold are a single UPDATE ... WHERE <enough budget> (row-locked
// and re-checked by PostgreSQL under concurrency), so no interleaving of processes can reserve
// more than the budget. Commit and Release lock the reservation row, so a replay or a race between
// them finalises it once.
//
// Blocking (libpq through libs/store PgPool): call from worker threads. Thread-safe. Connection
// loss and an exhausted pool are Unavailable (the guard fails closed).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "libs/store/pg_pool.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class PgPolicyStore final : public PolicyStore {
 public:
  // Applies the policy migrations (idempotent, safe from several processes at once) and returns a
  // store over `pool`, which must outlive it. Errors from libs/store Migrate (Unavailable,
  // FailedPrecondition for an edited applied migration, ...).
  static absl::StatusOr<std::unique_ptr<PgPolicyStore>> Open(store::PgPool& pool);
  // A store over an already migrated database (no I/O here).
  explicit PgPolicyStore(store::PgPool& pool) : pool_(pool) {}

  // PolicyStore (contract and status codes in core/ports.h)
  absl::Status CreateTenant(const TenantRecord& tenant) override;
  absl::StatusOr<TenantRecord> GetTenant(std::string_view tenant_id) override;
  absl::Status CreateApiKey(const ApiKeyRecord& key) override;
  absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(std::string_view key_hash) override;
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view tenant_id) override;
  absl::StatusOr<ApiKeyRecord> RevokeApiKey(std::string_view key_id) override;
  absl::StatusOr<ReserveOutcome> ReserveBudget(const ReservationRecord& draft) override;
  absl::StatusOr<CommitOutcome> CommitReservation(std::string_view reservation_id,
                                                  MicroUsd actual_micro_usd,
                                                  int64_t now_unix_ms) override;
  absl::StatusOr<ReleaseOutcome> ReleaseReservation(std::string_view reservation_id,
                                                    int64_t now_unix_ms) override;
  absl::StatusOr<ReservationRecord> GetReservation(std::string_view reservation_id) override;
  // Expires in batches of kExpireBatch rows (FOR UPDATE SKIP LOCKED, so concurrent sweepers in
  // other processes take disjoint rows), until a batch comes back short.
  absl::StatusOr<int64_t> ExpireReservations(int64_t now_unix_ms) override;

  static constexpr int kExpireBatch = 500;

 private:
  store::PgPool& pool_;
};

}  // namespace p402::policy
