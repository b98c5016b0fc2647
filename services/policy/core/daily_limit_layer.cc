#include "services/policy/core/daily_limit_layer.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "libs/common/log.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

constexpr int64_t kDayMs = 86'400'000;

// Which limit a window's hard limit comes from.
enum class HardSource { kTenantDaily, kPolicyDeny, kPolicyThrottle };

struct HardLimit {
  MicroUsd limit = 0;
  HardSource source = HardSource::kTenantDaily;
  std::string policy_id;
};

// Tie-break among equal limits: the circuit breaker, then the harsher policy action.
int Precedence(HardSource s) {
  switch (s) {
    case HardSource::kTenantDaily:
      return 0;
    case HardSource::kPolicyDeny:
      return 1;
    case HardSource::kPolicyThrottle:
      return 2;
  }
  return 3;
}

std::optional<HardLimit> HardLimitFor(SpendPeriod period, const GuardContext& ctx) {
  std::optional<HardLimit> hard;
  auto consider = [&hard](HardLimit candidate) {
    if (!hard.has_value() || candidate.limit < hard->limit ||
        (candidate.limit == hard->limit &&
         Precedence(candidate.source) < Precedence(hard->source))) {
      hard = std::move(candidate);
    }
  };
  if (period == SpendPeriod::kDay && ctx.limits.daily_limit_micro_usd > 0) {
    consider({.limit = ctx.limits.daily_limit_micro_usd, .source = HardSource::kTenantDaily});
  }
  for (const SpendWindowLimit& w : ctx.spend_windows) {
    if (w.period != period || w.limit_micro_usd <= 0 || w.action == v1::SPEND_ACTION_ALERT) {
      continue;
    }
    // Anything but THROTTLE (including an unspecified action) refuses: the safe reading.
    consider({.limit = w.limit_micro_usd,
              .source = w.action == v1::SPEND_ACTION_THROTTLE ? HardSource::kPolicyThrottle
                                                              : HardSource::kPolicyDeny,
              .policy_id = w.policy_id});
  }
  return hard;
}

const char* Adjective(SpendPeriod p) {
  switch (p) {
    case SpendPeriod::kHour:
      return "hourly";
    case SpendPeriod::kDay:
      return "daily";
    case SpendPeriod::kMonth:
      return "monthly";
  }
  return "";
}

const char* ThisWindow(SpendPeriod p) {
  switch (p) {
    case SpendPeriod::kHour:
      return "this hour (UTC)";
    case SpendPeriod::kDay:
      return "today (UTC)";
    case SpendPeriod::kMonth:
      return "this month (UTC)";
  }
  return "";
}

LayerOutcome Denial(const HardLimit& hard, const SpendWindow& window, MicroUsd current,
                    MicroUsd amount, int64_t now_unix_ms) {
  const std::string state = ": $" + FormatUsd(current) + " is spent or held " +
                            ThisWindow(window.period) + " and this request may cost up to $" +
                            FormatUsd(amount);
  const int64_t until_rollover = std::max<int64_t>(1, window.end_unix_ms - now_unix_ms);
  switch (hard.source) {
    case HardSource::kTenantDaily:
      return LayerOutcome::Deny(
          v1::GUARD_DECISION_DENY_DAILY_LIMIT, "daily_limit_exceeded",
          "the daily spend limit of $" + FormatUsd(hard.limit) + " is reached" + state,
          until_rollover);
    case HardSource::kPolicyDeny:
      return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_SPEND_LIMIT, "spend_limit_exceeded",
                                std::string("the ") + Adjective(window.period) +
                                    " spend limit of $" + FormatUsd(hard.limit) + " of policy " +
                                    hard.policy_id + " is reached" + state);
    case HardSource::kPolicyThrottle:
      break;
  }
  return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_RATE_LIMIT, "spend_limit_throttled",
                            std::string("the ") + Adjective(window.period) + " spend limit of $" +
                                FormatUsd(hard.limit) + " of policy " + hard.policy_id +
                                " is reached" + state + "; retry when the window rolls over",
                            until_rollover);
}

// Appends an event for each ALERT policy of `period` whose limit the add of `amount`, which
// brought the window to `value`, crossed. Only the request that crosses the limit alerts, not
// every request after it.
void AddCrossedAlerts(const GuardContext& ctx, SpendPeriod period, int64_t value, MicroUsd amount,
                      std::vector<AlertEvent>& alerts) {
  for (const SpendWindowLimit& w : ctx.spend_windows) {
    if (w.period != period || w.action != v1::SPEND_ACTION_ALERT || w.limit_micro_usd <= 0) {
      continue;
    }
    if (value > w.limit_micro_usd && value - amount <= w.limit_micro_usd) {
      alerts.push_back(
          AlertEvent{.kind = "spend_limit_alert",
                     .tenant_id = ctx.tenant->id,
                     .session_id = ctx.session != nullptr ? ctx.session->id : "",
                     .request_id = ctx.request->meta().request_id(),
                     .message = std::string("the ") + Adjective(period) + " spend of $" +
                                FormatUsd(value) + " crossed the limit of $" +
                                FormatUsd(w.limit_micro_usd) + " of policy " + w.policy_id,
                     .unix_ms = ctx.now_unix_ms});
    }
  }
}

std::string Digits(const char* format, int64_t year, int a = 0, int b = 0, int c = 0) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), format, static_cast<long long>(year), a, b, c);
  return buf;
}

}  // namespace

