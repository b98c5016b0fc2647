// PgPolicyStore: budget reservations (tenants, keys and policies are in pg_policy_store.cc).
// Lock order on every path: reservation row, then session row, then tenant row.
#include <algorithm>
#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "services/policy/adapters/pg_store_rows.h"

namespace p402::policy {
namespace {

using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgResult;

constexpr char kReservationColumns[] =
    "id, tenant_id, session_id, provider, amount_micro_usd, status, actual_micro_usd, "
    "created_unix_ms, expires_unix_ms, finalized_unix_ms";

absl::Status ReservationNotFound() {
  return WithReason(NotFound("reservation not found"), "reservation_not_found");
}

absl::StatusOr<ReservationRecord> ReservationFromRow(const PgResult& r, int row) {
  ReservationRecord res;
  P402_ASSIGN_OR_RETURN(res.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(res.tenant_id, Text(r, row, "tenant_id"));
  res.session_id = std::string(r.Get(row, "session_id").value_or(""));  // NULL = none
  P402_ASSIGN_OR_RETURN(res.provider, Text(r, row, "provider"));
  P402_ASSIGN_OR_RETURN(res.amount_micro_usd, r.GetInt64(row, "amount_micro_usd"));
  P402_ASSIGN_OR_RETURN(std::string status, Text(r, row, "status"));
  std::optional<ReservationStatus> parsed = ParseReservationStatus(status);
  if (!parsed.has_value()) {
    return Internal("policy store: unknown reservation status");
  }
  res.status = *parsed;
  P402_ASSIGN_OR_RETURN(res.actual_micro_usd, r.GetInt64(row, "actual_micro_usd"));
  P402_ASSIGN_OR_RETURN(res.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  P402_ASSIGN_OR_RETURN(res.expires_unix_ms, r.GetInt64(row, "expires_unix_ms"));
  if (r.Get(row, "finalized_unix_ms").has_value()) {
    P402_ASSIGN_OR_RETURN(res.finalized_unix_ms, r.GetInt64(row, "finalized_unix_ms"));
  }
  return res;
}

// The outcome of a granted reservation: the draft as stored.
ReserveOutcome Granted(const ReservationRecord& draft) {
  ReserveOutcome outcome;
  outcome.granted = true;
  outcome.reservation = draft;
  outcome.reservation.status = ReservationStatus::kReserved;
  outcome.reservation.provider.clear();
  outcome.reservation.actual_micro_usd = 0;
  outcome.reservation.finalized_unix_ms = 0;
  return outcome;
}

// Locks and reads one reservation inside the caller's transaction. NotFound when absent.
absl::StatusOr<ReservationRecord> LockReservation(PgConnection& conn, std::string_view id) {
  P402_ASSIGN_OR_RETURN(PgResult r,
                        conn.Exec(std::string("SELECT ") + kReservationColumns +
                                      " FROM policy.reservations WHERE id = $1 FOR UPDATE",
                                  {std::string(id)}));
  if (r.rows() == 0) {
    return ReservationNotFound();
  }
  return ReservationFromRow(r, 0);
}

// The single statement that takes a budget hold. The tenant row's UPDATE is the atomic check: under
// READ COMMITTED a concurrent writer makes it wait for the row lock and then re-evaluate the WHERE
// clause against the newest row version, so the remaining budget it sees is never stale. The
// reservation row is inserted only when the hold was taken, in the same statement (hence the same
// implicit transaction). `available` reads the statement's snapshot: only a hint for shrinking the
// request, never used to grant anything.
constexpr char kReserveSql[] = R"sql(
WITH held AS (
  UPDATE policy.tenants
     SET reserved_micro_usd = reserved_micro_usd + $3::bigint
   WHERE id = $2::text
     AND (budget_micro_usd = 0
          OR budget_micro_usd - spent_micro_usd - reserved_micro_usd >= $3::bigint)
  RETURNING id
), inserted AS (
  INSERT INTO policy.reservations
         (id, tenant_id, amount_micro_usd, status, created_unix_ms, expires_unix_ms)
  SELECT $1::text, held.id, $3::bigint, 'reserved', $4::bigint, $5::bigint FROM held
  RETURNING id
)
SELECT (SELECT count(*) FROM inserted) AS granted,
       (SELECT GREATEST(budget_micro_usd - spent_micro_usd - reserved_micro_usd, 0)
          FROM policy.tenants WHERE id = $2::text) AS available
)sql";

// The hold for a reservation against a session, run inside a transaction. The session row's
// UPDATE is the session's atomic check (row lock + re-evaluation, as for the tenant above); the
// tenant's UPDATE runs only when the session was held (EXISTS on `s`, evaluated before any tenant
// row is locked, so every path locks session before tenant and two of them cannot deadlock).
// When the session is held but the tenant refuses, the caller rolls the transaction back.
constexpr char kReserveWithSessionSql[] = R"sql(
WITH s AS (
  UPDATE policy.sessions
     SET reserved_micro_usd = reserved_micro_usd + $4::bigint
   WHERE id = $3::text AND tenant_id = $2::text
     AND revoked_unix_ms = 0 AND expires_unix_ms > $5::bigint
     AND budget_micro_usd - spent_micro_usd - reserved_micro_usd >= $4::bigint
  RETURNING id
), held AS (
  UPDATE policy.tenants
     SET reserved_micro_usd = reserved_micro_usd + $4::bigint
   WHERE id = $2::text
     AND EXISTS (SELECT 1 FROM s)
     AND (budget_micro_usd = 0
          OR budget_micro_usd - spent_micro_usd - reserved_micro_usd >= $4::bigint)
  RETURNING id
), inserted AS (
  INSERT INTO policy.reservations
         (id, tenant_id, session_id, amount_micro_usd, status, created_unix_ms, expires_unix_ms)
  SELECT $1::text, held.id, $3::text, $4::bigint, 'reserved', $5::bigint, $6::bigint FROM held
  RETURNING id
)
SELECT (SELECT count(*) FROM inserted) AS granted
)sql";

// Why a session reservation was refused, read after the rollback (a fresh snapshot): which of
// tenant and session exist, the session's state and what is left of both budgets.
constexpr char kReserveRefusalSql[] = R"sql(
SELECT t.id IS NOT NULL AS tenant_found,
       t.budget_micro_usd AS tenant_budget,
       GREATEST(t.budget_micro_usd - t.spent_micro_usd - t.reserved_micro_usd, 0) AS tenant_left,
       s.id IS NOT NULL AS session_found,
       s.revoked_unix_ms, s.expires_unix_ms,
       GREATEST(s.budget_micro_usd - s.spent_micro_usd - s.reserved_micro_usd, 0) AS session_left
  FROM (SELECT 1) AS one
  LEFT JOIN policy.tenants t ON t.id = $1::text
  LEFT JOIN policy.sessions s ON s.id = $2::text AND s.tenant_id = $1::text
)sql";

// A commit's effect on its session: the charge into spent (and into provider_spent[$4] when a
// provider is named), the hold ($3; 0 after expiry) out of reserved.
constexpr char kCommitSessionSql[] = R"sql(
UPDATE policy.sessions
   SET spent_micro_usd = spent_micro_usd + $2::bigint,
       reserved_micro_usd = reserved_micro_usd - $3::bigint,
       provider_spent = CASE WHEN $4::text = '' THEN provider_spent
                        ELSE jsonb_set(provider_spent, ARRAY[$4::text],
                                       to_jsonb(coalesce((provider_spent ->> $4::text)::bigint, 0)
                                                + $2::bigint))
                        END
 WHERE id = $1::text
)sql";

