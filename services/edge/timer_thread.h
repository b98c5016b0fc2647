// File: services/edge/timer_thread.h
// TimerThread: the edge's Scheduler (core/ports.h) over libs/common TimerQueue -- one background
// thread that runs callbacks after a delay. The chat pipeline uses it for the 500 ms polls of a
// request held for approval, the periodic CheckReservation of a session's stream, the cut at
// the session's expiry and the backoff of Commit/Release retries, so no request ever holds a
// thread while it waits.
#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "libs/common/timer_queue.h"
#include "services/edge/core/ports.h"

namespace p402::edge {

class TimerThread final : public Scheduler {
 public:
  TimerThread() = default;
  // Drops the callbacks not yet run and joins the thread (TimerQueue). Must not be called from a
  // callback.
  ~TimerThread() override = default;

  // Scheduler
  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    return queue_.RunAfter(delay, std::move(fn));
  }
  void Cancel(TimerId id) override { queue_.Cancel(id); }

  // Callbacks waiting to run. Thread-safe.
  size_t pending() const { return queue_.pending(); }

 private:
  TimerQueue queue_;
};

}  // namespace p402::edge
