#include "services/policy/core/kill_switch.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "libs/common/log.h"
#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kDefaultErrorWindowMs = 300'000;
constexpr int32_t kDefaultMinRequests = 20;
constexpr int64_t kMaxWindowMinutes = 1440;

// Buckets are summed with one Get each, so a long window at minute granularity would cost
// thousands of round trips per finished request. The bucket width grows with the window instead:
// at most kMaxBucketsPerWindow buckets (2 Gets each) per check. A window is the last N buckets
// including the current, partly elapsed one, so it spans between N-1 and N widths.
constexpr int64_t kMaxBucketsPerWindow = 30;
struct Resolution {
  int64_t width_minutes;
  const char* key_tag;  // "ks:{tenant}:fin{tag}:{bucket}"
};
constexpr Resolution kResolutions[] = {{1, ""}, {10, "10m"}, {60, "1h"}};
constexpr int kResolutionCount = 3;

// How one kill-switch policy's error-rate condition is checked.
struct ErrorRatePlan {
  const v1::TenantPolicy* policy = nullptr;
  int resolution = 0;  // index into kResolutions
  int64_t buckets = 0;
  int64_t window_ms = 0;
  int64_t window_minutes = 0;
  int64_t min_requests = 0;
};

ErrorRatePlan PlanFor(const v1::TenantPolicy& policy) {
  const v1::KillSwitchRule& rule = policy.kill_switch();
  const int64_t window_ms =
      rule.error_window_ms() > 0 ? rule.error_window_ms() : kDefaultErrorWindowMs;
  ErrorRatePlan plan;
  plan.policy = &policy;
  plan.window_ms = window_ms;
  plan.window_minutes =
      std::clamp<int64_t>((window_ms + kMinuteMs - 1) / kMinuteMs, 1, kMaxWindowMinutes);
  plan.resolution = kResolutionCount - 1;
  for (int i = 0; i < kResolutionCount; ++i) {
    if (plan.window_minutes <= kMaxBucketsPerWindow * kResolutions[i].width_minutes) {
      plan.resolution = i;
      break;
    }
  }
  const int64_t width = kResolutions[plan.resolution].width_minutes;
  plan.buckets = (plan.window_minutes + width - 1) / width;
  plan.min_requests = rule.min_requests() > 0 ? rule.min_requests() : kDefaultMinRequests;
  return plan;
}

std::string BucketKey(std::string_view tenant_id, bool errors, int resolution, int64_t bucket) {
  std::string key = "ks:";
  key.append(tenant_id);
  key.append(errors ? ":err" : ":fin");
  key.append(kResolutions[resolution].key_tag);
  key.push_back(':');
  key.append(std::to_string(bucket));
  return key;
}

int64_t BucketOf(int resolution, int64_t now_unix_ms) {
  return now_unix_ms / (kResolutions[resolution].width_minutes * kMinuteMs);
}

// A bucket must outlive the longest window that reads it (plus the partly elapsed bucket).
int64_t BucketTtlMs(int resolution) {
  return (kMaxBucketsPerWindow + 2) * kResolutions[resolution].width_minutes * kMinuteMs;
}

// 4250 -> "42.5%", 1000 -> "10%".
std::string FormatBps(int64_t bps) {
  std::string out = std::to_string(bps / 100);
  const int64_t frac = bps % 100;
  if (frac != 0) {
    out += frac % 10 == 0 ? "." + std::to_string(frac / 10)
                          : (frac < 10 ? ".0" : ".") + std::to_string(frac);
  }
  return out + "%";
}

// "5m", "24h", "90s", "10500ms": the window as configured, for the pause reason.
std::string FormatWindow(int64_t window_ms) {
  if (window_ms % 3'600'000 == 0) return std::to_string(window_ms / 3'600'000) + "h";
  if (window_ms % kMinuteMs == 0) return std::to_string(window_ms / kMinuteMs) + "m";
  if (window_ms % 1000 == 0) return std::to_string(window_ms / 1000) + "s";
  return std::to_string(window_ms) + "ms";
}

}  // namespace

