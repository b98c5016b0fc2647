// Guard layers 1-4 (rate_limit, daily_limit, concurrency, anomaly) over an InMemoryCounterStore:
// their denials, codes and retry hints, their undo/adjust hooks, their failure mode, and their
// order in a full six-layer chain and in the Guard. Over 800 lines: four layers share one set of
// fakes (alert sink, faulty store, request context) and the test binary lists one file for them.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/core/anomaly_layer.h"
#include "services/policy/core/concurrency_layer.h"
#include "services/policy/core/daily_limit_layer.h"
#include "services/policy/core/guard_chain.h"
#include "services/policy/core/rate_limit_layer.h"
#include "services/policy/core/request_cap_layer.h"
#include "services/policy/core/reservation_layer.h"
#include "tests/services/policy/core/policy_test_util.h"
#include "tests/services/policy/fake_clock.h"
#include "tests/support/catch_status.h"

namespace p402::policy {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using testing::FakeClock;

constexpr MicroUsd kUsd = 1'000'000;
constexpr int64_t kHourMs = 3'600'000;
// 2025-01-01T10:00:00Z.
constexpr int64_t kTenAm = 1'735'689'600'000 + 10 * kHourMs;

class RecordingAlertSink final : public AlertSink {
 public:
  void Emit(const AlertEvent& event) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(event);
  }
  std::vector<AlertEvent> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<AlertEvent> events_ ABSL_GUARDED_BY(mu_);
};

// Forwards to an InMemoryCounterStore. set_down(true): every call fails with Unavailable (what
// RedisCounterStore returns when Redis is unreachable). FailCallNumber(n): only the n-th call
// from now on fails.
class FaultyCounterStore final : public CounterStore {
 public:
  explicit FaultyCounterStore(const Clock& clock) : inner_(clock) {}
  void set_down(bool down) { down_ = down; }
  void FailCallNumber(int n) { fail_in_ = n; }
  InMemoryCounterStore& inner() { return inner_; }

  absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                              int64_t period, int64_t now) override {
    if (Fail()) {
      return Down();
    }
    return inner_.TakeToken(key, capacity, period, now);
  }
  absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta, int64_t limit,
                                               int64_t ttl_ms) override {
    if (Fail()) {
      return Down();
    }
    return inner_.AddIfWithin(key, delta, limit, ttl_ms);
  }
  absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) override {
    if (Fail()) {
      return Down();
    }
    return inner_.Add(key, delta, ttl_ms);
  }
  absl::StatusOr<int64_t> Get(std::string_view key) override {
    if (Fail()) {
      return Down();
    }
    return inner_.Get(key);
  }
  absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                         int64_t limit, int64_t expires, int64_t now) override {
    if (Fail()) {
      return Down();
    }
    return inner_.AcquireSlot(key, member, limit, expires, now);
  }
  absl::Status ReleaseSlot(std::string_view key, std::string_view member) override {
    if (Fail()) {
      return Down();
    }
    return inner_.ReleaseSlot(key, member);
  }
  absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value, int64_t max_count,
                                            int64_t ttl_ms) override {
    if (Fail()) {
      return Down();
    }
    return inner_.ObserveSample(key, value, max_count, ttl_ms);
  }

 private:
  static absl::Status Down() { return Unavailable("counter store is down (test)"); }
  bool Fail() {
    if (fail_in_ > 0 && --fail_in_ == 0) {
      return true;
    }
    return down_;
  }

  InMemoryCounterStore inner_;
  bool down_ = false;
  int fail_in_ = 0;
};

