#include "libs/store/migrate.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_macros.h"
#include "tests/libs/store/store_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::store {
namespace {

using p402::store::testing::MakeTestPool;
using p402::store::testing::UniqueName;
using p402::store::testing::WaitFor;
using p402::testing::IsOk;
using p402::testing::StatusIs;

int64_t QueryInt(PgPool& pool, const std::string& sql, const PgParams& params = {}) {
  absl::StatusOr<int64_t> n = pool.WithConnection([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    P402_ASSIGN_OR_RETURN(PgResult r, c.Exec(sql, params));
    return r.GetInt64(0, 0);
  });
  REQUIRE_THAT(n.status(), IsOk());
  return *n;
}

int64_t RecordedVersions(PgPool& pool, const std::string& service) {
  return QueryInt(pool, "SELECT count(*) FROM schema_migrations WHERE service = $1", {service});
}

// Migrations that fail if run twice: CREATE TABLE without IF NOT EXISTS, and an INSERT whose
// duplicate would show in the row count.
std::vector<Migration> Plan(const std::string& table, const std::string& extra_v1_sql = "") {
  return {
      {1, "create",
       "CREATE TABLE " + table + " (id bigint PRIMARY KEY, note text);" + extra_v1_sql},
      {2, "seed", "INSERT INTO " + table + " (id, note) VALUES (1, 'seed')"},
      {3, "add column", "ALTER TABLE " + table + " ADD COLUMN amount bigint NOT NULL DEFAULT 0"},
  };
}

void Cleanup(PgPool& pool, const std::string& service, const std::string& table) {
  (void)pool.WithConnection([&](PgConnection& c) {
    (void)c.Exec("DELETE FROM schema_migrations WHERE service = $1", {service});
    return c.ExecScript("DROP TABLE IF EXISTS " + table);
  });
}

TEST_CASE("Migrate applies in order, records versions and is idempotent", "[service][store]") {
  auto pool = MakeTestPool(2);
  const std::string service = UniqueName("svc");
  const std::string table = UniqueName("mig");
  absl::StatusOr<MigrateResult> first = Migrate(*pool, service, Plan(table));
  REQUIRE_THAT(first.status(), IsOk());
  CHECK(first->applied == 3);
  CHECK(first->latest_version == 3);
  absl::StatusOr<MigrateResult> second = Migrate(*pool, service, Plan(table));
  REQUIRE_THAT(second.status(), IsOk());
  CHECK(second->applied == 0);
  CHECK(second->latest_version == 3);
  CHECK(RecordedVersions(*pool, service) == 3);
  CHECK(QueryInt(*pool, "SELECT count(*) FROM " + table) == 1);
  CHECK(QueryInt(*pool, "SELECT sum(amount) FROM " + table) == 0);  // v3 ran after v2
  CHECK(QueryInt(*pool,
                 "SELECT count(*) FROM schema_migrations WHERE service = $1 AND version = 3 "
                 "AND name = 'add column' AND applied_at <= now()",
                 {service}) == 1);
  // A later release adds v4 only.
  std::vector<Migration> next = Plan(table);
  next.push_back({4, "index", "CREATE INDEX ON " + table + " (note)"});
  absl::StatusOr<MigrateResult> third = Migrate(*pool, service, next);
  REQUIRE_THAT(third.status(), IsOk());
  CHECK(third->applied == 1);
  // An older binary that knows only v1..v3 still starts.
  absl::StatusOr<MigrateResult> older = Migrate(*pool, service, Plan(table));
  REQUIRE_THAT(older.status(), IsOk());
  CHECK(older->applied == 0);
  Cleanup(*pool, service, table);
}

TEST_CASE("two processes migrating at once apply each version exactly once", "[service][store]") {
  for (int round = 0; round < 3; ++round) {
    const std::string service = UniqueName("svc_race");
    const std::string table = UniqueName("mig_race");
    // Separate pools stand for separate processes. v1 sleeps so the other migrator certainly
    // arrives while it holds the lock.
    auto pool_a = MakeTestPool(2);
    auto pool_b = MakeTestPool(2);
    const std::vector<Migration> plan = Plan(table, "SELECT pg_sleep(0.2);");
    std::atomic<int> ready{0};
    absl::StatusOr<MigrateResult> a = absl::UnknownError("not run");
    absl::StatusOr<MigrateResult> b = absl::UnknownError("not run");
    auto run = [&](PgPool& pool, absl::StatusOr<MigrateResult>& out) {
      ready.fetch_add(1);
      WaitFor([&] { return ready.load() == 2; });
      out = Migrate(pool, service, plan);
    };
    std::thread ta([&] { run(*pool_a, a); });
    std::thread tb([&] { run(*pool_b, b); });
    ta.join();
    tb.join();
    REQUIRE_THAT(a.status(), IsOk());
    REQUIRE_THAT(b.status(), IsOk());
    CHECK(a->applied + b->applied == 3);
    CHECK(RecordedVersions(*pool_a, service) == 3);
    CHECK(QueryInt(*pool_a, "SELECT count(*) FROM " + table) == 1);
    Cleanup(*pool_a, service, table);
  }
}

TEST_CASE("editing an applied migration is FailedPrecondition", "[service][store]") {
  auto pool = MakeTestPool(2);
  const std::string service = UniqueName("svc_sum");
  const std::string table = UniqueName("mig_sum");
  std::vector<Migration> plan = Plan(table);
  plan.resize(1);
  REQUIRE_THAT(Migrate(*pool, service, plan).status(), IsOk());
  std::vector<Migration> edited = Plan(table);
  edited[0].sql += " -- edited";
  absl::StatusOr<MigrateResult> r = Migrate(*pool, service, edited);
  CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "checksum mismatch"));
  CHECK(RecordedVersions(*pool, service) == 1);  // v2 and v3 were not applied after the mismatch
  Cleanup(*pool, service, table);
}

TEST_CASE("a failing migration rolls back alone and can be fixed", "[service][store]") {
  auto pool = MakeTestPool(2);
  const std::string service = UniqueName("svc_fail");
  const std::string table = UniqueName("mig_fail");
  std::vector<Migration> plan = Plan(table);
  plan[1].sql = "INSERT INTO " + table + " (id, note) VALUES (1, 'seed'); SELEC broken";
  absl::StatusOr<MigrateResult> r = Migrate(*pool, service, plan);
  CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kInternal, "v2 (seed) failed"));
  CHECK(RecordedVersions(*pool, service) == 1);
  CHECK(QueryInt(*pool, "SELECT count(*) FROM " + table) == 0);  // the INSERT rolled back too
  absl::StatusOr<MigrateResult> fixed = Migrate(*pool, service, Plan(table));
  REQUIRE_THAT(fixed.status(), IsOk());
  CHECK(fixed->applied == 2);
  Cleanup(*pool, service, table);
}

TEST_CASE("Migrate validates its input before touching the database", "[service][store]") {
  auto pool = MakeTestPool(1);
  CHECK_THAT(Migrate(*pool, "", {}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(Migrate(*pool, "svc", {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "strictly increasing"));
  CHECK_THAT(Migrate(*pool, "svc", {{0, "a", "SELECT 1"}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(Migrate(*pool, "svc", {{1, "", "SELECT 1"}}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "non-empty"));
  CHECK(pool->stats().connects == 0);
}

}  // namespace
}  // namespace p402::store
