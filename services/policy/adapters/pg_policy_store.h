// File: services/policy/adapters/pg_policy_store.h
// PgPolicyStore: the PolicyStore in PostgreSQL (schema services/policy/schema/*.sql, tables
// policy.tenants, policy.api_keys, policy.reservations, policy.policies, policy.sessions,
// policy.approvals), so several policy processes can share one budget. The budget check and the
// hold are a single UPDATE ... WHERE <enough budget> (row-locked and re-checked by PostgreSQL
// under concurrency), so no interleaving of processes can reserve more than the budget; with a
// session, the session's and the tenant's UPDATE run in one transaction, rolled back when either
// refuses. Commit and Release lock the reservation row, so a replay or a race between them
// finalises it once. Every path locks rows in the order reservation, session, tenant.
// Implemented in pg_policy_store.cc (tenants, keys, reservations) and pg_policy_store_sessions.cc
// (policies, sessions, approvals).
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
                                                  std::string_view provider,
                                                  int64_t now_unix_ms) override;
  absl::StatusOr<ReleaseOutcome> ReleaseReservation(std::string_view reservation_id,
                                                    int64_t now_unix_ms) override;
  absl::StatusOr<ReservationRecord> GetReservation(std::string_view reservation_id) override;
  // Expires in batches of kExpireBatch rows (FOR UPDATE SKIP LOCKED, so concurrent sweepers in
  // other processes take disjoint rows), until a batch comes back short.
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

  static constexpr int kExpireBatch = 500;

 private:
  // ReserveBudget for a draft naming a session: session and tenant held in one transaction.
  absl::StatusOr<ReserveOutcome> ReserveWithSession(const ReservationRecord& draft);

  store::PgPool& pool_;
};

}  // namespace p402::policy
