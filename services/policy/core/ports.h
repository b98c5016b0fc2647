// File: services/policy/core/ports.h
// The ports of the policy core (house style 3.4): PolicyStore, the source of truth where tenants,
// API-key hashes, budget reservations, policies, agent sessions and approvals live, and Clock
// (libs/common/clock.h). Implementations: InMemoryPolicyStore (adapters/memory_policy_store.h:
// embedded default, unit tests) and PgPolicyStore (adapters/pg_policy_store.h: shared by several
// policy processes). The shared counters of layers 1-4 are another port (core/counter_store.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/common/clock.h"  // IWYU pragma: export (the Clock port)
#include "p402/v1/policy.pb.h"
#include "services/policy/core/records.h"

namespace p402::policy {

// Persistent state of the billing guard. Every method may fail with Unavailable when the backend
// cannot be reached (the guard then fails closed) and with Internal for a corrupt record. Callers
// validate their inputs first (ids, non-negative amounts); a store treats a bad input as
// InvalidArgument, never as a crash.
//
// Budget invariant (held atomically, also across processes sharing one database): a reservation
// is granted only when the tenant's budget is 0 (unlimited) or budget - spent - reserved >= amount
// at the moment it is taken, and, when it names a session, the session is neither revoked nor
// expired and its budget - spent - reserved >= amount too (tenant and session are updated
// together or not at all). Commit moves min(actual, amount) to `spent` and the hold out of
// `reserved` (of both); Release and expiry return the hold. Each reservation leaves kReserved at
// most once.
//
// Thread-safety: implementations are safe for concurrent use from any thread. Blocking: the
// PostgreSQL implementation blocks on the network; call it from worker threads.
class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // --- tenants ---
  // Inserts a new tenant (spent/reserved as given, normally 0). AlreadyExists for a taken id.
  virtual absl::Status CreateTenant(const TenantRecord& tenant) = 0;
  // The tenant with its current counters. NotFound for an unknown id.
  virtual absl::StatusOr<TenantRecord> GetTenant(std::string_view tenant_id) = 0;
  // Replaces name and limits (counters, created and paused state untouched) and returns the
  // tenant after. NotFound for an unknown id.
  virtual absl::StatusOr<TenantRecord> UpdateTenant(std::string_view tenant_id,
                                                    std::string_view name,
                                                    const TenantLimits& limits) = 0;
  // Sets paused/pause_reason (reason cleared on resume) and returns the tenant after. NotFound.
  virtual absl::StatusOr<TenantRecord> SetTenantPaused(std::string_view tenant_id, bool paused,
                                                       std::string_view reason) = 0;

  // --- API keys ---
  // Inserts a key. NotFound when its tenant does not exist; AlreadyExists when the id or the
  // hash is taken.
  virtual absl::Status CreateApiKey(const ApiKeyRecord& key) = 0;
  // The key whose SHA-256 hex is `key_hash` (revoked keys included), or nullopt.
  virtual absl::StatusOr<std::optional<ApiKeyRecord>> FindApiKeyByHash(
      std::string_view key_hash) = 0;
  // The tenant's keys, oldest first (ties by id); empty for a tenant without keys or unknown.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(std::string_view tenant_id) = 0;
  // Marks the key revoked (idempotent) and returns it. NotFound for an unknown key id.
  virtual absl::StatusOr<ApiKeyRecord> RevokeApiKey(std::string_view key_id) = 0;

  // --- reservations ---
  // Atomically checks the tenant's remaining budget and, when it covers `draft.amount_micro_usd`
  // (or the budget is 0 = unlimited), adds the amount to `reserved` and records the reservation
  // (id, tenant, session, amount, created/expires from `draft`; status kReserved). With
  // draft.session_id set, the session must belong to the tenant, be unrevoked and unexpired at
  // draft.created_unix_ms and cover the amount as well; both are held in one atomic step. Not
  // enough budget (or an unavailable session) is an outcome (granted = false), not an error.
  // NotFound for an unknown tenant or session; AlreadyExists for a taken reservation id (nothing
  // is held then).
  virtual absl::StatusOr<ReserveOutcome> ReserveBudget(const ReservationRecord& draft) = 0;
  // Finalises a reservation to `actual_micro_usd` (>= 0), clamped to its amount, recording
  // `provider` (may be empty) as the reservation's provider and, for a session reservation,
  // adding the charge to the session's provider_spent[provider] (when provider is non-empty):
  //   kReserved  -> kCommitted; spent += charged, reserved -= amount (tenant and session).
  //   kExpired   -> kCommitted; spent += charged (the hold was returned at expiry);
  //                 committed_after_expiry = true.
  //   kCommitted -> no change, already_committed = true (idempotent replay; the first actual wins).
  //   kReleased  -> FailedPrecondition, reason "reservation_released" (the caller said nothing
  //                 was delivered; a later charge is a caller bug and is refused).
  // NotFound for an unknown id.
  virtual absl::StatusOr<CommitOutcome> CommitReservation(std::string_view reservation_id,
                                                          MicroUsd actual_micro_usd,
                                                          std::string_view provider,
                                                          int64_t now_unix_ms) = 0;
  // Returns an open reservation's hold to the budget (kReserved -> kReleased). A reservation that
  // is no longer open is left alone: already_finalized = true. NotFound for an unknown id.
  virtual absl::StatusOr<ReleaseOutcome> ReleaseReservation(std::string_view reservation_id,
                                                            int64_t now_unix_ms) = 0;
  // The reservation as stored. NotFound for an unknown id.
  virtual absl::StatusOr<ReservationRecord> GetReservation(std::string_view reservation_id) = 0;
  // Moves every kReserved reservation with expires_unix_ms <= now to kExpired and returns its hold
  // to the budget. Returns how many expired. Safe to run concurrently from several processes (each
  // reservation expires once).
  virtual absl::StatusOr<int64_t> ExpireReservations(int64_t now_unix_ms) = 0;