std::array<SpendWindow, 3> SpendWindowsAt(const std::string& tenant_id, int64_t unix_ms) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilHour hour = absl::ToCivilHour(absl::FromUnixMillis(unix_ms), utc);
  const absl::CivilDay day(hour);
  const absl::CivilMonth month(hour);
  auto ms = [&utc](auto civil) { return absl::ToUnixMillis(absl::FromCivil(civil, utc)); };
  const std::string prefix = "sp:" + tenant_id;
  const int64_t month_start = ms(month);
  const int64_t month_end = ms(month + 1);
  return {
      SpendWindow{
          .period = SpendPeriod::kHour,
          .key = prefix + ":h:" +
                 Digits("%04lld%02d%02d%02d", hour.year(), hour.month(), hour.day(), hour.hour()),
          .end_unix_ms = ms(hour + 1),
          .ttl_ms = 3'600'000 + kDayMs},
      SpendWindow{
          .period = SpendPeriod::kDay,
          .key = prefix + ":d:" + Digits("%04lld%02d%02d", day.year(), day.month(), day.day()),
          .end_unix_ms = ms(day + 1),
          .ttl_ms = 2 * kDayMs},
      SpendWindow{.period = SpendPeriod::kMonth,
                  .key = prefix + ":m:" + Digits("%04lld%02d", month.year(), month.month()),
                  .end_unix_ms = month_end,
                  .ttl_ms = month_end - month_start + kDayMs},
  };
}

absl::StatusOr<LayerOutcome> DailyLimitLayer::Evaluate(GuardContext& ctx) {
  const MicroUsd amount = ctx.worst_case_micro_usd;
  const std::string& tenant_id = ctx.tenant->id;
  const std::array<SpendWindow, 3> windows = SpendWindowsAt(tenant_id, ctx.now_unix_ms);
  ctx.spend_window_added_micro_usd = 0;

  // Undoes the adds to windows[0..count) when a later window refuses or fails.
  auto undo = [&](size_t count) {
    for (size_t i = 0; i < count; ++i) {
      absl::StatusOr<int64_t> undone = counters_.Add(windows[i].key, -amount, windows[i].ttl_ms);
      if (!undone.ok()) {
        // The window over-counts by `amount` until it expires; a later request may be refused
        // early, never admitted wrongly.
        P402_LOG(kWarn, "could not undo a spend window add")
            .Field("window", windows[i].key)
            .Field("amount_micro_usd", amount)
            .Field("error", MessageOf(undone.status()));
      }
    }
  };

  std::vector<AlertEvent> alerts;
  for (size_t i = 0; i < windows.size(); ++i) {
    const SpendWindow& window = windows[i];
    int64_t value = 0;
    if (std::optional<HardLimit> hard = HardLimitFor(window.period, ctx); hard.has_value()) {
      absl::StatusOr<BoundedAddResult> added =
          counters_.AddIfWithin(window.key, amount, hard->limit, window.ttl_ms);
      if (!added.ok()) {
        undo(i);
        return added.status();
      }
      if (!added->applied) {
        undo(i);
        return Denial(*hard, window, added->value, amount, ctx.now_unix_ms);
      }
      value = added->value;
    } else {
      // No hard limit: still tracked, for ALERT policies and for a limit added later.
      absl::StatusOr<int64_t> added = counters_.Add(window.key, amount, window.ttl_ms);
      if (!added.ok()) {
        undo(i);
        return added.status();
      }
      value = *added;
    }
    AddCrossedAlerts(ctx, window.period, value, amount, alerts);
  }
  ctx.spend_window_added_micro_usd = amount;
  // Emitted only now: a window refusing after an earlier one crossed its alert limit undoes
  // that crossing.
  for (const AlertEvent& alert : alerts) {
    P402_LOG(kInfo, "spend limit alert")
        .RequestId(alert.request_id)
        .Field("tenant_id", alert.tenant_id)
        .Field("detail", alert.message);
    alerts_.Emit(alert);
  }
  return alerts.empty() ? LayerOutcome::Pass() : LayerOutcome::PassFlagged("spend_limit_alert");
}

void DailyLimitLayer::Abandon(const GuardContext& ctx) {
  if (ctx.spend_window_added_micro_usd != 0) {
    Adjust(ctx.tenant->id, ctx.now_unix_ms, -ctx.spend_window_added_micro_usd, "abandon");
  }
}

void DailyLimitLayer::OnAdmitted(const GuardContext& ctx) {
  if (!ctx.reservation.has_value()) {
    return;
  }
  const MicroUsd delta = ctx.reservation->amount_micro_usd - ctx.spend_window_added_micro_usd;
  if (delta != 0) {
    Adjust(ctx.tenant->id, ctx.now_unix_ms, delta, "admitted");
  }
}

void DailyLimitLayer::OnFinished(const ReservationRecord& reservation, MicroUsd charged_micro_usd,
                                 bool /*failed*/) {
  const MicroUsd delta = charged_micro_usd - reservation.amount_micro_usd;
  if (delta != 0) {
    Adjust(reservation.tenant_id, reservation.created_unix_ms, delta, "finished");
  }
}

void DailyLimitLayer::Adjust(const std::string& tenant_id, int64_t unix_ms, MicroUsd delta,
                             std::string_view why) {
  for (const SpendWindow& window : SpendWindowsAt(tenant_id, unix_ms)) {
    absl::StatusOr<int64_t> adjusted = counters_.Add(window.key, delta, window.ttl_ms);
    if (!adjusted.ok()) {
      P402_LOG(kWarn, "could not adjust a spend window")
          .Field("window", window.key)
          .Field("delta_micro_usd", delta)
          .Field("why", why)
          .Field("error", MessageOf(adjusted.status()));
    }
  }
}

}  // namespace p402::policy
