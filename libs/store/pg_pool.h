// File: libs/store/pg_pool.h
// PgPool: a bounded pool of PgConnections shared by a service's worker threads, with
// WithConnection (borrow one connection for a callback) and InTransaction (BEGIN ... COMMIT,
// retried on serialization failures and deadlocks).
//
// Connections open lazily up to max_size; a caller that finds all of them busy waits up to
// acquire_timeout, then gets Unavailable (shed the request with 503). Broken connections (server
// restart, network loss, terminated backend) are discarded when they come back or when found dead
// on acquire, and replaced on demand. A connection returned inside a transaction is rolled back.
//
// Blocking: use from worker threads (worker_pool.h), never from I/O threads.
// Thread-safe: every method may be called from any thread. The pool must outlive its leases.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/store/pg_connection.h"

namespace p402::store {

struct PgPoolOptions {
  std::string dsn;
  // Connections opened by Create (0 = all lazy) and the hard ceiling.
  int min_size = 1;
  int max_size = 8;
  // How long Acquire waits for a busy pool before failing with Unavailable. Opening a new
  // connection is bounded by connect.connect_timeout_seconds instead.
  std::chrono::milliseconds acquire_timeout{2000};
  PgConnectOptions connect;
};

enum class IsolationLevel { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
  IsolationLevel isolation = IsolationLevel::kReadCommitted;
  bool read_only = false;
  // Total runs of the body when it (or COMMIT) fails with Aborted: SQLSTATE 40001 serialization
  // failure, 40P01 deadlock, 55P03 lock not available. At least 1.
  int max_attempts = 5;
};

class PgPool {
 public:
  // A borrowed connection; returns to the pool (or is discarded when broken) on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn);
    void Release();

    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
  };

  struct Stats {
    int open = 0;  // connections that exist (idle + in use + being opened)
    int idle = 0;
    int in_use = 0;   // leased or being opened
    int waiting = 0;  // callers blocked in Acquire
    int64_t acquire_timeouts = 0;
    int64_t connects = 0;   // successful connection opens, ever
    int64_t discarded = 0;  // broken connections dropped, ever
  };

  // Validates the options (InvalidArgument: bad DSN, sizes, timeout) and opens min_size
  // connections (Unavailable when the server cannot be reached).
  static absl::StatusOr<std::unique_ptr<PgPool>> Create(PgPoolOptions options);
  // Closes idle connections. Precondition (checked): no lease is outstanding.
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  // Borrows a live connection: an idle one (checked alive without blocking), else a new one
  // while below max_size, else waits up to acquire_timeout. Unavailable when the pool stays busy
  // (message says "pool exhausted", reason "pg_pool_exhausted") or a new connection fails.
  absl::StatusOr<Lease> Acquire();

  // Runs fn(PgConnection&) on a borrowed connection. fn returns absl::Status or
  // absl::StatusOr<T>; an Acquire failure is returned in its place.
  template <typename Fn>
  auto WithConnection(Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&> {
    absl::StatusOr<Lease> lease = Acquire();
    if (!lease.ok()) {
      return lease.status();
    }
    return fn(**lease);
  }

  // Runs fn(PgConnection&) between BEGIN (with options' isolation) and COMMIT on one connection;
  // a non-OK result from fn rolls back and is returned. When fn or COMMIT fails with Aborted, the
  // whole transaction runs again on a fresh snapshot, up to options.max_attempts runs with a short
  // jittered backoff; so fn must have no effects outside the database (or reset them at its start).
  // fn returns absl::Status or absl::StatusOr<T>. Unavailable when the connection is lost; a lost
  // connection during COMMIT leaves the outcome unknown (the message says so).
  template <typename Fn>
  auto InTransaction(const TxOptions& options, Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&>;
  template <typename Fn>
  auto InTransaction(Fn&& fn) -> std::invoke_result_t<Fn&, PgConnection&> {
    return InTransaction(TxOptions{}, std::forward<Fn>(fn));
  }

  Stats stats() const;
  const PgPoolOptions& options() const { return options_; }

 private:
  explicit PgPool(PgPoolOptions options);
  absl::Status RunTransaction(const TxOptions& options,
                              absl::FunctionRef<absl::Status(PgConnection&)> body);
  void Return(std::unique_ptr<PgConnection> conn);
  absl::StatusOr<std::unique_ptr<PgConnection>> OpenConnection();

  const PgPoolOptions options_;
  mutable absl::Mutex mu_;
  absl::CondVar available_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  int in_use_ ABSL_GUARDED_BY(mu_) = 0;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t acquire_timeouts_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t connects_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t discarded_ ABSL_GUARDED_BY(mu_) = 0;
};

template <typename Fn>
auto PgPool::InTransaction(const TxOptions& options, Fn&& fn)
    -> std::invoke_result_t<Fn&, PgConnection&> {
  using R = std::invoke_result_t<Fn&, PgConnection&>;
  if constexpr (std::is_same_v<R, absl::Status>) {
    return RunTransaction(options, fn);
  } else {
    std::optional<typename R::value_type> value;
    absl::Status status = RunTransaction(options, [&](PgConnection& conn) -> absl::Status {
      R result = fn(conn);
      if (!result.ok()) {
        return result.status();
      }
      value = std::move(*result);
      return absl::OkStatus();
    });
    if (!status.ok()) {
      return status;
    }
    return std::move(*value);
  }
}

}  // namespace p402::store
