// File: tests/services/edge/virtual_time.h
// Virtual time for the edge core tests: a clock and a Scheduler (services/edge/core/ports.h) that
// share one "now", which only the test moves forward (ManualScheduler::Advance runs what falls
// due, in order). Single-threaded use only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>

#include "libs/common/clock.h"
#include "services/edge/core/ports.h"

namespace p402::edge::testing {

constexpr int64_t kStartMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

struct VirtualTime {
  int64_t now_ms = kStartMs;
};

class VirtualClock final : public Clock {
 public:
  explicit VirtualClock(const VirtualTime& t) : t_(t) {}
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(t_.now_ms));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(t_.now_ms));
  }

 private:
  const VirtualTime& t_;
};

// Runs callbacks only when the test advances time.
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(VirtualTime& t) : t_(t) {}
  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    TimerId id = next_++;
    int64_t due = t_.now_ms + std::max<int64_t>(delay.count(), 0);
    timers_.emplace(std::make_pair(due, id), std::move(fn));
    return id;
  }
  void Cancel(TimerId id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
    }
  }
  // Moves time forward by `ms`, running every callback that falls due, in order (including ones
  // scheduled meanwhile).
  void Advance(int64_t ms) {
    int64_t end = t_.now_ms + ms;
    while (!timers_.empty() && timers_.begin()->first.first <= end) {
      auto it = timers_.begin();
      t_.now_ms = std::max(t_.now_ms, it->first.first);
      std::function<void()> fn = std::move(it->second);
      timers_.erase(it);
      fn();
    }
    t_.now_ms = end;
  }
  size_t pending() const { return timers_.size(); }

 private:
  VirtualTime& t_;
  TimerId next_ = 1;
  std::map<std::pair<int64_t, TimerId>, std::function<void()>> timers_;
};

}  // namespace p402::edge::testing
