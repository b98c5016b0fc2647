// File: libs/store/worker_pool.h
// WorkerPool: a fixed set of threads behind a bounded queue, for blocking work (libpq calls)
// started from asynchronous code (gRPC reactors, Beast handlers) that must never block
// (house style 3.4). Submit never blocks: when the queue is full it returns false and the caller
// sheds the request (503 / UNAVAILABLE) and bumps its counter. Each task runs on a worker thread
// and reports back itself (callback style), e.g. by finishing its gRPC reactor.
//
// Thread-safe: Submit, stats and Shutdown may be called from any thread except that Shutdown (and
// the destructor) must not run on one of the pool's own workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace p402::store {

struct WorkerPoolOptions {
  std::string name = "store";  // appears in logs
  int threads = 4;             // >= 1
  size_t max_queue = 1024;     // tasks waiting for a thread (running ones not counted); >= 1
};

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  struct Stats {
    size_t queued = 0;      // waiting for a thread
    int busy = 0;           // running now
    int64_t rejected = 0;   // Submit calls refused (queue full or shut down), ever
    int64_t completed = 0;  // tasks run to the end, ever
  };

  // Starts the threads. InvalidArgument for threads < 1 or max_queue < 1.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(WorkerPoolOptions options);
  // Shutdown().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `task` to run once on a worker thread. Returns false, without running or keeping the
  // task, when max_queue tasks are already waiting or the pool is shut down. Never blocks on the
  // work itself. An exception escaping a task is logged and swallowed (the worker survives).
  [[nodiscard]] bool Submit(Task task);

  // Stops accepting, runs every task already queued (their callers are waiting for a reply), then
  // joins the threads. Idempotent.
  void Shutdown();

  Stats stats() const;

 private:
  explicit WorkerPool(WorkerPoolOptions options);
  void Run();

  const WorkerPoolOptions options_;
  mutable absl::Mutex mu_;
  absl::CondVar work_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;  // written only by Create and Shutdown
  absl::Mutex join_mu_;               // serialises Shutdown callers
};

}  // namespace p402::store
