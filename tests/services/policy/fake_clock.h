// File: tests/services/policy/fake_clock.h
// FakeClock: a Clock (libs/common/clock.h) that moves only when the test says so. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "libs/common/clock.h"

namespace p402::policy::testing {

class FakeClock final : public Clock {
 public:
  // Starts at `unix_ms` (default: 2025-01-01T00:00:00Z).
  explicit FakeClock(int64_t unix_ms = 1'735'689'600'000) : now_ms_(unix_ms) {}

  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }

  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  int64_t NowMillis() const { return now_ms_.load(); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace p402::policy::testing
