#include "libs/store/pg_pool.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "tests/libs/store/store_test_util.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::store {
namespace {

using p402::store::testing::ClosedLoopbackPort;
using p402::store::testing::MakeTestPool;
using p402::store::testing::TestPoolOptions;
using p402::store::testing::UniqueName;
using p402::store::testing::WaitFor;
using p402::testing::IsOk;
using p402::testing::StatusIs;

int64_t CountRows(PgPool& pool, const std::string& table) {
  absl::StatusOr<int64_t> n = pool.WithConnection([&](PgConnection& c) -> absl::StatusOr<int64_t> {
    P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT count(*) FROM " + table));
    return r.GetInt64(0, 0);
  });
  REQUIRE_THAT(n.status(), IsOk());
  return *n;
}

void Script(PgPool& pool, const std::string& sql) {
  REQUIRE_THAT(pool.WithConnection([&](PgConnection& c) { return c.ExecScript(sql); }), IsOk());
}

TEST_CASE("Create validates options and reports an unreachable server", "[service][store]") {
  PgPoolOptions options = TestPoolOptions();
  options.min_size = 3;
  options.max_size = 2;
  CHECK_THAT(PgPool::Create(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options = TestPoolOptions();
  options.acquire_timeout = std::chrono::milliseconds(0);
  CHECK_THAT(PgPool::Create(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options = TestPoolOptions();
  options.dsn = "host=localhost bogus=1";
  CHECK_THAT(PgPool::Create(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options = TestPoolOptions();
  options.dsn = "postgresql://postgres@127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/x";
  options.min_size = 1;
  CHECK_THAT(PgPool::Create(options).status(), StatusIs(absl::StatusCode::kUnavailable));
  options.min_size = 0;  // lazy: creation succeeds, the first use fails fast
  auto lazy = PgPool::Create(options);
  REQUIRE_THAT(lazy.status(), IsOk());
  CHECK_THAT((*lazy)->Acquire().status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK((*lazy)->stats().open == 0);
}

TEST_CASE("WithConnection returns the callback's value or status", "[service][store]") {
  auto pool = MakeTestPool(2);
  absl::StatusOr<int64_t> v = pool->WithConnection([](PgConnection& c) -> absl::StatusOr<int64_t> {
    P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT $1::bigint * 2", {"21"}));
    return r.GetInt64(0, 0);
  });
  REQUIRE_THAT(v.status(), IsOk());
  CHECK(*v == 42);
  absl::Status s = pool->WithConnection([](PgConnection& c) { return c.Exec("SELEC").status(); });
  CHECK_THAT(s, StatusIs(absl::StatusCode::kInternal, "42601"));
  CHECK(pool->stats().in_use == 0);
}

TEST_CASE("the pool never opens more than max_size connections", "[service][store]") {
  PgPoolOptions options = TestPoolOptions(2);
  options.connect.application_name = UniqueName("bound");
  auto created = PgPool::Create(options);
  REQUIRE_THAT(created.status(), IsOk());
  PgPool& pool = **created;
  std::atomic<int64_t> max_seen{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 15; ++i) {
        absl::StatusOr<int64_t> n =
            pool.WithConnection([&](PgConnection& c) -> absl::StatusOr<int64_t> {
              P402_ASSIGN_OR_RETURN(
                  PgResult r,
                  c.Exec("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                         {options.connect.application_name}));
              return r.GetInt64(0, 0);
            });
        if (!n.ok()) {
          failures.fetch_add(1);
          continue;
        }
        int64_t seen = max_seen.load();
        while (*n > seen && !max_seen.compare_exchange_weak(seen, *n)) {
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(failures.load() == 0);
  CHECK(max_seen.load() >= 1);
  CHECK(max_seen.load() <= 2);
  PgPool::Stats stats = pool.stats();
  CHECK(stats.open <= 2);
  CHECK(stats.in_use == 0);
}

TEST_CASE("Acquire times out with Unavailable when every connection is busy", "[service][store]") {
  PgPoolOptions options = TestPoolOptions(2);
  options.acquire_timeout = std::chrono::milliseconds(200);
  auto pool = PgPool::Create(options);
  REQUIRE_THAT(pool.status(), IsOk());
  auto a = (*pool)->Acquire();
  auto b = (*pool)->Acquire();
  REQUIRE_THAT(a.status(), IsOk());
  REQUIRE_THAT(b.status(), IsOk());
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<PgPool::Lease> c = (*pool)->Acquire();
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK_THAT(c.status(), StatusIs(absl::StatusCode::kUnavailable, "pool exhausted"));
  CHECK(ReasonOf(c.status()) == std::string("pg_pool_exhausted"));
  CHECK(waited >= std::chrono::milliseconds(190));
  CHECK(waited < std::chrono::seconds(2));
  PgPool::Stats stats = (*pool)->stats();
  CHECK(stats.open == 2);
  CHECK(stats.in_use == 2);
  CHECK(stats.acquire_timeouts == 1);
  // Returning one lease makes room again.
  { PgPool::Lease released = *std::move(a); }
  CHECK_THAT((*pool)->Acquire().status(), IsOk());
}

TEST_CASE("a waiting Acquire gets the connection as soon as it is returned", "[service][store]") {
  PgPoolOptions options = TestPoolOptions(1);
  options.acquire_timeout = std::chrono::milliseconds(10000);
  auto pool = PgPool::Create(options);
  REQUIRE_THAT(pool.status(), IsOk());
  std::optional<PgPool::Lease> held(*(*pool)->Acquire());
  std::atomic<bool> done{false};
  absl::Status waiter_status;
  std::thread waiter([&] {
    waiter_status =
        (*pool)->WithConnection([](PgConnection& c) { return c.Exec("SELECT 1").status(); });
    done = true;
  });
  REQUIRE(WaitFor([&] { return (*pool)->stats().waiting == 1; }));
  CHECK_FALSE(done.load());
  const auto released_at = std::chrono::steady_clock::now();
  held.reset();
  REQUIRE(WaitFor([&] { return done.load(); }));
  waiter.join();
  CHECK_THAT(waiter_status, IsOk());
  CHECK(std::chrono::steady_clock::now() - released_at < std::chrono::seconds(5));
  CHECK((*pool)->stats().open == 1);
}

TEST_CASE("a connection killed while idle is replaced on the next Acquire", "[service][store]") {
  auto pool = MakeTestPool(1);
  int old_pid = 0;
  {
    auto lease = pool->Acquire();
    REQUIRE_THAT(lease.status(), IsOk());
    old_pid = (*lease)->backend_pid();
  }
  auto killer = PgConnection::Connect(p402::testing::RequirePostgresDsn());
  REQUIRE_THAT(killer.status(), IsOk());
  REQUIRE_THAT(
      (*killer)->Exec("SELECT pg_terminate_backend($1)", {std::to_string(old_pid)}).status(),
      IsOk());
  REQUIRE(WaitFor([&] {
    auto r = (*killer)->Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                             {std::to_string(old_pid)});
    return r.ok() && *r->GetInt64(0, 0) == 0;
  }));
  absl::StatusOr<int64_t> pid =
      pool->WithConnection([](PgConnection& c) -> absl::StatusOr<int64_t> {
        P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT pg_backend_pid()"));
        return r.GetInt64(0, 0);
      });
  REQUIRE_THAT(pid.status(), IsOk());
  CHECK(*pid != old_pid);
  CHECK(pool->stats().discarded == 1);
  CHECK(pool->stats().open == 1);
}

TEST_CASE("a lease returned inside a transaction is rolled back", "[service][store]") {
  auto pool = MakeTestPool(1);
  const std::string table = UniqueName("pool_tx");
  Script(*pool, "CREATE TABLE " + table + " (id int)");
  {
    auto lease = pool->Acquire();
    REQUIRE_THAT(lease.status(), IsOk());
    REQUIRE_THAT((*lease)->Exec("BEGIN").status(), IsOk());
    REQUIRE_THAT((*lease)->Exec("INSERT INTO " + table + " VALUES (1)").status(), IsOk());
  }  // returned without COMMIT
  {
    auto lease = pool->Acquire();
    REQUIRE_THAT(lease.status(), IsOk());
    CHECK((*lease)->tx_state() == PgConnection::TxState::kIdle);
  }
  CHECK(CountRows(*pool, table) == 0);
  Script(*pool, "DROP TABLE " + table);
}

TEST_CASE("InTransaction commits on OK and rolls back on error", "[service][store]") {
  auto pool = MakeTestPool(2);
  const std::string table = UniqueName("pool_commit");
  Script(*pool, "CREATE TABLE " + table + " (id int PRIMARY KEY)");
  absl::StatusOr<std::string> ok =
      pool->InTransaction([&](PgConnection& c) -> absl::StatusOr<std::string> {
        P402_RETURN_IF_ERROR(c.Exec("INSERT INTO " + table + " VALUES (1)").status());
        return std::string("inserted");
      });
  REQUIRE_THAT(ok.status(), IsOk());
  CHECK(*ok == "inserted");
  absl::Status failed = pool->InTransaction([&](PgConnection& c) -> absl::Status {
    P402_RETURN_IF_ERROR(c.Exec("INSERT INTO " + table + " VALUES (2)").status());
    return c.Exec("INSERT INTO " + table + " VALUES (1)").status();  // duplicate
  });
  CHECK_THAT(failed, StatusIs(absl::StatusCode::kAlreadyExists));
  absl::Status business = pool->InTransaction([&](PgConnection& c) -> absl::Status {
    P402_RETURN_IF_ERROR(c.Exec("INSERT INTO " + table + " VALUES (3)").status());
    return FailedPrecondition("budget exhausted");
  });
  CHECK_THAT(business, StatusIs(absl::StatusCode::kFailedPrecondition, "budget exhausted"));
  CHECK(CountRows(*pool, table) == 1);  // only the committed row 1
  Script(*pool, "DROP TABLE " + table);
}

// Two SERIALIZABLE transactions read the same counter, then both increment it. The second writer
// fails with 40001; InTransaction must rerun it on a fresh snapshot so no increment is lost.
struct CounterRace {
  explicit CounterRace(int max_attempts) : pool(MakeTestPool(4)), table(UniqueName("pool_ser")) {
    Script(*pool, "CREATE TABLE " + table +
                      " (id int PRIMARY KEY, n bigint NOT NULL);"
                      "INSERT INTO " +
                      table + " VALUES (1, 0)");
    options.isolation = IsolationLevel::kSerializable;
    options.max_attempts = max_attempts;
  }
  ~CounterRace() {
    (void)pool->WithConnection(
        [&](PgConnection& c) { return c.ExecScript("DROP TABLE " + table); });
  }

  absl::Status Increment() {
    return pool->InTransaction(options, [&](PgConnection& c) -> absl::Status {
      const int run = runs.fetch_add(1);
      P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT n FROM " + table + " WHERE id = 1"));
      P402_ASSIGN_OR_RETURN(int64_t n, r.GetInt64(0, 0));
      if (run < 2) {
        // First runs only: both transactions hold their snapshot before either writes.
        read.fetch_add(1);
        if (!WaitFor([&] { return read.load() >= 2; })) {
          return absl::DeadlineExceededError("the other transaction never read");
        }
      }
      return c.Exec("UPDATE " + table + " SET n = $1 WHERE id = 1", {std::to_string(n + 1)})
          .status();
    });
  }

  int64_t Value() {
    absl::StatusOr<int64_t> v =
        pool->WithConnection([&](PgConnection& c) -> absl::StatusOr<int64_t> {
          P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT n FROM " + table + " WHERE id = 1"));
          return r.GetInt64(0, 0);
        });
    REQUIRE_THAT(v.status(), IsOk());
    return *v;
  }

  std::unique_ptr<PgPool> pool;
  std::string table;
  TxOptions options;
  std::atomic<int> runs{0};
  std::atomic<int> read{0};
};

TEST_CASE("InTransaction retries a serialization failure", "[service][store]") {
  CounterRace race(/*max_attempts=*/5);
  absl::Status s1, s2;
  std::thread t1([&] { s1 = race.Increment(); });
  std::thread t2([&] { s2 = race.Increment(); });
  t1.join();
  t2.join();
  CHECK_THAT(s1, IsOk());
  CHECK_THAT(s2, IsOk());
  CHECK(race.Value() == 2);
  CHECK(race.runs.load() == 3);  // exactly one rerun
}

TEST_CASE("without retries the serialization failure surfaces as Aborted", "[service][store]") {
  CounterRace race(/*max_attempts=*/1);
  absl::Status s1, s2;
  std::thread t1([&] { s1 = race.Increment(); });
  std::thread t2([&] { s2 = race.Increment(); });
  t1.join();
  t2.join();
  CHECK(s1.ok() != s2.ok());
  const absl::Status& failed = s1.ok() ? s2 : s1;
  CHECK_THAT(failed, StatusIs(absl::StatusCode::kAborted, "SQLSTATE 40001"));
  CHECK(race.Value() == 1);
  CHECK(race.runs.load() == 2);
}

}  // namespace
}  // namespace p402::store