// One request as the layers see it (GuardContext points into this object: not movable).
class Request {
 public:
  Request(std::string tenant_id, TenantLimits limits, int64_t now_unix_ms, MicroUsd worst_case,
          std::string reservation_id = "") {
    static int next_id = 0;
    tenant_.id = std::move(tenant_id);
    tenant_.limits = limits;
    request_.mutable_meta()->set_request_id("req-" + std::to_string(++next_id));
    request_.set_worst_case_micro_usd(worst_case);
    ctx_.request = &request_;
    ctx_.tenant = &tenant_;
    ctx_.limits = ResolveLimits(limits, GuardConfig{});
    ctx_.now_unix_ms = now_unix_ms;
    ctx_.reservation_id =
        reservation_id.empty() ? "rsv_test_" + std::to_string(next_id) : reservation_id;
    ctx_.worst_case_micro_usd = worst_case;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  GuardContext& ctx() { return ctx_; }
  v1::AuthorizeRequest& request() { return request_; }
  const std::string& request_id() const { return request_.meta().request_id(); }

 private:
  TenantRecord tenant_;
  v1::AuthorizeRequest request_;
  GuardContext ctx_;
};

// The value of the tenant's window of `period` containing `unix_ms`.
int64_t WindowValue(CounterStore& store, const std::string& tenant, int64_t unix_ms,
                    SpendPeriod period) {
  const auto windows = SpendWindowsAt(tenant, unix_ms);
  const int index = period == SpendPeriod::kHour ? 0 : period == SpendPeriod::kDay ? 1 : 2;
  absl::StatusOr<int64_t> v = store.Get(windows[index].key);
  REQUIRE_THAT(v.status(), IsOk());
  return *v;
}

// Hour, day and month values at once.
std::vector<int64_t> Windows(CounterStore& store, const std::string& tenant, int64_t unix_ms) {
  return {WindowValue(store, tenant, unix_ms, SpendPeriod::kHour),
          WindowValue(store, tenant, unix_ms, SpendPeriod::kDay),
          WindowValue(store, tenant, unix_ms, SpendPeriod::kMonth)};
}

LayerOutcome Eval(GuardLayer& layer, GuardContext& ctx) {
  absl::StatusOr<LayerOutcome> outcome = layer.Evaluate(ctx);
  REQUIRE_THAT(outcome.status(), IsOk());
  return *outcome;
}

ReservationRecord ReservationFor(const GuardContext& ctx, MicroUsd amount) {
  ReservationRecord r;
  r.id = ctx.reservation_id;
  r.tenant_id = ctx.tenant->id;
  r.amount_micro_usd = amount;
  r.created_unix_ms = ctx.now_unix_ms;
  r.expires_unix_ms = ctx.now_unix_ms + ctx.limits.reservation_ttl_ms;
  return r;
}

// ------------------------------------------------------------------------------------ rate limit

TEST_CASE("rate_limit denies past the hourly allowance with a retry hint", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RateLimitLayer layer(store);
  TenantLimits limits;
  limits.requests_per_hour = 3;
  for (int i = 0; i < 3; ++i) {
    Request r("acme", limits, kTenAm, kUsd);
    CHECK(Eval(layer, r.ctx()).passed);
  }
  Request denied("acme", limits, kTenAm, kUsd);
  LayerOutcome out = Eval(layer, denied.ctx());
  CHECK_FALSE(out.passed);
  CHECK(out.decision == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(out.code == "rate_limited");
  CHECK(out.retry_after_ms == kHourMs / 3);  // one token per 20 minutes
  CHECK(out.message.find("3 requests per hour") != std::string::npos);

  Request other_tenant("globex", limits, kTenAm, kUsd);
  CHECK(Eval(layer, other_tenant.ctx()).passed);

  Request later("acme", limits, kTenAm + kHourMs / 3, kUsd);
  CHECK(Eval(layer, later.ctx()).passed);
  Request again("acme", limits, kTenAm + kHourMs / 3, kUsd);
  CHECK_FALSE(Eval(layer, again.ctx()).passed);
}

TEST_CASE("rate_limit uses the default of 1,000 requests per hour", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RateLimitLayer layer(store);
  for (int i = 0; i < 1000; ++i) {
    Request r("acme", {}, kTenAm, kUsd);
    REQUIRE(Eval(layer, r.ctx()).passed);
  }
  Request denied("acme", {}, kTenAm, kUsd);
  LayerOutcome out = Eval(layer, denied.ctx());
  CHECK(out.code == "rate_limited");
  CHECK(out.retry_after_ms == 3600);
}

// ----------------------------------------------------------------------------------- daily limit

TEST_CASE("SpendWindowsAt names the UTC hour, day and month windows", "[unit][layers]") {
  // 2024-02-29T23:59:59.999Z: a leap day, the last millisecond of the month.
  const int64_t t = 1'709'251'199'999;
  const auto w = SpendWindowsAt("acme", t);
  CHECK(w[0].period == SpendPeriod::kHour);
  CHECK(w[0].key == "sp:acme:h:2024022923");
  CHECK(w[0].end_unix_ms == t + 1);
  CHECK(w[0].ttl_ms == kHourMs + 24 * kHourMs);
  CHECK(w[1].key == "sp:acme:d:20240229");
  CHECK(w[1].end_unix_ms == t + 1);
  CHECK(w[1].ttl_ms == 48 * kHourMs);
  CHECK(w[2].key == "sp:acme:m:202402");
  CHECK(w[2].end_unix_ms == t + 1);
  CHECK(w[2].ttl_ms == 30 * 24 * kHourMs);  // 29 days + 1
  const auto next = SpendWindowsAt("acme", t + 1);
  CHECK(next[0].key == "sp:acme:h:2024030100");
  CHECK(next[1].key == "sp:acme:d:20240301");
  CHECK(next[2].key == "sp:acme:m:202403");
  CHECK(next[2].ttl_ms == 32 * 24 * kHourMs);
}

TEST_CASE("daily_limit trips the tenant's daily circuit breaker until 00:00 UTC",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  TenantLimits limits;
  limits.daily_limit_micro_usd = 10 * kUsd;

  Request a("acme", limits, kTenAm, 4 * kUsd);
  CHECK(Eval(layer, a.ctx()).passed);
  CHECK(a.ctx().spend_window_added_micro_usd == 4 * kUsd);
  Request b("acme", limits, kTenAm + 1, 6 * kUsd);  // exactly the limit
  CHECK(Eval(layer, b.ctx()).passed);
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{10 * kUsd, 10 * kUsd, 10 * kUsd});

  Request c("acme", limits, kTenAm + 30 * 60'000, 1);
  LayerOutcome out = Eval(layer, c.ctx());
  CHECK_FALSE(out.passed);
  CHECK(out.decision == v1::GUARD_DECISION_DENY_DAILY_LIMIT);
  CHECK(out.code == "daily_limit_exceeded");
  CHECK(out.retry_after_ms == 13 * kHourMs + 30 * 60'000);  // until 2025-01-02T00:00Z
  CHECK(out.message.find("$10.000000") != std::string::npos);
  CHECK(c.ctx().spend_window_added_micro_usd == 0);
  // The hour window took the add before the day window refused: undone.
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{10 * kUsd, 10 * kUsd, 10 * kUsd});

  // A new UTC day: a new day window (the month keeps counting).
  const int64_t tomorrow = kTenAm + 14 * kHourMs;
  Request d("acme", limits, tomorrow, 9 * kUsd);
  CHECK(Eval(layer, d.ctx()).passed);
  CHECK(Windows(store, "acme", tomorrow) == std::vector<int64_t>{9 * kUsd, 9 * kUsd, 19 * kUsd});
  CHECK(alerts.events().empty());
}

TEST_CASE("daily_limit applies the default daily limit of $1,000", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  Request a("acme", {}, kTenAm, 1000 * kUsd);
  CHECK(Eval(layer, a.ctx()).passed);
  Request b("acme", {}, kTenAm, 1);
  CHECK(Eval(layer, b.ctx()).code == "daily_limit_exceeded");
}

TEST_CASE("daily_limit enforces DENY spending policies per window", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  const SpendWindowLimit monthly{.period = SpendPeriod::kMonth,
                                 .limit_micro_usd = 5 * kUsd,
                                 .action = v1::SPEND_ACTION_DENY,
                                 .policy_id = "pol_month"};
  Request a("acme", {}, kTenAm, 3 * kUsd);
  a.ctx().spend_windows = {monthly};
  CHECK(Eval(layer, a.ctx()).passed);

  Request b("acme", {}, kTenAm, 3 * kUsd);
  b.ctx().spend_windows = {monthly};
  LayerOutcome out = Eval(layer, b.ctx());
  CHECK_FALSE(out.passed);
  CHECK(out.decision == v1::GUARD_DECISION_DENY_SPEND_LIMIT);
  CHECK(out.code == "spend_limit_exceeded");
  CHECK(out.retry_after_ms == 0);
  CHECK(out.message.find("monthly") != std::string::npos);
  CHECK(out.message.find("pol_month") != std::string::npos);
  // Hour and day took the add before the month refused: both undone.
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{3 * kUsd, 3 * kUsd, 3 * kUsd});
}

TEST_CASE("daily_limit throttles THROTTLE policies until the window rolls over", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  const SpendWindowLimit hourly{.period = SpendPeriod::kHour,
                                .limit_micro_usd = 5 * kUsd,
                                .action = v1::SPEND_ACTION_THROTTLE,
                                .policy_id = "pol_hour"};
  Request a("acme", {}, kTenAm, 5 * kUsd);
  a.ctx().spend_windows = {hourly};
  CHECK(Eval(layer, a.ctx()).passed);

  const int64_t quarter_past = kTenAm + 15 * 60'000;
  Request b("acme", {}, quarter_past, 1);
  b.ctx().spend_windows = {hourly};
  LayerOutcome out = Eval(layer, b.ctx());
  CHECK_FALSE(out.passed);
  CHECK(out.decision == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(out.code == "spend_limit_throttled");
  CHECK(out.retry_after_ms == 45 * 60'000);
  CHECK(out.message.find("hourly") != std::string::npos);

  Request c("acme", {}, kTenAm + kHourMs, 1);
  c.ctx().spend_windows = {hourly};
  CHECK(Eval(layer, c.ctx()).passed);
}

TEST_CASE("daily_limit denies by the smallest hard limit; ties go to the circuit breaker",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  TenantLimits limits;
  limits.daily_limit_micro_usd = 10 * kUsd;
  const SpendWindowLimit deny6{.period = SpendPeriod::kDay,
                               .limit_micro_usd = 6 * kUsd,
                               .action = v1::SPEND_ACTION_DENY,
                               .policy_id = "pol_deny"};
  const SpendWindowLimit throttle8{.period = SpendPeriod::kDay,
                                   .limit_micro_usd = 8 * kUsd,
                                   .action = v1::SPEND_ACTION_THROTTLE,
                                   .policy_id = "pol_throttle"};
  const SpendWindowLimit ignored{.period = SpendPeriod::kDay,
                                 .limit_micro_usd = 0,
                                 .action = v1::SPEND_ACTION_DENY,
                                 .policy_id = "pol_zero"};

  SECTION("the smaller policy limit decides") {
    Request r("acme", limits, kTenAm, 7 * kUsd);
    r.ctx().spend_windows = {throttle8, deny6, ignored};
    CHECK(Eval(layer, r.ctx()).code == "spend_limit_exceeded");
    Request s("acme", limits, kTenAm, 6 * kUsd);
    s.ctx().spend_windows = {throttle8, deny6, ignored};
    CHECK(Eval(layer, s.ctx()).passed);
  }
  SECTION("THROTTLE below DENY") {
    Request r("acme", limits, kTenAm, 7 * kUsd);
    r.ctx().spend_windows = {SpendWindowLimit{.period = SpendPeriod::kDay,
                                              .limit_micro_usd = 5 * kUsd,
                                              .action = v1::SPEND_ACTION_THROTTLE,
                                              .policy_id = "pol_t5"},
                             deny6};
    CHECK(Eval(layer, r.ctx()).code == "spend_limit_throttled");
  }
  SECTION("an equal tenant daily limit wins the tie") {
    limits.daily_limit_micro_usd = 6 * kUsd;
    Request r("acme", limits, kTenAm, 7 * kUsd);
    r.ctx().spend_windows = {deny6};
    CHECK(Eval(layer, r.ctx()).code == "daily_limit_exceeded");
  }
  SECTION("DENY wins a tie with THROTTLE") {
    Request r("acme", {}, kTenAm, 7 * kUsd);
    r.ctx().spend_windows = {SpendWindowLimit{.period = SpendPeriod::kDay,
                                              .limit_micro_usd = 6 * kUsd,
                                              .action = v1::SPEND_ACTION_THROTTLE,
                                              .policy_id = "pol_t6"},
                             deny6};
    CHECK(Eval(layer, r.ctx()).code == "spend_limit_exceeded");
  }
}

TEST_CASE("daily_limit alerts once when an ALERT policy's limit is crossed", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  const SpendWindowLimit alert5{.period = SpendPeriod::kHour,
                                .limit_micro_usd = 5 * kUsd,
                                .action = v1::SPEND_ACTION_ALERT,
                                .policy_id = "pol_alert"};
  std::vector<std::string> codes;
  std::string crossing_request;
  for (int i = 0; i < 4; ++i) {  // $2 each: 2, 4, 6 (crosses 5), 8
    Request r("acme", {}, kTenAm, 2 * kUsd);
    r.ctx().spend_windows = {alert5};
    LayerOutcome out = Eval(layer, r.ctx());
    CHECK(out.passed);  // ALERT never blocks
    codes.push_back(out.code);
    if (i == 2) {
      crossing_request = r.request_id();
    }
  }
  CHECK(codes == std::vector<std::string>{"", "", "spend_limit_alert", ""});
  const auto events = alerts.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "spend_limit_alert");
  CHECK(events[0].tenant_id == "acme");
  CHECK(events[0].request_id == crossing_request);
  CHECK(events[0].unix_ms == kTenAm);
  CHECK(events[0].message.find("pol_alert") != std::string::npos);
  CHECK(WindowValue(store, "acme", kTenAm, SpendPeriod::kHour) == 8 * kUsd);
}

TEST_CASE("daily_limit does not alert for a crossing that a later window refuses",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  Request r("acme", {}, kTenAm, 6 * kUsd);
  r.ctx().spend_windows = {SpendWindowLimit{.period = SpendPeriod::kHour,
                                            .limit_micro_usd = 5 * kUsd,
                                            .action = v1::SPEND_ACTION_ALERT,
                                            .policy_id = "pol_alert"},
                           SpendWindowLimit{.period = SpendPeriod::kMonth,
                                            .limit_micro_usd = 5 * kUsd,
                                            .action = v1::SPEND_ACTION_DENY,
                                            .policy_id = "pol_month"}};
  CHECK(Eval(layer, r.ctx()).code == "spend_limit_exceeded");
  CHECK(alerts.events().empty());
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{0, 0, 0});
}

TEST_CASE("daily_limit Abandon, OnAdmitted and OnFinished keep the windows at the true spend",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);

