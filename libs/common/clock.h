// File: libs/common/clock.h
// Time source port. Cores never read the wall clock directly; tests inject a fake.
#pragma once

#include <chrono>
#include <cstdint>

namespace p402 {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, for timestamps that leave the process (UTC day boundaries, expiry).
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time, for durations and timeouts.
  virtual std::chrono::steady_clock::time_point MonotonicNow() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::now();
  }
  // A process-wide instance (stateless, thread-safe).
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

// Milliseconds since the Unix epoch.
inline int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace p402