// One batch of the expiry sweep. SKIP LOCKED: rows that another sweeper (or a Commit/Release)
// holds are left to it, so concurrent sweepers never wait on each other's reservation rows (they
// may still deadlock on shared session or tenant rows; the transaction is retried then).
constexpr char kExpireSql[] = R"sql(
WITH due AS (
  SELECT id FROM policy.reservations
   WHERE status = 'reserved' AND expires_unix_ms <= $1::bigint
   ORDER BY expires_unix_ms
   LIMIT $2::int
   FOR UPDATE SKIP LOCKED
), expired AS (
  UPDATE policy.reservations r
     SET status = 'expired', finalized_unix_ms = $1::bigint
    FROM due
   WHERE r.id = due.id AND r.status = 'reserved'
  RETURNING r.tenant_id, r.session_id, r.amount_micro_usd
), per_session AS (
  SELECT session_id, sum(amount_micro_usd)::bigint AS amount
    FROM expired WHERE session_id IS NOT NULL GROUP BY session_id
), session_adjusted AS (
  UPDATE policy.sessions s
     SET reserved_micro_usd = s.reserved_micro_usd - per_session.amount
    FROM per_session
   WHERE s.id = per_session.session_id
  RETURNING 1
), per_tenant AS (
  SELECT tenant_id, sum(amount_micro_usd)::bigint AS amount, count(*) AS n
    FROM expired GROUP BY tenant_id
), adjusted AS (
  UPDATE policy.tenants t
     SET reserved_micro_usd = t.reserved_micro_usd - per_tenant.amount
    FROM per_tenant
   WHERE t.id = per_tenant.tenant_id
     -- Sessions first: the same lock order as reserve/commit/release (session, then tenant).
     AND (SELECT count(*) FROM session_adjusted) >= 0
  RETURNING 1
)
SELECT coalesce(sum(n), 0)::bigint AS expired FROM per_tenant
)sql";

}  // namespace