  SECTION("Abandon subtracts what Evaluate added") {
    Request keep("acme", {}, kTenAm, 1 * kUsd);
    REQUIRE(Eval(layer, keep.ctx()).passed);
    Request r("acme", {}, kTenAm, 4 * kUsd);
    REQUIRE(Eval(layer, r.ctx()).passed);
    REQUIRE(WindowValue(store, "acme", kTenAm, SpendPeriod::kDay) == 5 * kUsd);
    layer.Abandon(r.ctx());
    CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{kUsd, kUsd, kUsd});
  }
  SECTION("OnAdmitted corrects the worst case to the reservation's amount") {
    Request r("acme", {}, kTenAm, 4 * kUsd);
    REQUIRE(Eval(layer, r.ctx()).passed);
    r.ctx().reservation = ReservationFor(r.ctx(), kUsd);  // a later layer lowered max_tokens
    layer.OnAdmitted(r.ctx());
    CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{kUsd, kUsd, kUsd});

    SECTION("and OnFinished moves them to the charge, in the reservation's windows") {
      // Another replica, an hour later: only the reservation is known.
      DailyLimitLayer elsewhere(store, alerts);
      const ReservationRecord reservation = *r.ctx().reservation;
      elsewhere.OnFinished(reservation, 400'000, /*failed=*/false);
      CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{400'000, 400'000, 400'000});
      CHECK(WindowValue(store, "acme", kTenAm + kHourMs, SpendPeriod::kHour) == 0);
    }
    SECTION("and a release (charge 0) empties them") {
      layer.OnFinished(*r.ctx().reservation, 0, /*failed=*/true);
      CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{0, 0, 0});
    }
  }
  SECTION("OnAdmitted without a reservation changes nothing") {
    Request r("acme", {}, kTenAm, 4 * kUsd);
    REQUIRE(Eval(layer, r.ctx()).passed);
    layer.OnAdmitted(r.ctx());
    CHECK(WindowValue(store, "acme", kTenAm, SpendPeriod::kDay) == 4 * kUsd);
  }
}

