// File: tests/services/settlement/core/fake_clock.h
// FakeClock: a Clock (libs/common/clock.h) that moves only when the test says so. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "libs/common/clock.h"

namespace p402::settlement::testing {

class FakeClock final : public Clock {
 public:
  // Starts at `unix_ms` (default: 2026-11-23T12:00:00Z).
  explicit FakeClock(int64_t unix_ms = 1'795'435'200'000) : now_ms_(unix_ms) {}

  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(now_ms_.load()));
  }

  void Advance(std::chrono::milliseconds d) { now_ms_ += d.count(); }
  void Set(int64_t unix_ms) { now_ms_ = unix_ms; }
  int64_t NowMillis() const { return now_ms_.load(); }
  uint64_t NowSeconds() const { return static_cast<uint64_t>(now_ms_.load() / 1000); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace p402::settlement::testing
