// InMemoryCounterStore: the shared CounterStore contract, plus what only the memory store can show
// deterministically: TTL expiry on a FakeClock, the periodic sweep and thread-safety.
#include "services/policy/adapters/memory_counter_store.h"

#include <atomic>
#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/services/policy/adapters/counter_store_contract.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using testing::FakeClock;
using namespace std::chrono_literals;

TEST_CASE("InMemoryCounterStore meets the CounterStore contract", "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  testing::RunCounterStoreContract(store, "mem:", clock.NowMillis());
}

TEST_CASE("InMemoryCounterStore expires a counter ttl_ms after it was created",
          "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  REQUIRE(*store.Add("c", 5, 1000) == 5);
  clock.Advance(600ms);
  // Later adds do not extend the expiry set at creation (a window's counter dies on schedule).
  REQUIRE(store.AddIfWithin("c", 1, 100, 1000)->value == 6);
  clock.Advance(399ms);
  CHECK(*store.Get("c") == 6);
  clock.Advance(1ms);
  CHECK(*store.Get("c") == 0);
  // A new counter under the same key starts from 0 with a new expiry.
  CHECK(store.AddIfWithin("c", 3, 10, 1000)->value == 3);
  clock.Advance(999ms);
  CHECK(*store.Get("c") == 3);
}

TEST_CASE("InMemoryCounterStore expires a sample series ttl_ms after its last sample",
          "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  REQUIRE(store.ObserveSample("s", 1, 10, 1000).ok());
  clock.Advance(900ms);
  CHECK(store.ObserveSample("s", 2, 10, 1000)->count == 1);  // alive, expiry refreshed
  clock.Advance(900ms);
  CHECK(store.ObserveSample("s", 3, 10, 1000)->count == 2);
  clock.Advance(1000ms);
  auto reset = store.ObserveSample("s", 4, 10, 1000);
  REQUIRE_THAT(reset.status(), IsOk());
  CHECK(reset->count == 0);
}

TEST_CASE("InMemoryCounterStore forgets a bucket a refill period after its last use",
          "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  const int64_t t0 = clock.NowMillis();
  REQUIRE(store.TakeToken("b", 1, 1000, t0)->allowed);
  REQUIRE_FALSE(store.TakeToken("b", 1, 1000, t0)->allowed);
  REQUIRE(store.EntryCountForTest() == 1);
  clock.Advance(1000ms);
  // Forgotten: a full bucket even for a caller whose `now` did not move (a new bucket).
  CHECK(store.TakeToken("b", 1, 1000, t0)->allowed);
}

TEST_CASE("InMemoryCounterStore sweeps expired entries so memory stays bounded",
          "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  const int64_t t0 = clock.NowMillis();
  for (int i = 0; i < 3000; ++i) {
    const std::string k = std::to_string(i);
    REQUIRE(store.Add("c" + k, 1, 1000).ok());
    REQUIRE(store.TakeToken("b" + k, 5, 1000, t0).ok());
    REQUIRE(store.AcquireSlot("s" + k, "m", 1, t0 + 1000, t0).ok());
    REQUIRE(store.ObserveSample("o" + k, 1, 10, 1000).ok());
  }
  CHECK(store.EntryCountForTest() == 4 * 3000);  // nothing expired yet: sweeps keep them
  clock.Advance(1000ms);
  // Only touch one live key: the sweep must find the expired ones on its own.
  for (int i = 0; i < InMemoryCounterStore::kSweepEveryOps; ++i) {
    REQUIRE(store.Add("live", 1, 60'000).ok());
  }
  CHECK(store.EntryCountForTest() == 1);
  CHECK(*store.Get("live") == InMemoryCounterStore::kSweepEveryOps);
}

TEST_CASE("InMemoryCounterStore refreshes a re-acquired slot's expiry", "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  const int64_t t0 = clock.NowMillis();
  REQUIRE(store.AcquireSlot("k", "a", 1, t0 + 100, t0)->acquired);
  REQUIRE(store.AcquireSlot("k", "a", 1, t0 + 500, t0 + 50)->acquired);
  CHECK_FALSE(store.AcquireSlot("k", "b", 1, t0 + 900, t0 + 200)->acquired);
  CHECK(store.AcquireSlot("k", "b", 1, t0 + 900, t0 + 500)->acquired);
}

TEST_CASE("InMemoryCounterStore saturates instead of overflowing", "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  REQUIRE(*store.Add("c", kMax, 1000) == kMax);
  CHECK(*store.Add("c", kMax, 1000) == kMax);
  CHECK(*store.Add("c", std::numeric_limits<int64_t>::min(), 1000) == 0);
  // Extreme TTLs and times do not wrap around into "already expired".
  CHECK(*store.Add("forever", 1, kMax) == 1);
  CHECK(*store.Get("forever") == 1);
  auto bucket = store.TakeToken("b", kMax, kMax, std::numeric_limits<int64_t>::min());
  REQUIRE_THAT(bucket.status(), IsOk());
  CHECK(bucket->allowed);
  auto far = store.TakeToken("b", kMax, kMax, kMax);
  REQUIRE_THAT(far.status(), IsOk());
  CHECK(far->allowed);
  auto slow = store.TakeToken("slow", 1, kMax, 0);
  REQUIRE(slow->allowed);
  auto wait = store.TakeToken("slow", 1, kMax, 0);
  REQUIRE_THAT(wait.status(), IsOk());
  CHECK_FALSE(wait->allowed);
  CHECK(wait->retry_after_ms >= 1);
  auto huge_sample = store.ObserveSample("o", 1e300, 10, 1000);
  REQUIRE_THAT(huge_sample.status(), IsOk());
}

TEST_CASE("InMemoryCounterStore's bounded add holds its limit under concurrency",
          "[unit][counters]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  std::atomic<int64_t> applied{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        auto r = store.AddIfWithin("shared", 1, 1500, 60'000);
        if (r.ok() && r->applied) {
          ++applied;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  CHECK(applied.load() == 1500);
  CHECK(*store.Get("shared") == 1500);
}

}  // namespace
}  // namespace p402::policy
