#include "services/policy/core/kill_switch.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::FakeClock;

// An InMemoryCounterStore that counts the calls the monitor makes and can be switched "down"
// (every call Unavailable, what RedisCounterStore returns when Redis is unreachable).
class CountingCounterStore final : public CounterStore {
 public:
  explicit CountingCounterStore(const Clock& clock) : inner_(clock) {}
  void set_down(bool down) { down_ = down; }
  int64_t calls() const { return calls_; }
  void reset_calls() { calls_ = 0; }

  absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                              int64_t refill_period_ms,
                                              int64_t now_unix_ms) override {
    if (Enter()) return Down();
    return inner_.TakeToken(key, capacity, refill_period_ms, now_unix_ms);
  }
  absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta, int64_t limit,
                                               int64_t ttl_ms) override {
    if (Enter()) return Down();
    return inner_.AddIfWithin(key, delta, limit, ttl_ms);
  }
  absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) override {
    if (Enter()) return Down();
    return inner_.Add(key, delta, ttl_ms);
  }
  absl::StatusOr<int64_t> Get(std::string_view key) override {
    if (Enter()) return Down();
    return inner_.Get(key);
  }
  absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                         int64_t limit, int64_t expires_unix_ms,
                                         int64_t now_unix_ms) override {
    if (Enter()) return Down();
    return inner_.AcquireSlot(key, member, limit, expires_unix_ms, now_unix_ms);
  }
  absl::Status ReleaseSlot(std::string_view key, std::string_view member) override {
    if (Enter()) return Down();
    return inner_.ReleaseSlot(key, member);
  }
  absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value, int64_t max_count,
                                            int64_t ttl_ms) override {
    if (Enter()) return Down();
    return inner_.ObserveSample(key, value, max_count, ttl_ms);
  }

 private:
  // Counts the call; true when the store is down.
  bool Enter() {
    ++calls_;
    return down_;
  }
  static absl::Status Down() { return Unavailable("counter store is down (test)"); }

  InMemoryCounterStore inner_;
  std::atomic<bool> down_{false};
  std::atomic<int64_t> calls_{0};
};

class RecordingAlertSink final : public AlertSink {
 public:
  void Emit(const AlertEvent& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  std::vector<AlertEvent> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  absl::Mutex mu_;
  std::vector<AlertEvent> events_;
};

v1::TenantPolicy ErrorRatePolicy(int32_t bps, int32_t min_requests, int64_t window_ms = 0) {
  v1::TenantPolicy p;
  p.set_id("pol_ks");
  p.set_tenant_id("acme");
  p.set_name("error kill switch");
  p.set_enabled(true);
  p.mutable_kill_switch()->set_error_rate_bps(bps);
  p.mutable_kill_switch()->set_min_requests(min_requests);
  p.mutable_kill_switch()->set_error_window_ms(window_ms);
  return p;
}

class KillSwitchFixture {
 public:
  KillSwitchFixture() : counters_(clock_), monitor_(store_, counters_, alerts_) {
    TenantRecord tenant;
    tenant.id = "acme";
    tenant.name = "acme";
    REQUIRE(store_.CreateTenant(tenant).ok());
  }

  // Records `n` outcomes now; returns how many of the calls tripped.
  int Record(int n, bool failed, const std::vector<v1::TenantPolicy>& policies) {
    int tripped = 0;
    for (int i = 0; i < n; ++i) {
      auto result = monitor_.RecordOutcome("acme", failed, policies, clock_.NowMillis());
      REQUIRE_THAT(result.status(), IsOk());
      tripped += *result ? 1 : 0;
    }
    return tripped;
  }
  TenantRecord Tenant() {
    auto t = store_.GetTenant("acme");
    REQUIRE(t.ok());
    return *t;
  }
  void Advance(std::chrono::milliseconds d) { clock_.Advance(d); }

  InMemoryPolicyStore& store() { return store_; }
  CountingCounterStore& counters() { return counters_; }
  RecordingAlertSink& alerts() { return alerts_; }
  KillSwitchMonitor& monitor() { return monitor_; }
  int64_t now() const { return clock_.NowMillis(); }

