// File: tests/services/policy/guard_deps.h
// What a Guard needs besides its PolicyStore, for tests: in-memory counters that can be switched
// "down" (every call Unavailable, as RedisCounterStore when Redis is unreachable), an AlertSink
// that records events, a PolicyCache and a KillSwitchMonitor; GuardTestDeps bundles them into
// GuardDeps for Guard::Create.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "services/policy/core/alert_sink.h"
#include "services/policy/core/guard.h"
#include "services/policy/core/kill_switch.h"
#include "services/policy/core/policy_cache.h"

namespace p402::policy::testing {

// Records every event. Thread-safe.
class RecordingAlertSink final : public AlertSink {
 public:
  void Emit(const AlertEvent& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  std::vector<AlertEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  int Count(std::string_view kind) const {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(events_.begin(), events_.end(),
                                          [&](const AlertEvent& e) { return e.kind == kind; }));
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<AlertEvent> events_;
};

// An InMemoryCounterStore that fails every call with Unavailable while set_down(true).
class SwitchableCounterStore final : public CounterStore {
 public:
  explicit SwitchableCounterStore(const Clock& clock) : inner_(clock) {}
  void set_down(bool down) { down_ = down; }

  absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                              int64_t refill_period_ms,
                                              int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.TakeToken(key, capacity, refill_period_ms, now_unix_ms);
  }
  absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta, int64_t limit,
                                               int64_t ttl_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.AddIfWithin(key, delta, limit, ttl_ms);
  }
  absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.Add(key, delta, ttl_ms);
  }
  absl::StatusOr<int64_t> Get(std::string_view key) override {
    if (down_) {
      return Down();
    }
    return inner_.Get(key);
  }
  absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                         int64_t limit, int64_t expires_unix_ms,
                                         int64_t now_unix_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.AcquireSlot(key, member, limit, expires_unix_ms, now_unix_ms);
  }
  absl::Status ReleaseSlot(std::string_view key, std::string_view member) override {
    return down_ ? Down() : inner_.ReleaseSlot(key, member);
  }
  absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value, int64_t max_count,
                                            int64_t ttl_ms) override {
    if (down_) {
      return Down();
    }
    return inner_.ObserveSample(key, value, max_count, ttl_ms);
  }

 private:
  static absl::Status Down() { return Unavailable("counter store is down (test)"); }
  InMemoryCounterStore inner_;
  std::atomic<bool> down_{false};
};

// Everything but the store and the clock that a Guard needs. The policy cache has TTL 0 (always
// reads the store) unless told otherwise, so tests may write policies straight into the store.
class GuardTestDeps {
 public:
  GuardTestDeps(PolicyStore& store, const Clock& clock,
                std::chrono::milliseconds cache_ttl = std::chrono::milliseconds(0))
      : store_(store),
        clock_(clock),
        counters_(clock),
        cache_(store, clock, cache_ttl),
        kill_switch_(store, counters_, alerts_) {}

  GuardDeps deps() {
    return GuardDeps{.store = store_,
                     .clock = clock_,
                     .counters = counters_,
                     .alerts = alerts_,
                     .policies = cache_,
                     .kill_switch = kill_switch_};
  }
  SwitchableCounterStore& counters() { return counters_; }
  RecordingAlertSink& alerts() { return alerts_; }
  PolicyCache& cache() { return cache_; }
  KillSwitchMonitor& kill_switch() { return kill_switch_; }

 private:
  PolicyStore& store_;
  const Clock& clock_;
  SwitchableCounterStore counters_;
  RecordingAlertSink alerts_;
  PolicyCache cache_;
  KillSwitchMonitor kill_switch_;
};

}  // namespace p402::policy::testing
