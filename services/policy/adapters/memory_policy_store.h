// File: services/policy/adapters/memory_policy_store.h
// InMemoryPolicyStore: the PolicyStore kept in process memory behind one absl::Mutex. Used by the
// single-process dev mode when no database URL is given and by unit tests. State is lost on exit
// and is not shared between processes (use PgPolicyStore for that).
#pragma once

#include <chrono>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/policy/core/ports.h"

namespace p402::policy {

class InMemoryPolicyStore final : public PolicyStore {
 public:
  // Finalised reservations (committed, released, expired) are forgotten by ExpireReservations
  // once they have been final for `finalized_retention`; a Commit/Release replay after that gets
  // NotFound. The default comfortably outlives any client retry.
  explicit InMemoryPolicyStore(
      std::chrono::milliseconds finalized_retention = std::chrono::hours(24))
      : finalized_retention_ms_(finalized_retention.count()) {}

  // PolicyStore (contract and status codes in core/ports.h). Thread-safe; never Unavailable.
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
  absl::StatusOr<int64_t> ExpireReservations(int64_t now_unix_ms) override;

 private:
  const int64_t finalized_retention_ms_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TenantRecord> tenants_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ApiKeyRecord> keys_by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> key_id_by_hash_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ReservationRecord> reservations_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::policy
