// The Ledger contract (services/settlement/core/ports.h and memory_ledger.h), run against
// InMemoryLedger and PgLedger alike.
#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/settlement/adapters/settlement_store_test_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::kClockStart;
using testing::MemoryEnv;
using testing::PgEnv;
using testing::UniqueId;

LedgerEntry Entry(const std::string& tenant, const std::string& session, const char* kind,
                  int64_t amount) {
  LedgerEntry e;
  e.tenant_id = tenant;
  e.session_id = session;
  e.kind = kind;
  e.amount_micro_usd = amount;
  e.idempotency_key = UniqueId("idem");
  return e;
}

AppendResult MustAppend(Ledger& ledger, const LedgerEntry& e) {
  auto r = ledger.Append(e);
  REQUIRE_THAT(r.status(), IsOk());
  return *r;
}

Balance MustBalance(Ledger& ledger, const std::string& tenant, const std::string& session) {
  auto b = ledger.GetBalance(tenant, session);
  REQUIRE_THAT(b.status(), IsOk());
  return *b;
}

// Every entry of the tenant (all sessions), oldest first, through pages of `page_size`.
std::vector<LedgerEntry> ListAll(Ledger& ledger, const std::string& tenant,
                                 const std::string& session = "", int page_size = 1000) {
  std::vector<LedgerEntry> all;
  std::string token;
  for (int pages = 0; pages < 10'000; ++pages) {
    auto page = ledger.List(tenant, session, token, page_size);
    REQUIRE_THAT(page.status(), IsOk());
    REQUIRE(page->entries.size() <= static_cast<size_t>(page_size));
    all.insert(all.end(), page->entries.begin(), page->entries.end());
    if (page->next_page_token.empty()) return all;
    REQUIRE(page->entries.size() == static_cast<size_t>(page_size));
    token = page->next_page_token;
  }
  FAIL("List never ended");
  return all;
}

void RequireSameEntry(const LedgerEntry& got, const LedgerEntry& want) {
  CHECK(got.entry_id == want.entry_id);
  CHECK(got.tenant_id == want.tenant_id);
  CHECK(got.session_id == want.session_id);
  CHECK(got.kind == want.kind);
  CHECK(got.amount_micro_usd == want.amount_micro_usd);
  CHECK(got.cost_micro_usd == want.cost_micro_usd);
  CHECK(got.platform_fee_micro_usd == want.platform_fee_micro_usd);
  CHECK(got.balance_before_micro_usd == want.balance_before_micro_usd);
  CHECK(got.balance_after_micro_usd == want.balance_after_micro_usd);
  CHECK(got.idempotency_key == want.idempotency_key);
  CHECK(got.request_id == want.request_id);
  CHECK(got.transaction == want.transaction);
  CHECK(got.payer == want.payer);
  CHECK(got.provider == want.provider);
  CHECK(got.model == want.model);
  CHECK(got.input_tokens == want.input_tokens);
  CHECK(got.output_tokens == want.output_tokens);
  CHECK(got.cost_estimated == want.cost_estimated);
  CHECK(got.note == want.note);
  CHECK(got.created_unix_ms == want.created_unix_ms);
}