  // --- policies (p402.v1.TenantPolicy; the caller validated them) ---
  // Inserts `policy` (id, tenant_id, timestamps filled in by the caller). NotFound for an unknown
  // tenant; AlreadyExists for a taken id.
  virtual absl::Status CreatePolicy(const v1::TenantPolicy& policy) = 0;
  // NotFound (reason "policy_not_found") when absent or owned by another tenant.
  virtual absl::StatusOr<v1::TenantPolicy> GetPolicy(std::string_view tenant_id,
                                               std::string_view policy_id) = 0;
  // The tenant's policies, highest priority first, then oldest (created_unix_ms, then id).
  virtual absl::StatusOr<std::vector<v1::TenantPolicy>> ListPolicies(std::string_view tenant_id) = 0;
  // Replaces the stored policy with the same tenant_id and id (created_unix_ms kept from the
  // stored one) and returns it as stored. NotFound as GetPolicy.
  virtual absl::StatusOr<v1::TenantPolicy> UpdatePolicy(const v1::TenantPolicy& policy) = 0;
  // Deletes and returns it. NotFound as GetPolicy.
  virtual absl::StatusOr<v1::TenantPolicy> DeletePolicy(std::string_view tenant_id,
                                                  std::string_view policy_id) = 0;

  // --- agent sessions ---
  // Inserts a session (counters as given, normally 0). NotFound for an unknown tenant;
  // AlreadyExists for a taken id or token hash.
  virtual absl::Status CreateSession(const SessionRecord& session) = 0;
  // The session whose token hash is `token_hash`, or nullopt.
  virtual absl::StatusOr<std::optional<SessionRecord>> FindSessionByTokenHash(
      std::string_view token_hash) = 0;
  // NotFound (reason "session_not_found") when absent or owned by another tenant. An empty
  // tenant_id matches any tenant (internal callers).
  virtual absl::StatusOr<SessionRecord> GetSession(std::string_view tenant_id,
                                                   std::string_view session_id) = 0;
  // The tenant's sessions, newest first (created_unix_ms desc, then id desc), starting after the
  // session `after_id` when non-empty (keyset paging), at most `limit`.
  virtual absl::StatusOr<std::vector<SessionRecord>> ListSessions(std::string_view tenant_id,
                                                                  std::string_view after_id,
                                                                  int limit) = 0;
  // Applies `update` atomically (top-up adds to budget) and returns the session after.
  // NotFound as GetSession; FailedPrecondition reason "session_revoked" for a revoked session.
  virtual absl::StatusOr<SessionRecord> UpdateSession(std::string_view tenant_id,
                                                      std::string_view session_id,
                                                      const SessionUpdate& update) = 0;
  // Sets revoked_unix_ms = now unless already revoked (idempotent) and returns the session.
  // NotFound as GetSession.
  virtual absl::StatusOr<SessionRecord> RevokeSession(std::string_view tenant_id,
                                                      std::string_view session_id,
                                                      int64_t now_unix_ms) = 0;

  // --- approvals ---
  // Inserts an approval (state kPending). AlreadyExists for a taken id.
  virtual absl::Status CreateApproval(const ApprovalRecord& approval) = 0;
  // The approval, with a pending one past its expiry reported (and stored) as kExpired. An empty
  // tenant_id matches any tenant. NotFound (reason "approval_not_found").
  virtual absl::StatusOr<ApprovalRecord> GetApproval(std::string_view tenant_id,
                                                     std::string_view approval_id,
                                                     int64_t now_unix_ms) = 0;
  // The tenant's approvals (only `session_id`'s when non-empty; only pending ones when
  // pending_only), newest first, at most 500; expiry applied as in GetApproval.
  virtual absl::StatusOr<std::vector<ApprovalRecord>> ListApprovals(std::string_view tenant_id,
                                                                    std::string_view session_id,
                                                                    bool pending_only,
                                                                    int64_t now_unix_ms) = 0;
  // Moves a pending, unexpired approval to `to` (kApproved, kDenied or kUsed-from-kApproved) and
  // returns it after. kUsed requires the current state kApproved; the others kPending.
  // FailedPrecondition reason "approval_not_pending" (or "approval_not_approved" for kUsed) when
  // the state does not allow it. NotFound as GetApproval.
  virtual absl::StatusOr<ApprovalRecord> TransitionApproval(std::string_view tenant_id,
                                                            std::string_view approval_id,
                                                            ApprovalState to,
                                                            std::string_view reason,
                                                            int64_t now_unix_ms) = 0;
};

}  // namespace p402::policy
