// File: services/policy/adapters/memory_policy_store.h
// InMemoryPolicyStore: the PolicyStore kept in process memory behind one absl::Mutex. Used by the
// single-process dev mode when no database URL is given and by unit tests. State is lost on exit
// and is not shared between processes (use PgPolicyStore for that). Tenants, keys and
// reservations are implemented in memory_policy_store.cc; policies, sessions and approvals in
// memory_policy_store_sessions.cc.
#pragma once

#include <chrono>
#include <string>
#include <vector>

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
                                                  std::string_view provider,
                                                  int64_t now_unix_ms) override;
  absl::StatusOr<ReleaseOutcome> ReleaseReservation(std::string_view reservation_id,
                                                    int64_t now_unix_ms) override;
  absl::StatusOr<ReservationRecord> GetReservation(std::string_view reservation_id) override;
  absl::StatusOr<int64_t> ExpireReservations(int64_t now_unix_ms) override;
  absl::StatusOr<TenantRecord> UpdateTenant(std::string_view tenant_id, std::string_view name,
                                            const TenantLimits& limits) override;
  absl::StatusOr<TenantRecord> SetTenantPaused(std::string_view tenant_id, bool paused,
                                               std::string_view reason) override;
  absl::Status CreatePolicy(const v1::TenantPolicy& policy) override;
  absl::StatusOr<v1::TenantPolicy> GetPolicy(std::string_view tenant_id,
                                             std::string_view policy_id) override;
  absl::StatusOr<std::vector<v1::TenantPolicy>> ListPolicies(std::string_view tenant_id) override;
  absl::StatusOr<v1::TenantPolicy> UpdatePolicy(const v1::TenantPolicy& policy) override;
  absl::StatusOr<v1::TenantPolicy> DeletePolicy(std::string_view tenant_id,
                                                std::string_view policy_id) override;
  absl::Status CreateSession(const SessionRecord& session) override;
  absl::StatusOr<std::optional<SessionRecord>> FindSessionByTokenHash(
      std::string_view token_hash) override;
  absl::StatusOr<SessionRecord> GetSession(std::string_view tenant_id,
                                           std::string_view session_id) override;
  // An `after_id` that is not a session of the tenant is InvalidArgument; limit must be >= 1.
  absl::StatusOr<std::vector<SessionRecord>> ListSessions(std::string_view tenant_id,
                                                          std::string_view after_id,
                                                          int limit) override;
  absl::StatusOr<SessionRecord> UpdateSession(std::string_view tenant_id,
                                              std::string_view session_id,
                                              const SessionUpdate& update) override;
  absl::StatusOr<SessionRecord> RevokeSession(std::string_view tenant_id,
                                              std::string_view session_id,
                                              int64_t now_unix_ms) override;
  absl::Status CreateApproval(const ApprovalRecord& approval) override;
  absl::StatusOr<ApprovalRecord> GetApproval(std::string_view tenant_id,
                                             std::string_view approval_id,
                                             int64_t now_unix_ms) override;
  absl::StatusOr<std::vector<ApprovalRecord>> ListApprovals(std::string_view tenant_id,
                                                            std::string_view session_id,
                                                            bool pending_only,
                                                            int64_t now_unix_ms) override;
  absl::StatusOr<ApprovalRecord> TransitionApproval(std::string_view tenant_id,
                                                    std::string_view approval_id, ApprovalState to,
                                                    std::string_view reason,
                                                    int64_t now_unix_ms) override;

 private:
  const int64_t finalized_retention_ms_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, TenantRecord> tenants_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ApiKeyRecord> keys_by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> key_id_by_hash_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ReservationRecord> reservations_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::TenantPolicy> policies_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SessionRecord> sessions_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> session_id_by_hash_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, ApprovalRecord> approvals_ ABSL_GUARDED_BY(mu_);

  // The session `session_id` when it exists and belongs to `tenant_id` (empty = any), else
  // nullptr.
  SessionRecord* FindSessionLocked(std::string_view tenant_id, std::string_view session_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The approval with a pending one past its expiry moved to kExpired; nullptr when absent or
  // owned by another tenant (empty tenant_id = any).
  ApprovalRecord* FindApprovalLocked(std::string_view tenant_id, std::string_view approval_id,
                                     int64_t now_unix_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Returns a reservation's hold to its tenant and (if any) its session.
  void UnholdLocked(const ReservationRecord& r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace p402::policy
