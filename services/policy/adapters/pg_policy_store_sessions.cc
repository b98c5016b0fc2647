// PgPolicyStore: agent sessions and approvals (tables policy.sessions, policy.approvals;
// schema/0002_policies_sessions.sql). Reservations against sessions are in
// pg_policy_store_reservations.cc. Each change is one conditional statement (UPDATE ... WHERE
// <allowed> RETURNING), so concurrent processes cannot interleave inside it; when it touches no
// row, a follow-up read tells NotFound from the refused transition.
#include <string>
#include <utility>
#include <vector>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "services/policy/adapters/pg_store_rows.h"

namespace p402::policy {
namespace {

using pg_rows::Bool;
using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgResult;

constexpr int kMaxApprovalsListed = 500;

constexpr char kSessionColumns[] =
    "id, tenant_id, agent_id, wallet, token_hash, token_prefix, budget_micro_usd, "
    "spent_micro_usd, reserved_micro_usd, per_request_cap_micro_usd, "
    "provider_budgets::text AS provider_budgets, provider_spent::text AS provider_spent, "
    "to_jsonb(allowed_providers)::text AS allowed_providers, "
    "to_jsonb(allowed_capabilities)::text AS allowed_capabilities, allowed_start_hour, "
    "allowed_end_hour, allowed_time_zone, require_approval_above_micro_usd, created_unix_ms, "
    "expires_unix_ms, revoked_unix_ms";
constexpr char kApprovalColumns[] =
    "id, tenant_id, session_id, request_id, amount_micro_usd, model_provider, model_id, state, "
    "created_unix_ms, expires_unix_ms, decided_unix_ms, decision_reason";

absl::Status SessionNotFound() {
  return WithReason(NotFound("session not found"), "session_not_found");
}
absl::Status ApprovalNotFound() {
  return WithReason(NotFound("approval not found"), "approval_not_found");
}

// A PostgreSQL text[] literal: every element double-quoted, '"' and '\' backslash-escaped.
std::string TextArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    for (char c : items[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string MoneyMapJson(const absl::btree_map<std::string, MicroUsd>& map) {
  json::Value object = json::Value::EmptyObject();
  for (const auto& [key, value] : map) {
    object.Set(key, json::Value(value));
  }
  return object.Serialize();
}

absl::StatusOr<absl::btree_map<std::string, MicroUsd>> MoneyMapFromJson(std::string_view text) {
  absl::StatusOr<json::Value> v = json::Value::Parse(text);
  if (!v.ok() || !v->is_object()) {
    return Internal("policy store: a session's provider map is not a JSON object");
  }
  absl::btree_map<std::string, MicroUsd> out;
  for (const auto& [key, value] : v->AsObject()) {
    if (value.type() != json::Type::kInt) {
      return Internal("policy store: a session's provider amount is not an integer");
    }
    out[key] = value.AsInt();
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> StringsFromJson(std::string_view text) {
  absl::StatusOr<json::Value> v = json::Value::Parse(text);
  if (!v.ok() || !v->is_array()) {
    return Internal("policy store: a session's list is not a JSON array");
  }
  std::vector<std::string> out;
  for (const json::Value& item : v->AsArray()) {
    if (!item.is_string()) {
      return Internal("policy store: a session's list holds a non-string");
    }
    out.push_back(item.AsString());
  }
  return out;
}

// --- sessions ---

absl::StatusOr<SessionRecord> SessionFromRow(const PgResult& r, int row) {
  SessionRecord s;
  P402_ASSIGN_OR_RETURN(s.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(s.tenant_id, Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(s.agent_id, Text(r, row, "agent_id"));
  P402_ASSIGN_OR_RETURN(s.wallet, Text(r, row, "wallet"));
  P402_ASSIGN_OR_RETURN(s.token_hash, Text(r, row, "token_hash"));
  P402_ASSIGN_OR_RETURN(s.token_prefix, Text(r, row, "token_prefix"));
  P402_ASSIGN_OR_RETURN(s.budget_micro_usd, r.GetInt64(row, "budget_micro_usd"));
  P402_ASSIGN_OR_RETURN(s.spent_micro_usd, r.GetInt64(row, "spent_micro_usd"));
  P402_ASSIGN_OR_RETURN(s.reserved_micro_usd, r.GetInt64(row, "reserved_micro_usd"));
  P402_ASSIGN_OR_RETURN(s.per_request_cap_micro_usd, r.GetInt64(row, "per_request_cap_micro_usd"));
  P402_ASSIGN_OR_RETURN(std::string budgets, Text(r, row, "provider_budgets"));
  P402_ASSIGN_OR_RETURN(s.provider_budgets_micro_usd, MoneyMapFromJson(budgets));
  P402_ASSIGN_OR_RETURN(std::string spent, Text(r, row, "provider_spent"));
  P402_ASSIGN_OR_RETURN(s.provider_spent_micro_usd, MoneyMapFromJson(spent));
  P402_ASSIGN_OR_RETURN(std::string providers, Text(r, row, "allowed_providers"));
  P402_ASSIGN_OR_RETURN(s.allowed_providers, StringsFromJson(providers));
  P402_ASSIGN_OR_RETURN(std::string capabilities, Text(r, row, "allowed_capabilities"));
  P402_ASSIGN_OR_RETURN(s.allowed_capabilities, StringsFromJson(capabilities));
  s.has_allowed_hours = r.Get(row, "allowed_start_hour").has_value();
  if (s.has_allowed_hours) {
    P402_ASSIGN_OR_RETURN(int64_t start, r.GetInt64(row, "allowed_start_hour"));
    P402_ASSIGN_OR_RETURN(int64_t end, r.GetInt64(row, "allowed_end_hour"));
    s.allowed_start_hour = static_cast<int32_t>(start);  // integer columns, CHECKed 0..24
    s.allowed_end_hour = static_cast<int32_t>(end);
    P402_ASSIGN_OR_RETURN(s.allowed_time_zone, Text(r, row, "allowed_time_zone"));
  }
  P402_ASSIGN_OR_RETURN(s.require_approval_above_micro_usd,
                        r.GetInt64(row, "require_approval_above_micro_usd"));
  P402_ASSIGN_OR_RETURN(s.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  P402_ASSIGN_OR_RETURN(s.expires_unix_ms, r.GetInt64(row, "expires_unix_ms"));
  P402_ASSIGN_OR_RETURN(s.revoked_unix_ms, r.GetInt64(row, "revoked_unix_ms"));
  return s;
}

absl::StatusOr<std::vector<SessionRecord>> SessionsFromResult(const PgResult& r) {
  std::vector<SessionRecord> out;
  out.reserve(r.rows());
  for (int row = 0; row < r.rows(); ++row) {
    P402_ASSIGN_OR_RETURN(SessionRecord s, SessionFromRow(r, row));
    out.push_back(std::move(s));
  }
  return out;
}

// --- approvals ---

absl::StatusOr<ApprovalRecord> ApprovalFromRow(const PgResult& r, int row) {
  ApprovalRecord a;
  P402_ASSIGN_OR_RETURN(a.id, Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(a.tenant_id, Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(a.session_id, Text(r, row, "session_id"));
  P402_ASSIGN_OR_RETURN(a.request_id, Text(r, row, "request_id"));
  P402_ASSIGN_OR_RETURN(a.amount_micro_usd, r.GetInt64(row, "amount_micro_usd"));
  P402_ASSIGN_OR_RETURN(a.model_provider, Text(r, row, "model_provider"));
  P402_ASSIGN_OR_RETURN(a.model_id, Text(r, row, "model_id"));
  P402_ASSIGN_OR_RETURN(std::string state, Text(r, row, "state"));
  std::optional<ApprovalState> parsed = ParseApprovalState(state);
  if (!parsed.has_value()) {
    return Internal("policy store: unknown approval state");
  }
  a.state = *parsed;
  P402_ASSIGN_OR_RETURN(a.created_unix_ms, r.GetInt64(row, "created_unix_ms"));
  P402_ASSIGN_OR_RETURN(a.expires_unix_ms, r.GetInt64(row, "expires_unix_ms"));
  P402_ASSIGN_OR_RETURN(a.decided_unix_ms, r.GetInt64(row, "decided_unix_ms"));
  P402_ASSIGN_OR_RETURN(a.decision_reason, Text(r, row, "decision_reason"));
  return a;
}

// "Empty tenant = any": the WHERE fragment for tenant parameter $n.
std::string TenantMatch(int n) {
  const std::string p = "$" + std::to_string(n) + "::text";
  return "(" + p + " = '' OR tenant_id = " + p + ")";
}

}  // namespace

// --- agent sessions ---

absl::Status PgPolicyStore::CreateSession(const SessionRecord& s) {
  std::optional<std::string> start, end, zone;  // NULL = no allowed hours
  if (s.has_allowed_hours) {
    start = Int(s.allowed_start_hour);
    end = Int(s.allowed_end_hour);
    zone = s.allowed_time_zone;
  }
  absl::Status status = pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(
            "INSERT INTO policy.sessions (id, tenant_id, agent_id, wallet, token_hash,"
            " token_prefix, budget_micro_usd, spent_micro_usd, reserved_micro_usd,"
            " per_request_cap_micro_usd, provider_budgets, provider_spent, allowed_providers,"
            " allowed_capabilities, allowed_start_hour, allowed_end_hour, allowed_time_zone,"
            " require_approval_above_micro_usd, created_unix_ms, expires_unix_ms,"
            " revoked_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb,"
            " $12::jsonb, $13::text[], $14::text[], $15, $16, $17, $18, $19, $20, $21)",
            {s.id,
             s.tenant_id,
             s.agent_id,
             s.wallet,
             s.token_hash,
             s.token_prefix,
             Int(s.budget_micro_usd),
             Int(s.spent_micro_usd),
             Int(s.reserved_micro_usd),
             Int(s.per_request_cap_micro_usd),
             MoneyMapJson(s.provider_budgets_micro_usd),
             MoneyMapJson(s.provider_spent_micro_usd),
             TextArrayLiteral(s.allowed_providers),
             TextArrayLiteral(s.allowed_capabilities),
             start,
             end,
             zone,
             Int(s.require_approval_above_micro_usd),
             Int(s.created_unix_ms),
             Int(s.expires_unix_ms),
             Int(s.revoked_unix_ms)})
        .status();
  });
  return pg_rows::TenantMissingAsNotFound(std::move(status));
}

absl::StatusOr<std::optional<SessionRecord>> PgPolicyStore::FindSessionByTokenHash(
    std::string_view token_hash) {
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::optional<SessionRecord>> {
        P402_ASSIGN_OR_RETURN(PgResult r,
                              conn.Exec(std::string("SELECT ") + kSessionColumns +
                                            " FROM policy.sessions WHERE token_hash = $1",
                                        {std::string(token_hash)}));
        if (r.rows() == 0) {
          return std::optional<SessionRecord>();
        }
        P402_ASSIGN_OR_RETURN(SessionRecord s, SessionFromRow(r, 0));
        return std::optional<SessionRecord>(std::move(s));
      });
}

absl::StatusOr<SessionRecord> PgPolicyStore::GetSession(std::string_view tenant_id,
                                                        std::string_view session_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<SessionRecord> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec(std::string("SELECT ") + kSessionColumns +
                                        " FROM policy.sessions WHERE id = $1 AND " + TenantMatch(2),
                                    {std::string(session_id), std::string(tenant_id)}));
    if (r.rows() == 0) {
      return SessionNotFound();
    }
    return SessionFromRow(r, 0);
  });
}

absl::StatusOr<std::vector<SessionRecord>> PgPolicyStore::ListSessions(std::string_view tenant_id,
                                                                       std::string_view after_id,
                                                                       int limit) {
  if (limit < 1) {
    return InvalidArgument("limit must be >= 1");
  }
  return pool_.WithConnection([&](PgConnection& conn)
                                  -> absl::StatusOr<std::vector<SessionRecord>> {
    const std::string select =
        std::string("SELECT ") + kSessionColumns + " FROM policy.sessions WHERE tenant_id = $1";
    const std::string order = " ORDER BY created_unix_ms DESC, id DESC LIMIT ";
    if (after_id.empty()) {
      P402_ASSIGN_OR_RETURN(PgResult r,
                            conn.Exec(select + order + "$2", {std::string(tenant_id), Int(limit)}));
      return SessionsFromResult(r);
    }
    // Keyset paging: strictly after the (created, id) of `after_id`, which must exist.
    P402_ASSIGN_OR_RETURN(PgResult a, conn.Exec("SELECT created_unix_ms FROM policy.sessions"
                                                " WHERE id = $1 AND tenant_id = $2",
                                                {std::string(after_id), std::string(tenant_id)}));
    if (a.rows() == 0) {
      return InvalidArgument("after_id is not a session of this tenant");
    }
    P402_ASSIGN_OR_RETURN(int64_t after_created, a.GetInt64(0, "created_unix_ms"));
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(select + " AND (created_unix_ms, id) < ($2::bigint, $3::text)" + order + "$4",
                  {std::string(tenant_id), Int(after_created), std::string(after_id), Int(limit)}));
    return SessionsFromResult(r);
  });
}

absl::StatusOr<SessionRecord> PgPolicyStore::UpdateSession(std::string_view tenant_id,
                                                           std::string_view session_id,
                                                           const SessionUpdate& u) {
  if (u.top_up_micro_usd < 0) {
    return InvalidArgument("top-up must be >= 0");
  }
  auto opt = [](const std::optional<int64_t>& v) -> std::optional<std::string> {
    return v.has_value() ? std::optional<std::string>(Int(*v)) : std::nullopt;
  };
  P402_ASSIGN_OR_RETURN(PgResult r, pool_.WithConnection([&](PgConnection& conn) {
    return conn.Exec(
        std::string("UPDATE policy.sessions SET budget_micro_usd = budget_micro_usd + $3,"
                    " expires_unix_ms = coalesce($4::bigint, expires_unix_ms),"
                    " per_request_cap_micro_usd ="
                    " coalesce($5::bigint, per_request_cap_micro_usd),"
                    " require_approval_above_micro_usd ="
                    " coalesce($6::bigint, require_approval_above_micro_usd)"
                    " WHERE id = $1 AND ") +
            TenantMatch(2) + " AND revoked_unix_ms = 0 RETURNING " + kSessionColumns,
        {std::string(session_id), std::string(tenant_id), Int(u.top_up_micro_usd),
         opt(u.expires_unix_ms), opt(u.per_request_cap_micro_usd),
         opt(u.require_approval_above_micro_usd)});
  }));
  if (r.rows() == 1) {
    return SessionFromRow(r, 0);
  }
  // Nothing updated: absent (NotFound from GetSession) or revoked (a revocation is final).
  P402_ASSIGN_OR_RETURN(SessionRecord s, GetSession(tenant_id, session_id));
  if (s.revoked_unix_ms == 0) {
    return Internal("policy store: session update matched no row");
  }
  return WithReason(FailedPrecondition("session is revoked"), "session_revoked");
}

absl::StatusOr<SessionRecord> PgPolicyStore::RevokeSession(std::string_view tenant_id,
                                                           std::string_view session_id,
                                                           int64_t now_unix_ms) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<SessionRecord> {
    // GREATEST(.., 1): revoked at the epoch must still read as revoked (0 = not revoked).
    P402_ASSIGN_OR_RETURN(
        PgResult r, conn.Exec(std::string("UPDATE policy.sessions SET revoked_unix_ms = CASE"
                                          " WHEN revoked_unix_ms = 0 THEN GREATEST($3::bigint, 1)"
                                          " ELSE revoked_unix_ms END WHERE id = $1 AND ") +
                                  TenantMatch(2) + " RETURNING " + kSessionColumns,
                              {std::string(session_id), std::string(tenant_id), Int(now_unix_ms)}));
    if (r.rows() == 0) {
      return SessionNotFound();
    }
    return SessionFromRow(r, 0);
  });
}

// --- approvals ---

absl::Status PgPolicyStore::CreateApproval(const ApprovalRecord& a) {
  absl::Status s = pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(
            "INSERT INTO policy.approvals (id, tenant_id, session_id, request_id,"
            " amount_micro_usd, model_provider, model_id, state, created_unix_ms,"
            " expires_unix_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)",
            {a.id, a.tenant_id, a.session_id, a.request_id, Int(a.amount_micro_usd),
             a.model_provider, a.model_id, Int(a.created_unix_ms), Int(a.expires_unix_ms)})
        .status();
  });
  return pg_rows::TenantMissingAsNotFound(std::move(s));
}