absl::StatusOr<ReserveOutcome> PgPolicyStore::ReserveBudget(const ReservationRecord& draft) {
  if (draft.amount_micro_usd < 0) {
    return InvalidArgument("reservation amount must be >= 0");
  }
  if (!draft.session_id.empty()) {
    return ReserveWithSession(draft);
  }
  P402_ASSIGN_OR_RETURN(PgResult r, pool_.WithConnection([&](PgConnection& conn) {
    return conn.Exec(kReserveSql, {draft.id, draft.tenant_id, Int(draft.amount_micro_usd),
                                   Int(draft.created_unix_ms), Int(draft.expires_unix_ms)});
  }));
  if (r.rows() != 1) {
    return Internal("policy store: reserve returned no row");
  }
  P402_ASSIGN_OR_RETURN(int64_t granted, r.GetInt64(0, "granted"));
  if (granted == 1) {
    return Granted(draft);
  }
  if (r.IsNull(0, 1)) {
    return NotFound("tenant not found");
  }
  ReserveOutcome outcome;
  P402_ASSIGN_OR_RETURN(outcome.available_micro_usd, r.GetInt64(0, "available"));
  return outcome;
}

absl::StatusOr<ReserveOutcome> PgPolicyStore::ReserveWithSession(const ReservationRecord& draft) {
  // A refusal must undo a session hold taken before the tenant refused, so it leaves the
  // transaction as an error (rolled back) flagged here; the flag is reset per attempt because
  // InTransaction may run the body again.
  bool refused = false;
  absl::Status held = pool_.InTransaction([&](PgConnection& conn) -> absl::Status {
    refused = false;
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(kReserveWithSessionSql,
                  {draft.id, draft.tenant_id, draft.session_id, Int(draft.amount_micro_usd),
                   Int(draft.created_unix_ms), Int(draft.expires_unix_ms)}));
    P402_ASSIGN_OR_RETURN(int64_t granted, r.GetInt64(0, "granted"));
    if (granted != 1) {
      refused = true;
      return absl::CancelledError("reservation refused");  // rolls back; never returned
    }
    return absl::OkStatus();
  });
  if (held.ok()) {
    return Granted(draft);
  }
  if (!refused) {
    return held;
  }
  P402_ASSIGN_OR_RETURN(PgResult r, pool_.WithConnection([&](PgConnection& conn) {
    return conn.Exec(kReserveRefusalSql, {draft.tenant_id, draft.session_id});
  }));
  P402_ASSIGN_OR_RETURN(bool tenant_found, r.GetBool(0, "tenant_found"));
  if (!tenant_found) {
    return NotFound("tenant not found");
  }
  P402_ASSIGN_OR_RETURN(bool session_found, r.GetBool(0, "session_found"));
  if (!session_found) {
    return WithReason(NotFound("session not found"), "session_not_found");
  }
  ReserveOutcome outcome;
  P402_ASSIGN_OR_RETURN(int64_t revoked, r.GetInt64(0, "revoked_unix_ms"));
  P402_ASSIGN_OR_RETURN(int64_t expires, r.GetInt64(0, "expires_unix_ms"));
  if (revoked != 0) {
    outcome.session_unavailable = "session_revoked";
    return outcome;
  }
  if (draft.created_unix_ms >= expires) {
    outcome.session_unavailable = "session_expired";
    return outcome;
  }
  P402_ASSIGN_OR_RETURN(int64_t session_left, r.GetInt64(0, "session_left"));
  P402_ASSIGN_OR_RETURN(int64_t tenant_budget, r.GetInt64(0, "tenant_budget"));
  P402_ASSIGN_OR_RETURN(int64_t tenant_left, r.GetInt64(0, "tenant_left"));
  outcome.available_micro_usd =
      tenant_budget > 0 ? std::min(session_left, tenant_left) : session_left;
  return outcome;
}