 private:
  FakeClock clock_;
  InMemoryPolicyStore store_;
  CountingCounterStore counters_;
  RecordingAlertSink alerts_;
  KillSwitchMonitor monitor_;
};

TEST_CASE("Error rate trips only once min_requests have finished", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};
  CHECK(f.Record(9, true, policies) == 0);  // 100% failed, but only 9 requests
  CHECK_FALSE(f.Tenant().paused);
  CHECK(f.alerts().events().empty());

  CHECK(f.Record(1, true, policies) == 1);
  TenantRecord tenant = f.Tenant();
  CHECK(tenant.paused);
  CHECK(tenant.pause_reason == "kill_switch: error rate 100% >= 50% over 5m (policy pol_ks)");
  auto events = f.alerts().events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "kill_switch_tripped");
  CHECK(events[0].tenant_id == "acme");
  CHECK(events[0].message == tenant.pause_reason);
  CHECK(events[0].unix_ms == f.now());
}

TEST_CASE("Error rate counts failures among finished requests, inclusive threshold",
          "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};
  CHECK(f.Record(6, false, policies) == 0);
  CHECK(f.Record(4, true, policies) == 0);  // 4/10 = 40%
  CHECK(f.Record(1, true, policies) == 0);  // 5/11 = 45.45%
  CHECK_FALSE(f.Tenant().paused);
  CHECK(f.Record(1, true, policies) == 1);  // 6/12 = 50%
  CHECK(f.Tenant().pause_reason == "kill_switch: error rate 50% >= 50% over 5m (policy pol_ks)");
}

TEST_CASE("Min requests default to 20", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(1000, 0)};
  CHECK(f.Record(19, true, policies) == 0);
  CHECK(f.Record(1, true, policies) == 1);
}

TEST_CASE("Only outcomes inside the error window count", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};  // 5 minutes
  REQUIRE(f.Record(9, true, policies) == 0);

  SECTION("still inside the window") {
    f.Advance(std::chrono::minutes(4));
    CHECK(f.Record(1, true, policies) == 1);
  }
  SECTION("out of the window") {
    f.Advance(std::chrono::minutes(5));
    CHECK(f.Record(1, true, policies) == 0);
    CHECK_FALSE(f.Tenant().paused);
    CHECK(f.Record(8, true, policies) == 0);  // 9 in the window
    CHECK(f.Record(1, true, policies) == 1);
  }
  SECTION("a 10 s window is one minute bucket") {
    const std::vector<v1::TenantPolicy> short_window = {ErrorRatePolicy(5000, 10, 10'000)};
    f.Advance(std::chrono::minutes(1));
    CHECK(f.Record(9, true, short_window) == 0);
    CHECK(f.Record(1, true, short_window) == 1);
    CHECK_THAT(f.Tenant().pause_reason, Catch::EndsWith("over 10s (policy pol_ks)"));
  }
}

TEST_CASE("A day-long window spans hours with a bounded number of reads", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10, 86'400'000)};
  REQUIRE(f.Record(5, true, policies) == 0);

  SECTION("20 hours later the early failures still count") {
    f.Advance(std::chrono::hours(20));
    CHECK(f.Record(4, true, policies) == 0);
    f.counters().reset_calls();
    CHECK(f.Record(1, true, policies) == 1);
    // 2 Adds + at most 2 Gets per hourly bucket (24 + the current one), never one per minute.
    CHECK(f.counters().calls() <= 2 + 2 * 25);
    CHECK_THAT(f.Tenant().pause_reason, Catch::EndsWith("over 24h (policy pol_ks)"));
  }
  SECTION("25 hours later they have left the window") {
    f.Advance(std::chrono::hours(25));
    CHECK(f.Record(5, true, policies) == 0);
    CHECK_FALSE(f.Tenant().paused);
  }
}

