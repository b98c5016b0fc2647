#include "libs/store/migrate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::store {
namespace {

// Advisory lock keys: class 'P402' (0x50343032) and, per service, a stable hash of its name.
// Key 0 guards creating the table itself, which CREATE TABLE IF NOT EXISTS alone does not make safe
// against a concurrent creator.
constexpr int32_t kLockClass = 0x50343032;
constexpr int32_t kBootstrapKey = 0;

// FNV-1a: stable across processes, releases and PostgreSQL versions (unlike hashtext()).
int32_t ServiceLockKey(std::string_view service) {
  uint32_t h = 2166136261u;
  for (unsigned char c : service) {
    h ^= c;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

constexpr char kCreateTable[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  service    text        NOT NULL,
  version    bigint      NOT NULL,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, version)
))sql";

absl::Status Validate(std::string_view service, const std::vector<Migration>& migrations) {
  if (service.empty() || service.size() > 200) {
    return InvalidArgument("migration service name must be 1..200 characters");
  }
  int64_t previous = 0;
  for (const Migration& m : migrations) {
    if (m.version <= previous) {
      return InvalidArgument(
          absl::StrCat("migration versions must be > 0 and strictly "
                       "increasing; version ",
                       m.version, " follows ", previous));
    }
    if (m.name.empty() || m.sql.empty()) {
      return InvalidArgument(
          absl::StrCat("migration ", m.version, " needs a non-empty name and SQL"));
    }
    previous = m.version;
  }
  return absl::OkStatus();
}

absl::Status Lock(PgConnection& conn, int32_t key) {
  return conn
      .Exec("SELECT pg_advisory_xact_lock($1::int4, $2::int4)",
            {std::to_string(kLockClass), std::to_string(key)})
      .status();
}

// Applies `m` unless recorded; true when this call applied it. Runs inside a transaction.
absl::StatusOr<bool> ApplyOne(PgConnection& conn, std::string_view service, const Migration& m) {
  P402_RETURN_IF_ERROR(Lock(conn, ServiceLockKey(service)));
  const std::string svc(service);
  P402_ASSIGN_OR_RETURN(PgResult recorded,
                        conn.Exec("SELECT checksum = md5($3), name FROM schema_migrations "
                                  "WHERE service = $1 AND version = $2",
                                  {svc, std::to_string(m.version), m.sql}));
  if (recorded.rows() > 0) {
    P402_ASSIGN_OR_RETURN(bool same, recorded.GetBool(0, 0));
    if (!same) {
      return FailedPrecondition(absl::StrCat(
          "migration ", ToAbsl(service), " v", m.version, " (",
          ToAbsl(recorded.Get(0, 1).value_or("")),
          ") was applied with different SQL (checksum mismatch): never edit an applied "
          "migration; add a new version"));
    }
    return false;
  }
  absl::Status applied = conn.ExecScript(m.sql);
  if (!applied.ok()) {
    return absl::Status(applied.code(),
                        absl::StrCat("migration ", ToAbsl(service), " v", m.version, " (", m.name,
                                     ") failed: ", applied.message()));
  }
  P402_RETURN_IF_ERROR(conn.Exec("INSERT INTO schema_migrations (service, version, name, checksum) "
                                 "VALUES ($1, $2, $3, md5($4))",
                                 {svc, std::to_string(m.version), m.name, m.sql})
                           .status());
  return true;
}

}  // namespace

absl::StatusOr<MigrateResult> Migrate(PgPool& pool, std::string_view service,
                                      const std::vector<Migration>& migrations) {
  P402_RETURN_IF_ERROR(Validate(service, migrations));
  P402_RETURN_IF_ERROR(pool.InTransaction([](PgConnection& conn) -> absl::Status {
    P402_RETURN_IF_ERROR(Lock(conn, kBootstrapKey));
    return conn.ExecScript(kCreateTable);
  }));

  MigrateResult result;
  for (const Migration& m : migrations) {
    // READ COMMITTED matters: the check after the lock must see what a concurrent migrator
    // committed while we waited; a REPEATABLE READ snapshot would predate the wait.
    P402_ASSIGN_OR_RETURN(bool applied,
                          pool.InTransaction([&](PgConnection& conn) -> absl::StatusOr<bool> {
                            return ApplyOne(conn, service, m);
                          }));
    if (applied) {
      ++result.applied;
      P402_LOG(kInfo, "applied migration")
          .Field("service", service)
          .Field("version", m.version)
          .Field("name", m.name);
    }
    result.latest_version = m.version;
  }

  const std::string svc(service);
  P402_ASSIGN_OR_RETURN(PgResult newer,
                        pool.WithConnection([&](PgConnection& conn) -> absl::StatusOr<PgResult> {
                          return conn.Exec(
                              "SELECT count(*) FROM schema_migrations WHERE service = $1 AND "
                              "version > $2",
                              {svc, std::to_string(result.latest_version)});
                        }));
  P402_ASSIGN_OR_RETURN(int64_t unknown, newer.GetInt64(0, 0));
  if (unknown > 0) {
    P402_LOG(kWarn, "database has migrations newer than this binary")
        .Field("service", service)
        .Field("count", unknown)
        .Field("binary_latest_version", result.latest_version);
  }
  return result;
}

}  // namespace p402::store
