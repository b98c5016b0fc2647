// PgPolicyStore: tenants, API keys and policies. Reservations are in
// pg_policy_store_reservations.cc, agent sessions and approvals in pg_policy_store_sessions.cc.
#include "services/policy/adapters/pg_policy_store.h"

#include <string>
#include <utility>

#include "google/protobuf/util/json_util.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/store/migrate.h"
#include "libs/store/pg_error.h"
#include "services/policy/adapters/pg_store_rows.h"
#include "services/policy/adapters/policy_migrations.h"

namespace p402::policy {
namespace {

using pg_rows::Bool;
using pg_rows::Int;
using pg_rows::Text;
using store::PgConnection;
using store::PgResult;

constexpr char kTenantColumns[] =
    "id, name, per_request_cap_micro_usd, daily_limit_micro_usd, budget_micro_usd, "
    "requests_per_hour, max_concurrent, spent_micro_usd, reserved_micro_usd, created_unix_ms, "
    "paused, pause_reason, anomaly_zscore_centi, reservation_ttl_ms";
constexpr char kKeyColumns[] =
    "id, tenant_id, name, prefix, key_hash, admin, revoked, created_unix_ms";
constexpr char kPolicyColumns[] =
    "id, tenant_id, name, priority, enabled, created_unix_ms, updated_unix_ms, rule::text AS rule";

absl::Status PolicyNotFound() {
  return WithReason(NotFound("policy not found"), "policy_not_found");
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
  P402_ASSIGN_OR_RETURN(t.paused, r.GetBool(row, "paused"));
  P402_ASSIGN_OR_RETURN(t.pause_reason, Text(r, row, "pause_reason"));
  P402_ASSIGN_OR_RETURN(int64_t zscore, r.GetInt64(row, "anomaly_zscore_centi"));
  t.limits.anomaly_zscore_centi = static_cast<int32_t>(zscore);  // an integer column
  P402_ASSIGN_OR_RETURN(t.limits.reservation_ttl_ms, r.GetInt64(row, "reservation_ttl_ms"));
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

// The rule oneof as proto3 JSON: the policy with its column fields cleared.
absl::StatusOr<std::string> RuleJson(const v1::TenantPolicy& policy) {
  v1::TenantPolicy rule = policy;
  rule.clear_id();
  rule.clear_tenant_id();
  rule.clear_name();
  rule.clear_priority();
  rule.clear_enabled();
  rule.clear_created_unix_ms();
  rule.clear_updated_unix_ms();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(rule, &out, options).ok()) {
    return InvalidArgument("policy rule cannot be serialised");
  }
  return out;
}

absl::StatusOr<v1::TenantPolicy> PolicyFromRow(const PgResult& r, int row) {
  P402_ASSIGN_OR_RETURN(std::string rule, Text(r, row, "rule"));
  v1::TenantPolicy p;
  // Strict parse: a rule this binary does not know (written by a newer one) is an error rather
  // than a silently dropped restriction.
  if (!google::protobuf::util::JsonStringToMessage(rule, &p).ok()) {
    return Internal("policy store: a stored policy rule does not parse");
  }
  P402_ASSIGN_OR_RETURN(*p.mutable_id(), Text(r, row, "id"));
  P402_ASSIGN_OR_RETURN(*p.mutable_tenant_id(), Text(r, row, "tenant_id"));
  P402_ASSIGN_OR_RETURN(*p.mutable_name(), Text(r, row, "name"));
  P402_ASSIGN_OR_RETURN(int64_t priority, r.GetInt64(row, "priority"));
  p.set_priority(static_cast<int32_t>(priority));  // an integer column
  P402_ASSIGN_OR_RETURN(bool enabled, r.GetBool(row, "enabled"));
  p.set_enabled(enabled);
  P402_ASSIGN_OR_RETURN(int64_t created, r.GetInt64(row, "created_unix_ms"));
  p.set_created_unix_ms(created);
  P402_ASSIGN_OR_RETURN(int64_t updated, r.GetInt64(row, "updated_unix_ms"));
  p.set_updated_unix_ms(updated);
  return p;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgPolicyStore>> PgPolicyStore::Open(store::PgPool& pool) {
  P402_RETURN_IF_ERROR(store::Migrate(pool, kPolicyMigrationService, PolicyMigrations()).status());
  return std::make_unique<PgPolicyStore>(pool);
}

absl::Status PgPolicyStore::CreateTenant(const TenantRecord& t) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(
            std::string("INSERT INTO policy.tenants (") + kTenantColumns +
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            {t.id, t.name, Int(t.limits.per_request_cap_micro_usd),
             Int(t.limits.daily_limit_micro_usd), Int(t.limits.budget_micro_usd),
             Int(t.limits.requests_per_hour), Int(t.limits.max_concurrent), Int(t.spent_micro_usd),
             Int(t.reserved_micro_usd), Int(t.created_unix_ms), Bool(t.paused), t.pause_reason,
             Int(t.limits.anomaly_zscore_centi), Int(t.limits.reservation_ttl_ms)})
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

absl::StatusOr<TenantRecord> PgPolicyStore::UpdateTenant(std::string_view tenant_id,
                                                         std::string_view name,
                                                         const TenantLimits& l) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<TenantRecord> {
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(std::string("UPDATE policy.tenants SET name = $2,"
                              " per_request_cap_micro_usd = $3, daily_limit_micro_usd = $4,"
                              " budget_micro_usd = $5, requests_per_hour = $6,"
                              " max_concurrent = $7, anomaly_zscore_centi = $8,"
                              " reservation_ttl_ms = $9 WHERE id = $1 RETURNING ") +
                      kTenantColumns,
                  {std::string(tenant_id), std::string(name), Int(l.per_request_cap_micro_usd),
                   Int(l.daily_limit_micro_usd), Int(l.budget_micro_usd), Int(l.requests_per_hour),
                   Int(l.max_concurrent), Int(l.anomaly_zscore_centi), Int(l.reservation_ttl_ms)}));
    if (r.rows() == 0) {
      return NotFound("tenant not found");
    }
    return TenantFromRow(r, 0);
  });
}