absl::StatusOr<ApprovalRecord> PgPolicyStore::GetApproval(std::string_view tenant_id,
                                                          std::string_view approval_id,
                                                          int64_t now_unix_ms) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<ApprovalRecord> {
    // Expire-if-due and read in one statement: the UPDATE's row when it expired it, else the
    // stored row (the SELECT sees the statement's snapshot, hence the NOT EXISTS).
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(std::string("WITH expired AS (UPDATE policy.approvals"
                              " SET state = 'expired', decided_unix_ms = expires_unix_ms"
                              " WHERE id = $1 AND ") +
                      TenantMatch(2) +
                      " AND state = 'pending' AND expires_unix_ms <= $3::bigint RETURNING " +
                      kApprovalColumns + ") SELECT * FROM expired UNION ALL SELECT " +
                      kApprovalColumns + " FROM policy.approvals WHERE id = $1 AND " +
                      TenantMatch(2) + " AND NOT EXISTS (SELECT 1 FROM expired)",
                  {std::string(approval_id), std::string(tenant_id), Int(now_unix_ms)}));
    if (r.rows() == 0) {
      return ApprovalNotFound();
    }
    return ApprovalFromRow(r, 0);
  });
}

absl::StatusOr<std::vector<ApprovalRecord>> PgPolicyStore::ListApprovals(
    std::string_view tenant_id, std::string_view session_id, bool pending_only,
    int64_t now_unix_ms) {
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::vector<ApprovalRecord>> {
        P402_RETURN_IF_ERROR(conn.Exec("UPDATE policy.approvals SET state = 'expired',"
                                       " decided_unix_ms = expires_unix_ms WHERE tenant_id = $1"
                                       " AND state = 'pending' AND expires_unix_ms <= $2",
                                       {std::string(tenant_id), Int(now_unix_ms)})
                                 .status());
        P402_ASSIGN_OR_RETURN(PgResult r,
                              conn.Exec(std::string("SELECT ") + kApprovalColumns +
                                            " FROM policy.approvals WHERE tenant_id = $1"
                                            " AND ($2::text = '' OR session_id = $2::text)"
                                            " AND (NOT $3::boolean OR state = 'pending')"
                                            " ORDER BY created_unix_ms DESC, id DESC LIMIT $4",
                                        {std::string(tenant_id), std::string(session_id),
                                         Bool(pending_only), Int(kMaxApprovalsListed)}));
        std::vector<ApprovalRecord> out;
        out.reserve(r.rows());
        for (int row = 0; row < r.rows(); ++row) {
          P402_ASSIGN_OR_RETURN(ApprovalRecord a, ApprovalFromRow(r, row));
          out.push_back(std::move(a));
        }
        return out;
      });
}