TEST_CASE("A tripped tenant alerts once and keeps its first reason", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};
  REQUIRE(f.Record(10, true, policies) == 1);
  const std::string reason = f.Tenant().pause_reason;
  CHECK(f.Record(5, true, policies) == 0);
  REQUIRE_THAT(f.monitor().Trip("acme", "kill_switch: total spend", f.now()), IsOk());
  CHECK(f.alerts().events().size() == 1);
  CHECK(f.Tenant().pause_reason == reason);
}

TEST_CASE("Concurrent outcomes trip the tenant once", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};
  std::atomic<int> tripped{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto result = f.monitor().RecordOutcome("acme", true, policies, f.now());
        if (!result.ok()) {
          ++errors;
        } else if (*result) {
          ++tripped;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  CHECK(errors == 0);
  CHECK(tripped == 1);
  CHECK(f.alerts().events().size() == 1);
  CHECK(f.Tenant().paused);
}

TEST_CASE("A tenant paused by an operator is left alone", "[unit][killswitch]") {
  KillSwitchFixture f;
  REQUIRE(f.store().SetTenantPaused("acme", true, "operator: investigating").ok());
  CHECK(f.Record(20, true, {ErrorRatePolicy(5000, 10)}) == 0);
  CHECK(f.Tenant().pause_reason == "operator: investigating");
  CHECK(f.alerts().events().empty());
}

TEST_CASE("Trip pauses the tenant (total spend condition)", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::string reason = "kill_switch: total spend $5.000000 >= $5.000000 (policy pol_ks)";
  REQUIRE_THAT(f.monitor().Trip("acme", reason, f.now()), IsOk());
  CHECK(f.Tenant().paused);
  CHECK(f.Tenant().pause_reason == reason);
  REQUIRE(f.alerts().events().size() == 1);
  CHECK(f.alerts().events()[0].kind == "kill_switch_tripped");

  REQUIRE_THAT(f.monitor().Trip("acme", "second", f.now()), IsOk());
  CHECK(f.Tenant().pause_reason == reason);
  CHECK(f.alerts().events().size() == 1);

  CHECK_THAT(f.monitor().Trip("nobody", "x", f.now()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_CASE("Counter store down: no trip, no error", "[unit][killswitch]") {
  KillSwitchFixture f;
  const std::vector<v1::TenantPolicy> policies = {ErrorRatePolicy(5000, 10)};
  REQUIRE(f.Record(9, true, policies) == 0);
  f.counters().set_down(true);
  CHECK(f.Record(20, true, policies) == 0);  // Record REQUIREs an OK status
  CHECK_FALSE(f.Tenant().paused);
  CHECK(f.alerts().events().empty());
  f.counters().set_down(false);
  CHECK(f.Record(1, true, policies) == 1);  // the 9 recorded before the outage still count
}

TEST_CASE("No counter traffic without an enabled error-rate kill switch", "[unit][killswitch]") {
  KillSwitchFixture f;
  v1::TenantPolicy disabled = ErrorRatePolicy(5000, 1);
  disabled.set_enabled(false);
  v1::TenantPolicy total_only = ErrorRatePolicy(0, 0);
  total_only.mutable_kill_switch()->set_total_spend_micro_usd(1);
  v1::TenantPolicy other;
  other.set_id("pol_model");
  other.set_enabled(true);
  other.mutable_model()->set_max_tier("mid");
  CHECK(f.Record(50, true, {disabled, total_only, other}) == 0);
  CHECK(f.counters().calls() == 0);
  CHECK_FALSE(f.Tenant().paused);
}

TEST_CASE("The first holding policy trips; others are still checked", "[unit][killswitch]") {
  KillSwitchFixture f;
  v1::TenantPolicy strict = ErrorRatePolicy(9000, 5);
  strict.set_id("pol_strict");
  v1::TenantPolicy loose = ErrorRatePolicy(2000, 5, 3'600'000);
  loose.set_id("pol_loose");
  CHECK(f.Record(4, false, {strict, loose}) == 0);
  CHECK(f.Record(1, true, {strict, loose}) == 1);  // 1/5 = 20%: only pol_loose holds
  CHECK(f.Tenant().pause_reason == "kill_switch: error rate 20% >= 20% over 1h (policy pol_loose)");
}

}  // namespace
}  // namespace p402::policy