absl::StatusOr<CommitOutcome> PgPolicyStore::CommitReservation(std::string_view reservation_id,
                                                               MicroUsd actual_micro_usd,
                                                               std::string_view provider,
                                                               int64_t now_unix_ms) {
  if (actual_micro_usd < 0) {
    return InvalidArgument("actual cost must be >= 0");
  }
  return pool_.InTransaction([&](PgConnection& conn) -> absl::StatusOr<CommitOutcome> {
    // The row lock serialises Commit, Release and the expiry sweep on this reservation: whichever
    // comes second sees the first one's final status.
    P402_ASSIGN_OR_RETURN(ReservationRecord r, LockReservation(conn, reservation_id));
    CommitOutcome outcome;
    switch (r.status) {
      case ReservationStatus::kCommitted:
        outcome.already_committed = true;
        outcome.reservation = std::move(r);
        return outcome;
      case ReservationStatus::kReleased:
        return WithReason(FailedPrecondition("reservation was released; it cannot be committed"),
                          "reservation_released");
      case ReservationStatus::kReserved:
      case ReservationStatus::kExpired:
        break;
    }
    const MicroUsd charged = std::min(actual_micro_usd, r.amount_micro_usd);
    // An expired reservation's hold already went back to the budget; only the charge remains.
    const MicroUsd unhold = r.status == ReservationStatus::kReserved ? r.amount_micro_usd : 0;
    outcome.committed_after_expiry = r.status == ReservationStatus::kExpired;
    P402_RETURN_IF_ERROR(conn.Exec("UPDATE policy.reservations SET status = 'committed',"
                                   " actual_micro_usd = $2, finalized_unix_ms = $3, provider = $4"
                                   " WHERE id = $1",
                                   {r.id, Int(charged), Int(now_unix_ms), std::string(provider)})
                             .status());
    if (!r.session_id.empty()) {
      // Session before tenant: the lock order of every path (see kReserveWithSessionSql).
      P402_RETURN_IF_ERROR(conn.Exec(kCommitSessionSql, {r.session_id, Int(charged), Int(unhold),
                                                         std::string(provider)})
                               .status());
    }
    P402_RETURN_IF_ERROR(
        conn.Exec("UPDATE policy.tenants SET spent_micro_usd = spent_micro_usd + $2,"
                  " reserved_micro_usd = reserved_micro_usd - $3 WHERE id = $1",
                  {r.tenant_id, Int(charged), Int(unhold)})
            .status());
    r.status = ReservationStatus::kCommitted;
    r.provider = std::string(provider);
    r.actual_micro_usd = charged;
    r.finalized_unix_ms = now_unix_ms;
    outcome.reservation = std::move(r);
    return outcome;
  });
}

absl::StatusOr<ReleaseOutcome> PgPolicyStore::ReleaseReservation(std::string_view reservation_id,
                                                                 int64_t now_unix_ms) {
  return pool_.InTransaction([&](PgConnection& conn) -> absl::StatusOr<ReleaseOutcome> {
    P402_ASSIGN_OR_RETURN(ReservationRecord r, LockReservation(conn, reservation_id));
    ReleaseOutcome outcome;
    if (r.status != ReservationStatus::kReserved) {
      outcome.already_finalized = true;
      outcome.reservation = std::move(r);
      return outcome;
    }
    P402_RETURN_IF_ERROR(conn.Exec("UPDATE policy.reservations SET status = 'released',"
                                   " finalized_unix_ms = $2 WHERE id = $1",
                                   {r.id, Int(now_unix_ms)})
                             .status());
    if (!r.session_id.empty()) {
      P402_RETURN_IF_ERROR(conn.Exec("UPDATE policy.sessions SET reserved_micro_usd ="
                                     " reserved_micro_usd - $2 WHERE id = $1",
                                     {r.session_id, Int(r.amount_micro_usd)})
                               .status());
    }
    P402_RETURN_IF_ERROR(
        conn.Exec("UPDATE policy.tenants"
                  " SET reserved_micro_usd = reserved_micro_usd - $2 WHERE id = $1",
                  {r.tenant_id, Int(r.amount_micro_usd)})
            .status());
    r.status = ReservationStatus::kReleased;
    r.finalized_unix_ms = now_unix_ms;
    outcome.reservation = std::move(r);
    return outcome;
  });
}

absl::StatusOr<ReservationRecord> PgPolicyStore::GetReservation(std::string_view reservation_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<ReservationRecord> {
    P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kReservationColumns +
                                                    " FROM policy.reservations WHERE id = $1",
                                                {std::string(reservation_id)}));
    if (r.rows() == 0) {
      return ReservationNotFound();
    }
    return ReservationFromRow(r, 0);
  });
}

absl::StatusOr<int64_t> PgPolicyStore::ExpireReservations(int64_t now_unix_ms) {
  int64_t total = 0;
  while (true) {
    // A transaction so that a deadlock between two sweepers updating the same tenants in different
    // orders is retried (InTransaction retries Aborted) instead of surfacing.
    P402_ASSIGN_OR_RETURN(
        int64_t n, pool_.InTransaction([&](PgConnection& conn) -> absl::StatusOr<int64_t> {
          P402_ASSIGN_OR_RETURN(PgResult r,
                                conn.Exec(kExpireSql, {Int(now_unix_ms), Int(kExpireBatch)}));
          return r.GetInt64(0, "expired");
        }));
    total += n;
    if (n < kExpireBatch) {
      return total;
    }
  }
}

}  // namespace p402::policy
