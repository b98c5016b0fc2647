#include "services/policy/core/guard_config.h"

#include "libs/common/status_util.h"

namespace p402::policy {

absl::Status GuardConfig::Validate() const {
  if (default_per_request_cap_micro_usd <= 0) {
    return InvalidArgument("default_per_request_cap_micro_usd must be > 0");
  }
  if (default_daily_limit_micro_usd <= 0) {
    return InvalidArgument("default_daily_limit_micro_usd must be > 0");
  }
  if (default_requests_per_hour <= 0) {
    return InvalidArgument("default_requests_per_hour must be > 0");
  }
  if (default_max_concurrent <= 0) {
    return InvalidArgument("default_max_concurrent must be > 0");
  }
  if (reservation_ttl < std::chrono::seconds(1) || reservation_ttl > std::chrono::hours(24)) {
    return InvalidArgument("reservation_ttl must be between 1 s and 24 h");
  }
  if (default_anomaly_zscore_centi <= 0) {
    return InvalidArgument("default_anomaly_zscore_centi must be > 0");
  }
  if (anomaly_min_samples < 2 || anomaly_history_size < anomaly_min_samples) {
    return InvalidArgument("anomaly_min_samples must be >= 2 and <= anomaly_history_size");
  }
  if (approval_timeout < std::chrono::seconds(1) || approval_timeout > std::chrono::hours(24)) {
    return InvalidArgument("approval_timeout must be between 1 s and 24 h");
  }
  if (min_reduced_max_tokens < 1) {
    return InvalidArgument("min_reduced_max_tokens must be >= 1");
  }
  return absl::OkStatus();
}

EffectiveLimits ResolveLimits(const TenantLimits& tenant, const GuardConfig& config) {
  auto pick = [](auto own, auto fallback) { return own > 0 ? own : fallback; };
  return EffectiveLimits{
      .per_request_cap_micro_usd =
          pick(tenant.per_request_cap_micro_usd, config.default_per_request_cap_micro_usd),
      .daily_limit_micro_usd =
          pick(tenant.daily_limit_micro_usd, config.default_daily_limit_micro_usd),
      .budget_micro_usd = tenant.budget_micro_usd > 0 ? tenant.budget_micro_usd : 0,
      .requests_per_hour = pick(tenant.requests_per_hour, config.default_requests_per_hour),
      .max_concurrent = pick(tenant.max_concurrent, config.default_max_concurrent),
      .anomaly_zscore_centi =
          pick(tenant.anomaly_zscore_centi, config.default_anomaly_zscore_centi),
      .reservation_ttl_ms = pick(tenant.reservation_ttl_ms,
                                 static_cast<int64_t>(config.reservation_ttl.count())),
  };
}

}  // namespace p402::policy
