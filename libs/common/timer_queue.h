// File: libs/common/timer_queue.h
// TimerQueue: one background thread that runs callbacks after a delay, so that no request ever
// holds a thread while it waits. The router's HTTP executor uses it for the waits between
// provider attempts (429 with rate_limit_strategy QUEUE); the edge for approval polls, session
// checks and expiry cuts (services/edge/timer_thread.h). Callbacks must be short and must not block: they
// run one at a time on the timer thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace p402 {

class TimerQueue {
 public:
  using TimerId = uint64_t;

  TimerQueue();
  // Drops the callbacks not yet run (destroying them) and joins the thread. Must not be called
  // from a callback.
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `fn` on the timer thread once `delay` has passed (negative = at once, never inline).
  // Returns an id for Cancel (never 0). Thread-safe.
  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);
  // Removes a callback that has not started yet; true when it was removed (it will not run).
  // Thread-safe; unknown or already-run ids return false.
  bool Cancel(TimerId id);
  // Callbacks waiting to run.
  size_t pending() const;

 private:
  using Key = std::pair<std::chrono::steady_clock::time_point, TimerId>;
  void Loop();

  mutable absl::Mutex mu_;
  std::map<Key, std::function<void()>> timers_ ABSL_GUARDED_BY(mu_);
  std::map<TimerId, std::chrono::steady_clock::time_point> due_ ABSL_GUARDED_BY(mu_);
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace p402