absl::StatusOr<TenantRecord> PgPolicyStore::SetTenantPaused(std::string_view tenant_id, bool paused,
                                                            std::string_view reason) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<TenantRecord> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec(std::string("UPDATE policy.tenants SET paused = $2,"
                                                " pause_reason = $3 WHERE id = $1 RETURNING ") +
                                        kTenantColumns,
                                    {std::string(tenant_id), Bool(paused),
                                     paused ? std::string(reason) : std::string()}));
    if (r.rows() == 0) {
      return NotFound("tenant not found");
    }
    return TenantFromRow(r, 0);
  });
}

// --- policies ---

absl::Status PgPolicyStore::CreatePolicy(const v1::TenantPolicy& p) {
  P402_ASSIGN_OR_RETURN(std::string rule, RuleJson(p));
  absl::Status s = pool_.WithConnection([&](PgConnection& conn) -> absl::Status {
    return conn
        .Exec(
            "INSERT INTO policy.policies (id, tenant_id, name, priority, enabled,"
            " created_unix_ms, updated_unix_ms, rule) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            {p.id(), p.tenant_id(), p.name(), Int(p.priority()), Bool(p.enabled()),
             Int(p.created_unix_ms()), Int(p.updated_unix_ms()), rule})
        .status();
  });
  return pg_rows::TenantMissingAsNotFound(std::move(s));
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::GetPolicy(std::string_view tenant_id,
                                                          std::string_view policy_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<v1::TenantPolicy> {
    P402_ASSIGN_OR_RETURN(PgResult r,
                          conn.Exec(std::string("SELECT ") + kPolicyColumns +
                                        " FROM policy.policies WHERE id = $1 AND tenant_id = $2",
                                    {std::string(policy_id), std::string(tenant_id)}));
    if (r.rows() == 0) {
      return PolicyNotFound();
    }
    return PolicyFromRow(r, 0);
  });
}

absl::StatusOr<std::vector<v1::TenantPolicy>> PgPolicyStore::ListPolicies(
    std::string_view tenant_id) {
  return pool_.WithConnection(
      [&](PgConnection& conn) -> absl::StatusOr<std::vector<v1::TenantPolicy>> {
        P402_ASSIGN_OR_RETURN(PgResult r,
                              conn.Exec(std::string("SELECT ") + kPolicyColumns +
                                            " FROM policy.policies WHERE tenant_id = $1"
                                            " ORDER BY priority DESC, created_unix_ms, id",
                                        {std::string(tenant_id)}));
        std::vector<v1::TenantPolicy> out;
        out.reserve(r.rows());
        for (int row = 0; row < r.rows(); ++row) {
          P402_ASSIGN_OR_RETURN(v1::TenantPolicy p, PolicyFromRow(r, row));
          out.push_back(std::move(p));
        }
        return out;
      });
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::UpdatePolicy(const v1::TenantPolicy& p) {
  P402_ASSIGN_OR_RETURN(std::string rule, RuleJson(p));
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<v1::TenantPolicy> {
    P402_ASSIGN_OR_RETURN(
        PgResult r, conn.Exec(std::string("UPDATE policy.policies SET name = $3, priority = $4,"
                                          " enabled = $5, updated_unix_ms = $6, rule = $7"
                                          " WHERE id = $1 AND tenant_id = $2 RETURNING ") +
                                  kPolicyColumns,
                              {p.id(), p.tenant_id(), p.name(), Int(p.priority()),
                               Bool(p.enabled()), Int(p.updated_unix_ms()), rule}));
    if (r.rows() == 0) {
      return PolicyNotFound();
    }
    return PolicyFromRow(r, 0);
  });
}

absl::StatusOr<v1::TenantPolicy> PgPolicyStore::DeletePolicy(std::string_view tenant_id,
                                                             std::string_view policy_id) {
  return pool_.WithConnection([&](PgConnection& conn) -> absl::StatusOr<v1::TenantPolicy> {
    P402_ASSIGN_OR_RETURN(
        PgResult r,
        conn.Exec(std::string("DELETE FROM policy.policies WHERE id = $1 AND tenant_id = $2"
                              " RETURNING ") +
                      kPolicyColumns,
                  {std::string(policy_id), std::string(tenant_id)}));
    if (r.rows() == 0) {
      return PolicyNotFound();
    }
    return PolicyFromRow(r, 0);
  });
}

}  // namespace p402::policy
