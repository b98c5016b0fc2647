// File: services/policy/core/daily_limit_layer.h
// Guard layer 2, "daily_limit": the daily circuit breaker (limits.daily_limit_micro_usd per UTC
// day, default $1,000, resetting at 00:00 UTC) and the hour/day/month windows of the tenant's
// spending policies (GuardContext::spend_windows).
//
// State: three CounterStore counters per tenant, one per UTC calendar window of the request's
// time: "sp:{tenant}:h:YYYYMMDDHH", "sp:{tenant}:d:YYYYMMDD", "sp:{tenant}:m:YYYYMM". Each holds
// committed spend plus open reservations: Evaluate adds the request's worst case, OnAdmitted
// corrects that to the reservation's amount, OnFinished to the actual charge (0 when released).
// A window counter expires one day after its window ends.
//
// Evaluate, per window: the hard limit is the smallest of the tenant's daily limit (day window
// only) and the limits of the policies with action DENY or THROTTLE for that period; the worst case
// is added only if it keeps the window within that limit (atomically, so concurrent requests
// cannot overrun it). ALERT policies never block; crossing one emits an AlertEvent. Fail-open.
#pragma once

#include <array>
#include <string>

#include "services/policy/core/alert_sink.h"
#include "services/policy/core/counter_store.h"
#include "services/policy/core/guard_layer.h"

namespace p402::policy {

// One UTC calendar window of spend for one tenant.
struct SpendWindow {
  SpendPeriod period = SpendPeriod::kDay;
  std::string key;          // the CounterStore key
  int64_t end_unix_ms = 0;  // exclusive: the next window starts here
  int64_t ttl_ms = 0;       // the window's length + 1 day
};

// The hour, day and month windows (in that order) of `tenant_id` containing `unix_ms`.
std::array<SpendWindow, 3> SpendWindowsAt(const std::string& tenant_id, int64_t unix_ms);

class DailyLimitLayer final : public GuardLayer {
 public:
  // `counters` and `alerts` must outlive the layer.
  DailyLimitLayer(CounterStore& counters, AlertSink& alerts)
      : counters_(counters), alerts_(alerts) {}

  // GuardLayer
  std::string_view name() const override { return kLayerDailyLimit; }
  FailureMode failure_mode() const override { return FailureMode::kFailOpen; }
  // Adds ctx.worst_case to the hour, day and month windows and records it in
  // ctx.spend_window_added_micro_usd. When a window's hard limit would be exceeded, the adds made
  // so far are undone and the request is denied by whichever limit is the smallest (on a tie: the
  // tenant's daily limit, then DENY, then THROTTLE):
  //   - tenant daily limit -> GUARD_DECISION_DENY_DAILY_LIMIT "daily_limit_exceeded",
  //     retry_after_ms = until the next 00:00 UTC;
  //   - policy, DENY       -> GUARD_DECISION_DENY_SPEND_LIMIT "spend_limit_exceeded", no retry;
  //   - policy, THROTTLE   -> GUARD_DECISION_DENY_RATE_LIMIT "spend_limit_throttled",
  //     retry_after_ms = until the window rolls over.
  // Passes with code "spend_limit_alert" after emitting an AlertEvent "spend_limit_alert" for
  // each ALERT policy whose limit this request's add crossed. Policy windows with a limit <= 0
  // are ignored. Errors: the store's (Unavailable), after undoing the adds. Thread-safe.
  absl::StatusOr<LayerOutcome> Evaluate(GuardContext& ctx) override;
  // Subtracts ctx.spend_window_added_micro_usd from the windows. Errors are logged.
  void Abandon(const GuardContext& ctx) override;
  // Moves the windows from ctx.spend_window_added_micro_usd to ctx.reservation's amount (a later
  // layer may have lowered max_tokens; if this layer failed open, the whole amount is added).
  // Errors are logged.
  void OnAdmitted(const GuardContext& ctx) override;
  // Moves the windows of reservation.created_unix_ms from the reservation's amount to
  // `charged_micro_usd`. Errors are logged (the windows then over-count until they expire).
  void OnFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                  bool failed) override;

 private:
  // Adds `delta` (any sign) to the three windows of `tenant_id` at `unix_ms`; logs errors.
  void Adjust(const std::string& tenant_id, int64_t unix_ms, MicroUsd delta, std::string_view why);

  CounterStore& counters_;
  AlertSink& alerts_;
};

}  // namespace p402::policy
