// File: services/policy/core/ports.h
// The ports of the policy core (house style 3.4): PolicyStore, where tenants, API-key hashes and
// budget reservations live, and Clock (libs/common/clock.h). Implementations:
// InMemoryPolicyStore (adapters/memory_policy_store.h: embedded default, unit tests) and
// PgPolicyStore (adapters/pg_policy_store.h: shared by several policy processes).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/common/clock.h"  // IWYU pragma: export (the Clock port)
#include "services/policy/core/records.h"

namespace p402::policy {

// Persistent state of the billing guard. Every method may fail with Unavailable when the backend
// cannot be reached (the guard then fails closed) and with Internal for a corrupt record. Callers
// validate their inputs first (ids, non-negative amounts); a store treats a bad input as
// InvalidArgument, never as a crash.
//
// Budget invariant (held atomically, also across processes sharing one database): a reservation
// is granted only when the tenant's budget is 0 (unlimited) or budget - spent - reserved >= amount
// at the moment it is taken. Commit moves min(actual, amount) to `spent` and the hold out of
// `reserved`; Release and expiry return the hold. Each reservation leaves kReserved at most once.
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
  // (id, tenant, amount, created/expires from `draft`; status kReserved). Not enough budget is an
  // outcome (granted = false), not an error. NotFound for an unknown tenant; AlreadyExists for a
  // taken reservation id (nothing is held then).
  virtual absl::StatusOr<ReserveOutcome> ReserveBudget(const ReservationRecord& draft) = 0;
  // Finalises a reservation to `actual_micro_usd` (>= 0), clamped to its amount:
  //   kReserved  -> kCommitted; spent += charged, reserved -= amount.
  //   kExpired   -> kCommitted; spent += charged (the hold was returned at expiry);
  //                 committed_after_expiry = true.
  //   kCommitted -> no change, already_committed = true (idempotent replay; the first actual wins).
  //   kReleased  -> FailedPrecondition, reason "reservation_released" (the caller said nothing
  //                 was delivered; a later charge is a caller bug and is refused).
  // NotFound for an unknown id.
  virtual absl::StatusOr<CommitOutcome> CommitReservation(std::string_view reservation_id,
                                                          MicroUsd actual_micro_usd,
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
};

}  // namespace p402::policy
