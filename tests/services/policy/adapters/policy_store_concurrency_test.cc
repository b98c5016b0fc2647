// Concurrency guarantees of the PolicyStore, against both stores. For PostgreSQL the threads are
// split over two PgPools (two "policy processes"), so the guarantee cannot come from an in-process
// lock.
#include <atomic>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "services/policy/core/reservation_layer.h"
#include "tests/services/policy/adapters/store_test_env.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using testing::MemoryStoreEnv;
using testing::PgStoreEnv;
using testing::UniqueId;
using testing::UniqueKeyHash;

constexpr int64_t kNow = 1'735'689'600'000;

TenantRecord NewTenant(PolicyStore& store, MicroUsd budget) {
  TenantRecord t;
  t.id = UniqueId("c");
  t.name = t.id;
  t.limits.budget_micro_usd = budget;
  t.created_unix_ms = kNow;
  REQUIRE_THAT(store.CreateTenant(t), IsOk());
  return t;
}

ReservationRecord Draft(const std::string& tenant_id, MicroUsd amount) {
  ReservationRecord r;
  r.id = NewReservationId();
  r.tenant_id = tenant_id;
  r.amount_micro_usd = amount;
  r.created_unix_ms = kNow;
  r.expires_unix_ms = kNow + 1000;
  return r;
}

// Runs fn(i) on `n` threads released together, and joins them.
template <typename Fn>
void RunTogether(int n, Fn fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      fn(i);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
}

TEMPLATE_TEST_CASE("PolicyStore: 32 racing reservations never exceed the budget",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  // An amount that is not a round number, so an off-by-some accounting error cannot hide.
  constexpr MicroUsd kAmount = 1'234'567;
  constexpr int kThreads = 32;
  const TenantRecord t = NewTenant(env.first(), 10 * kAmount);

  std::atomic<int> granted{0};
  std::atomic<int> denied{0};
  std::atomic<int> errors{0};
  RunTogether(kThreads, [&](int i) {
    PolicyStore& store = i % 2 == 0 ? env.first() : env.second();
    auto out = store.ReserveBudget(Draft(t.id, kAmount));
    if (!out.ok()) {
      ++errors;
    } else if (out->granted) {
      ++granted;
    } else {
      ++denied;
    }
  });
  CHECK(errors == 0);
  CHECK(granted == 10);
  CHECK(denied == kThreads - 10);
  auto after = env.first().GetTenant(t.id);
  REQUIRE_THAT(after.status(), IsOk());
  CHECK(after->reserved_micro_usd == 10 * kAmount);
  CHECK(after->reserved_micro_usd <= after->limits.budget_micro_usd);
  CHECK(after->spent_micro_usd == 0);
}

TEMPLATE_TEST_CASE("PolicyStore: racing commits and releases finalise a reservation once",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  constexpr MicroUsd kAmount = 5'000'003;
  const TenantRecord t = NewTenant(env.first(), 100 * kAmount);
  constexpr int kReservations = 6;
  constexpr int kThreadsPerReservation = 8;
  std::vector<ReservationRecord> held;
  for (int i = 0; i < kReservations; ++i) {
    auto out = env.first().ReserveBudget(Draft(t.id, kAmount));
    REQUIRE_THAT(out.status(), IsOk());
    REQUIRE(out->granted);
    held.push_back(out->reservation);
  }

  // Per reservation, 8 threads: even ones commit 1'000'001, odd ones release.
  std::atomic<int> first_commits{0};
  std::atomic<int> first_releases{0};
  std::atomic<int> refused_commits{0};
  std::atomic<int> errors{0};
  RunTogether(kReservations * kThreadsPerReservation, [&](int i) {
    const ReservationRecord& r = held[i % kReservations];
    PolicyStore& store = (i / kReservations) % 2 == 0 ? env.first() : env.second();
    if ((i / kReservations) % 2 == 0) {
      auto c = store.CommitReservation(r.id, 1'000'001, "", kNow + 1);
      if (c.ok()) {
        first_commits += c->already_committed ? 0 : 1;
      } else if (absl::IsFailedPrecondition(c.status())) {
        ++refused_commits;  // a release won the race
      } else {
        ++errors;
      }
    } else {
      auto rel = store.ReleaseReservation(r.id, kNow + 1);
      if (rel.ok()) {
        first_releases += rel->already_finalized ? 0 : 1;
      } else {
        ++errors;
      }
    }
  });
  CHECK(errors == 0);
  // Each reservation was finalised by exactly one winner.
  CHECK(first_commits + first_releases == kReservations);
  auto after = env.first().GetTenant(t.id);
  REQUIRE_THAT(after.status(), IsOk());
  CHECK(after->reserved_micro_usd == 0);
  CHECK(after->spent_micro_usd == first_commits.load() * MicroUsd{1'000'001});
  int committed = 0;
  for (const ReservationRecord& r : held) {
    auto stored = env.second().GetReservation(r.id);
    REQUIRE_THAT(stored.status(), IsOk());
    CHECK((stored->status == ReservationStatus::kCommitted ||
           stored->status == ReservationStatus::kReleased));
    committed += stored->status == ReservationStatus::kCommitted ? 1 : 0;
  }
  CHECK(committed == first_commits);
}

