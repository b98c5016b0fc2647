#include "services/policy/adapters/memory_counter_store.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::policy {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Token counts are doubles: a refill that should land exactly on a whole token may come out a
// hair below it, which must not turn a due token into a 1 ms retry loop.
constexpr double kTokenEpsilon = 1e-9;

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? kInt64Max : kInt64Min;
  }
  return out;
}

absl::Status CheckTtl(int64_t ttl_ms) {
  if (ttl_ms < 1) {
    return InvalidArgument("ttl_ms must be >= 1");
  }
  return absl::OkStatus();
}

}  // namespace

InMemoryCounterStore::InMemoryCounterStore(const Clock& clock) : clock_(clock) {}

int64_t InMemoryCounterStore::NowMs() const { return UnixMillis(clock_.Now()); }

void InMemoryCounterStore::Tick(int64_t now_ms) {
  if (++ops_since_sweep_ >= kSweepEveryOps) {
    ops_since_sweep_ = 0;
    Sweep(now_ms);
  }
}

void InMemoryCounterStore::Sweep(int64_t now_ms) {
  absl::erase_if(counters_,
                 [now_ms](const auto& kv) { return kv.second.expires_unix_ms <= now_ms; });
  absl::erase_if(buckets_,
                 [now_ms](const auto& kv) { return kv.second.expires_unix_ms <= now_ms; });
  absl::erase_if(series_, [now_ms](const auto& kv) { return kv.second.expires_unix_ms <= now_ms; });
  // Slot expiries are in the callers' time, which is the same wall clock in production; a member
  // whose owner died is dropped here even if nobody asks for that tenant's slots again.
  for (auto& [key, set] : slots_) {
    absl::erase_if(set.expiry_by_member, [now_ms](const auto& kv) { return kv.second <= now_ms; });
  }
  absl::erase_if(slots_, [](const auto& kv) { return kv.second.expiry_by_member.empty(); });
}

InMemoryCounterStore::Counter* InMemoryCounterStore::FindCounter(std::string_view key,
                                                                 int64_t now_ms) {
  auto it = counters_.find(ToAbsl(key));
  if (it == counters_.end()) {
    return nullptr;
  }
  if (it->second.expires_unix_ms <= now_ms) {
    counters_.erase(it);
    return nullptr;
  }
  return &it->second;
}

absl::StatusOr<TokenBucketResult> InMemoryCounterStore::TakeToken(std::string_view key,
                                                                  int64_t capacity,
                                                                  int64_t refill_period_ms,
                                                                  int64_t now_unix_ms) {
  if (capacity < 1) {
    return InvalidArgument("capacity must be >= 1");
  }
  if (refill_period_ms < 1) {
    return InvalidArgument("refill_period_ms must be >= 1");
  }
  const int64_t clock_ms = NowMs();
  const double cap = static_cast<double>(capacity);
  absl::MutexLock lock(&mu_);
  Tick(clock_ms);
  auto [it, inserted] = buckets_.try_emplace(ToAbsl(key));
  Bucket& b = it->second;
  if (inserted || b.expires_unix_ms <= clock_ms) {
    // New, or forgotten after a full period unused: a full bucket.
    b.tokens = cap;
    b.last_unix_ms = now_unix_ms;
  } else if (now_unix_ms > b.last_unix_ms) {
    // 128-bit: the two times are arbitrary int64 values from the caller.
    const __int128 elapsed = static_cast<__int128>(now_unix_ms) - b.last_unix_ms;
    if (elapsed >= refill_period_ms) {
      b.tokens = cap;
    } else {
      b.tokens += static_cast<double>(elapsed) * cap / static_cast<double>(refill_period_ms);
    }
    b.last_unix_ms = now_unix_ms;
  }
  // A time before the last call refills nothing (and does not move last_unix_ms back, which
  // would grant the same interval twice). A smaller capacity than last time clamps.
  b.tokens = std::min(b.tokens, cap);
  b.expires_unix_ms = SaturatingAdd(clock_ms, refill_period_ms);

  TokenBucketResult result;
  if (b.tokens >= 1.0 - kTokenEpsilon) {
    b.tokens = std::max(0.0, b.tokens - 1.0);
    result.allowed = true;
    return result;
  }
  const double wait = (1.0 - b.tokens) * static_cast<double>(refill_period_ms) / cap;
  const double rounded = std::ceil(wait - kTokenEpsilon);
  result.retry_after_ms =
      std::clamp<int64_t>(static_cast<int64_t>(std::min(rounded, 9.0e18)), 1, refill_period_ms);
  return result;
}

absl::StatusOr<BoundedAddResult> InMemoryCounterStore::AddIfWithin(std::string_view key,
                                                                   int64_t delta, int64_t limit,
                                                                   int64_t ttl_ms) {
  if (delta < 0) {
    return InvalidArgument("delta must be >= 0");
  }
  if (absl::Status s = CheckTtl(ttl_ms); !s.ok()) {
    return s;
  }
  const int64_t now_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(now_ms);
  Counter* counter = FindCounter(key, now_ms);
  const int64_t current = counter != nullptr ? counter->value : 0;
  // value + delta <= limit, without overflow (value >= 0, delta >= 0).
  if (limit < current || delta > limit - current) {
    return BoundedAddResult{.applied = false, .value = current};
  }
  if (counter == nullptr) {
    counter = &counters_[ToAbsl(key)];
    counter->expires_unix_ms = SaturatingAdd(now_ms, ttl_ms);
  }
  counter->value = current + delta;
  return BoundedAddResult{.applied = true, .value = counter->value};
}

