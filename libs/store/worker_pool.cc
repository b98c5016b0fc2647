#include "libs/store/worker_pool.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::store {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(WorkerPoolOptions options) {
  if (options.threads < 1 || options.max_queue < 1) {
    return InvalidArgument(
        absl::StrCat("WorkerPool needs threads >= 1 and max_queue >= 1; got "
                     "threads=",
                     options.threads, " max_queue=", options.max_queue));
  }
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(options)));
  pool->threads_.reserve(static_cast<size_t>(pool->options_.threads));
  for (int i = 0; i < pool->options_.threads; ++i) {
    pool->threads_.emplace_back([p = pool.get()] { p->Run(); });
  }
  return pool;
}

WorkerPool::~WorkerPool() { Shutdown(); }

bool WorkerPool::Submit(Task task) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= options_.max_queue) {
    ++rejected_;
    return false;
  }
  queue_.push_back(std::move(task));
  work_.Signal();
  return true;
}

void WorkerPool::Run() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) {
        work_.Wait(&mu_);
      }
      if (queue_.empty()) {
        return;  // stopping and drained
      }
      task = std::move(queue_.front());
      queue_.pop_front();
      ++busy_;
    }
    // A worker thread is an entry point: nothing may escape it (house style 3.7).
    try {
      std::move(task)();
    } catch (const std::exception& e) {
      P402_LOG(kError, "worker task threw").Field("pool", options_.name).Field("what", e.what());
    } catch (...) {
      P402_LOG(kError, "worker task threw").Field("pool", options_.name);
    }
    task = nullptr;  // destroy captured state before counting the task as done
    absl::MutexLock lock(&mu_);
    --busy_;
    ++completed_;
  }
}

void WorkerPool::Shutdown() {
  absl::MutexLock join_lock(&join_mu_);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.SignalAll();
  }
  for (std::thread& t : threads_) {
    P402_CHECK(t.get_id() != std::this_thread::get_id());
    if (t.joinable()) {
      t.join();
    }
  }
  threads_.clear();
}

WorkerPool::Stats WorkerPool::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{
      .queued = queue_.size(), .busy = busy_, .rejected = rejected_, .completed = completed_};
}

}  // namespace p402::store
