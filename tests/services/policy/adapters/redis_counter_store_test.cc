// RedisCounterStore against a redis-server this binary starts on loopback
// (tests/support/redis_server.h): URL parsing, the Redis-specific guarantees (two stores =
// two policy replicas share counters atomically; results match InMemoryCounterStore exactly) and
// the failure modes (server killed, paused, restarted; wrong password; wrong key types).
#include "services/policy/adapters/redis_counter_store.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/clock.h"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "tests/services/policy/adapters/counter_store_contract.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"
#include "tests/support/redis_server.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::RedisServer;
using p402::testing::RedisServerOptions;
using p402::testing::StatusIs;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int64_t kNow = 1'735'689'600'000;  // 2025-01-01T00:00:00Z
constexpr int64_t kHour = 3'600'000;

// One server for the tests that do not break it (started on first use, on the main thread).
RedisServer& SharedRedis() {
  static std::unique_ptr<RedisServer> server = [] {
    auto s = RedisServer::Start();
    if (!s.ok()) {
      FAIL("cannot start redis-server: " << MessageOf(s.status()));
    }
    return std::move(*s);
  }();
  return *server;
}

// Keys unique per call, so tests sharing the server never see each other's counters.
std::string Unique(std::string_view base) {
  static std::atomic<int> n{0};
  return std::string(base) + ":" + std::to_string(++n);
}