TEMPLATE_TEST_CASE("PolicyStore: racing session reservations and commits keep the session budget",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  // A small session budget inside a larger tenant budget, so the session is what runs out; 32
  // threads over two stores (two processes for PostgreSQL) reserve random 1 µ$-granular amounts
  // and commit a random actual <= amount (or release) until the budget is gone.
  constexpr MicroUsd kSessionBudget = 1'000'003;
  constexpr int kThreads = 32;
  constexpr int kAttemptsPerThread = 30;
  const TenantRecord t = NewTenant(env.first(), 100 * kSessionBudget);
  SessionRecord s;
  s.id = UniqueId("sess");
  s.tenant_id = t.id;
  s.token_hash = UniqueKeyHash();
  s.budget_micro_usd = kSessionBudget;
  s.created_unix_ms = kNow;
  s.expires_unix_ms = kNow + 3'600'000;
  REQUIRE_THAT(env.first().CreateSession(s), IsOk());

  std::atomic<int64_t> charged_total{0};
  std::atomic<int> granted{0};
  std::atomic<int> errors{0};
  std::atomic<int> violations{0};
  std::atomic<bool> done{false};
  // Watches the invariant while the race runs (a consistent row read each time).
  std::thread watcher([&] {
    while (!done.load()) {
      auto now = env.second().GetSession(t.id, s.id);
      if (!now.ok()) {
        ++errors;
      } else if (now->spent_micro_usd + now->reserved_micro_usd > kSessionBudget ||
                 now->reserved_micro_usd < 0) {
        ++violations;
      }
      std::this_thread::yield();
    }
  });
  RunTogether(kThreads, [&](int i) {
    PolicyStore& store = i % 2 == 0 ? env.first() : env.second();
    std::mt19937_64 rng(0x5eed + i);
    for (int attempt = 0; attempt < kAttemptsPerThread; ++attempt) {
      ReservationRecord r = Draft(t.id, 1 + static_cast<MicroUsd>(rng() % (kSessionBudget / 8)));
      r.session_id = s.id;
      auto out = store.ReserveBudget(r);
      if (!out.ok()) {
        ++errors;
        continue;
      }
      if (!out->granted) {
        // `available` is a hint read after the refusal (a commit may have freed some since).
        if (out->available_micro_usd < 0 || out->available_micro_usd > kSessionBudget) {
          ++errors;
        }
        continue;
      }
      ++granted;
      if (rng() % 5 == 0) {
        if (!store.ReleaseReservation(r.id, kNow + 1).ok()) {
          ++errors;
        }
        continue;
      }
      const MicroUsd actual = static_cast<MicroUsd>(rng() % (r.amount_micro_usd + 1));
      auto c = store.CommitReservation(r.id, actual, i % 3 == 0 ? "openai" : "anthropic", kNow + 1);
      if (!c.ok()) {
        ++errors;
        continue;
      }
      charged_total += c->reservation.actual_micro_usd;
      if (c->reservation.actual_micro_usd != actual) {
        ++errors;
      }
    }
  });
  done = true;
  watcher.join();

  CHECK(errors == 0);
  CHECK(violations == 0);
  CHECK(granted > 5);  // the race did spend from the session
  auto session = env.first().GetSession(t.id, s.id);
  REQUIRE_THAT(session.status(), IsOk());
  CHECK(session->reserved_micro_usd == 0);
  CHECK(session->spent_micro_usd == charged_total.load());
  CHECK(session->spent_micro_usd <= kSessionBudget);
  MicroUsd per_provider = 0;
  for (const auto& [provider, spent] : session->provider_spent_micro_usd) {
    per_provider += spent;
  }
  CHECK(per_provider == charged_total.load());
  auto tenant = env.second().GetTenant(t.id);
  REQUIRE_THAT(tenant.status(), IsOk());
  CHECK(tenant->reserved_micro_usd == 0);
  CHECK(tenant->spent_micro_usd == charged_total.load());
}

