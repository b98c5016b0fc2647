// Concurrency guarantees of the PolicyStore, against both stores. For PostgreSQL the threads are
// split over two PgPools (two "policy processes"), so the guarantee cannot come from an in-process
// lock.
#include <atomic>
#include <latch>
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

}  // namespace
}  // namespace p402::policy
