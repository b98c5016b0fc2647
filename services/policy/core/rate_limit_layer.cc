#include "services/policy/core/rate_limit_layer.h"

#include <algorithm>
#include <string>

#include "libs/common/status_macros.h"

namespace p402::policy {

absl::StatusOr<LayerOutcome> RateLimitLayer::Evaluate(GuardContext& ctx) {
  const int64_t capacity = ctx.limits.requests_per_hour;
  P402_ASSIGN_OR_RETURN(
      TokenBucketResult taken,
      counters_.TakeToken("rl:" + ctx.tenant->id, capacity, kRateLimitPeriodMs, ctx.now_unix_ms));
  if (taken.allowed) {
    return LayerOutcome::Pass();
  }
  const int64_t retry_after_ms = std::max<int64_t>(1, taken.retry_after_ms);
  return LayerOutcome::Deny(v1::GUARD_DECISION_DENY_RATE_LIMIT, "rate_limited",
                            "the rate limit of " + std::to_string(capacity) +
                                " requests per hour is exceeded; retry in " +
                                std::to_string((retry_after_ms + 999) / 1000) + " s",
                            retry_after_ms);
}

}  // namespace p402::policy