absl::StatusOr<ApprovalRecord> PgPolicyStore::TransitionApproval(std::string_view tenant_id,
                                                                 std::string_view approval_id,
                                                                 ApprovalState to,
                                                                 std::string_view reason,
                                                                 int64_t now_unix_ms) {
  if (to != ApprovalState::kApproved && to != ApprovalState::kDenied &&
      to != ApprovalState::kUsed) {
    return InvalidArgument("an approval can only be approved, denied or used");
  }
  const bool use = to == ApprovalState::kUsed;
  // kUsed keeps the decision (time, reason) on record; approve/deny need pending and unexpired.
  const std::string set_and_where =
      use ? " SET state = 'used' WHERE state = 'approved'"
          : " SET state = $4, decided_unix_ms = $3::bigint, decision_reason = $5"
            " WHERE state = 'pending' AND expires_unix_ms > $3::bigint";
  store::PgParams params = {std::string(approval_id), std::string(tenant_id)};
  if (!use) {  // every $n sent must appear in the statement (its type is inferred from there)
    params.insert(params.end(),
                  {Int(now_unix_ms), std::string(ApprovalStateName(to)), std::string(reason)});
  }
  P402_ASSIGN_OR_RETURN(PgResult r, pool_.WithConnection([&](PgConnection& conn) {
    return conn.Exec(std::string("UPDATE policy.approvals") + set_and_where + " AND id = $1 AND " +
                         TenantMatch(2) + " RETURNING " + kApprovalColumns,
                     params);
  }));
  if (r.rows() == 1) {
    return ApprovalFromRow(r, 0);
  }
  // Refused: absent (NotFound), or in a state that does not allow it (expiry applied).
  P402_RETURN_IF_ERROR(GetApproval(tenant_id, approval_id, now_unix_ms).status());
  if (use) {
    return WithReason(FailedPrecondition("approval is not approved"), "approval_not_approved");
  }
  return WithReason(FailedPrecondition("approval is not pending"), "approval_not_pending");
}

}  // namespace p402::policy
