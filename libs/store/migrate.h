// File: libs/store/migrate.h
// Schema migrations for a service: an ordered list of embedded SQL scripts, applied once each and
// recorded in the shared table
//   schema_migrations(service, version, name, checksum, applied_at), primary key (service, version)
// Each migration runs in its own transaction together with its record, under a transaction-level
// advisory lock keyed by the service name, so two processes migrating at once apply every version
// exactly once (the second waits, then sees it applied). Safe to call at every start.
//
// Blocking; call from startup code or a worker thread. Thread-safe (all state is in the database).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/store/pg_pool.h"

namespace p402::store {

struct Migration {
  int64_t version = 0;  // > 0, strictly increasing within a list
  std::string name;     // e.g. "init"; recorded for humans
  // One or more statements. No transaction control (BEGIN/COMMIT) and nothing that cannot run
  // inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM).
  std::string sql;
};

struct MigrateResult {
  int applied = 0;             // migrations this call applied
  int64_t latest_version = 0;  // highest version of the list now recorded
};

// Applies the migrations of `service` that are not yet recorded, in version order.
//   InvalidArgument      empty/oversized service name, versions not > 0 and strictly increasing,
//                        an empty name or SQL
//   FailedPrecondition   a recorded migration's SQL differs from the one given (checksum mismatch:
//                        applied migrations must never be edited; add a new version instead)
//   other codes          from the failing migration's SQL (pg_error.h); earlier migrations stay
//                        applied, the failing one and later ones are not.
// Versions recorded in the database but absent from the list (written by a newer release) are
// left alone, with a warning in the log, so an older replica can still start during a rollout.
absl::StatusOr<MigrateResult> Migrate(PgPool& pool, std::string_view service,
                                      const std::vector<Migration>& migrations);

}  // namespace p402::store