absl::StatusOr<int64_t> InMemoryCounterStore::Add(std::string_view key, int64_t delta,
                                                  int64_t ttl_ms) {
  if (absl::Status s = CheckTtl(ttl_ms); !s.ok()) {
    return s;
  }
  const int64_t now_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(now_ms);
  Counter* counter = FindCounter(key, now_ms);
  if (counter == nullptr) {
    counter = &counters_[ToAbsl(key)];
    counter->expires_unix_ms = SaturatingAdd(now_ms, ttl_ms);
  }
  counter->value = std::max<int64_t>(0, SaturatingAdd(counter->value, delta));
  return counter->value;
}

absl::StatusOr<int64_t> InMemoryCounterStore::Get(std::string_view key) {
  const int64_t now_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(now_ms);
  const Counter* counter = FindCounter(key, now_ms);
  return counter != nullptr ? counter->value : 0;
}

absl::StatusOr<SlotResult> InMemoryCounterStore::AcquireSlot(std::string_view key,
                                                             std::string_view member, int64_t limit,
                                                             int64_t expires_unix_ms,
                                                             int64_t now_unix_ms) {
  if (member.empty()) {
    return InvalidArgument("member must not be empty");
  }
  if (limit < 1) {
    return InvalidArgument("limit must be >= 1");
  }
  if (expires_unix_ms <= now_unix_ms) {
    return InvalidArgument("expires_unix_ms must be after now_unix_ms");
  }
  const int64_t clock_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(clock_ms);
  auto& members = slots_[ToAbsl(key)].expiry_by_member;
  absl::erase_if(members, [now_unix_ms](const auto& kv) { return kv.second <= now_unix_ms; });
  SlotResult result;
  auto it = members.find(ToAbsl(member));
  if (it != members.end()) {
    it->second = expires_unix_ms;
    result.acquired = true;
  } else if (static_cast<int64_t>(members.size()) < limit) {
    members.emplace(ToAbsl(member), expires_unix_ms);
    result.acquired = true;
  }
  result.in_use = static_cast<int64_t>(members.size());
  if (members.empty()) {
    slots_.erase(ToAbsl(key));
  }
  return result;
}

absl::Status InMemoryCounterStore::ReleaseSlot(std::string_view key, std::string_view member) {
  const int64_t clock_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(clock_ms);
  auto it = slots_.find(ToAbsl(key));
  if (it == slots_.end()) {
    return absl::OkStatus();
  }
  it->second.expiry_by_member.erase(ToAbsl(member));
  if (it->second.expiry_by_member.empty()) {
    slots_.erase(it);
  }
  return absl::OkStatus();
}

absl::StatusOr<SampleStats> InMemoryCounterStore::ObserveSample(std::string_view key, double value,
                                                                int64_t max_count, int64_t ttl_ms) {
  if (!std::isfinite(value)) {
    return InvalidArgument("value must be finite");
  }
  if (max_count < 1) {
    return InvalidArgument("max_count must be >= 1");
  }
  if (absl::Status s = CheckTtl(ttl_ms); !s.ok()) {
    return s;
  }
  const int64_t now_ms = NowMs();
  absl::MutexLock lock(&mu_);
  Tick(now_ms);
  auto [it, inserted] = series_.try_emplace(ToAbsl(key));
  Series& series = it->second;
  if (!inserted && series.expires_unix_ms <= now_ms) {
    series.stats = SampleStats{};
  }
  const SampleStats before = series.stats;
  SampleStats& s = series.stats;
  if (s.count < max_count) {
    // Welford.
    ++s.count;
    const double diff = value - s.mean;
    s.mean += diff / static_cast<double>(s.count);
    s.m2 += diff * (value - s.mean);
  } else {
    // Exponential forgetting at alpha = 1/n (see the header). A max_count lowered since the last
    // sample takes effect here too.
    const int64_t n = max_count;
    const double alpha = 1.0 / static_cast<double>(n);
    const double diff = value - s.mean;
    const double var_before = s.count > 1 ? s.m2 / static_cast<double>(s.count - 1) : 0.0;
    s.count = n;
    s.mean += alpha * diff;
    if (n == 1) {
      s.m2 = 0;
    } else {
      const double var_after = (1.0 - alpha) * (var_before + alpha * diff * diff);
      s.m2 = var_after * static_cast<double>(n - 1);
    }
  }
  series.expires_unix_ms = SaturatingAdd(now_ms, ttl_ms);
  return before;
}

size_t InMemoryCounterStore::EntryCountForTest() const {
  absl::MutexLock lock(&mu_);
  return counters_.size() + buckets_.size() + slots_.size() + series_.size();
}

}  // namespace p402::policy
