// File: services/policy/adapters/memory_counter_store.h
// InMemoryCounterStore: the CounterStore (core/counter_store.h) of a single policy process, the
// embedded default. Everything lives in this process's memory under one absl::Mutex; replicas that
// must share counters use RedisCounterStore instead.
//
// Expiry: keys carry an absolute expiry on the injected Clock (AddIfWithin/Add: set once, when the
// key is created; ObserveSample: refreshed by every sample; token buckets: one refill period after
// their last use; slot sets: their members' own expiries). Expired entries are dropped lazily when
// touched, and a sweep of the whole store runs every kSweepEveryOps operations, so memory stays
// bounded by the keys live within their TTLs.
//
// Semantics beyond counter_store.h (shared with RedisCounterStore through the contract test
// tests/services/policy/adapters/counter_store_contract.h):
//   - Token buckets hold fractional tokens as a double, refilled continuously at
//     capacity / refill_period_ms tokens per ms from the `now_unix_ms` of the previous call; a
//     `now` earlier than the last one refills nothing. A call with a different capacity clamps the
//     tokens to it. retry_after_ms = ceil((1 - tokens) * refill_period_ms / capacity), >= 1.
//   - ObserveSample uses Welford's update while count < max_count. From then on count stays at
//     max_count = n and the series forgets exponentially with alpha = 1/n:
//         diff = x - mean;  mean += alpha * diff;
//         var  = m2 / (n - 1)   (0 when n == 1)
//         var  = (1 - alpha) * (var + alpha * diff * diff);   m2 = var * (n - 1)
//     (the exponentially weighted variance of Finch, "Incremental calculation of weighted mean
//     and variance", 2009, eq. 143), so m2 / (count - 1) stays the running variance estimate.
//   - AcquireSlot by a member that already holds a slot refreshes its expiry.
//   - Counters, buckets, slot sets and series are separate key spaces (Redis would refuse a key
//     used as two types; the layers never do that: their keys have distinct prefixes).
// Input validation (InvalidArgument, never a crash): capacity < 1, refill_period_ms < 1, delta < 0
// in AddIfWithin, ttl_ms < 1, empty member, limit < 1 in AcquireSlot, expires_unix_ms <=
// now_unix_ms, max_count < 1, a non-finite sample. Counters saturate at INT64_MAX.
//
// Thread-safe; never fails with Unavailable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/clock.h"
#include "services/policy/core/counter_store.h"

namespace p402::policy {

class InMemoryCounterStore final : public CounterStore {
 public:
  // A full sweep of expired entries runs once per this many operations.
  static constexpr int64_t kSweepEveryOps = 1024;

  // `clock` (wall time: Now()) decides expiry; it must outlive the store.
  explicit InMemoryCounterStore(const Clock& clock);

  // CounterStore
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

  // Entries held (counters + buckets + slot sets + series), expired ones included until swept.
  size_t EntryCountForTest() const;

 private:
  struct Counter {
    int64_t value = 0;
    int64_t expires_unix_ms = 0;
  };
  struct Bucket {
    double tokens = 0;
    int64_t last_unix_ms = 0;     // caller's time of the last refill
    int64_t expires_unix_ms = 0;  // clock time
  };
  struct SlotSet {
    absl::flat_hash_map<std::string, int64_t> expiry_by_member;  // caller's time
  };
  struct Series {
    SampleStats stats;
    int64_t expires_unix_ms = 0;
  };

  int64_t NowMs() const;
  // Counts one operation and sweeps every kSweepEveryOps.
  void Tick(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Sweep(int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The live counter for `key`, or null (an expired one is erased first).
  Counter* FindCounter(std::string_view key, int64_t now_ms) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  mutable absl::Mutex mu_;
  int64_t ops_since_sweep_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Counter> counters_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, SlotSet> slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Series> series_ ABSL_GUARDED_BY(mu_);
};

}  // namespace p402::policy
