// File: services/policy/core/records.h
// Plain value types the policy core keeps in its PolicyStore (core/ports.h): tenants with their
// limits and budget counters, API keys (by SHA-256 hash, never the secret) and budget reservations.
// Money is integer micro-USD; times are Unix epoch milliseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libs/common/money.h"

namespace p402::policy {

// A tenant's configured limits. 0 means "use the service default" (GuardConfig), except for
// budget_micro_usd, where 0 means "unlimited" (only the caps apply), as in p402.v1.TenantLimits.
struct TenantLimits {
  MicroUsd per_request_cap_micro_usd = 0;
  MicroUsd daily_limit_micro_usd = 0;
  MicroUsd budget_micro_usd = 0;
  int64_t requests_per_hour = 0;
  int32_t max_concurrent = 0;

  friend bool operator==(const TenantLimits&, const TenantLimits&) = default;
};

struct TenantRecord {
  std::string id;    // [a-z0-9_-]{1,64}
  std::string name;  // free text for humans
  TenantLimits limits;
  // Committed spend and the sum of open reservations. A reservation needs
  // budget - spent - reserved >= amount when the budget is set (> 0).
  MicroUsd spent_micro_usd = 0;
  MicroUsd reserved_micro_usd = 0;
  int64_t created_unix_ms = 0;
};

struct ApiKeyRecord {
  std::string id;  // public id "key_<hex>", safe to log
  std::string tenant_id;
  std::string name;
  std::string prefix;    // first characters of the secret ("sk-p402-ab12")
  std::string key_hash;  // SHA-256 of the secret, 64 lowercase hex chars
  bool admin = false;
  bool revoked = false;
  int64_t created_unix_ms = 0;
};

enum class ReservationStatus { kReserved, kCommitted, kReleased, kExpired };

// "reserved", "committed", "released", "expired" (the form stored in the database).
std::string_view ReservationStatusName(ReservationStatus status);
// Inverse of ReservationStatusName; nullopt for any other text.
std::optional<ReservationStatus> ParseReservationStatus(std::string_view name);

struct ReservationRecord {
  std::string id;  // "rsv_<hex>", unguessable
  std::string tenant_id;
  MicroUsd amount_micro_usd = 0;  // held from the budget while kReserved
  ReservationStatus status = ReservationStatus::kReserved;
  // Charged to `spent` by the commit (<= amount); 0 unless kCommitted.
  MicroUsd actual_micro_usd = 0;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  // When the reservation left kReserved; 0 while it is open.
  int64_t finalized_unix_ms = 0;
};

// Result of PolicyStore::ReserveBudget.
struct ReserveOutcome {
  // True when the amount was held and `reservation` recorded.
  bool granted = false;
  ReservationRecord reservation;  // set when granted
  // When not granted: budget - spent - reserved as the store saw it (>= 0), so the caller can
  // shrink the request to fit. Unspecified when granted.
  MicroUsd available_micro_usd = 0;
};

// Result of PolicyStore::CommitReservation.
struct CommitOutcome {
  ReservationRecord reservation;  // after the commit (status kCommitted)
  // The reservation was already committed: nothing changed, `reservation` shows the first commit.
  bool already_committed = false;
  // The reservation had expired before this commit arrived: the charge was still recorded (the
  // money was spent at the provider), but its hold had already been returned to the budget.
  bool committed_after_expiry = false;
};

// Result of PolicyStore::ReleaseReservation.
struct ReleaseOutcome {
  ReservationRecord reservation;  // after the call
  // The reservation was no longer open (committed, released or expired): nothing changed.
  bool already_finalized = false;
};

}  // namespace p402::policy
