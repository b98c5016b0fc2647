// File: services/policy/core/counter_store.h
// CounterStore: the shared, short-lived counters behind guard layers 1-4 (rate limit, daily
// circuit breaker, concurrency, anomaly) and the spend windows of spending policies. They protect
// the service, not the ledger: the source of truth for money is the PolicyStore, and every layer
// built on a CounterStore fails open when it is unavailable (counted in /metrics).
//
// Implementations: InMemoryCounterStore (adapters/memory_counter_store.h: one process, the
// embedded default) and RedisCounterStore (adapters/redis_counter_store.h, hiredis: shared by
// several policy replicas; each operation is one atomic server-side step).
//
// Keys are opaque strings built by the layers (e.g. "rl:{tenant}", "day:{tenant}:20261123");
// implementations may prefix them. Every method may fail with Unavailable (store down or timed
// out); none may crash on any input. Thread-safe. Blocking: Redis does network I/O.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace p402::policy {

struct TokenBucketResult {
  // True when a token was taken.
  bool allowed = false;
  // When !allowed: milliseconds until one token is available (>= 1).
  int64_t retry_after_ms = 0;
};

struct BoundedAddResult {
  // True when delta was added.
  bool applied = false;
  // The value after the add when applied, the unchanged current value otherwise.
  int64_t value = 0;
};

struct SlotResult {
  // True when the member holds a slot (newly or already).
  bool acquired = false;
  // Live (unexpired) members after the call.
  int64_t in_use = 0;
};

// Running statistics of a series (Welford: count, mean, sum of squared deviations).
struct SampleStats {
  int64_t count = 0;
  double mean = 0;
  double m2 = 0;
};

class CounterStore {
 public:
  virtual ~CounterStore() = default;

  // Token bucket `key` holding up to `capacity` tokens (>= 1), refilled continuously at
  // `capacity` tokens per `refill_period_ms` (>= 1); a new bucket starts full. Takes one token if
  // there is one at `now_unix_ms`. The bucket is forgotten after a full refill period unused.
  virtual absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                                      int64_t refill_period_ms,
                                                      int64_t now_unix_ms) = 0;

  // Adds `delta` (>= 0) to counter `key` (absent = 0) only when value + delta <= limit; sets the
  // key to expire `ttl_ms` after now when it has no expiry yet (counters of a time window live
  // past its end, then vanish).
  virtual absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta,
                                                       int64_t limit, int64_t ttl_ms) = 0;
  // Adds `delta` (any sign) to counter `key`, never going below 0, with the same expiry rule;
  // returns the value after.
  virtual absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) = 0;
  // The counter's value; 0 when absent or expired.
  virtual absl::StatusOr<int64_t> Get(std::string_view key) = 0;

  // Slot set `key` (in-flight requests): `member` (e.g. a reservation id) takes a slot when fewer
  // than `limit` unexpired members hold one; each member's slot expires at `expires_unix_ms`, so
  // a slot whose owner died is freed by time. Members whose expiry is <= now_unix_ms do not
  // count and are dropped.
  virtual absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                                 int64_t limit, int64_t expires_unix_ms,
                                                 int64_t now_unix_ms) = 0;
  // Frees `member`'s slot (absent = no-op).
  virtual absl::Status ReleaseSlot(std::string_view key, std::string_view member) = 0;

  // Adds `value` to series `key` and returns the statistics from BEFORE it was added (so a
  // caller can score the new value against the history in one round trip). Once the series
  // holds `max_count` samples it keeps max_count as its count (exponential forgetting: recent
  // behaviour dominates). The series expires `ttl_ms` after its last sample.
  virtual absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value,
                                                    int64_t max_count, int64_t ttl_ms) = 0;
};

}  // namespace p402::policy
