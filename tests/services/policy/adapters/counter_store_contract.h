// File: tests/services/policy/adapters/counter_store_contract.h
// The CounterStore contract (services/policy/core/counter_store.h), shared by every
// implementation's test: InMemoryCounterStore
// (tests/services/policy/core/memory_counter_store_test.cc) and RedisCounterStore
// (tests/services/policy/adapters/redis_counter_store_test.cc).
//
// Usage, inside a TEST_CASE:
//
//   TEST_CASE("RedisCounterStore meets the CounterStore contract", "[service][counters]") {
//     RedisCounterStore& store = ...;
//     RunCounterStoreContract(store, "contract:" + unique_suffix + ":", UnixMillis(now));
//   }
//
//   void RunCounterStoreContract(CounterStore& store, const std::string& key_prefix,
//                                int64_t now_unix_ms);
//
//   - It opens one Catch2 SECTION per behaviour, so Catch2 runs the enclosing TEST_CASE once per
//     section: `store` may be created in the TEST_CASE body (fresh per section) or shared. Every
//     section uses its own keys, all starting with `key_prefix`, so sections and repeated runs on
//     one shared server never see each other's state when the prefix is unique per run.
//   - `now_unix_ms` is the store's current wall time (Redis: the wall clock; memory: its
//     FakeClock, which must not move during the contract). The explicit times passed to
//     TakeToken/AcquireSlot are now_unix_ms plus offsets of at most a few hours.
//   - It never relies on the expiry of AddIfWithin/Add/ObserveSample keys (TTLs are >= 1 h) nor
//     on the store's clock moving: TTL expiry is implementation-specific and tested separately.
//
// What it pins beyond the port's comments (both implementations must agree):
//   - Token bucket: continuous refill at capacity/period tokens per ms from the previous call's
//     `now`; retry_after_ms = ceil(ms until one whole token); a `now` before the previous one
//     grants nothing; a smaller capacity clamps the tokens held.
//   - InvalidArgument for: capacity < 1, refill_period_ms < 1, AddIfWithin delta < 0, ttl_ms < 1,
//     empty member, AcquireSlot limit < 1, expires_unix_ms <= now_unix_ms, max_count < 1, a
//     non-finite sample.
//   - ObserveSample: Welford below max_count; at max_count, exponential forgetting with
//     alpha = 1/n: mean += alpha*diff; var = (1-alpha)*(var + alpha*diff^2) with
//     var = m2/(n-1) (see services/policy/adapters/memory_counter_store.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "catch2/catch.hpp"
#include "services/policy/core/counter_store.h"
#include "tests/support/catch_status.h"