TEST_CASE("daily_limit undoes its adds when the store fails mid-way", "[unit][layers]") {
  FakeClock clock;
  FaultyCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  Request r("acme", {}, kTenAm, 4 * kUsd);
  store.FailCallNumber(3);  // hour and day succeed, month fails
  absl::StatusOr<LayerOutcome> out = layer.Evaluate(r.ctx());
  CHECK_THAT(out.status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK(r.ctx().spend_window_added_micro_usd == 0);
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{0, 0, 0});
}

TEST_CASE("daily_limit windows catch up on admission after failing open", "[unit][layers]") {
  FakeClock clock;
  FaultyCounterStore store(clock);
  RecordingAlertSink alerts;
  DailyLimitLayer layer(store, alerts);
  Request r("acme", {}, kTenAm, 4 * kUsd);
  store.set_down(true);
  REQUIRE_FALSE(layer.Evaluate(r.ctx()).ok());
  // The hooks swallow store errors.
  layer.Abandon(r.ctx());
  r.ctx().reservation = ReservationFor(r.ctx(), 3 * kUsd);
  layer.OnAdmitted(r.ctx());
  layer.OnFinished(*r.ctx().reservation, kUsd, false);
  store.set_down(false);
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{0, 0, 0});

  // Back up before admission: the windows get the whole reservation, so OnFinished nets out.
  layer.OnAdmitted(r.ctx());
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{3 * kUsd, 3 * kUsd, 3 * kUsd});
  layer.OnFinished(*r.ctx().reservation, kUsd, false);
  CHECK(Windows(store, "acme", kTenAm) == std::vector<int64_t>{kUsd, kUsd, kUsd});
}

