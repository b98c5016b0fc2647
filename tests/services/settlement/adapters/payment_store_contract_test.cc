// The PaymentStore contract (services/settlement/core/ports.h and memory_payment_store.h), run
// against InMemoryPaymentStore and PgPaymentStore alike.
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "tests/services/settlement/adapters/settlement_store_test_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::MemoryEnv;
using testing::PgEnv;
using testing::RandomHex;
using testing::UniqueId;

constexpr int64_t kNow = 1'767'225'600'000;
// uint256 max: amounts must round-trip exactly, whatever their size.
constexpr char kHugeAmount[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

PaymentKey NewKey() {
  return PaymentKey{
      .chain_id = 84532, .asset = RandomHex(20), .payer = RandomHex(20), .nonce = RandomHex(32)};
}

PaymentRecord NewRecord(const PaymentKey& key, const std::string& owner, int64_t created = kNow) {
  PaymentRecord r;
  r.key = key;
  r.state = PaymentState::kClaimed;
  r.claim_owner = owner;
  r.pay_to = RandomHex(20);
  r.amount = "1500";
  r.network = "eip155:84532";
  r.valid_before = 1'767'229'200;
  r.created_unix_ms = created;
  r.updated_unix_ms = created;
  return r;
}

void RequireSameRecord(const PaymentRecord& got, const PaymentRecord& want) {
  CHECK(got.key == want.key);
  CHECK(got.state == want.state);
  CHECK(got.claim_owner == want.claim_owner);
  CHECK(got.pay_to == want.pay_to);
  CHECK(got.amount == want.amount);
  CHECK(got.network == want.network);
  CHECK(got.valid_before == want.valid_before);
  CHECK(got.tx_hash == want.tx_hash);
  CHECK(got.raw_tx == want.raw_tx);
  CHECK(got.error_reason == want.error_reason);
  CHECK(got.error_message == want.error_message);
  CHECK(got.created_unix_ms == want.created_unix_ms);
  CHECK(got.updated_unix_ms == want.updated_unix_ms);
}

// Claims `record` and requires that it was inserted now.
void MustClaim(PaymentStore& store, const PaymentRecord& record) {
  auto claimed = store.Claim(record);
  REQUIRE_THAT(claimed.status(), IsOk());
  REQUIRE_FALSE(claimed->has_value());
}

PaymentRecord MustGet(PaymentStore& store, const PaymentKey& key) {
  auto got = store.Get(key);
  REQUIRE_THAT(got.status(), IsOk());
  REQUIRE(got->has_value());
  return **got;
}

// Moves a claimed record to `state` (with a tx when `tx`), requiring the transition to happen.
PaymentRecord MustMove(PaymentStore& store, const PaymentRecord& from, PaymentState state,
                       bool tx) {
  PaymentRecord next = from;
  next.state = state;
  if (tx) {
    next.tx_hash = RandomHex(32);
    next.raw_tx = "0x02f8" + RandomHex(40).substr(2);
  }
  next.updated_unix_ms = from.updated_unix_ms + 10;
  auto moved = store.Transition(from.key, from.state, next);
  REQUIRE_THAT(moved.status(), IsOk());
  REQUIRE(*moved);
  return next;
}

TEMPLATE_TEST_CASE("PaymentStore: Claim inserts once, then returns the existing record",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const PaymentKey key = NewKey();
  PaymentRecord first = NewRecord(key, UniqueId("req"));
  first.amount = kHugeAmount;
  first.state = PaymentState::kSettled;  // ignored: a claim always starts kClaimed
  MustClaim(env.payments_a(), first);
  first.state = PaymentState::kClaimed;

  RequireSameRecord(MustGet(env.payments_a(), key), first);
  RequireSameRecord(MustGet(env.payments_b(), key), first);

  // A second claim of the same authorization, from the other process and another owner.
  PaymentRecord second = NewRecord(key, UniqueId("req"));
  auto again = env.payments_b().Claim(second);
  REQUIRE_THAT(again.status(), IsOk());
  REQUIRE(again->has_value());
  RequireSameRecord(**again, first);
  RequireSameRecord(MustGet(env.payments_a(), key), first);

  // Any part of the key differing is another payment.
  for (int part = 0; part < 4; ++part) {
    PaymentKey other = key;
    if (part == 0) other.chain_id = 8453;
    if (part == 1) other.asset = RandomHex(20);
    if (part == 2) other.payer = RandomHex(20);
    if (part == 3) other.nonce = RandomHex(32);
    MustClaim(env.payments_a(), NewRecord(other, UniqueId("req")));
  }
}

TEMPLATE_TEST_CASE("PaymentStore: Get of an unknown key is empty", "[service][settlement]",
                   MemoryEnv, PgEnv) {
  TestType env;
  auto got = env.payments_a().Get(NewKey());
  REQUIRE_THAT(got.status(), IsOk());
  CHECK_FALSE(got->has_value());
}

TEMPLATE_TEST_CASE("PaymentStore: Transition is a compare-and-set", "[service][settlement]",
                   MemoryEnv, PgEnv) {
  TestType env;
  const PaymentKey key = NewKey();
  const PaymentRecord claimed = NewRecord(key, UniqueId("req"));
  MustClaim(env.payments_a(), claimed);

  PaymentRecord submitted = claimed;
  submitted.state = PaymentState::kSubmitted;
  submitted.claim_owner = "";  // empty: the owner stays
  submitted.tx_hash = RandomHex(32);
  submitted.raw_tx = "0x02f87083014a34";
  submitted.updated_unix_ms = kNow + 5;
  auto moved = env.payments_b().Transition(key, PaymentState::kClaimed, submitted);
  REQUIRE_THAT(moved.status(), IsOk());
  REQUIRE(*moved);
  submitted.claim_owner = claimed.claim_owner;
  RequireSameRecord(MustGet(env.payments_a(), key), submitted);

  // The expected state no longer holds: nothing changes.
  PaymentRecord failed = submitted;
  failed.state = PaymentState::kFailed;
  failed.error_reason = "invalid_exact_evm_transaction_failed";
  failed.error_message = "reverted";
  failed.updated_unix_ms = kNow + 9;
  auto stale = env.payments_a().Transition(key, PaymentState::kClaimed, failed);
  REQUIRE_THAT(stale.status(), IsOk());
  CHECK_FALSE(*stale);
  RequireSameRecord(MustGet(env.payments_a(), key), submitted);

  // From the right state it does, error fields included.
  auto done = env.payments_a().Transition(key, PaymentState::kSubmitted, failed);
  REQUIRE_THAT(done.status(), IsOk());
  REQUIRE(*done);
  RequireSameRecord(MustGet(env.payments_b(), key), failed);

  // A failed payment without a tx may be claimed again by a new owner.
  const PaymentKey key2 = NewKey();
  const PaymentRecord c2 = NewRecord(key2, UniqueId("req"));
  MustClaim(env.payments_a(), c2);
  const PaymentRecord f2 = MustMove(env.payments_a(), c2, PaymentState::kFailed, false);
  PaymentRecord reclaimed = f2;
  reclaimed.state = PaymentState::kClaimed;
  reclaimed.claim_owner = UniqueId("req");
  reclaimed.error_reason.clear();
  reclaimed.error_message.clear();
  auto re = env.payments_b().Transition(key2, PaymentState::kFailed, reclaimed);
  REQUIRE_THAT(re.status(), IsOk());
  REQUIRE(*re);
  RequireSameRecord(MustGet(env.payments_a(), key2), reclaimed);

  CHECK_THAT(env.payments_a().Transition(NewKey(), PaymentState::kClaimed, failed).status(),
             StatusIs(absl::StatusCode::kNotFound));
}

TEMPLATE_TEST_CASE("PaymentStore: Release only by the owner, only before anything was broadcast",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  auto release = [&](PaymentStore& store, const PaymentKey& key, const std::string& owner) {
    auto released = store.Release(key, owner);
    REQUIRE_THAT(released.status(), IsOk());
    return *released;
  };

  // kClaimed: the owner only.
  const PaymentKey key = NewKey();
  const PaymentRecord claimed = NewRecord(key, UniqueId("req"));
  MustClaim(env.payments_a(), claimed);
  CHECK_FALSE(release(env.payments_b(), key, UniqueId("req")));
  CHECK_FALSE(release(env.payments_b(), key, ""));
  CHECK(MustGet(env.payments_a(), key).state == PaymentState::kClaimed);
  CHECK(release(env.payments_b(), key, claimed.claim_owner));
  auto gone = env.payments_a().Get(key);
  REQUIRE_THAT(gone.status(), IsOk());
  CHECK_FALSE(gone->has_value());
  CHECK_FALSE(release(env.payments_a(), key, claimed.claim_owner));  // already gone
  // The authorization is usable again.
  MustClaim(env.payments_b(), NewRecord(key, UniqueId("req")));

  // kSubmitted and kSettled: never.
  const PaymentRecord s = NewRecord(NewKey(), UniqueId("req"));
  MustClaim(env.payments_a(), s);
  const PaymentRecord submitted = MustMove(env.payments_a(), s, PaymentState::kSubmitted, true);
  CHECK_FALSE(release(env.payments_a(), s.key, s.claim_owner));
  const PaymentRecord settled =
      MustMove(env.payments_a(), submitted, PaymentState::kSettled, false);
  CHECK_FALSE(release(env.payments_a(), s.key, s.claim_owner));
  RequireSameRecord(MustGet(env.payments_b(), s.key), settled);

  // kFailed with a tx: never (the transaction may still land). Without one: by the owner.
  const PaymentRecord f = NewRecord(NewKey(), UniqueId("req"));
  MustClaim(env.payments_a(), f);
  MustMove(env.payments_a(), f, PaymentState::kFailed, true);
  CHECK_FALSE(release(env.payments_a(), f.key, f.claim_owner));
  const PaymentRecord g = NewRecord(NewKey(), UniqueId("req"));
  MustClaim(env.payments_a(), g);
  MustMove(env.payments_a(), g, PaymentState::kFailed, false);
  CHECK_FALSE(release(env.payments_a(), g.key, UniqueId("req")));
  CHECK(release(env.payments_b(), g.key, g.claim_owner));

  CHECK_FALSE(release(env.payments_a(), NewKey(), "nobody"));
}

TEMPLATE_TEST_CASE("PaymentStore: ListSubmitted lists submitted payments, oldest first",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  // Created out of order; one stays claimed, one is settled.
  std::vector<PaymentRecord> submitted;
  for (int64_t created : {kNow + 20, kNow, kNow + 10}) {
    PaymentRecord r = NewRecord(NewKey(), UniqueId("req"), created);
    MustClaim(env.payments_a(), r);
    submitted.push_back(MustMove(env.payments_a(), r, PaymentState::kSubmitted, true));
  }
  const PaymentRecord claimed = NewRecord(NewKey(), UniqueId("req"), kNow - 5);
  MustClaim(env.payments_a(), claimed);
  const PaymentRecord done = NewRecord(NewKey(), UniqueId("req"), kNow - 5);
  MustClaim(env.payments_a(), done);
  MustMove(env.payments_a(), MustMove(env.payments_a(), done, PaymentState::kSubmitted, true),
           PaymentState::kSettled, false);

  auto all = env.payments_b().ListSubmitted(PgPaymentStore::kMaxListLimit);
  REQUIRE_THAT(all.status(), IsOk());
  CHECK(std::is_sorted(all->begin(), all->end(), [](const auto& a, const auto& b) {
    return a.created_unix_ms < b.created_unix_ms;
  }));
  std::vector<PaymentRecord> mine;
  for (const PaymentRecord& r : *all) {
    CHECK(r.state == PaymentState::kSubmitted);
    for (const PaymentRecord& s : submitted) {
      if (r.key == s.key) mine.push_back(r);
    }
    CHECK_FALSE(r.key == claimed.key);
    CHECK_FALSE(r.key == done.key);
  }
  REQUIRE(mine.size() == 3);
  RequireSameRecord(mine[0], submitted[1]);
  RequireSameRecord(mine[1], submitted[2]);
  RequireSameRecord(mine[2], submitted[0]);

  auto two = env.payments_a().ListSubmitted(2);
  REQUIRE_THAT(two.status(), IsOk());
  CHECK(two->size() == 2);
  if constexpr (!TestType::kShared) {
    RequireSameRecord((*two)[0], submitted[1]);
    RequireSameRecord((*two)[1], submitted[2]);
  }
  CHECK_THAT(env.payments_a().ListSubmitted(0).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEMPLATE_TEST_CASE("PaymentStore: concurrent claims of one authorization, one winner",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  constexpr int kThreads = 16;
  for (int round = 0; round < 3; ++round) {
    const PaymentKey key = NewKey();
    std::vector<std::string> owners;
    for (int i = 0; i < kThreads; ++i) owners.push_back(UniqueId("req"));
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::string> seen_owner(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      // Half the threads on each handle: for PostgreSQL, two processes.
      PaymentStore& store = i % 2 == 0 ? env.payments_a() : env.payments_b();
      threads.emplace_back([&, i, &store = store] {
        auto claimed = store.Claim(NewRecord(key, owners[i]));
        if (!claimed.ok()) {
          errors.fetch_add(1);
        } else if (!claimed->has_value()) {
          winners.fetch_add(1);
          seen_owner[i] = owners[i];
        } else {
          seen_owner[i] = (*claimed)->claim_owner;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    REQUIRE(errors.load() == 0);
    REQUIRE(winners.load() == 1);
    // Every loser saw the winner's record.
    const std::string winner = MustGet(env.payments_a(), key).claim_owner;
    for (const std::string& o : seen_owner) CHECK(o == winner);
  }
}

TEMPLATE_TEST_CASE("PaymentStore: concurrent transitions from one state, one succeeds",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  constexpr int kThreads = 16;
  const PaymentRecord claimed = NewRecord(NewKey(), UniqueId("req"));
  MustClaim(env.payments_a(), claimed);
  std::atomic<int> moved{0};
  std::atomic<int> errors{0};
  std::vector<std::string> hashes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    hashes[i] = RandomHex(32);
    PaymentStore& store = i % 2 == 0 ? env.payments_a() : env.payments_b();
    threads.emplace_back([&, i, &store = store] {
      PaymentRecord next = claimed;
      next.state = PaymentState::kSubmitted;
      next.tx_hash = hashes[i];
      auto r = store.Transition(claimed.key, PaymentState::kClaimed, next);
      if (!r.ok()) {
        errors.fetch_add(1);
      } else if (*r) {
        moved.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(errors.load() == 0);
  CHECK(moved.load() == 1);
  const PaymentRecord now = MustGet(env.payments_b(), claimed.key);
  CHECK(now.state == PaymentState::kSubmitted);
  CHECK(std::count(hashes.begin(), hashes.end(), now.tx_hash) == 1);
  // Leave nothing "submitted" behind for reconcilers sharing the database.
  MustMove(env.payments_a(), now, PaymentState::kFailed, true);
}

}  // namespace
}  // namespace p402::settlement
