#include "services/policy/adapters/pg_policy_store.h"

#include <algorithm>
#include <string>
#include <utility>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/store/migrate.h"
#include "libs/store/pg_error.h"
#include "services/policy/adapters/policy_migrations.h"

namespace p402::policy {
namespace {

using store::PgConnection;
using store::PgParams;
using store::PgResult;

constexpr char kTenantColumns[] =
    "id, name, per_request_cap_micro_usd, daily_limit_micro_usd, budget_micro_usd, "
    "requests_per_hour, max_concurrent, spent_micro_usd, reserved_micro_usd, created_unix_ms";
constexpr char kKeyColumns[] =
    "id, tenant_id, name, prefix, key_hash, admin, revoked, created_unix_ms";
constexpr char kReservationColumns[] =
    "id, tenant_id, amount_micro_usd, status, actual_micro_usd, created_unix_ms, "
    "expires_unix_ms, finalized_unix_ms";

std::string Int(int64_t v) { return std::to_string(v); }
std::string Bool(bool v) { return v ? "true" : "false"; }

absl::Status ReservationNotFound() {
  return WithReason(NotFound("reservation not found"), "reservation_not_found");
}

absl::StatusOr<std::string> Text(const PgResult& r, int row, std::string_view column) {
  std::optional<std::string_view> v = r.Get(row, column);
  if (!v.has_value()) {
    return Internal("policy store: column " + std::string(column) + " is NULL or missing");
  }
  return std::string(*v);
}

absl::StatusOr<TenantRecord> TenantFromRow(const PgResult& r, int row) {
  TenantRecord t;
  P402_ASSIGN_OR_RETURN(t.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(t.name, Text(r, row, "name"));
  P402_ASSIGN_OR_RETURN(t.limits.per_request_cap_micro_usd,
                        r.GetInt64(row, "per_request_cap_micro_usd"));
  P402_ASSIGN_OR_RETURN(t.limits.daily_limit_micro_usd, r.GetInt64(row, "daily_limit_micro_usd"));
  P402_ASSIGN_OR_RETURN(t.limits.budget_micro_usd, r.GetInt64(row, "budget_micro_usd"));
  P402_ASSIGN_OR_RETURN(t.limits.requests_per_hour, r.GetInt64(row, "requests_per_hour"));
  P402_ASSIGN_OR_RETURN(int64_t max_concurrent, r.GetInt64(row, "max_concurrent"));
  t.limits.max_concurrent = static_cast<int32_t>(max_concurrent);  // an integer column
  P402_ASSIGN_OR_RETURN(t.spent_micro_usd, r.GetInt64(row, "spent_micro_usd"));
  P402_ASSIGN_OR_RETURN(t.reserved_micro_usd, r.GetInt64(row, "reserved_micro_usd"));
  P402_ASSIGN_OR_RETURN(t.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  return t;
}

absl::StatusOr<ApiKeyRecord> KeyFromRow(const PgResult& r, int row) {
  ApiKeyRecord k;
  P402_ASSIGN_OR_RETURN(k.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(k.tenant_id, Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(k.name, Text(r, row, "name"));
  P402_ASSIGN_OR_RETURN(k.prefix, Text(r, row, "prefix"));
  P402_ASSIGN_OR_RETURN(k.key_hash, Text(r, row, "key_hash"));
  P402_ASSIGN_OR_RETURN(k.admin, r.GetBool(row, "admin"));
  P402_ASSIGN_OR_RETURN(k.revoked, r.GetBool(row, "revoked"));
  P402_ASSIGN_OR_RETURN(k.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  return k;
}

absl::StatusOr<ReservationRecord> ReservationFromRow(const PgResult& r, int row) {
  ReservationRecord res;
  P402_ASSIGN_OR_RETURN(res.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(res.tenant_id, Text(r, row, "tenant_id"));
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

// One batch of the expiry sweep. SKIP LOCKED: rows that another sweeper (or a Commit/Release)
// holds are left to it, so concurrent sweepers never wait on each other's rows.
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
  RETURNING r.tenant_id, r.amount_micro_usd
), per_tenant AS (
  SELECT tenant_id, sum(amount_micro_usd)::bigint AS amount, count(*) AS n
    FROM expired GROUP BY tenant_id
), adjusted AS (
  UPDATE policy.tenants t
     SET reserved_micro_usd = t.reserved_micro_usd - per_tenant.amount
    FROM per_tenant
   WHERE t.id = per_tenant.tenant_id
  RETURNING 1
)
SELECT coalesce(sum(n), 0)::bigint AS expired FROM per_tenant
)sql";

}  // namespace

absl::StatusOr<std::unique_ptr<PgPolicyStore>> PgPolicyStore::Open(store::PgPool& pool) {
  P402_RETURN_IF_ERROR(store::Migrate(pool, kPolicyMigrationService, PolicyMigrations()).status());
  return std::make_unique<PgPolicyStore>(pool);
}

absl::Status PgPolicyStore::CreateTenant(const TenantRecord& t) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(std::string("INSERT INTO policy.tenants (") + kTenantColumns +
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
              {t.id, t.name, Int(t.limits.per_request_cap_micro_usd),
               Int(t.limits.daily_limit_micro_usd), Int(t.limits.budget_micro_usd),
               Int(t.limits.requests_per_hour), Int(t.limits.max_concurrent),
               Int(t.spent_micro_usd), Int(t.reserved_micro_usd), Int(t.created_unix_ms)})
        .status();
  });
}

absl::StatusOr<TenantRecord> PgPolicyStore::GetTenant(std::string_view tenant_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<TenantRecord> {
    P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kTenantColumns +
                                                    " FROM policy.tenants WHERE id = $1",
                                                {std::string(tenant_id)}));
    if (r.rows() == 0) {
      return NotFound("tenant not found");
    }
    return TenantFromRow(r, 0);
  });
}