// ----------------------------------------------------------------------------------- concurrency

TEST_CASE("concurrency caps in-flight requests; Abandon and OnFinished free slots",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  ConcurrencyLayer layer(store);
  TenantLimits limits;
  limits.max_concurrent = 2;
  const int64_t now = clock.NowMillis();

  Request a("acme", limits, now, kUsd);
  Request b("acme", limits, now, kUsd);
  REQUIRE(Eval(layer, a.ctx()).passed);
  REQUIRE(Eval(layer, b.ctx()).passed);
  Request c("acme", limits, now, kUsd);
  LayerOutcome out = Eval(layer, c.ctx());
  CHECK_FALSE(out.passed);
  CHECK(out.decision == v1::GUARD_DECISION_DENY_CONCURRENCY);
  CHECK(out.code == "concurrency_limit");
  CHECK(out.retry_after_ms == 1000);
  CHECK(out.message.find("limit is 2") != std::string::npos);

  Request other("globex", limits, now, kUsd);
  CHECK(Eval(layer, other.ctx()).passed);

  layer.Abandon(a.ctx());
  Request d("acme", limits, now, kUsd);
  CHECK(Eval(layer, d.ctx()).passed);
  Request e("acme", limits, now, kUsd);
  CHECK_FALSE(Eval(layer, e.ctx()).passed);

  // Finished in another replica: only the reservation is known.
  ConcurrencyLayer elsewhere(store);
  elsewhere.OnFinished(ReservationFor(b.ctx(), kUsd), kUsd, false);
  Request f("acme", limits, now, kUsd);
  CHECK(Eval(layer, f.ctx()).passed);
}

