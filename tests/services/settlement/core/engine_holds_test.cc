// Tests of SettlementEngine's prepaid spending (HoldBalance / CaptureHold / ReleaseHold) over the
// in-memory ledger: fees, the remainder returned, mutual exclusion of capture and release,
// replays, the balance never below 0 under concurrency, and the totals invariant.
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/settlement/core/engine_env.h"
#include "tests/support/catch_status.h"

namespace p402::settlement {
namespace {

using p402::testing::StatusIs;
using testing::EngineEnv;

constexpr char kTenant[] = "t1";

// Credits `amount` to (tenant, session) as a top-up would.
void Credit(EngineEnv& env, int64_t amount, std::string session = "", std::string key = "top-1") {
  LedgerEntry entry;
  entry.tenant_id = kTenant;
  entry.session_id = std::move(session);
  entry.kind = kEntryTopUp;
  entry.amount_micro_usd = amount;
  entry.idempotency_key = std::move(key);
  REQUIRE(env.ledger.Append(entry).ok());
}

v1::HoldBalanceRequest Hold(std::string hold_id, int64_t amount, std::string session = "") {
  v1::HoldBalanceRequest request;
  request.mutable_meta()->set_tenant_id(kTenant);
  request.mutable_meta()->set_session_id(std::move(session));
  request.mutable_meta()->set_request_id("req-" + hold_id);
  request.set_hold_id(std::move(hold_id));
  request.set_amount_micro_usd(amount);
  return request;
}

v1::CaptureHoldRequest Capture(std::string hold_id, int64_t cost) {
  v1::CaptureHoldRequest request;
  request.mutable_meta()->set_tenant_id(kTenant);
  request.set_hold_id(std::move(hold_id));
  request.set_cost_micro_usd(cost);
  request.mutable_model()->set_provider("openai");
  request.mutable_model()->set_model("gpt-4o-mini");
  request.mutable_usage()->set_input_tokens(12);
  request.mutable_usage()->set_output_tokens(34);
  return request;
}

v1::ReleaseHoldRequest Release(std::string hold_id) {
  v1::ReleaseHoldRequest request;
  request.mutable_meta()->set_tenant_id(kTenant);
  request.set_hold_id(std::move(hold_id));
  request.set_reason("provider_failed");
  return request;
}

Balance BalanceOf(EngineEnv& env, std::string session = "") {
  absl::StatusOr<Balance> balance = env.ledger.GetBalance(kTenant, session);
  REQUIRE(balance.ok());
  return *balance;
}

// Default fee schedule, first tier: 2% rounded up.
int64_t Fee(int64_t amount) { return (amount * 200 + 9'999) / 10'000; }

TEST_CASE("holds: an account never topped up is not prepaid", "[unit]") {
  EngineEnv env(false);
  auto held = env.engine->HoldBalance(Hold("h1", 1'000));
  REQUIRE(held.ok());
  CHECK_FALSE(held->held());
  CHECK(held->reason() == "no_prepaid_account");
  CHECK(held->balance_micro_usd() == 0);
  CHECK(env.Entries(kTenant).empty());
  // Nothing to capture or release either.
  auto captured = env.engine->CaptureHold(Capture("h1", 10));
  REQUIRE(captured.ok());
  CHECK_FALSE(captured->captured());
  auto released = env.engine->ReleaseHold(Release("h1"));
  REQUIRE(released.ok());
  CHECK_FALSE(released->released());
}

TEST_CASE("holds: bad input is InvalidArgument", "[unit]") {
  EngineEnv env(false);
  Credit(env, 100'000);
  v1::HoldBalanceRequest no_tenant = Hold("h1", 1'000);
  no_tenant.mutable_meta()->clear_tenant_id();
  CHECK_THAT(env.engine->HoldBalance(no_tenant).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tenant_id"));
  CHECK_THAT(env.engine->HoldBalance(Hold("", 1'000)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id"));
  CHECK_THAT(env.engine->HoldBalance(Hold(std::string(129, 'h'), 1'000)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id"));
  CHECK(env.engine->HoldBalance(Hold(std::string(128, 'h'), 1'000)).ok());
  CHECK_THAT(env.engine->HoldBalance(Hold("h2", 0)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "amount"));
  CHECK_THAT(env.engine->HoldBalance(Hold("h2", -5)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "amount"));
  CHECK_THAT(env.engine->CaptureHold(Capture("", 1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id"));
  CHECK_THAT(env.engine->CaptureHold(Capture("h2", -1)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "cost"));
  CHECK_THAT(env.engine->ReleaseHold(Release(std::string(129, 'h'))).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id"));
}

TEST_CASE("holds: capture charges cost + fee and returns the rest of the hold", "[unit]") {
  EngineEnv env(false);
  Credit(env, 100'000);
  auto held = env.engine->HoldBalance(Hold("h1", 10'000));
  REQUIRE(held.ok());
  CHECK(held->held());
  CHECK(held->reason().empty());
  CHECK(held->held_micro_usd() == 10'000 + Fee(10'000));
  CHECK(held->balance_micro_usd() == 100'000 - 10'200);
  CHECK(BalanceOf(env).balance_micro_usd == 89'800);

  auto captured = env.engine->CaptureHold(Capture("h1", 4'000));
  REQUIRE(captured.ok());
  CHECK(captured->captured());
  CHECK_FALSE(captured->duplicate());
  CHECK(captured->charged_micro_usd() == 4'000 + Fee(4'000));
  CHECK(captured->platform_fee_micro_usd() == Fee(4'000));
  CHECK(captured->balance_micro_usd() == 100'000 - 4'080);
  const Balance after = BalanceOf(env);
  CHECK(after.balance_micro_usd == 95'920);
  CHECK(after.total_topped_up_micro_usd == 100'000);
  CHECK(after.total_spent_micro_usd == 4'080);

  // The capture entry records what was used.
  std::vector<LedgerEntry> entries = env.Entries(kTenant);
  REQUIRE(entries.size() == 3);
  CHECK(entries[1].kind == kEntryHold);
  CHECK(entries[1].amount_micro_usd == -10'200);
  CHECK(entries[1].request_id == "req-h1");
  CHECK(entries[2].kind == kEntryCapture);
  CHECK(entries[2].amount_micro_usd == 10'200 - 4'080);
  CHECK(entries[2].cost_micro_usd == 4'080);
  CHECK(entries[2].platform_fee_micro_usd == 80);
  CHECK(entries[2].provider == "openai");
  CHECK(entries[2].model == "gpt-4o-mini");
  CHECK(entries[2].input_tokens == 12);
  CHECK(entries[2].output_tokens == 34);

  // Replays change nothing.
  auto again = env.engine->CaptureHold(Capture("h1", 9'000));
  REQUIRE(again.ok());
  CHECK(again->captured());
  CHECK(again->duplicate());
  CHECK(again->charged_micro_usd() == 4'080);
  CHECK(again->platform_fee_micro_usd() == 80);
  CHECK(again->balance_micro_usd() == 95'920);
  auto rehold = env.engine->HoldBalance(Hold("h1", 50'000));
  REQUIRE(rehold.ok());
  CHECK(rehold->held());
  CHECK(rehold->held_micro_usd() == 10'200);
  CHECK(rehold->balance_micro_usd() == 95'920);
  // Release after capture: the hold was spent.
  auto released = env.engine->ReleaseHold(Release("h1"));
  REQUIRE(released.ok());
  CHECK_FALSE(released->released());
  CHECK(env.Entries(kTenant).size() == 3);
  CHECK(BalanceOf(env).balance_micro_usd == 95'920);
}

TEST_CASE("holds: a capture never charges more than the hold", "[unit]") {
  EngineEnv env(false);
  Credit(env, 10'000);
  auto held = env.engine->HoldBalance(Hold("h1", 1'000));
  REQUIRE(held.ok());
  REQUIRE(held->held_micro_usd() == 1'020);
  auto captured = env.engine->CaptureHold(Capture("h1", 5'000));
  REQUIRE(captured.ok());
  CHECK(captured->charged_micro_usd() == 1'020);
  // The provider cost alone exceeds the hold: all of it is cost, no fee (as SettlePayment).
  CHECK(captured->platform_fee_micro_usd() == 0);
  CHECK(captured->balance_micro_usd() == 10'000 - 1'020);
  // A zero cost returns the whole hold.
  REQUIRE(env.engine->HoldBalance(Hold("h2", 1'000)).ok());
  // Cost within the hold, cost + fee beyond it: the fee is what is left.
  REQUIRE(env.engine->HoldBalance(Hold("h3", 1'000)).ok());
  auto capped = env.engine->CaptureHold(Capture("h3", 1'010));
  REQUIRE(capped.ok());
  CHECK(capped->charged_micro_usd() == 1'020);
  CHECK(capped->platform_fee_micro_usd() == 10);
  auto free = env.engine->CaptureHold(Capture("h2", 0));
  REQUIRE(free.ok());
  CHECK(free->captured());
  CHECK(free->charged_micro_usd() == 0);
  CHECK(free->balance_micro_usd() == 10'000 - 2 * 1'020);
}

TEST_CASE("holds: release returns the whole hold and excludes a capture", "[unit]") {
  EngineEnv env(false);
  Credit(env, 50'000, "s1");
  auto held = env.engine->HoldBalance(Hold("h1", 20'000, "s1"));
  REQUIRE(held.ok());
  REQUIRE(held->held());
  CHECK(BalanceOf(env, "s1").balance_micro_usd == 50'000 - 20'400);
  CHECK(BalanceOf(env).balance_micro_usd == 0);  // the tenant's own account is untouched

  auto released = env.engine->ReleaseHold(Release("h1"));
  REQUIRE(released.ok());
  CHECK(released->released());
  CHECK(BalanceOf(env, "s1").balance_micro_usd == 50'000);
  CHECK(BalanceOf(env, "s1").total_spent_micro_usd == 0);
  std::vector<LedgerEntry> entries = env.Entries(kTenant);
  REQUIRE(entries.size() == 3);
  CHECK(entries[2].kind == kEntryHoldRelease);
  CHECK(entries[2].session_id == "s1");
  CHECK(entries[2].note == "provider_failed");

  auto again = env.engine->ReleaseHold(Release("h1"));
  REQUIRE(again.ok());
  CHECK(again->released());
  auto captured = env.engine->CaptureHold(Capture("h1", 100));
  REQUIRE(captured.ok());
  CHECK_FALSE(captured->captured());
  CHECK(captured->charged_micro_usd() == 0);
  CHECK(captured->balance_micro_usd() == 50'000);
  CHECK(env.Entries(kTenant).size() == 3);

  auto unknown = env.engine->ReleaseHold(Release("nope"));
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->released());
  auto unknown_capture = env.engine->CaptureHold(Capture("nope", 1));
  REQUIRE(unknown_capture.ok());
  CHECK_FALSE(unknown_capture->captured());
}

TEST_CASE("holds: insufficient balance is an answer, not an error", "[unit]") {
  EngineEnv env(false);
  Credit(env, 1'000);
  auto held = env.engine->HoldBalance(Hold("h1", 1'000));  // 1'020 with the fee
  REQUIRE(held.ok());
  CHECK_FALSE(held->held());
  CHECK(held->reason() == "insufficient_balance");
  CHECK(held->balance_micro_usd() == 1'000);
  CHECK(env.Entries(kTenant).size() == 1);
  // Exactly the balance fits.
  auto fits = env.engine->HoldBalance(Hold("h2", 980));  // 980 + 20
  REQUIRE(fits.ok());
  CHECK(fits->held());
  CHECK(fits->balance_micro_usd() == 0);
}

TEST_CASE("holds: a hold_id belongs to one account", "[unit]") {
  EngineEnv env(false);
  Credit(env, 10'000);
  Credit(env, 10'000, "s1", "top-2");
  REQUIRE(env.engine->HoldBalance(Hold("h1", 100)).ok());
  CHECK_THAT(env.engine->HoldBalance(Hold("h1", 100, "s1")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id reused"));
  // An idempotency key of another kind is not a hold either.
  LedgerEntry other;
  other.tenant_id = kTenant;
  other.kind = kEntryUsage;
  other.idempotency_key = "hold:h9";
  REQUIRE(env.ledger.Append(other).ok());
  CHECK_THAT(env.engine->HoldBalance(Hold("h9", 100)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "hold_id reused"));
  auto not_hold = env.engine->CaptureHold(Capture("h9", 1));
  REQUIRE(not_hold.ok());
  CHECK_FALSE(not_hold->captured());
  // Another tenant cannot end it.
  v1::CaptureHoldRequest foreign = Capture("h1", 1);
  foreign.mutable_meta()->set_tenant_id("t2");
  CHECK_THAT(env.engine->CaptureHold(foreign).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_CASE("holds: concurrent holds never overspend the balance", "[unit]") {
  EngineEnv env(false);
  constexpr int kFits = 5;
  constexpr int kThreads = 16;
  Credit(env, kFits * 1'020);
  std::atomic<int> held{0};
  std::atomic<int> refused{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = env.engine->HoldBalance(Hold("c" + std::to_string(i), 1'000));
      if (!r.ok()) {
        ++errors;
      } else if (r->held()) {
        ++held;
      } else if (r->reason() == "insufficient_balance") {
        ++refused;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(errors == 0);
  CHECK(held == kFits);
  CHECK(refused == kThreads - kFits);
  CHECK(BalanceOf(env).balance_micro_usd == 0);
}

TEST_CASE("holds: topped_up - spent == balance + open holds after a mix", "[unit]") {
  EngineEnv env(false);
  Credit(env, 200'000);
  for (int i = 0; i < 12; ++i) {
    const std::string id = "m" + std::to_string(i);
    auto held = env.engine->HoldBalance(Hold(id, 1'000 + 731 * i));
    REQUIRE(held.ok());
    REQUIRE(held->held());
    if (i % 3 == 0) REQUIRE(env.engine->CaptureHold(Capture(id, 300 * i)).ok());
    if (i % 3 == 1) REQUIRE(env.engine->ReleaseHold(Release(id)).ok());
    if (i % 3 == 2) continue;  // stays open
    // Replays of everything change nothing.
    REQUIRE(env.engine->HoldBalance(Hold(id, 1)).ok());
    REQUIRE(env.engine->CaptureHold(Capture(id, 99'999)).ok());
    REQUIRE(env.engine->ReleaseHold(Release(id)).ok());
  }
  // Open holds, from the ledger itself: holds without a capture or release.
  std::map<std::string, int64_t> holds;
  for (const LedgerEntry& e : env.Entries(kTenant)) {
    if (e.kind == kEntryHold) holds[e.idempotency_key + ":end"] = -e.amount_micro_usd;
  }
  for (const LedgerEntry& e : env.Entries(kTenant)) {
    if (e.kind == kEntryCapture || e.kind == kEntryHoldRelease) holds.erase(e.idempotency_key);
  }
  CHECK(holds.size() == 4);
  int64_t open = 0;
  for (const auto& [key, amount] : holds) open += amount;
  CHECK(open > 0);
  const Balance b = BalanceOf(env);
  CHECK(b.total_topped_up_micro_usd == 200'000);
  CHECK(b.total_spent_micro_usd > 0);
  CHECK(b.total_topped_up_micro_usd - b.total_spent_micro_usd == b.balance_micro_usd + open);
}

// The in-memory ledger, failing every call with Unavailable while `down`.
class FlakyLedger final : public Ledger {
 public:
  explicit FlakyLedger(Ledger& inner) : inner_(inner) {}
  std::atomic<bool> down{false};
  absl::StatusOr<AppendResult> Append(const LedgerEntry& e) override {
    if (down) return absl::UnavailableError("ledger down");
    return inner_.Append(e);
  }
  absl::StatusOr<Balance> GetBalance(std::string_view t, std::string_view s) override {
    if (down) return absl::UnavailableError("ledger down");
    return inner_.GetBalance(t, s);
  }
  absl::StatusOr<LedgerPage> List(std::string_view t, std::string_view s, std::string_view p,
                                  int n) override {
    if (down) return absl::UnavailableError("ledger down");
    return inner_.List(t, s, p, n);
  }
  absl::StatusOr<std::optional<LedgerEntry>> FindByKey(std::string_view k) override {
    if (down) return absl::UnavailableError("ledger down");
    return inner_.FindByKey(k);
  }
  absl::StatusOr<int64_t> VolumeSince(std::string_view t, int64_t since) override {
    if (down) return absl::UnavailableError("ledger down");
    return inner_.VolumeSince(t, since);
  }

 private:
  Ledger& inner_;
};

TEST_CASE("holds: a ledger outage is Unavailable (the edge fails closed / retries)", "[unit]") {
  EngineEnv env(false);
  Credit(env, 10'000);
  FlakyLedger flaky(env.ledger);
  EngineDeps deps;
  deps.terms = env.terms;
  deps.payments = &env.store;
  deps.ledger = &flaky;
  deps.clock = &env.clock;
  auto engine = SettlementEngine::Create(deps);
  REQUIRE(engine.ok());
  REQUIRE((*engine)->HoldBalance(Hold("h1", 100)).ok());
  flaky.down = true;
  CHECK_THAT((*engine)->HoldBalance(Hold("h2", 100)).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT((*engine)->CaptureHold(Capture("h1", 10)).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT((*engine)->ReleaseHold(Release("h1")).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  flaky.down = false;  // the retry works
  auto captured = (*engine)->CaptureHold(Capture("h1", 10));
  REQUIRE(captured.ok());
  CHECK(captured->captured());
  CHECK(captured->charged_micro_usd() == 11);
}

}  // namespace
}  // namespace p402::settlement