absl::Status PgPolicyStore::CreateApiKey(const ApiKeyRecord& k) {
  absl::Status s = pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(std::string("INSERT INTO policy.api_keys (") + kKeyColumns +
                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
              {k.id, k.tenant_id, k.name, k.prefix, k.key_hash, Bool(k.admin), Bool(k.revoked),
               Int(k.created_unix_ms)})
        .status();
  });
  if (store::SqlStateOf(s) == "23503") {  // foreign_key_violation: no such tenant
    return NotFound("tenant not found");
  }
  return s;
}

absl::StatusOr<std::optional<ApiKeyRecord>> PgPolicyStore::FindApiKeyByHash(
    std::string_view key_hash) {
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::optional<ApiKeyRecord>> {
        P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kKeyColumns +
                                                        " FROM policy.api_keys WHERE key_hash = $1",
                                                    {std::string(key_hash)}));
        if (r.rows() == 0) {
          return std::optional<ApiKeyRecord>();
        }
        P402_ASSIGN_OR_RETURN(ApiKeyRecord key, KeyFromRow(r, 0));
        return std::optional<ApiKeyRecord>(std::move(key));
      });
}

absl::StatusOr<std::vector<ApiKeyRecord>> PgPolicyStore::ListApiKeys(std::string_view tenant_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<std::vector<ApiKeyRecord>> {
    P402_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT ") + kKeyColumns +
                                                    " FROM policy.api_keys WHERE tenant_id = $1"
                                                    " ORDER BY created_unix_ms, id",
                                                {std::string(tenant_id)}));
    std::vector<ApiKeyRecord> keys;
    keys.reserve(r.rows());
    for (int row = 0; row < r.rows(); ++row) {
      P402_ASSIGN_OR_RETURN(ApiKeyRecord key, KeyFromRow(r, row));
      keys.push_back(std::move(key));
    }
    return keys;
  });
}

absl::StatusOr<ApiKeyRecord> PgPolicyStore::RevokeApiKey(std::string_view key_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<ApiKeyRecord> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec(std::string("UPDATE policy.api_keys SET revoked = true"
                                                " WHERE id = $1 RETURNING ") +
                                        kKeyColumns,
                                    {std::string(key_id)}));
    if (r.rows() == 0) {
      return NotFound("API key not found");
    }
    return KeyFromRow(r, 0);
  });
}

absl::StatusOr<ReserveOutcome> PgPolicyStore::ReserveBudget(const ReservationRecord& draft) {
  if (draft.amount_micro_usd < 0) {
    return InvalidArgument("reservation amount must be >= 0");
  }
  P402_ASSIGN_OR_RETURN(PgResult r, pool_.WithConnection([&](PgConnection& conn) {
    return conn.Exec(kReserveSql, {draft.id, draft.tenant_id, Int(draft.amount_micro_usd),
                                   Int(draft.created_unix_ms), Int(draft.expires_unix_ms)});
  }));
  if (r.rows() != 1) {
    return Internal("policy store: reserve returned no row");
  }
  P402_ASSIGN_OR_RETURN(int64_t granted, r.GetInt64(0, "granted"));
  ReserveOutcome outcome;
  if (granted == 1) {
    outcome.granted = true;
    outcome.reservation = draft;
    outcome.reservation.status = ReservationStatus::kReserved;
    outcome.reservation.actual_micro_usd = 0;
    outcome.reservation.finalized_unix_ms = 0;
    return outcome;
  }
  if (r.IsNull(0, 1)) {
    return NotFound("tenant not found");
  }
  P402_ASSIGN_OR_RETURN(outcome.available_micro_usd, r.GetInt64(0, "available"));
  return outcome;
}