RedisOptions OptionsFor(const RedisServer& server) {
  RedisOptions o;
  o.host = server.host();
  o.port = server.port();
  // Generous: these tests run on a loaded 2-core CI box; the timeout tests set their own.
  o.command_timeout = milliseconds(2'000);
  o.connect_timeout = milliseconds(2'000);
  return o;
}

std::unique_ptr<RedisCounterStore> MakeStore(RedisOptions o) {
  auto store = RedisCounterStore::Create(std::move(o));
  REQUIRE_THAT(store.status(), IsOk());
  return std::move(*store);
}

// Polls `fn` (returning bool) until true or `timeout`.
template <typename Fn>
bool Eventually(Fn fn, milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (fn()) {
      return true;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return fn();
}

TEST_CASE("ParseRedisUrl accepts the documented forms", "[service]") {
  auto plain = ParseRedisUrl("redis://cache.internal:6380");
  REQUIRE_THAT(plain.status(), IsOk());
  CHECK(plain->host == "cache.internal");
  CHECK(plain->port == 6380);
  CHECK(plain->db == 0);
  CHECK(plain->password.empty());
  CHECK(plain->key_prefix == "p402:");

  auto full = ParseRedisUrl("redis://:s%40cret@10.0.0.5:7000/3");
  REQUIRE_THAT(full.status(), IsOk());
  CHECK(full->host == "10.0.0.5");
  CHECK(full->port == 7000);
  CHECK(full->db == 3);
  CHECK(full->password == "s@cret");
  CHECK(full->username.empty());

  auto user = ParseRedisUrl("redis://policy:pw@[::1]/2");
  REQUIRE_THAT(user.status(), IsOk());
  CHECK(user->host == "::1");
  CHECK(user->port == 6379);
  CHECK(user->username == "policy");
  CHECK(user->password == "pw");
  CHECK(user->db == 2);
}

TEST_CASE("ParseRedisUrl rejects malformed URLs without echoing the password", "[service]") {
  for (const char* bad :
       {"", "http://h:1", "rediss://h:6379", "redis://", "redis://:pw@",
        "redis://h:", "redis://h:0", "redis://h:65536", "redis://h:12ab", "redis://h:1/x",
        "redis://h:1/-1", "redis://secretpw@h:1", "redis://:bad%zzsecretpw@h:1", "redis://[::1",
        "redis://[::1]x", "redis://h:1/0?timeout=1"}) {
    INFO(bad);
    auto parsed = ParseRedisUrl(bad);
    REQUIRE_THAT(parsed.status(), StatusIs(absl::StatusCode::kInvalidArgument, "redis"));
    CHECK(MessageOf(parsed.status()).find("secretpw") == std::string::npos);
  }
}

TEST_CASE("RedisCounterStore::Create validates options without I/O", "[service]") {
  RedisOptions o;
  o.port = 1;  // nothing listens there; Create must not care
  REQUIRE_THAT(RedisCounterStore::Create(o).status(), IsOk());
  RedisOptions bad = o;
  bad.host = "";
  CHECK_THAT(RedisCounterStore::Create(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "host"));
  bad = o;
  bad.port = 70000;
  CHECK_THAT(RedisCounterStore::Create(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "port"));
  bad = o;
  bad.command_timeout = milliseconds(0);
  CHECK_THAT(RedisCounterStore::Create(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "timeouts"));
  bad = o;
  bad.max_connections = 0;
  CHECK_THAT(RedisCounterStore::Create(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "max_connections"));
}

TEST_CASE("RedisCounterStore meets the CounterStore contract", "[service][counters]") {
  auto store = MakeStore(OptionsFor(SharedRedis()));
  policy::testing::RunCounterStoreContract(*store, Unique("contract") + ":",
                                           UnixMillis(SystemClock::Get().Now()));
  CHECK(store->failures() == 0);
}

TEST_CASE("RedisCounterStore basic operations and exact int64 counters", "[service]") {
  auto store = MakeStore(OptionsFor(SharedRedis()));
  REQUIRE_THAT(store->Ping(), IsOk());
  std::string key = Unique("basic");
  CHECK(*store->Get(key) == 0);
  // Above 2^53: Lua numbers are doubles, but the counter travels as a string.
  const int64_t big = (int64_t{1} << 60) + 7;
  REQUIRE(*store->Add(key, big, kHour) == big);
  CHECK(*store->Get(key) == big);
  CHECK(*store->Add(key, -big - 100, kHour) == 0);  // clamped at 0
  // Saturates instead of failing on overflow.
  CHECK(*store->Add(key, INT64_MAX, kHour) == INT64_MAX);
  CHECK(*store->Add(key, 1, kHour) == INT64_MAX);
  auto refused = store->AddIfWithin(key, 1, INT64_MAX, kHour);
  REQUIRE_THAT(refused.status(), IsOk());
  CHECK_FALSE(refused->applied);
  CHECK(store->failures() == 0);
}

TEST_CASE("RedisCounterStore keys are namespaced by key_prefix and db", "[service]") {
  RedisOptions a = OptionsFor(SharedRedis());
  RedisOptions b = a;
  b.key_prefix = "other:";
  RedisOptions c = a;
  c.db = 1;
  auto sa = MakeStore(a);
  auto sb = MakeStore(b);
  auto sc = MakeStore(c);
  std::string key = Unique("ns");
  REQUIRE(*sa->Add(key, 5, kHour) == 5);
  CHECK(*sb->Get(key) == 0);
  CHECK(*sc->Get(key) == 0);
  CHECK(*sa->Get(key) == 5);
}

TEST_CASE("RedisCounterStore counters expire after their ttl", "[service]") {
  auto store = MakeStore(OptionsFor(SharedRedis()));
  std::string key = Unique("ttl");
  REQUIRE(store->AddIfWithin(key, 3, 10, /*ttl_ms=*/150)->applied);
  // The expiry is set once: later adds do not extend it.
  REQUIRE(*store->Add(key, 1, /*ttl_ms=*/kHour) == 4);
  CHECK(Eventually([&] { return *store->Get(key) == 0; }, milliseconds(5'000)));
}

TEST_CASE("RedisCounterStore ObserveSample matches InMemoryCounterStore bit for bit", "[service]") {
  auto store = MakeStore(OptionsFor(SharedRedis()));
  policy::testing::FakeClock clock(kNow);
  InMemoryCounterStore memory(clock);
  std::string key = Unique("series");
  // Past max_count, so the exponential-forgetting branch runs too.
  const double samples[] = {0.5, 12.25, 3.0, 1e6, -4.75, 0.1, 7.0, 7.0, 1.0 / 3.0, 42.0, 2.5};
  for (double x : samples) {
    auto r = store->ObserveSample(key, x, /*max_count=*/5, kHour);
    auto m = memory.ObserveSample(key, x, 5, kHour);
    REQUIRE_THAT(r.status(), IsOk());
    REQUIRE_THAT(m.status(), IsOk());
    CHECK(r->count == m->count);
    CHECK(r->mean == m->mean);
    CHECK(r->m2 == m->m2);
  }
  for (int64_t t = 0; t < 40; t += 7) {
    std::string bucket = Unique("tb");
    for (int i = 0; i < 6; ++i) {
      auto r = store->TakeToken(bucket, 3, 1'000, kNow + t * i);
      auto m = memory.TakeToken(bucket, 3, 1'000, kNow + t * i);
      REQUIRE_THAT(r.status(), IsOk());
      CHECK(r->allowed == m->allowed);
      CHECK(r->retry_after_ms == m->retry_after_ms);
    }
  }
}

TEST_CASE("Two RedisCounterStores (replicas) never exceed a shared AddIfWithin limit",
          "[service]") {
  RedisOptions o = OptionsFor(SharedRedis());
  auto replica_a = MakeStore(o);
  auto replica_b = MakeStore(o);
  const std::string key = Unique("shared-limit");
  constexpr int kThreadsPerStore = 8;
  constexpr int kAttempts = 40;
  constexpr int64_t kLimit = 100;  // < 2 * 8 * 40 attempts
  std::atomic<int64_t> applied{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> max_seen{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerStore; ++t) {
    RedisCounterStore* store = t % 2 == 0 ? replica_a.get() : replica_b.get();
    threads.emplace_back([&, store] {
      for (int i = 0; i < kAttempts; ++i) {
        auto r = store->AddIfWithin(key, 1, kLimit, kHour);
        if (!r.ok()) {
          ++errors;
          continue;
        }
        if (r->applied) {
          ++applied;
        }
        int64_t seen = max_seen.load();
        while (r->value > seen && !max_seen.compare_exchange_weak(seen, r->value)) {
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(errors.load() == 0);
  CHECK(applied.load() == kLimit);
  CHECK(max_seen.load() == kLimit);
  CHECK(*replica_a->Get(key) == kLimit);
  CHECK(*replica_b->Get(key) == kLimit);
}

TEST_CASE("Two RedisCounterStores share slots and token buckets", "[service]") {
  RedisOptions o = OptionsFor(SharedRedis());
  auto replica_a = MakeStore(o);
  auto replica_b = MakeStore(o);
  const std::string key = Unique("slots");
  constexpr int64_t kLimit = 5;
  std::atomic<int64_t> acquired{0};
  std::atomic<int64_t> over{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    RedisCounterStore* store = t % 2 == 0 ? replica_a.get() : replica_b.get();
    threads.emplace_back([&, store, t] {
      for (int i = 0; i < 4; ++i) {
        std::string member = "r" + std::to_string(t) + "-" + std::to_string(i);
        auto r = store->AcquireSlot(key, member, kLimit, kNow + kHour, kNow);
        if (r.ok() && r->acquired) {
          ++acquired;
        }
        if (!r.ok() || r->in_use > kLimit) {
          ++over;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(over.load() == 0);
  CHECK(acquired.load() == kLimit);
  // A slot freed on one replica is available on the other; expired members do not count.
  auto full = replica_a->AcquireSlot(key, "late", kLimit, kNow + kHour, kNow);
  REQUIRE_THAT(full.status(), IsOk());
  CHECK_FALSE(full->acquired);
  CHECK(full->in_use == kLimit);
  auto later = replica_b->AcquireSlot(key, "late", kLimit, kNow + 2 * kHour, kNow + kHour);
  REQUIRE_THAT(later.status(), IsOk());
  CHECK(later->acquired);
  CHECK(later->in_use == 1);  // the five above expired at kNow + kHour

  // One bucket, one capacity, across both replicas at the same instant.
  const std::string bucket = Unique("bucket");
  int allowed = 0;
  for (int i = 0; i < 10; ++i) {
    RedisCounterStore& store = i % 2 == 0 ? *replica_a : *replica_b;
    auto r = store.TakeToken(bucket, 4, 60'000, kNow);
    REQUIRE_THAT(r.status(), IsOk());
    allowed += r->allowed ? 1 : 0;
    if (!r->allowed) {
      CHECK(r->retry_after_ms == 15'000);
    }
  }
  CHECK(allowed == 4);
}

// Every CounterStore method once; returns the statuses in a fixed order.
std::vector<absl::Status> CallEverything(RedisCounterStore& store, const std::string& key) {
  return {store.TakeToken(key + ":tb", 5, 1'000, kNow).status(),
          store.AddIfWithin(key + ":c", 1, 10, kHour).status(),
          store.Add(key + ":c", 1, kHour).status(),
          store.Get(key + ":c").status(),
          store.AcquireSlot(key + ":s", "m", 3, kNow + kHour, kNow).status(),
          store.ReleaseSlot(key + ":s", "m"),
          store.ObserveSample(key + ":o", 1.5, 100, kHour).status(),
          store.Ping()};
}

TEST_CASE("RedisCounterStore: killed server -> Unavailable fast; restarted -> recovers",
          "[service]") {
  auto server = RedisServer::Start();
  REQUIRE_THAT(server.status(), IsOk());
  RedisOptions o = OptionsFor(**server);
  o.command_timeout = milliseconds(200);
  o.connect_timeout = milliseconds(200);
  o.reconnect_backoff = milliseconds(300);
  auto store = MakeStore(o);
  const std::string key = Unique("fault");
  for (const absl::Status& s : CallEverything(*store, key)) {
    REQUIRE_THAT(s, IsOk());
  }
  REQUIRE(*store->Get(key + ":c") == 2);

  (*server)->Kill();
  const int64_t failures_before = store->failures();
  for (int round = 0; round < 3; ++round) {
    auto begin = SteadyClock::now();
    for (const absl::Status& s : CallEverything(*store, key)) {
      CHECK_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "redis"));
    }
    // Bounded (a correctness bound, not a benchmark): at most one connect attempt per round.
    CHECK(SteadyClock::now() - begin < milliseconds(1'000));
  }
  // Every failed call is counted for /metrics.
  CHECK(store->failures() - failures_before == 3 * 8);
  auto start = SteadyClock::now();
  for (int i = 0; i < 100; ++i) {
    CHECK_THAT(store->Get(key).status(), StatusIs(absl::StatusCode::kUnavailable, "redis"));
  }
  // Fail-fast window: a dead Redis costs (nearly) nothing per call.
  CHECK(SteadyClock::now() - start < milliseconds(1'000));

  REQUIRE_THAT((*server)->Restart(), IsOk());
  // After the backoff window the store reconnects by itself (data is gone: no persistence).
  REQUIRE(Eventually([&] { return store->Ping().ok(); }, milliseconds(5'000)));
  for (const absl::Status& s : CallEverything(*store, key)) {
    CHECK_THAT(s, IsOk());
  }
  CHECK(*store->Get(key + ":c") == 2);
}

TEST_CASE("RedisCounterStore: a hung server times out within the command timeout", "[service]") {
  auto server = RedisServer::Start();
  REQUIRE_THAT(server.status(), IsOk());
  RedisOptions o = OptionsFor(**server);
  o.command_timeout = milliseconds(50);
  o.connect_timeout = milliseconds(50);
  o.reconnect_backoff = milliseconds(2'000);
  auto store = MakeStore(o);
  REQUIRE_THAT(store->Ping(), IsOk());  // one pooled connection
  (*server)->Pause();
  const std::string key = Unique("hung");
  auto begin = SteadyClock::now();
  std::vector<absl::Status> statuses = CallEverything(*store, key);
  // Bounded by the command timeout (a correctness bound, generous for a loaded CI box).
  CHECK(SteadyClock::now() - begin < milliseconds(1'000));
  CHECK_THAT(statuses[0], StatusIs(absl::StatusCode::kUnavailable, "timed out after 50 ms"));
  for (const absl::Status& s : statuses) {
    CHECK_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "redis"));
  }
  // The timeout opened the fail-fast window: no call waits for the hung server meanwhile
  // (without it, 100 calls would take 100 x 50 ms).
  auto start = SteadyClock::now();
  for (int i = 0; i < 100; ++i) {
    CHECK_THAT(store->Add(key, 1, kHour).status(),
               StatusIs(absl::StatusCode::kUnavailable, "not retrying"));
  }
  CHECK(SteadyClock::now() - start < milliseconds(1'000));
  (*server)->Resume();
  REQUIRE(Eventually([&] { return store->Ping().ok(); }, milliseconds(5'000)));
  CHECK_THAT(store->Add(key, 1, kHour).status(), IsOk());
}

TEST_CASE("RedisCounterStore: missing or wrong password is a clear Unavailable", "[service]") {
  auto server = RedisServer::Start(RedisServerOptions{.password = "right-horse-battery"});
  REQUIRE_THAT(server.status(), IsOk());
  RedisOptions o = OptionsFor(**server);
  o.reconnect_backoff = milliseconds(0);

  auto none = MakeStore(o);
  CHECK_THAT(none->Ping(), StatusIs(absl::StatusCode::kUnavailable, "NOAUTH"));

  o.password = "wrong-staple-secret";
  auto wrong = MakeStore(o);
  absl::Status s = wrong->Get("k").status();
  CHECK_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "AUTH"));
  CHECK(MessageOf(s).find("wrong-staple-secret") == std::string::npos);
  CHECK(wrong->DebugString().find("wrong-staple-secret") == std::string::npos);

  auto url = ParseRedisUrl((*server)->url());
  REQUIRE_THAT(url.status(), IsOk());
  url->command_timeout = o.command_timeout;
  auto right = MakeStore(*url);
  CHECK_THAT(right->Ping(), IsOk());
  CHECK(*right->Add("k", 2, kHour) == 2);
}

TEST_CASE("RedisCounterStore: a key of the wrong type is Internal, not a crash", "[service]") {
  auto store = MakeStore(OptionsFor(SharedRedis()));
  const std::string key = Unique("typed");
  REQUIRE(*store->Add(key, 1, kHour) == 1);  // a string
  CHECK_THAT(store->TakeToken(key, 1, 1'000, kNow).status(),
             StatusIs(absl::StatusCode::kInternal, "redis"));
  CHECK_THAT(store->AcquireSlot(key, "m", 1, kNow + 1, kNow).status(),
             StatusIs(absl::StatusCode::kInternal, "redis"));
  CHECK_THAT(store->ObserveSample(key, 1, 1, kHour).status(),
             StatusIs(absl::StatusCode::kInternal, "redis"));
  REQUIRE(store->TakeToken(key + ":b", 1, 1'000, kNow)->allowed);  // a hash
  CHECK_THAT(store->Get(key + ":b").status(), StatusIs(absl::StatusCode::kInternal, "redis"));
  CHECK_THAT(store->Add(key + ":b", 1, kHour).status(),
             StatusIs(absl::StatusCode::kInternal, "redis"));
  // The connection survives error replies.
  CHECK_THAT(store->Ping(), IsOk());
}

TEST_CASE("RedisCounterStore validates arguments before any I/O", "[service]") {
  RedisOptions o;
  o.port = 1;  // nothing listens: InvalidArgument must come first
  auto store = MakeStore(o);
  CHECK_THAT(store->TakeToken("k", 0, 1, kNow).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK_THAT(store->AddIfWithin("k", -1, 1, 1).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK_THAT(store->Add("k", 1, 0).status(), StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK_THAT(store->AcquireSlot("k", "", 1, kNow + 1, kNow).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK_THAT(store->AcquireSlot("k", "m", 1, kNow, kNow).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK_THAT(store->ObserveSample("k", std::nan(""), 1, 1).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, ""));
  CHECK(store->failures() == 0);
}

}  // namespace
}  // namespace p402::policy