TEMPLATE_TEST_CASE("Ledger: appends chain balances per account", "[service][settlement]", MemoryEnv,
                   PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  CHECK(MustBalance(env.ledger_a(), tenant, "").balance_micro_usd == 0);

  LedgerEntry topup = Entry(tenant, "", kEntryTopUp, 1'000'000);
  topup.transaction = testing::RandomHex(32);
  topup.payer = testing::RandomHex(20);
  topup.request_id = "req-1";
  const AppendResult t = MustAppend(env.ledger_a(), topup);
  CHECK_FALSE(t.duplicate);
  CHECK(t.entry.entry_id.rfind("le_", 0) == 0);
  CHECK(t.entry.balance_before_micro_usd == 0);
  CHECK(t.entry.balance_after_micro_usd == 1'000'000);
  CHECK(t.entry.created_unix_ms == kClockStart);  // stamped from the clock when 0

  LedgerEntry usage = Entry(tenant, "", kEntryUsage, -300'250);
  usage.cost_micro_usd = 300'250;
  usage.platform_fee_micro_usd = 250;
  usage.provider = "openai";
  usage.model = "gpt-4o-mini";
  usage.input_tokens = 1200;
  usage.output_tokens = 345;
  usage.cost_estimated = true;
  usage.note = "a note with 'quotes' and \"double\" ones";
  usage.created_unix_ms = kClockStart + 77;  // kept when set
  const AppendResult u = MustAppend(env.ledger_b(), usage);
  CHECK(u.entry.balance_before_micro_usd == 1'000'000);
  CHECK(u.entry.balance_after_micro_usd == 699'750);
  CHECK(u.entry.created_unix_ms == kClockStart + 77);
  CHECK(u.entry.entry_id != t.entry.entry_id);

  // A record-only entry changes nothing but is listed.
  LedgerEntry record = Entry(tenant, "", kEntryPaymentFailed, 0);
  record.note = "unexpected_settle_error: chain down";
  const AppendResult r = MustAppend(env.ledger_a(), record);
  CHECK(r.entry.balance_before_micro_usd == 699'750);
  CHECK(r.entry.balance_after_micro_usd == 699'750);

  const Balance b = MustBalance(env.ledger_b(), tenant, "");
  CHECK(b.balance_micro_usd == 699'750);
  CHECK(b.total_topped_up_micro_usd == 1'000'000);
  CHECK(b.total_spent_micro_usd == 300'250);

  // Sessions are separate accounts.
  const AppendResult s = MustAppend(env.ledger_a(), Entry(tenant, "sess-1", kEntryTopUp, 5));
  CHECK(s.entry.balance_before_micro_usd == 0);
  CHECK(s.entry.balance_after_micro_usd == 5);
  CHECK(MustBalance(env.ledger_a(), tenant, "sess-1").balance_micro_usd == 5);
  CHECK(MustBalance(env.ledger_a(), tenant, "").balance_micro_usd == 699'750);
  CHECK(MustBalance(env.ledger_a(), tenant, "sess-2").balance_micro_usd == 0);

  // Stored as returned.
  const std::vector<LedgerEntry> all = ListAll(env.ledger_b(), tenant);
  REQUIRE(all.size() == 4);
  RequireSameEntry(all[0], t.entry);
  RequireSameEntry(all[1], u.entry);
  RequireSameEntry(all[2], r.entry);
  RequireSameEntry(all[3], s.entry);
  auto found = env.ledger_b().FindByKey(usage.idempotency_key);
  REQUIRE_THAT(found.status(), IsOk());
  REQUIRE(found->has_value());
  RequireSameEntry(**found, u.entry);
  auto missing = env.ledger_a().FindByKey(UniqueId("idem"));
  REQUIRE_THAT(missing.status(), IsOk());
  CHECK_FALSE(missing->has_value());
}

TEMPLATE_TEST_CASE("Ledger: a deduction below zero fails and appends nothing",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  MustAppend(env.ledger_a(), Entry(tenant, "", kEntryTopUp, 100));
  const LedgerEntry too_much = Entry(tenant, "", kEntryUsage, -101);
  auto refused = env.ledger_b().Append(too_much);
  REQUIRE_THAT(refused.status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(ReasonOf(refused.status()) == "insufficient_balance");
  CHECK(MustBalance(env.ledger_a(), tenant, "").balance_micro_usd == 100);
  CHECK(MustBalance(env.ledger_a(), tenant, "").total_spent_micro_usd == 0);
  CHECK(ListAll(env.ledger_a(), tenant).size() == 1);
  auto found = env.ledger_a().FindByKey(too_much.idempotency_key);
  REQUIRE_THAT(found.status(), IsOk());
  CHECK_FALSE(found->has_value());
  // An empty account refuses any deduction; the exact balance may be spent.
  CHECK_THAT(env.ledger_a().Append(Entry(tenant, "empty", kEntryUsage, -1)).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition));
  LedgerEntry exact = too_much;
  exact.amount_micro_usd = -100;  // the refused key was not recorded: usable now
  const AppendResult spent = MustAppend(env.ledger_a(), exact);
  CHECK_FALSE(spent.duplicate);
  CHECK(spent.entry.balance_after_micro_usd == 0);
}

TEMPLATE_TEST_CASE("Ledger: a repeated idempotency key returns the first entry",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  const LedgerEntry first = Entry(tenant, "", kEntryTopUp, 500);
  const AppendResult a = MustAppend(env.ledger_a(), first);

  LedgerEntry replay = first;  // whatever the replay says
  replay.amount_micro_usd = 9'999;
  replay.kind = kEntryUsage;
  const AppendResult b = MustAppend(env.ledger_b(), replay);
  CHECK(b.duplicate);
  RequireSameEntry(b.entry, a.entry);
  // Even for another account, and even a deduction that would be refused.
  LedgerEntry elsewhere = Entry(UniqueId("t"), "s", kEntryUsage, -1'000'000);
  elsewhere.idempotency_key = first.idempotency_key;
  const AppendResult c = MustAppend(env.ledger_a(), elsewhere);
  CHECK(c.duplicate);
  RequireSameEntry(c.entry, a.entry);
  CHECK(MustBalance(env.ledger_a(), tenant, "").balance_micro_usd == 500);
  CHECK(MustBalance(env.ledger_a(), elsewhere.tenant_id, "s").balance_micro_usd == 0);
  CHECK(ListAll(env.ledger_a(), tenant).size() == 1);
  CHECK(ListAll(env.ledger_a(), elsewhere.tenant_id).empty());
}

TEMPLATE_TEST_CASE("Ledger: invalid entries", "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  LedgerEntry e = Entry(UniqueId("t"), "", kEntryTopUp, 1);
  LedgerEntry no_tenant = e;
  no_tenant.tenant_id.clear();
  LedgerEntry no_key = e;
  no_key.idempotency_key.clear();
  LedgerEntry no_kind = e;
  no_kind.kind.clear();
  for (const LedgerEntry& bad : {no_tenant, no_key, no_kind}) {
    CHECK_THAT(env.ledger_a().Append(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  }
  CHECK(ListAll(env.ledger_a(), e.tenant_id).empty());
}

TEMPLATE_TEST_CASE("Ledger: concurrent replays of one key append one entry",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  constexpr int kThreads = 16;
  for (const bool same_account : {true, false}) {
    const std::string tenant = UniqueId("t");
    const std::string key = UniqueId("idem");
    std::atomic<int> firsts{0};
    std::atomic<int> errors{0};
    std::vector<std::string> ids(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      Ledger& ledger = i % 2 == 0 ? env.ledger_a() : env.ledger_b();
      threads.emplace_back([&, i, &ledger = ledger] {
        // Different accounts: the balances row lock does not order them, the unique key must.
        LedgerEntry e =
            Entry(tenant, same_account ? "" : "s" + std::to_string(i), kEntryTopUp, 100);
        e.idempotency_key = key;
        auto r = ledger.Append(e);
        if (!r.ok()) {
          errors.fetch_add(1);
          return;
        }
        if (!r->duplicate) firsts.fetch_add(1);
        ids[i] = r->entry.entry_id;
      });
    }
    for (std::thread& t : threads) t.join();
    REQUIRE(errors.load() == 0);
    CHECK(firsts.load() == 1);
    CHECK(std::all_of(ids.begin(), ids.end(), [&](const std::string& id) { return id == ids[0]; }));
    const std::vector<LedgerEntry> all = ListAll(env.ledger_a(), tenant);
    REQUIRE(all.size() == 1);
    CHECK(all[0].entry_id == ids[0]);
    CHECK(MustBalance(env.ledger_a(), tenant, all[0].session_id).balance_micro_usd == 100);
  }
}

TEMPLATE_TEST_CASE("Ledger: concurrent appends to one account keep an exact balance",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  constexpr int kThreadsPerProcess = 16;
  constexpr int kPerThread = 6;
  constexpr int64_t kStart = 1'000'000;
  const std::string tenant = UniqueId("t");
  MustAppend(env.ledger_a(), Entry(tenant, "", kEntryTopUp, kStart));

  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2 * kThreadsPerProcess; ++i) {
    Ledger& ledger = i < kThreadsPerProcess ? env.ledger_a() : env.ledger_b();
    threads.emplace_back([&, &ledger = ledger] {
      for (int j = 0; j < kPerThread; ++j) {
        // Alternating -1000 and +400 per thread.
        const int64_t amount = j % 2 == 0 ? -1000 : 400;
        auto r = ledger.Append(Entry(tenant, "", j % 2 == 0 ? kEntryUsage : kEntryTopUp, amount));
        if (!r.ok() || r->duplicate) errors.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(errors.load() == 0);
  constexpr int kPairs = 2 * kThreadsPerProcess * kPerThread / 2;
  const Balance b = MustBalance(env.ledger_b(), tenant, "");
  CHECK(b.balance_micro_usd == kStart - kPairs * 600);
  CHECK(b.total_topped_up_micro_usd == kStart + kPairs * 400);
  CHECK(b.total_spent_micro_usd == kPairs * 1000);
  // The entries form one chain: each starts where the previous one ended.
  const std::vector<LedgerEntry> all = ListAll(env.ledger_a(), tenant, "", 50);
  REQUIRE(all.size() == 1 + 2 * kPairs);
  int64_t balance = 0;
  for (const LedgerEntry& e : all) {
    CHECK(e.balance_before_micro_usd == balance);
    CHECK(e.balance_after_micro_usd == e.balance_before_micro_usd + e.amount_micro_usd);
    balance = e.balance_after_micro_usd;
  }
  CHECK(balance == b.balance_micro_usd);
}

TEMPLATE_TEST_CASE("Ledger: concurrent deductions never overdraw", "[service][settlement]",
                   MemoryEnv, PgEnv) {
  TestType env;
  constexpr int kThreads = 32;
  constexpr int kPerThread = 4;
  const std::string tenant = UniqueId("t");
  MustAppend(env.ledger_a(), Entry(tenant, "", kEntryTopUp, 10'000));  // room for 100 of 128

  std::atomic<int> ok{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    Ledger& ledger = i % 2 == 0 ? env.ledger_a() : env.ledger_b();
    threads.emplace_back([&, &ledger = ledger] {
      for (int j = 0; j < kPerThread; ++j) {
        auto r = ledger.Append(Entry(tenant, "", kEntryUsage, -100));
        if (r.ok()) {
          ok.fetch_add(1);
        } else if (r.status().code() == absl::StatusCode::kFailedPrecondition &&
                   ReasonOf(r.status()) == "insufficient_balance") {
          refused.fetch_add(1);
        } else {
          errors.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  REQUIRE(errors.load() == 0);
  CHECK(ok.load() == 100);
  CHECK(refused.load() == kThreads * kPerThread - 100);
  CHECK(MustBalance(env.ledger_a(), tenant, "").balance_micro_usd == 0);
  CHECK(ListAll(env.ledger_b(), tenant).size() == 101);
}

TEMPLATE_TEST_CASE("Ledger: List pages oldest first, per tenant or per session",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  const std::string other = UniqueId("t");
  std::vector<std::string> keys;
  std::vector<std::string> session_keys;
  for (int i = 0; i < 7; ++i) {
    const std::string session = i % 3 == 1 ? "sess-a" : "";
    LedgerEntry e = Entry(tenant, session, kEntryTopUp, 10 + i);
    keys.push_back(e.idempotency_key);
    if (!session.empty()) session_keys.push_back(e.idempotency_key);
    MustAppend(i % 2 == 0 ? env.ledger_a() : env.ledger_b(), e);
    MustAppend(env.ledger_a(), Entry(other, session, kEntryTopUp, 1));  // interleaved noise
  }
  auto keys_of = [](const std::vector<LedgerEntry>& entries) {
    std::vector<std::string> out;
    for (const LedgerEntry& e : entries) out.push_back(e.idempotency_key);
    return out;
  };
  for (int page_size : {1, 3, 7, 1000}) {
    CHECK(keys_of(ListAll(env.ledger_a(), tenant, "", page_size)) == keys);
    CHECK(keys_of(ListAll(env.ledger_b(), tenant, "sess-a", page_size)) == session_keys);
  }
  // Exact page boundaries: 3 + 3 + 1, the last page has no token.
  auto p1 = env.ledger_a().List(tenant, "", "", 3);
  REQUIRE_THAT(p1.status(), IsOk());
  REQUIRE(p1->entries.size() == 3);
  REQUIRE_FALSE(p1->next_page_token.empty());
  auto p2 = env.ledger_b().List(tenant, "", p1->next_page_token, 3);
  REQUIRE_THAT(p2.status(), IsOk());
  REQUIRE(p2->entries.size() == 3);
  auto p3 = env.ledger_a().List(tenant, "", p2->next_page_token, 3);
  REQUIRE_THAT(p3.status(), IsOk());
  CHECK(p3->entries.size() == 1);
  CHECK(p3->next_page_token.empty());
  // A page that ends exactly at the last entry has no token either.
  auto whole = env.ledger_a().List(tenant, "", "", 7);
  REQUIRE_THAT(whole.status(), IsOk());
  CHECK(whole->entries.size() == 7);
  CHECK(whole->next_page_token.empty());

  auto nobody = env.ledger_a().List(UniqueId("t"), "", "", 10);
  REQUIRE_THAT(nobody.status(), IsOk());
  CHECK(nobody->entries.empty());
  CHECK(nobody->next_page_token.empty());

  for (const char* bad : {"x", "-1", "0", "1.5", "99999999999999999999999", " 1"}) {
    CHECK_THAT(env.ledger_a().List(tenant, "", bad, 3).status(),
               StatusIs(absl::StatusCode::kInvalidArgument));
  }
  for (int bad_size : {0, -1, 1001}) {
    CHECK_THAT(env.ledger_a().List(tenant, "", "", bad_size).status(),
               StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEMPLATE_TEST_CASE("Ledger: VolumeSince sums the cost of usage and payments",
                   "[service][settlement]", MemoryEnv, PgEnv) {
  TestType env;
  const std::string tenant = UniqueId("t");
  constexpr int64_t kSince = kClockStart + 1'000;
  auto add = [&](const std::string& t, const std::string& session, const char* kind, int64_t amount,
                 int64_t cost, int64_t created) {
    LedgerEntry e = Entry(t, session, kind, amount);
    e.cost_micro_usd = cost;
    e.created_unix_ms = created;
    MustAppend(env.ledger_a(), e);
  };
  add(tenant, "", kEntryTopUp, 1'000'000, 777, kSince);     // not usage: ignored
  add(tenant, "", kEntryUsage, -100, 100, kSince);          // counted (at the bound)
  add(tenant, "s1", kEntryPayment, 0, 50, kSince + 10);     // counted (any session)
  add(tenant, "", kEntryUsage, -7, 7, kSince - 1);          // too old
  add(tenant, "", kEntryPaymentFailed, 0, 33, kSince + 5);  // not charged: ignored
  add(UniqueId("t"), "", kEntryPayment, 0, 1'000, kSince);  // another tenant

  auto v = env.ledger_b().VolumeSince(tenant, kSince);
  REQUIRE_THAT(v.status(), IsOk());
  CHECK(*v == 150);
  auto all = env.ledger_b().VolumeSince(tenant, 0);
  REQUIRE_THAT(all.status(), IsOk());
  CHECK(*all == 157);
  auto none = env.ledger_b().VolumeSince(UniqueId("t"), 0);
  REQUIRE_THAT(none.status(), IsOk());
  CHECK(*none == 0);
}

}  // namespace
}  // namespace p402::settlement