namespace p402::policy::testing {

inline void RunCounterStoreContract(CounterStore& store, const std::string& key_prefix,
                                    int64_t now_unix_ms) {
  using p402::testing::IsOk;
  using p402::testing::StatusIs;
  const int64_t t0 = now_unix_ms;
  constexpr int64_t kTtl = 3'600'000;  // never reached during the contract
  auto key = [&key_prefix](const char* name) { return key_prefix + name; };
  // Unwrappers that fail the test (instead of aborting) when the store returns an error.
  auto took = [&store](const std::string& k, int64_t capacity, int64_t period, int64_t now) {
    absl::StatusOr<TokenBucketResult> r = store.TakeToken(k, capacity, period, now);
    REQUIRE_THAT(r.status(), IsOk());
    return r->allowed;
  };
  auto got_slot = [&store](const std::string& k, const std::string& member, int64_t limit,
                           int64_t expires, int64_t now) {
    absl::StatusOr<SlotResult> r = store.AcquireSlot(k, member, limit, expires, now);
    REQUIRE_THAT(r.status(), IsOk());
    return r->acquired;
  };
  auto value = [](const absl::StatusOr<int64_t>& r) {
    REQUIRE_THAT(r.status(), IsOk());
    return *r;
  };

  SECTION("a new bucket is full; an empty one reports when the next token is due") {
    const std::string k = key("bucket-basic");
    // 3 tokens per 3000 ms: one token per 1000 ms.
    for (int i = 0; i < 3; ++i) {
      auto r = store.TakeToken(k, 3, 3000, t0);
      REQUIRE_THAT(r.status(), IsOk());
      CHECK(r->allowed);
    }
    auto empty = store.TakeToken(k, 3, 3000, t0);
    REQUIRE_THAT(empty.status(), IsOk());
    CHECK_FALSE(empty->allowed);
    CHECK(empty->retry_after_ms == 1000);

    auto partial = store.TakeToken(k, 3, 3000, t0 + 400);
    REQUIRE_THAT(partial.status(), IsOk());
    CHECK_FALSE(partial->allowed);
    CHECK(partial->retry_after_ms == 600);

    auto due = store.TakeToken(k, 3, 3000, t0 + 1000);
    REQUIRE_THAT(due.status(), IsOk());
    CHECK(due->allowed);
    auto again = store.TakeToken(k, 3, 3000, t0 + 1000);
    REQUIRE_THAT(again.status(), IsOk());
    CHECK_FALSE(again->allowed);
    CHECK(again->retry_after_ms == 1000);
  }

  SECTION("a bucket refills continuously and never beyond its capacity") {
    const std::string k = key("bucket-refill");
    // 2 tokens per 1000 ms: one per 500 ms.
    REQUIRE(took(k, 2, 1000, t0));
    REQUIRE(took(k, 2, 1000, t0));
    auto quarter = store.TakeToken(k, 2, 1000, t0 + 250);
    REQUIRE_THAT(quarter.status(), IsOk());
    CHECK_FALSE(quarter->allowed);
    CHECK(quarter->retry_after_ms == 250);
    CHECK(took(k, 2, 1000, t0 + 500));
    CHECK_FALSE(took(k, 2, 1000, t0 + 500));

    // Idle for ten periods: full again, but holding only `capacity` tokens.
    const int64_t later = t0 + 10'000;
    CHECK(took(k, 2, 1000, later));
    CHECK(took(k, 2, 1000, later));
    auto over = store.TakeToken(k, 2, 1000, later);
    REQUIRE_THAT(over.status(), IsOk());
    CHECK_FALSE(over->allowed);
    CHECK(over->retry_after_ms >= 1);
  }

  SECTION("a time before the bucket's last call grants nothing") {
    const std::string k = key("bucket-backwards");
    REQUIRE(took(k, 1, 1000, t0 + 5000));
    auto earlier = store.TakeToken(k, 1, 1000, t0);
    REQUIRE_THAT(earlier.status(), IsOk());
    CHECK_FALSE(earlier->allowed);
    CHECK(earlier->retry_after_ms >= 1);
    CHECK(earlier->retry_after_ms <= 1000);
  }

  SECTION("a lower capacity clamps the tokens held") {
    const std::string k = key("bucket-shrink");
    REQUIRE(took(k, 10, 3'600'000, t0));  // 9 left
    CHECK(took(k, 2, 3'600'000, t0));
    CHECK(took(k, 2, 3'600'000, t0));
    CHECK_FALSE(took(k, 2, 3'600'000, t0));
  }

  SECTION("buckets are independent per key") {
    REQUIRE(took(key("bucket-a"), 1, 60'000, t0));
    CHECK_FALSE(took(key("bucket-a"), 1, 60'000, t0));
    CHECK(took(key("bucket-b"), 1, 60'000, t0));
  }

  SECTION("TakeToken rejects a capacity or refill period below 1") {
    using absl::StatusCode::kInvalidArgument;
    CHECK_THAT(store.TakeToken(key("bucket-bad"), 0, 1000, t0).status(),
               StatusIs(kInvalidArgument));
    CHECK_THAT(store.TakeToken(key("bucket-bad"), -5, 1000, t0).status(),
               StatusIs(kInvalidArgument));
    CHECK_THAT(store.TakeToken(key("bucket-bad"), 1, 0, t0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.TakeToken(key("bucket-bad"), 1, -1, t0).status(), StatusIs(kInvalidArgument));
  }

  SECTION("AddIfWithin adds only while the value stays within the limit") {
    const std::string k = key("bounded");
    auto first = store.AddIfWithin(k, 5, 10, kTtl);
    REQUIRE_THAT(first.status(), IsOk());
    CHECK(first->applied);
    CHECK(first->value == 5);

    auto refused = store.AddIfWithin(k, 6, 10, kTtl);
    REQUIRE_THAT(refused.status(), IsOk());
    CHECK_FALSE(refused->applied);
    CHECK(refused->value == 5);

    auto exact = store.AddIfWithin(k, 5, 10, kTtl);  // the limit itself is within
    REQUIRE_THAT(exact.status(), IsOk());
    CHECK(exact->applied);
    CHECK(exact->value == 10);

    auto zero = store.AddIfWithin(k, 0, 10, kTtl);
    REQUIRE_THAT(zero.status(), IsOk());
    CHECK(zero->applied);
    CHECK(zero->value == 10);

    auto lower_limit = store.AddIfWithin(k, 0, 7, kTtl);  // already above a lower limit
    REQUIRE_THAT(lower_limit.status(), IsOk());
    CHECK_FALSE(lower_limit->applied);
    CHECK(lower_limit->value == 10);

    // No overflow on huge figures.
    auto huge = store.AddIfWithin(k, std::numeric_limits<int64_t>::max(),
                                  std::numeric_limits<int64_t>::max(), kTtl);
    REQUIRE_THAT(huge.status(), IsOk());
    CHECK_FALSE(huge->applied);
    CHECK(huge->value == 10);
    CHECK(value(store.Get(k)) == 10);
  }

  SECTION("a refused AddIfWithin on an absent key leaves it at 0") {
    const std::string k = key("bounded-absent");
    auto refused = store.AddIfWithin(k, 11, 10, kTtl);
    REQUIRE_THAT(refused.status(), IsOk());
    CHECK_FALSE(refused->applied);
    CHECK(refused->value == 0);
    CHECK(value(store.Get(k)) == 0);
  }

  SECTION("Add takes any sign, never goes below 0, and shares the counter with AddIfWithin") {
    const std::string k = key("plain");
    CHECK(value(store.Add(k, 7, kTtl)) == 7);
    CHECK(value(store.Add(k, -3, kTtl)) == 4);
    auto bounded = store.AddIfWithin(k, 7, 10, kTtl);
    REQUIRE_THAT(bounded.status(), IsOk());
    CHECK_FALSE(bounded->applied);
    CHECK(bounded->value == 4);
    CHECK(value(store.Add(k, -100, kTtl)) == 0);
    CHECK(value(store.Get(k)) == 0);
    CHECK(value(store.Add(k, 2, kTtl)) == 2);

    CHECK(value(store.Add(key("plain-negative-absent"), -5, kTtl)) == 0);
  }

  SECTION("Get of an absent counter is 0; counters are independent per key") {
    CHECK(value(store.Get(key("never-written"))) == 0);
    REQUIRE_THAT(store.Add(key("counter-a"), 3, kTtl).status(), IsOk());
    CHECK(value(store.Get(key("counter-a"))) == 3);
    CHECK(value(store.Get(key("counter-b"))) == 0);
  }

  SECTION("counters reject a negative bounded delta and a TTL below 1") {
    using absl::StatusCode::kInvalidArgument;
    CHECK_THAT(store.AddIfWithin(key("bad"), -1, 10, kTtl).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.AddIfWithin(key("bad"), 1, 10, 0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.Add(key("bad"), 1, 0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.Add(key("bad"), 1, -1).status(), StatusIs(kInvalidArgument));
    CHECK(value(store.Get(key("bad"))) == 0);
  }

  SECTION("slots: at most `limit` members; a holder re-acquires; release frees") {
    const std::string k = key("slots");
    const int64_t exp = t0 + kTtl;
    auto a = store.AcquireSlot(k, "a", 2, exp, t0);
    REQUIRE_THAT(a.status(), IsOk());
    CHECK(a->acquired);
    CHECK(a->in_use == 1);
    auto b = store.AcquireSlot(k, "b", 2, exp, t0);
    REQUIRE_THAT(b.status(), IsOk());
    CHECK(b->acquired);
    CHECK(b->in_use == 2);
    auto c = store.AcquireSlot(k, "c", 2, exp, t0);
    REQUIRE_THAT(c.status(), IsOk());
    CHECK_FALSE(c->acquired);
    CHECK(c->in_use == 2);
    auto a_again = store.AcquireSlot(k, "a", 2, exp, t0);
    REQUIRE_THAT(a_again.status(), IsOk());
    CHECK(a_again->acquired);
    CHECK(a_again->in_use == 2);

    REQUIRE_THAT(store.ReleaseSlot(k, "a"), IsOk());
    REQUIRE_THAT(store.ReleaseSlot(k, "a"), IsOk());  // absent: no-op
    REQUIRE_THAT(store.ReleaseSlot(k, "nobody"), IsOk());
    REQUIRE_THAT(store.ReleaseSlot(key("slots-never-used"), "x"), IsOk());
    auto c_now = store.AcquireSlot(k, "c", 2, exp, t0);
    REQUIRE_THAT(c_now.status(), IsOk());
    CHECK(c_now->acquired);
    CHECK(c_now->in_use == 2);
  }

  SECTION("a slot past its expiry no longer counts") {
    const std::string k = key("slots-expiry");
    REQUIRE(got_slot(k, "dead", 1, t0 + 1000, t0));
    auto before = store.AcquireSlot(k, "next", 1, t0 + 5000, t0 + 999);
    REQUIRE_THAT(before.status(), IsOk());
    CHECK_FALSE(before->acquired);
    CHECK(before->in_use == 1);
    auto at = store.AcquireSlot(k, "next", 1, t0 + 5000, t0 + 1000);  // expiry <= now: gone
    REQUIRE_THAT(at.status(), IsOk());
    CHECK(at->acquired);
    CHECK(at->in_use == 1);
  }

  SECTION("slot sets are independent per key") {
    REQUIRE(got_slot(key("slots-a"), "m", 1, t0 + kTtl, t0));
    CHECK(got_slot(key("slots-b"), "n", 1, t0 + kTtl, t0));
    CHECK_FALSE(got_slot(key("slots-a"), "n", 1, t0 + kTtl, t0));
  }

  SECTION("AcquireSlot rejects an empty member, a limit below 1 and an expiry not after now") {
    using absl::StatusCode::kInvalidArgument;
    const std::string k = key("slots-bad");
    CHECK_THAT(store.AcquireSlot(k, "", 1, t0 + 1000, t0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.AcquireSlot(k, "m", 0, t0 + 1000, t0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.AcquireSlot(k, "m", -1, t0 + 1000, t0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.AcquireSlot(k, "m", 1, t0, t0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.AcquireSlot(k, "m", 1, t0 - 1, t0).status(), StatusIs(kInvalidArgument));
    CHECK(got_slot(k, "m", 1, t0 + 1000, t0));
  }

  SECTION("ObserveSample returns the statistics before the sample (Welford)") {
    const std::string k = key("series");
    auto s0 = store.ObserveSample(k, 1, 100, kTtl);
    REQUIRE_THAT(s0.status(), IsOk());
    CHECK(s0->count == 0);
    CHECK(s0->mean == 0);
    CHECK(s0->m2 == 0);
    REQUIRE_THAT(store.ObserveSample(k, 2, 100, kTtl).status(), IsOk());
    REQUIRE_THAT(store.ObserveSample(k, 3, 100, kTtl).status(), IsOk());
    auto s3 = store.ObserveSample(k, 4, 100, kTtl);
    REQUIRE_THAT(s3.status(), IsOk());
    CHECK(s3->count == 3);
    CHECK(s3->mean == Approx(2.0));
    CHECK(s3->m2 == Approx(2.0));  // (1-2)^2 + 0 + (3-2)^2
    auto s4 = store.ObserveSample(k, 0, 100, kTtl);
    REQUIRE_THAT(s4.status(), IsOk());
    CHECK(s4->count == 4);
    CHECK(s4->mean == Approx(2.5));
    CHECK(s4->m2 == Approx(5.0));
    // Large micro-USD figures keep their precision.
    auto big = store.ObserveSample(key("series-big"), 4'200'000'000.0, 100, kTtl);
    REQUIRE_THAT(big.status(), IsOk());
    auto big2 = store.ObserveSample(key("series-big"), 1, 100, kTtl);
    REQUIRE_THAT(big2.status(), IsOk());
    CHECK(big2->count == 1);
    CHECK(big2->mean == Approx(4'200'000'000.0));
  }

  SECTION("ObserveSample forgets exponentially once it holds max_count samples") {
    const std::string k = key("series-forget");
    REQUIRE_THAT(store.ObserveSample(k, 1, 2, kTtl).status(), IsOk());
    REQUIRE_THAT(store.ObserveSample(k, 3, 2, kTtl).status(), IsOk());
    auto full = store.ObserveSample(k, 5, 2, kTtl);  // n = 2, alpha = 0.5, diff = 3
    REQUIRE_THAT(full.status(), IsOk());
    CHECK(full->count == 2);
    CHECK(full->mean == Approx(2.0));
    CHECK(full->m2 == Approx(2.0));
    auto after = store.ObserveSample(k, 5, 2, kTtl);
    REQUIRE_THAT(after.status(), IsOk());
    CHECK(after->count == 2);           // stays at max_count
    CHECK(after->mean == Approx(3.5));  // 2 + 0.5 * 3
    CHECK(after->m2 == Approx(3.25));   // 0.5 * (2 + 0.5 * 9), times (n - 1) = 1
    // Repeating one value pulls the mean towards it and the spread towards 0.
    for (int i = 0; i < 40; ++i) {
      REQUIRE_THAT(store.ObserveSample(k, 5, 2, kTtl).status(), IsOk());
    }
    auto settled = store.ObserveSample(k, 5, 2, kTtl);
    REQUIRE_THAT(settled.status(), IsOk());
    CHECK(settled->count == 2);
    CHECK(settled->mean == Approx(5.0).margin(1e-6));
    CHECK(settled->m2 == Approx(0.0).margin(1e-6));
    CHECK(settled->m2 >= 0);
  }

  SECTION("ObserveSample rejects max_count < 1, a TTL below 1 and non-finite samples") {
    using absl::StatusCode::kInvalidArgument;
    const std::string k = key("series-bad");
    CHECK_THAT(store.ObserveSample(k, 1, 0, kTtl).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.ObserveSample(k, 1, 10, 0).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.ObserveSample(k, std::nan(""), 10, kTtl).status(), StatusIs(kInvalidArgument));
    CHECK_THAT(store.ObserveSample(k, std::numeric_limits<double>::infinity(), 10, kTtl).status(),
               StatusIs(kInvalidArgument));
    auto clean = store.ObserveSample(k, 1, 10, kTtl);
    REQUIRE_THAT(clean.status(), IsOk());
    CHECK(clean->count == 0);  // the rejected samples left nothing behind
  }
}

}  // namespace p402::policy::testing