TEMPLATE_TEST_CASE("PolicyStore: racing sweeps and commits over shared sessions settle once",
                   "[service][policy]", MemoryStoreEnv, PgStoreEnv) {
  TestType env;
  // Sweepers in both processes expire reservations spread over three sessions of one tenant
  // while commits race them: session and tenant rows are shared by all, so this exercises the
  // lock order (and the deadlock retries) of ExpireReservations against CommitReservation.
  const TenantRecord t = NewTenant(env.first(), 0);
  std::vector<SessionRecord> sessions(3);
  for (SessionRecord& s : sessions) {
    s.id = UniqueId("sess");
    s.tenant_id = t.id;
    s.token_hash = UniqueKeyHash();
    s.budget_micro_usd = 1'000'000'000;
    s.created_unix_ms = kNow;
    s.expires_unix_ms = kNow + 3'600'000;
    REQUIRE_THAT(env.first().CreateSession(s), IsOk());
  }
  constexpr int kReservations = 90;
  std::vector<ReservationRecord> held;
  for (int i = 0; i < kReservations; ++i) {
    ReservationRecord r = Draft(t.id, 1000 + i);
    r.session_id = sessions[i % sessions.size()].id;
    r.expires_unix_ms = kNow + 10;
    auto out = env.first().ReserveBudget(r);
    REQUIRE_THAT(out.status(), IsOk());
    REQUIRE(out->granted);
    held.push_back(r);
  }

  std::atomic<int> errors{0};
  constexpr int kSweepers = 4;
  constexpr int kCommitters = 6;
  RunTogether(kSweepers + kCommitters, [&](int i) {
    PolicyStore& store = i % 2 == 0 ? env.first() : env.second();
    if (i < kSweepers) {
      if (!store.ExpireReservations(kNow + 10).ok()) {
        ++errors;
      }
      return;
    }
    // Each committer takes every kCommitters-th reservation, newest first (the sweep goes by
    // expiry, then whatever order; the two meet in the middle).
    for (int j = kReservations - 1 - (i - kSweepers); j >= 0; j -= kCommitters) {
      if (!store.CommitReservation(held[j].id, 500, "openai", kNow + 11).ok()) {
        ++errors;
      }
    }
  });
  CHECK(errors == 0);

  // Every reservation was committed (before or after its expiry); every hold went back once.
  for (const ReservationRecord& r : held) {
    auto stored = env.second().GetReservation(r.id);
    REQUIRE_THAT(stored.status(), IsOk());
    CHECK(stored->status == ReservationStatus::kCommitted);
    CHECK(stored->actual_micro_usd == 500);
  }
  for (const SessionRecord& s : sessions) {
    auto got = env.first().GetSession(t.id, s.id);
    REQUIRE_THAT(got.status(), IsOk());
    CHECK(got->reserved_micro_usd == 0);
    CHECK(got->spent_micro_usd == 500 * (kReservations / 3));
    CHECK(got->provider_spent_micro_usd.at("openai") == 500 * (kReservations / 3));
  }
  auto tenant = env.second().GetTenant(t.id);
  REQUIRE_THAT(tenant.status(), IsOk());
  CHECK(tenant->reserved_micro_usd == 0);
  CHECK(tenant->spent_micro_usd == 500 * kReservations);
}

}  // namespace
}  // namespace p402::policy
