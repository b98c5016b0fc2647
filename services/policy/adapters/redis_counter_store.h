// File: services/policy/adapters/redis_counter_store.h
// RedisCounterStore: the CounterStore (core/counter_store.h) in Redis, so several policy replicas
// share the counters of guard layers 1-4. Every operation is ONE atomic server-side step: a Lua
// script (EVALSHA, EVAL on NOSCRIPT) or a single command, so replicas never interleave inside a
// read-modify-write.
//
// Data model (all keys are key_prefix + the layer's key):
//   token bucket  hash {t: tokens (%.17g), ts: last refill ms}, PEXPIRE refill period
//   counters      string integer (INCRBY), expiry set once (when it has none)
//   slot sets     sorted set member -> expiry ms, key expires at the latest member expiry
//   sample series hash {n, mean, m2} (%.17g), PEXPIRE ttl after each sample
// Numbers cross Lua as strings with %.17g (exact round trip of doubles); counters are exact up to
// 2^53 (Lua numbers are doubles), far above any micro-USD or request count we keep.
//
// Failure behaviour (the layers fail open on any error, so this only has to be fast and safe):
//   - a small pool of blocking hiredis connections, created lazily, each with connect and command
//     timeouts (the guard's hot path never waits on Redis longer than command_timeout);
//   - any I/O error or timeout drops that connection and returns Unavailable("redis: ...");
//     a connection the server closed (restart, failover) also drops the idle ones (stale too);
//   - a failed connect (refused, AUTH/SELECT rejected) or a command timeout makes every call
//     fail fast (no I/O) for `reconnect_backoff`, so a dead or hung Redis costs nothing per
//     request; the first call after that window reconnects;
//   - every reply type is checked; Redis error replies become Unavailable (LOADING, BUSY,
//     READONLY, MASTERDOWN, OOM, ...) or Internal (WRONGTYPE, script errors).
// The password is a secret: it never appears in logs, messages or DebugString().
// Thread-safe. Blocking: call from worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/policy/core/counter_store.h"

namespace p402::policy {

struct RedisOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // ACL user (Redis 6+); empty = the default user (AUTH <password>).
  std::string username;
  // Secret (from the environment / a *_FILE only). Empty = no AUTH.
  std::string password;
  int db = 0;
  // Prepended to every key, so several deployments can share one Redis.
  std::string key_prefix = "p402:";
  std::chrono::milliseconds connect_timeout{100};
  // Per command (send + reply). The guard's hot path must not hang on Redis.
  std::chrono::milliseconds command_timeout{50};
  // Pool size (connections are opened on demand, up to this many).
  int max_connections = 8;
  // After a failed connect or a timeout, calls fail fast without I/O for this long.
  std::chrono::milliseconds reconnect_backoff{500};
};

// Parses "redis://[[user]:password@]host[:port][/db]" (port default 6379, db default 0; the
// password may be percent-encoded; IPv6 hosts in brackets). Other RedisOptions fields keep their
// defaults. Errors: InvalidArgument (other scheme, "rediss://" (TLS is not supported), empty host,
// bad port/db, trailing garbage); the message never contains the password.
absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url);

class RedisCounterStore final : public CounterStore {
 public:
  // Validates `options` (host set, port 1..65535, db >= 0, timeouts and pool size >= 1) and
  // returns a store. Does no I/O: the policy service starts even when Redis is down (the layers
  // fail open); use Ping() for readiness. Errors: InvalidArgument.
  static absl::StatusOr<std::unique_ptr<RedisCounterStore>> Create(RedisOptions options);

  // Precondition: no call is in progress.
  ~RedisCounterStore() override;
  RedisCounterStore(const RedisCounterStore&) = delete;
  RedisCounterStore& operator=(const RedisCounterStore&) = delete;

  // CounterStore (contract in core/counter_store.h). Invalid arguments (capacity < 1, negative
  // delta in AddIfWithin, non-finite sample, ...) are InvalidArgument before any I/O; otherwise
  // Unavailable or Internal as described above.
  absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                              int64_t refill_period_ms,
                                              int64_t now_unix_ms) override;
  absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta, int64_t limit,
                                               int64_t ttl_ms) override;
  absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) override;
  absl::StatusOr<int64_t> Get(std::string_view key) override;
  absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                         int64_t limit, int64_t expires_unix_ms,
                                         int64_t now_unix_ms) override;
  absl::Status ReleaseSlot(std::string_view key, std::string_view member) override;
  absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value, int64_t max_count,
                                            int64_t ttl_ms) override;

  // PING round trip, for /readyz. OK, or Unavailable as any call.
  absl::Status Ping();

  // Operations that returned an error since creation (Unavailable, Internal; not
  // InvalidArgument), including fail-fast ones: the metrics' failure counter.
  int64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  // "redis://host:port/db" (no credentials), for logs.
  std::string DebugString() const;

 private:
  struct Impl;  // hiredis lives only in the .cc
  explicit RedisCounterStore(std::unique_ptr<Impl> impl);
  // Counts a failure when `status` is not OK (and not InvalidArgument).
  absl::Status Count(absl::Status status);

  std::unique_ptr<Impl> impl_;
  std::atomic<int64_t> failures_{0};
};

}  // namespace p402::policy
