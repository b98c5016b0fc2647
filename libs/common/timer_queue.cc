#include "libs/common/timer_queue.h"

#include <algorithm>

#include "absl/time/time.h"

namespace p402 {

TimerQueue::TimerQueue() : thread_([this] { Loop(); }) {}

TimerQueue::~TimerQueue() {
  std::map<Key, std::function<void()>> dropped;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    dropped.swap(timers_);
    due_.clear();
  }
  thread_.join();
  // `dropped` dies here, outside the lock: callbacks may own objects whose destructors lock.
}

TimerQueue::TimerId TimerQueue::RunAfter(std::chrono::milliseconds delay,
                                         std::function<void()> fn) {
  auto at = std::chrono::steady_clock::now() + std::max(delay, std::chrono::milliseconds(0));
  absl::MutexLock lock(&mu_);
  TimerId id = next_id_++;
  timers_.emplace(Key{at, id}, std::move(fn));
  due_.emplace(id, at);
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  std::function<void()> dropped;  // destroyed after the lock is released
  {
    absl::MutexLock lock(&mu_);
    auto it = due_.find(id);
    if (it == due_.end()) return false;
    auto t = timers_.find(Key{it->second, id});
    if (t != timers_.end()) {
      dropped = std::move(t->second);
      timers_.erase(t);
    }
    due_.erase(it);
  }
  return true;
}

size_t TimerQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return timers_.size();
}

void TimerQueue::Loop() {
  struct WaitArg {
    TimerQueue* queue;
    Key head;
  };
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      mu_.Await(absl::Condition(
          +[](TimerQueue* q)
               ABSL_NO_THREAD_SAFETY_ANALYSIS { return q->stopping_ || !q->timers_.empty(); },
          this));
      continue;
    }
    auto first = timers_.begin();
    auto now = std::chrono::steady_clock::now();
    if (first->first.first > now) {
      // Wakes early when a sooner timer is added, the head is cancelled, or on shutdown.
      WaitArg arg{this, first->first};
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](WaitArg* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                 TimerQueue* q = a->queue;
                                 return q->stopping_ || q->timers_.empty() ||
                                        q->timers_.begin()->first != a->head;
                               },
                               &arg),
                           absl::FromChrono(first->first.first - now));
      continue;
    }
    std::function<void()> fn = std::move(first->second);
    due_.erase(first->first.second);
    timers_.erase(first);
    mu_.Unlock();
    fn();
    fn = nullptr;
    mu_.Lock();
  }
}

}  // namespace p402
