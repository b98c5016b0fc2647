// File: tools/mock_provider/scheduler.h
// One timer thread for the mock's delays (latency, TTFT, token gaps): callbacks run after a delay
// on that thread and never block an io thread. Asio stays in the .cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace p402::mock_provider {

class Scheduler {
 public:
  Scheduler();
  // Drops callbacks not yet run and joins the thread.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `fn` on the timer thread after `delay`. Thread-safe.
  void RunAfter(std::chrono::milliseconds delay, std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::mock_provider