TEST_CASE("concurrency slots free themselves after the reservation TTL", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  ConcurrencyLayer layer(store);
  TenantLimits limits;
  limits.max_concurrent = 1;
  limits.reservation_ttl_ms = 60'000;
  const int64_t now = clock.NowMillis();
  Request lost("acme", limits, now, kUsd);  // its owner never finishes it
  REQUIRE(Eval(layer, lost.ctx()).passed);
  Request early("acme", limits, now + 59'999, kUsd);
  CHECK_FALSE(Eval(layer, early.ctx()).passed);
  Request late("acme", limits, now + 60'000, kUsd);
  CHECK(Eval(layer, late.ctx()).passed);
}

TEST_CASE("concurrency without a reservation id cannot decide", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  ConcurrencyLayer layer(store);
  Request r("acme", {}, clock.NowMillis(), kUsd);
  r.ctx().reservation_id.clear();
  CHECK_THAT(layer.Evaluate(r.ctx()).status(), StatusIs(absl::StatusCode::kInternal));
  layer.Abandon(r.ctx());  // nothing to free, no crash
}

// --------------------------------------------------------------------------------------- anomaly

// Feeds `n` requests alternating $0.01 and $0.03 (mean $0.02) and checks none is flagged.
void FeedHistory(AnomalyLayer& layer, const std::string& tenant, int n, TenantLimits limits = {}) {
  for (int i = 0; i < n; ++i) {
    Request r(tenant, limits, kTenAm + i, i % 2 == 0 ? 10'000 : 30'000);
    LayerOutcome out = Eval(layer, r.ctx());
    REQUIRE(out.passed);
    REQUIRE(out.code.empty());
  }
}

TEST_CASE("anomaly flags a cost far above the tenant's history and never blocks",
          "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  GuardConfig config;  // 30 samples, 3.0 sigma
  AnomalyLayer layer(store, alerts, config);
  FeedHistory(layer, "acme", 30);

  Request spike("acme", {}, kTenAm + 100, 4'200'000);
  LayerOutcome out = Eval(layer, spike.ctx());
  CHECK(out.passed);
  CHECK(out.code == "anomaly_zscore");
  const auto events = alerts.events();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == "anomaly_zscore");
  CHECK(events[0].tenant_id == "acme");
  CHECK(events[0].request_id == spike.request_id());
  CHECK(events[0].unix_ms == kTenAm + 100);
  // 15 x $0.01 and 15 x $0.03: stddev = sqrt(30e8 / 29) = 10170.98 micro-USD.
  CHECK(events[0].message == "estimated cost $4.200000 is 411.0 sigma above the mean $0.020000");

  // An ordinary request afterwards is not flagged.
  Request normal("acme", {}, kTenAm + 101, 20'000);
  CHECK(Eval(layer, normal.ctx()).code.empty());
  CHECK(alerts.events().size() == 1);
}

TEST_CASE("anomaly waits for anomaly_min_samples of history", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  AnomalyLayer layer(store, alerts, GuardConfig{});
  FeedHistory(layer, "acme", 29);
  Request spike("acme", {}, kTenAm + 100, 4'200'000);
  CHECK(Eval(layer, spike.ctx()).code.empty());
  CHECK(alerts.events().empty());
}

TEST_CASE("anomaly honours the tenant's threshold", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  GuardConfig config;
  config.anomaly_min_samples = 4;
  AnomalyLayer layer(store, alerts, config);
  TenantLimits limits;
  limits.anomaly_zscore_centi = 200;      // 2.0 sigma
  FeedHistory(layer, "acme", 4, limits);  // mean 20000, stddev sqrt(4e8 / 3) = 11547
  // z = 1.99: below.
  Request below("acme", limits, kTenAm + 10, 20'000 + 22'980);
  CHECK(Eval(layer, below.ctx()).code.empty());
  // That sample moved the history; score a fresh tenant at exactly the threshold instead.
  FeedHistory(layer, "globex", 4, limits);
  Request at("globex", limits, kTenAm + 10, 20'000 + 23'095);  // z = 2.0001
  CHECK(Eval(layer, at.ctx()).code == "anomaly_zscore");
}

TEST_CASE("anomaly does not flag a history without spread", "[unit][layers]") {
  FakeClock clock;
  InMemoryCounterStore store(clock);
  RecordingAlertSink alerts;
  AnomalyLayer layer(store, alerts, GuardConfig{});
  for (int i = 0; i < 40; ++i) {
    Request r("acme", {}, kTenAm + i, 20'000);
    REQUIRE(Eval(layer, r.ctx()).code.empty());
  }
  Request spike("acme", {}, kTenAm + 100, 4'200'000);
  CHECK(Eval(layer, spike.ctx()).code.empty());
  CHECK(alerts.events().empty());
}

// --------------------------------------------------------------------------- chain: order,
// fail-open

struct FullChain {
  FakeClock clock;
  FaultyCounterStore counters{clock};
  RecordingAlertSink alerts;
  InMemoryPolicyStore policy_store;
  GuardConfig config;
  std::unique_ptr<GuardChain> chain;
  TenantLimits limits;

  explicit FullChain(TenantLimits tenant_limits) : limits(tenant_limits) {
    std::vector<std::unique_ptr<GuardLayer>> layers;
    layers.push_back(std::make_unique<RateLimitLayer>(counters));
    layers.push_back(std::make_unique<DailyLimitLayer>(counters, alerts));
    layers.push_back(std::make_unique<ConcurrencyLayer>(counters));
    layers.push_back(std::make_unique<AnomalyLayer>(counters, alerts, config));
    layers.push_back(std::make_unique<RequestCapLayer>(config));
    layers.push_back(std::make_unique<ReservationLayer>(policy_store, config));
    chain = std::make_unique<GuardChain>(std::move(layers));
    TenantRecord tenant;
    tenant.id = "acme";
    tenant.limits = limits;
    REQUIRE_THAT(policy_store.CreateTenant(tenant), IsOk());
  }

  ChainVerdict Run(Request& r) {
    absl::StatusOr<ChainVerdict> verdict = chain->Run(r.ctx());
    REQUIRE_THAT(verdict.status(), IsOk());
    if (verdict->allowed) {
      chain->NotifyAdmitted(r.ctx());
    }
    return *verdict;
  }
  int64_t Day(int64_t now) { return WindowValue(counters, "acme", now, SpendPeriod::kDay); }
};

std::vector<std::string> LayerSummary(const ChainVerdict& v) {
  std::vector<std::string> out;
  for (const auto& l : v.layers) {
    out.push_back(l.layer() + ":" + (l.passed() ? "pass" : "deny") + ":" + l.code() +
                  (l.failed_open() ? ":failed_open" : ""));
  }
  return out;
}

TEST_CASE("the six layers run in order and the first denial decides", "[unit][layers]") {
  TenantLimits limits;
  limits.requests_per_hour = 3;
  limits.daily_limit_micro_usd = 10 * kUsd;
  limits.max_concurrent = 1;
  FullChain f(limits);
  const int64_t now = f.clock.NowMillis();

  Request a("acme", limits, now, 4 * kUsd);
  ChainVerdict va = f.Run(a);
  REQUIRE(va.allowed);
  CHECK(LayerSummary(va) ==
        std::vector<std::string>{"rate_limit:pass:", "daily_limit:pass:", "concurrency:pass:",
                                 "anomaly:pass:", "request_cap:pass:", "reservation:pass:"});
  REQUIRE(a.ctx().reservation.has_value());
  CHECK(a.ctx().reservation->id == a.ctx().reservation_id);
  CHECK(f.Day(now) == 4 * kUsd);

  // In flight: the concurrency cap denies after daily_limit passed; daily's add is abandoned.
  Request b("acme", limits, now, kUsd);
  ChainVerdict vb = f.Run(b);
  CHECK_FALSE(vb.allowed);
  CHECK(vb.denial.code == "concurrency_limit");
  CHECK(LayerSummary(vb) == std::vector<std::string>{"rate_limit:pass:", "daily_limit:pass:",
                                                     "concurrency:deny:concurrency_limit"});
  CHECK(f.Day(now) == 4 * kUsd);

  // A commits $2: its slot frees and the windows hold the charge.
  auto committed = f.policy_store.CommitReservation(a.ctx().reservation_id, 2 * kUsd, "", now);
  REQUIRE_THAT(committed.status(), IsOk());
  f.chain->NotifyFinished(committed->reservation, 2 * kUsd, false);
  CHECK(f.Day(now) == 2 * kUsd);

  // $9 more would pass $10 today: the daily circuit breaker denies before concurrency.
  Request c("acme", limits, now, 9 * kUsd);
  ChainVerdict vc = f.Run(c);
  CHECK_FALSE(vc.allowed);
  CHECK(vc.denial.decision == v1::GUARD_DECISION_DENY_DAILY_LIMIT);
  CHECK(LayerSummary(vc) ==
        std::vector<std::string>{"rate_limit:pass:", "daily_limit:deny:daily_limit_exceeded"});

  // The 4th request this hour: rate_limit denies first, though daily_limit would too.
  Request d("acme", limits, now, 9 * kUsd);
  ChainVerdict vd = f.Run(d);
  CHECK_FALSE(vd.allowed);
  CHECK(vd.denial.decision == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(vd.denial.retry_after_ms == kHourMs / 3);
  CHECK(LayerSummary(vd) == std::vector<std::string>{"rate_limit:deny:rate_limited"});
  CHECK(f.Day(now) == 2 * kUsd);
}

TEST_CASE("a later layer lowering the worst case is reflected in the spend windows",
          "[unit][layers]") {
  TenantLimits limits;
  limits.per_request_cap_micro_usd = 2 * kUsd;
  FullChain f(limits);
  const int64_t now = f.clock.NowMillis();
  Request r("acme", limits, now, 4 * kUsd);
  // 4,000 output tokens at $1,000 per 1M: request_cap fits them to $2.
  r.request().set_allow_max_tokens_reduction(true);
  r.request().set_output_per_mtok_micro_usd(1000 * kUsd);
  r.ctx().max_output_tokens = 4000;
  ChainVerdict v = f.Run(r);
  REQUIRE(v.allowed);
  CHECK(r.ctx().reservation->amount_micro_usd == 2 * kUsd);
  CHECK(f.Day(now) == 2 * kUsd);
}

TEST_CASE("layers 1-4 fail open when the counter store is down", "[unit][layers]") {
  TenantLimits limits;
  limits.requests_per_hour = 1;
  limits.max_concurrent = 1;
  FullChain f(limits);
  const int64_t now = f.clock.NowMillis();
  f.counters.set_down(true);
  for (int i = 0; i < 3; ++i) {  // limits that would deny are not enforced while it is down
    Request r("acme", limits, now, kUsd);
    ChainVerdict v = f.Run(r);
    REQUIRE(v.allowed);
    CHECK(LayerSummary(v) ==
          std::vector<std::string>{"rate_limit:pass:store_unavailable:failed_open",
                                   "daily_limit:pass:store_unavailable:failed_open",
                                   "concurrency:pass:store_unavailable:failed_open",
                                   "anomaly:pass:store_unavailable:failed_open",
                                   "request_cap:pass:", "reservation:pass:"});
    f.chain->NotifyFinished(*r.ctx().reservation, kUsd, false);  // errors swallowed
  }
  CHECK(f.policy_store.GetTenant("acme")->reserved_micro_usd == 3 * kUsd);
  f.counters.set_down(false);
  Request back("acme", limits, now, kUsd);
  CHECK(f.Run(back).allowed);
  Request limited("acme", limits, now, kUsd);
  CHECK(f.Run(limited).denial.code == "rate_limited");
}

// "layer:passed:code" of an AuthorizeResponse's layers, without the pre-chain policy step.
std::vector<std::string> GuardLayers(const v1::AuthorizeResponse& r) {
  std::vector<std::string> out;
  for (const auto& l : r.layers()) {
    if (l.layer() != kStepPolicy) {
      out.push_back(l.layer() + ":" + (l.passed() ? "pass" : "deny") + ":" + l.code() +
                    (l.failed_open() ? ":failed_open" : ""));
    }
  }
  return out;
}

TEST_CASE("Guard's default layers deny in canonical order with codes and retry hints",
          "[unit][layers]") {
  testing::GuardFixture f;  // FakeClock at 2025-01-01T00:00:00Z
  v1::TenantLimits limits;
  limits.set_requests_per_hour(3);
  limits.set_daily_limit_micro_usd(10 * kUsd);
  limits.set_max_concurrent(1);
  const std::string tenant = f.Tenant("acme", limits);
  const std::string key = f.Key(tenant).secret();

  auto a = f.guard().Authorize(testing::AuthRequest(key, 4 * kUsd));
  REQUIRE_THAT(a.status(), IsOk());
  REQUIRE(a->decision() == v1::GUARD_DECISION_ALLOW);
  CHECK(GuardLayers(*a) ==
        std::vector<std::string>{"rate_limit:pass:", "daily_limit:pass:", "concurrency:pass:",
                                 "anomaly:pass:", "request_cap:pass:", "reservation:pass:"});

  auto b = f.guard().Authorize(testing::AuthRequest(key, kUsd));
  REQUIRE_THAT(b.status(), IsOk());
  CHECK(b->decision() == v1::GUARD_DECISION_DENY_CONCURRENCY);
  CHECK(b->reason() == "concurrency_limit");
  CHECK(b->retry_after_ms() == 1000);
  CHECK(GuardLayers(*b) == std::vector<std::string>{"rate_limit:pass:", "daily_limit:pass:",
                                                    "concurrency:deny:concurrency_limit"});

  // The commit frees a's slot and leaves $2 in today's window.
  REQUIRE_THAT(f.guard().Commit(testing::CommitReq(a->reservation().id(), 2 * kUsd)).status(),
               IsOk());
  auto c = f.guard().Authorize(testing::AuthRequest(key, 9 * kUsd));
  REQUIRE_THAT(c.status(), IsOk());
  CHECK(c->decision() == v1::GUARD_DECISION_DENY_DAILY_LIMIT);
  CHECK(c->reason() == "daily_limit_exceeded");
  CHECK(c->retry_after_ms() == 24 * kHourMs);
  CHECK(GuardLayers(*c) ==
        std::vector<std::string>{"rate_limit:pass:", "daily_limit:deny:daily_limit_exceeded"});

  auto d = f.guard().Authorize(testing::AuthRequest(key, 9 * kUsd));
  REQUIRE_THAT(d.status(), IsOk());
  CHECK(d->decision() == v1::GUARD_DECISION_DENY_RATE_LIMIT);
  CHECK(d->reason() == "rate_limited");
  CHECK(d->retry_after_ms() == kHourMs / 3);
  CHECK(GuardLayers(*d) == std::vector<std::string>{"rate_limit:deny:rate_limited"});
}

TEST_CASE("Guard admits with layers 1-4 failed open while the counter store is down",
          "[unit][layers]") {
  testing::GuardFixture f;
  v1::TenantLimits limits;
  limits.set_requests_per_hour(1);
  const std::string key = f.Key(f.Tenant("acme", limits)).secret();
  f.counters().set_down(true);
  for (int i = 0; i < 2; ++i) {
    auto r = f.guard().Authorize(testing::AuthRequest(key, kUsd));
    REQUIRE_THAT(r.status(), IsOk());
    CHECK(r->decision() == v1::GUARD_DECISION_ALLOW);
    CHECK(GuardLayers(*r) ==
          std::vector<std::string>{"rate_limit:pass:store_unavailable:failed_open",
                                   "daily_limit:pass:store_unavailable:failed_open",
                                   "concurrency:pass:store_unavailable:failed_open",
                                   "anomaly:pass:store_unavailable:failed_open",
                                   "request_cap:pass:", "reservation:pass:"});
  }
}

}  // namespace
}  // namespace p402::policy