absl::StatusOr<bool> KillSwitchMonitor::RecordOutcome(std::string_view tenant_id, bool failed,
                                                      const std::vector<v1::TenantPolicy>& policies,
                                                      int64_t now_unix_ms) {
  std::vector<ErrorRatePlan> plans;
  bool needed[kResolutionCount] = {};
  for (const v1::TenantPolicy& policy : policies) {
    if (policy.enabled() && policy.rule_case() == v1::TenantPolicy::kKillSwitch &&
        policy.kill_switch().error_rate_bps() > 0) {
      plans.push_back(PlanFor(policy));
      needed[plans.back().resolution] = true;
    }
  }
  if (plans.empty()) {
    return false;  // no error-rate condition: no counter traffic
  }

  // (resolution, bucket) -> {finished, errors}. The current buckets come from the Adds.
  std::map<std::pair<int, int64_t>, std::pair<int64_t, int64_t>> seen;
  for (int r = 0; r < kResolutionCount; ++r) {
    if (!needed[r]) {
      continue;
    }
    const int64_t bucket = BucketOf(r, now_unix_ms);
    absl::StatusOr<int64_t> finished =
        counters_.Add(BucketKey(tenant_id, false, r, bucket), 1, BucketTtlMs(r));
    if (!finished.ok()) {
      WarnCounterError(tenant_id, now_unix_ms, finished.status());
      return false;
    }
    absl::StatusOr<int64_t> errors =
        failed ? counters_.Add(BucketKey(tenant_id, true, r, bucket), 1, BucketTtlMs(r))
               : counters_.Get(BucketKey(tenant_id, true, r, bucket));
    if (!errors.ok()) {
      WarnCounterError(tenant_id, now_unix_ms, errors.status());
      return false;
    }
    seen[{r, bucket}] = {*finished, *errors};
  }

  for (const ErrorRatePlan& plan : plans) {
    const int64_t current = BucketOf(plan.resolution, now_unix_ms);
    int64_t finished = 0;
    int64_t errors = 0;
    for (int64_t bucket = current - plan.buckets + 1; bucket <= current; ++bucket) {
      auto it = seen.find({plan.resolution, bucket});
      if (it == seen.end()) {
        absl::StatusOr<int64_t> fin =
            counters_.Get(BucketKey(tenant_id, false, plan.resolution, bucket));
        if (!fin.ok()) {
          WarnCounterError(tenant_id, now_unix_ms, fin.status());
          return false;
        }
        absl::StatusOr<int64_t> err =
            *fin == 0 ? absl::StatusOr<int64_t>(0)
                      : counters_.Get(BucketKey(tenant_id, true, plan.resolution, bucket));
        if (!err.ok()) {
          WarnCounterError(tenant_id, now_unix_ms, err.status());
          return false;
        }
        it =
            seen.emplace(std::make_pair(plan.resolution, bucket), std::make_pair(*fin, *err)).first;
      }
      finished += it->second.first;
      errors += it->second.second;
    }
    const int64_t bps = plan.policy->kill_switch().error_rate_bps();
    if (finished < plan.min_requests || errors * 10'000 < bps * finished) {
      continue;
    }
    const std::string reason = "kill_switch: error rate " + FormatBps(errors * 10'000 / finished) +
                               " >= " + FormatBps(bps) + " over " + FormatWindow(plan.window_ms) +
                               " (policy " + plan.policy->id() + ")";
    return PauseOnce(tenant_id, reason, now_unix_ms);
  }
  return false;
}

void KillSwitchMonitor::WarnCounterError(std::string_view tenant_id, int64_t now_unix_ms,
                                         const absl::Status& status) {
  // While the counter store is down every finished request lands here: one line per interval.
  // `last` is 0 until the first line; a clock that stepped back logs again.
  int64_t last = last_counter_warn_unix_ms_.load(std::memory_order_relaxed);
  if (last != 0 && now_unix_ms >= last && now_unix_ms - last < kCounterWarnIntervalMs) {
    return;
  }
  if (!last_counter_warn_unix_ms_.compare_exchange_strong(last, now_unix_ms)) {
    return;  // another thread logs this interval
  }
  P402_LOG(kWarn, "kill switch: counter store failed, error-rate checks skipped")
      .Field("tenant_id", tenant_id)
      .Field("error", MessageOf(status));
}

absl::Status KillSwitchMonitor::Trip(std::string_view tenant_id, std::string_view reason,
                                     int64_t now_unix_ms) {
  return PauseOnce(tenant_id, reason, now_unix_ms).status();
}

absl::StatusOr<bool> KillSwitchMonitor::PauseOnce(std::string_view tenant_id,
                                                  std::string_view reason, int64_t now_unix_ms) {
  // Fast path without the lock: requests still in flight when the tenant was paused keep
  // reporting outcomes and must not queue behind each other.
  absl::StatusOr<TenantRecord> tenant = store_.GetTenant(tenant_id);
  if (!tenant.ok()) {
    return tenant.status();
  }
  if (tenant->paused) {
    return false;
  }
  // Serialised in this process so that concurrent trips pause once and alert once. (Replicas can
  // still race; the store has no compare-and-set pause, so the last reason may win there.)
  absl::MutexLock lock(&trip_mu_);
  tenant = store_.GetTenant(tenant_id);
  if (!tenant.ok()) {
    return tenant.status();
  }
  if (tenant->paused) {
    return false;
  }
  absl::StatusOr<TenantRecord> paused = store_.SetTenantPaused(tenant_id, true, reason);
  if (!paused.ok()) {
    return paused.status();
  }
  P402_LOG(kWarn, "kill switch tripped: tenant paused")
      .Field("tenant_id", tenant_id)
      .Field("reason", reason);
  alerts_.Emit(AlertEvent{.kind = "kill_switch_tripped",
                          .tenant_id = std::string(tenant_id),
                          .message = std::string(reason),
                          .unix_ms = now_unix_ms});
  return true;
}

}  // namespace p402::policy