absl::StatusOr<CommitOutcome> PgPolicyStore::CommitReservation(std::string_view reservation_id,
                                                               MicroUsd actual_micro_usd, std::string_view /*provider*/,
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
                                   " actual_micro_usd = $2, finalized_unix_ms = $3 WHERE id = $1",
                                   {r.id, Int(charged), Int(now_unix_ms)})
                             .status());
    P402_RETURN_IF_ERROR(
        conn.Exec("UPDATE policy.tenants SET spent_micro_usd = spent_micro_usd + $2,"
                  " reserved_micro_usd = reserved_micro_usd - $3 WHERE id = $1",
                  {r.tenant_id, Int(charged), Int(unhold)})
            .status());
    r.status = ReservationStatus::kCommitted;
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

// TODO(p402): issue 3 store work in progress.
absl::StatusOr<TenantRecord> PgPolicyStore::UpdateTenant(std::string_view tenant_id, std::string_view name, const TenantLimits& limits) {
  return absl::UnimplementedError("PgPolicyStore::UpdateTenant: not implemented yet");
}

absl::StatusOr<TenantRecord> PgPolicyStore::SetTenantPaused(std::string_view tenant_id, bool paused, std::string_view reason) {
  return absl::UnimplementedError("PgPolicyStore::SetTenantPaused: not implemented yet");
}

absl::Status PgPolicyStore::CreatePolicy(const v1::TenantPolicy& policy) {
  return absl::UnimplementedError("PgPolicyStore::CreatePolicy: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::GetPolicy(std::string_view tenant_id, std::string_view policy_id) {
  return absl::UnimplementedError("PgPolicyStore::GetPolicy: not implemented yet");
}

absl::StatusOr<std::vector<v1::TenantPolicy>> PgPolicyStore::ListPolicies(std::string_view tenant_id) {
  return absl::UnimplementedError("PgPolicyStore::ListPolicies: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::UpdatePolicy(const v1::TenantPolicy& policy) {
  return absl::UnimplementedError("PgPolicyStore::UpdatePolicy: not implemented yet");
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::DeletePolicy(std::string_view tenant_id, std::string_view policy_id) {
  return absl::UnimplementedError("PgPolicyStore::DeletePolicy: not implemented yet");
}

absl::Status PgPolicyStore::CreateSession(const SessionRecord& session) {
  return absl::UnimplementedError("PgPolicyStore::CreateSession: not implemented yet");
}

absl::StatusOr<std::optional<SessionRecord>> PgPolicyStore::FindSessionByTokenHash(std::string_view token_hash) {
  return absl::UnimplementedError("PgPolicyStore::FindSessionByTokenHash: not implemented yet");
}

absl::StatusOr<SessionRecord> PgPolicyStore::GetSession(std::string_view tenant_id, std::string_view session_id) {
  return absl::UnimplementedError("PgPolicyStore::GetSession: not implemented yet");
}

absl::StatusOr<std::vector<SessionRecord>> PgPolicyStore::ListSessions(std::string_view tenant_id, std::string_view after_id, int limit) {
  return absl::UnimplementedError("PgPolicyStore::ListSessions: not implemented yet");
}

absl::StatusOr<SessionRecord> PgPolicyStore::UpdateSession(std::string_view tenant_id, std::string_view session_id, const SessionUpdate& update) {
  return absl::UnimplementedError("PgPolicyStore::UpdateSession: not implemented yet");
}

absl::StatusOr<SessionRecord> PgPolicyStore::RevokeSession(std::string_view tenant_id, std::string_view session_id, int64_t now_unix_ms) {
  return absl::UnimplementedError("PgPolicyStore::RevokeSession: not implemented yet");
}

absl::Status PgPolicyStore::CreateApproval(const ApprovalRecord& approval) {
  return absl::UnimplementedError("PgPolicyStore::CreateApproval: not implemented yet");
}

absl::StatusOr<ApprovalRecord> PgPolicyStore::GetApproval(std::string_view tenant_id, std::string_view approval_id, int64_t now_unix_ms) {
  return absl::UnimplementedError("PgPolicyStore::GetApproval: not implemented yet");
}

absl::StatusOr<std::vector<ApprovalRecord>> PgPolicyStore::ListApprovals(std::string_view tenant_id, std::string_view session_id, bool pending_only, int64_t now_unix_ms) {
  return absl::UnimplementedError("PgPolicyStore::ListApprovals: not implemented yet");
}

absl::StatusOr<ApprovalRecord> PgPolicyStore::TransitionApproval(std::string_view tenant_id, std::string_view approval_id, ApprovalState to, std::string_view reason, int64_t now_unix_ms) {
  return absl::UnimplementedError("PgPolicyStore::TransitionApproval: not implemented yet");
}

}  // namespace p402::policy
