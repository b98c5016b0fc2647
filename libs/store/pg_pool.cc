#include "libs/store/pg_pool.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::store {
namespace {

const char* BeginStatement(const TxOptions& options) {
  switch (options.isolation) {
    case IsolationLevel::kSerializable:
      return options.read_only ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
                               : "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case IsolationLevel::kRepeatableRead:
      return options.read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                               : "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case IsolationLevel::kReadCommitted:
    default:
      return options.read_only ? "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
                               : "BEGIN ISOLATION LEVEL READ COMMITTED";
  }
}

// Jittered exponential backoff between transaction attempts, so two conflicting writers do not
// collide again in lock step: up to 2 ms, 4 ms, ... capped at 50 ms.
void BackoffBeforeAttempt(int attempt) {
  thread_local absl::BitGen gen;
  const int64_t cap_us = std::min<int64_t>(50'000, int64_t{1000} << std::min(attempt, 6));
  absl::SleepFor(absl::Microseconds(absl::Uniform<int64_t>(gen, 0, cap_us)));
}

}  // namespace

// --- Lease
// ----------------------------------------------------------------------------------------

PgPool::Lease::Lease(PgPool* pool, std::unique_ptr<PgConnection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}

PgPool::Lease& PgPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
  }
  return *this;
}

PgPool::Lease::~Lease() { Release(); }

void PgPool::Lease::Release() {
  if (pool_ != nullptr && conn_ != nullptr) {
    pool_->Return(std::move(conn_));
  }
  pool_ = nullptr;
}

// --- PgPool
// ---------------------------------------------------------------------------------------

PgPool::PgPool(PgPoolOptions options) : options_(std::move(options)) {}

PgPool::~PgPool() {
  absl::MutexLock lock(&mu_);
  P402_CHECK(in_use_ == 0);
  idle_.clear();
}

absl::StatusOr<std::unique_ptr<PgPool>> PgPool::Create(PgPoolOptions options) {
  P402_RETURN_IF_ERROR(ValidateDsn(options.dsn));
  if (options.max_size < 1 || options.min_size < 0 || options.min_size > options.max_size) {
    return InvalidArgument(
        absl::StrCat("PgPool sizes must satisfy 0 <= min_size <= max_size and "
                     "max_size >= 1; got min_size=",
                     options.min_size, " max_size=", options.max_size));
  }
  if (options.acquire_timeout.count() <= 0) {
    return InvalidArgument("PgPool acquire_timeout must be positive");
  }
  std::unique_ptr<PgPool> pool(new PgPool(std::move(options)));
  std::vector<std::unique_ptr<PgConnection>> opened;
  for (int i = 0; i < pool->options_.min_size; ++i) {
    P402_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, pool->OpenConnection());
    opened.push_back(std::move(conn));
  }
  absl::MutexLock lock(&pool->mu_);
  pool->open_ = static_cast<int>(opened.size());
  pool->connects_ = pool->open_;
  pool->idle_ = std::move(opened);
  return pool;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgPool::OpenConnection() {
  return PgConnection::Connect(options_.dsn, options_.connect);
}

absl::StatusOr<PgPool::Lease> PgPool::Acquire() {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.acquire_timeout.count());
  mu_.Lock();
  while (true) {
    if (!idle_.empty()) {
      // LIFO: the most recently used connection is the warmest and least likely to be stale.
      std::unique_ptr<PgConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      ++in_use_;
      mu_.Unlock();
      if (conn->CheckAlive()) {
        return Lease(this, std::move(conn));
      }
      conn.reset();  // close outside the lock
      mu_.Lock();
      --in_use_;
      --open_;
      ++discarded_;
      continue;  // there is room to open a replacement now
    }
    if (open_ < options_.max_size) {
      ++open_;
      ++in_use_;
      mu_.Unlock();
      absl::StatusOr<std::unique_ptr<PgConnection>> conn = OpenConnection();
      absl::MutexLock lock(&mu_);
      if (!conn.ok()) {
        --open_;
        --in_use_;
        available_.Signal();  // a waiter may try to open in our place
        return conn.status();
      }
      ++connects_;
      return Lease(this, *std::move(conn));
    }
    ++waiting_;
    const bool timed_out = available_.WaitWithDeadline(&mu_, deadline);
    --waiting_;
    if (timed_out && idle_.empty() && open_ >= options_.max_size) {
      ++acquire_timeouts_;
      mu_.Unlock();
      return WithReason(Unavailable(absl::StrCat("postgres pool exhausted: all ", options_.max_size,
                                                 " connections busy for ",
                                                 options_.acquire_timeout.count(), " ms")),
                        "pg_pool_exhausted");
    }
  }
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) {
  // Never hand the next caller a session inside someone else's transaction.
  if (!conn->IsBroken()) {
    PgConnection::TxState state = conn->tx_state();
    if (state == PgConnection::TxState::kInTransaction ||
        state == PgConnection::TxState::kInFailedTransaction) {
      if (!conn->Exec("ROLLBACK").ok()) {
        conn.reset();
      }
    } else if (state != PgConnection::TxState::kIdle) {
      conn.reset();
    }
  }
  if (conn != nullptr && conn->IsBroken()) {
    conn.reset();
  }
  // A discarded connection was closed above, outside the lock.
  {
    absl::MutexLock lock(&mu_);
    --in_use_;
    if (conn != nullptr) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
      ++discarded_;
    }
    available_.Signal();
  }
}

absl::Status PgPool::RunTransaction(const TxOptions& options,
                                    absl::FunctionRef<absl::Status(PgConnection&)> body) {
  const int attempts = std::max(1, options.max_attempts);
  absl::Status last;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) {
      BackoffBeforeAttempt(attempt - 1);
    }
    P402_ASSIGN_OR_RETURN(Lease lease, Acquire());
    absl::StatusOr<PgResult> begin = lease->Exec(BeginStatement(options));
    if (!begin.ok()) {
      // Nothing ran yet, so a connection that died while idle is safe to retry on another one.
      last = begin.status();
      if (absl::IsUnavailable(last) && lease->IsBroken()) {
        continue;
      }
      return last;
    }
    absl::Status status = body(*lease);
    if (status.ok()) {
      absl::StatusOr<PgResult> commit = lease->Exec("COMMIT");
      if (commit.ok()) {
        return absl::OkStatus();
      }
      status = commit.status();
      if (absl::IsUnavailable(status)) {
        return Unavailable(
            absl::StrCat("postgres transaction outcome unknown (connection lost "
                         "during COMMIT): ",
                         status.message()));
      }
    }
    // Roll back here rather than in Return() so the next attempt starts clean; a failed ROLLBACK
    // breaks the connection and the pool drops it.
    if (lease->tx_state() != PgConnection::TxState::kIdle && !lease->IsBroken()) {
      (void)lease->Exec("ROLLBACK");
    }
    last = status;
    if (!absl::IsAborted(status)) {
      return status;
    }
    P402_LOG(kDebug, "postgres transaction aborted; retrying")
        .Field("attempt", attempt)
        .Field("status", ToString(status.message()));
  }
  return last;
}

PgPool::Stats PgPool::stats() const {
  absl::MutexLock lock(&mu_);
  return Stats{.open = open_,
               .idle = static_cast<int>(idle_.size()),
               .in_use = in_use_,
               .waiting = waiting_,
               .acquire_timeouts = acquire_timeouts_,
               .connects = connects_,
               .discarded = discarded_};
}

}  // namespace p402::store
