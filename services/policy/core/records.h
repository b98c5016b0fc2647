// File: services/policy/core/records.h
// Plain value types the policy core keeps in its PolicyStore (core/ports.h): tenants with their
// limits and budget counters, API keys (by SHA-256 hash, never the secret), budget reservations,
// agent sessions (by token hash) and approvals. Policies are stored as p402.v1.Policy messages
// (their typed rule is the record). Money is integer micro-USD; times are Unix epoch ms (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
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
  // Layer 4 threshold in hundredths of a sigma (300 = 3.0).
  int32_t anomaly_zscore_centi = 0;
  // Layer 6 reservation TTL, milliseconds.
  int64_t reservation_ttl_ms = 0;

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
  // All traffic refused while true (kill switch, operator, sentinel); pause_reason says why.
  bool paused = false;
  std::string pause_reason;
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
  // Agent session the reservation is held against (as well as the tenant); empty = none.
  std::string session_id;
  // Provider that produced the committed answer (for a session's per-provider spend); set by the
  // commit, empty before.
  std::string provider;
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
  // When not granted: what is left to reserve (>= 0) as the store saw it, the smaller of the
  // tenant's and (with a session) the session's budget - spent - reserved, so the caller can
  // shrink the request to fit. Unspecified when granted.
  MicroUsd available_micro_usd = 0;
  // When not granted because the session can no longer spend at all (revoked or expired at the
  // moment of reserving; a race with the guard's own check): which, "session_revoked" or
  // "session_expired". Empty otherwise.
  std::string session_unavailable;
};

// An agent session. Counters obey spent + reserved <= budget (atomically, like the tenant's).
struct SessionRecord {
  std::string id;  // "sess_<hex>"
  std::string tenant_id;
  std::string agent_id;
  std::string wallet;  // "" or 0x + 40 lowercase hex
  std::string token_hash;    // SHA-256 hex of the session token; the token is never stored
  std::string token_prefix;  // "sk-p402-sess-ab12"
  MicroUsd budget_micro_usd = 0;
  MicroUsd spent_micro_usd = 0;
  MicroUsd reserved_micro_usd = 0;
  MicroUsd per_request_cap_micro_usd = 0;  // 0 = none
  absl::btree_map<std::string, MicroUsd> provider_budgets_micro_usd;
  absl::btree_map<std::string, MicroUsd> provider_spent_micro_usd;
  std::vector<std::string> allowed_providers;     // empty = any
  std::vector<std::string> allowed_capabilities;  // empty = any
  // Allowed local hours [start, end) in time_zone; has_allowed_hours = false means any time.
  bool has_allowed_hours = false;
  int32_t allowed_start_hour = 0;
  int32_t allowed_end_hour = 0;
  std::string allowed_time_zone;
  MicroUsd require_approval_above_micro_usd = 0;  // 0 = never
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  int64_t revoked_unix_ms = 0;  // 0 = not revoked

  friend bool operator==(const SessionRecord&, const SessionRecord&) = default;
};

enum class SessionState { kActive, kExhausted, kExpired, kRevoked };
// The state of `session` at `now_unix_ms`: revoked, else expired (now >= expires), else exhausted
// (budget - spent - reserved <= 0), else active.
SessionState SessionStateAt(const SessionRecord& session, int64_t now_unix_ms);

// Changes to a session (PolicyStore::UpdateSession); unset fields are left alone.
struct SessionUpdate {
  MicroUsd top_up_micro_usd = 0;
  std::optional<int64_t> expires_unix_ms;
  std::optional<MicroUsd> per_request_cap_micro_usd;
  std::optional<MicroUsd> require_approval_above_micro_usd;
};

enum class ApprovalState { kPending, kApproved, kDenied, kExpired, kUsed };
// "pending", "approved", "denied", "expired", "used" (the stored form).
std::string_view ApprovalStateName(ApprovalState state);
std::optional<ApprovalState> ParseApprovalState(std::string_view name);

struct ApprovalRecord {
  std::string id;  // "apr_<hex>"
  std::string tenant_id;
  std::string session_id;
  std::string request_id;
  MicroUsd amount_micro_usd = 0;
  std::string model_provider;
  std::string model_id;
  ApprovalState state = ApprovalState::kPending;
  int64_t created_unix_ms = 0;
  int64_t expires_unix_ms = 0;
  int64_t decided_unix_ms = 0;
  std::string decision_reason;

  friend bool operator==(const ApprovalRecord&, const ApprovalRecord&) = default;
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
