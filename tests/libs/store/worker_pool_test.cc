#include "libs/store/worker_pool.h"

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "catch2/catch.hpp"
#include "libs/common/status_macros.h"
#include "libs/store/pg_pool.h"
#include "tests/libs/store/store_test_util.h"
#include "tests/support/catch_status.h"

namespace p402::store {
namespace {

using p402::store::testing::MakeTestPool;
using p402::store::testing::WaitFor;
using p402::testing::IsOk;
using p402::testing::StatusIs;

std::unique_ptr<WorkerPool> MakeWorkers(int threads, size_t max_queue) {
  auto pool = WorkerPool::Create({.name = "test", .threads = threads, .max_queue = max_queue});
  REQUIRE_THAT(pool.status(), IsOk());
  return *std::move(pool);
}

TEST_CASE("WorkerPool rejects invalid options", "[service][store]") {
  CHECK_THAT(WorkerPool::Create({.threads = 0}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(WorkerPool::Create({.threads = 1, .max_queue = 0}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("WorkerPool runs every task on its worker threads", "[service][store]") {
  auto workers = MakeWorkers(3, 100);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    REQUIRE(workers->Submit([&] {
      {
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      }
      ran.fetch_add(1);
    }));
  }
  REQUIRE(WaitFor([&] { return workers->stats().completed == 50; }));
  CHECK(ran.load() == 50);
  std::lock_guard<std::mutex> lock(mu);
  CHECK(ids.count(std::this_thread::get_id()) == 0);
  CHECK(ids.size() <= 3);
}

TEST_CASE("WorkerPool refuses work when the queue is full, then drains on Shutdown",
          "[service][store]") {
  auto workers = MakeWorkers(1, 2);
  absl::Notification started, release;
  std::atomic<int> ran{0};
  REQUIRE(workers->Submit([&] {
    started.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
    ran.fetch_add(1);
  }));
  REQUIRE(started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(workers->Submit([&] { ran.fetch_add(1); }));
  CHECK(workers->Submit([&] { ran.fetch_add(1); }));
  bool rejected_ran = false;
  CHECK_FALSE(workers->Submit([&] { rejected_ran = true; }));  // caller sheds with 503
  WorkerPool::Stats stats = workers->stats();
  CHECK(stats.queued == 2);
  CHECK(stats.busy == 1);
  CHECK(stats.rejected == 1);
  release.Notify();
  workers->Shutdown();  // runs the two queued tasks before returning
  CHECK(ran.load() == 3);
  CHECK_FALSE(rejected_ran);
  CHECK(workers->stats().completed == 3);
  CHECK_FALSE(workers->Submit([] {}));
  workers->Shutdown();  // idempotent
}

TEST_CASE("a throwing task does not kill its worker", "[service][store]") {
  auto workers = MakeWorkers(1, 10);
  std::atomic<bool> after{false};
  REQUIRE(workers->Submit([] { throw std::runtime_error("task failure"); }));
  REQUIRE(workers->Submit([&] { after = true; }));
  REQUIRE(WaitFor([&] { return after.load(); }));
  CHECK(workers->stats().completed == 2);
}

TEST_CASE("blocking database work runs on a worker and reports through its callback",
          "[service][store]") {
  auto db = MakeTestPool(2);
  auto workers = MakeWorkers(2, 16);
  absl::Notification done;
  absl::StatusOr<int64_t> answer = absl::UnknownError("not run");
  std::thread::id ran_on;
  // What an async handler does: hand the query to a worker, get the reply in a callback.
  auto on_done = [&](absl::StatusOr<int64_t> result) {
    ran_on = std::this_thread::get_id();
    answer = std::move(result);
    done.Notify();
  };
  REQUIRE(workers->Submit([&db, on_done] {
    on_done(db->WithConnection([](PgConnection& c) -> absl::StatusOr<int64_t> {
      P402_ASSIGN_OR_RETURN(PgResult r, c.Exec("SELECT 6 * 7"));
      return r.GetInt64(0, 0);
    }));
  }));
  REQUIRE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  REQUIRE_THAT(answer.status(), IsOk());
  CHECK(*answer == 42);
  CHECK(ran_on != std::this_thread::get_id());
  workers->Shutdown();
}

}  // namespace
}  // namespace p402::store
