// File: services/policy/core/guard_config.h
// Service-wide defaults of the billing guard (what a tenant limit of 0 means) and the resolution of
// a tenant's configured limits into the limits actually enforced.
#pragma once

#include <chrono>
#include <cstdint>

#include "absl/status/status.h"
#include "libs/common/money.h"
#include "services/policy/core/records.h"

namespace p402::policy {

struct GuardConfig {
  // Layer 5: the most one request may cost ($50). Always enforced, fail-closed.
  MicroUsd default_per_request_cap_micro_usd = 50'000'000;
  // Layer 2: spend per UTC day ($1,000).
  MicroUsd default_daily_limit_micro_usd = 1'000'000'000;
  // Layer 1: requests per hour per tenant (token bucket capacity; refilled over an hour).
  int64_t default_requests_per_hour = 1000;
  // Layer 3: requests in flight per tenant.
  int32_t default_max_concurrent = 10;
  // Layer 4: flag at z >= this many hundredths of a sigma (300 = 3.0), once the tenant's history
  // holds anomaly_min_samples estimates; history keeps anomaly_history_size samples.
  int32_t default_anomaly_zscore_centi = 300;
  int64_t anomaly_min_samples = 30;
  int64_t anomaly_history_size = 1000;
  // How long a held request waits for an approval decision before it counts as denied.
  std::chrono::milliseconds approval_timeout{std::chrono::minutes(2)};
  // How long an uncommitted reservation holds budget before ExpireReservations returns it.
  std::chrono::milliseconds reservation_ttl{std::chrono::minutes(5)};
  // When the guard lowers max_tokens to fit a cap or the remaining budget, it never goes below
  // this; a request that cannot get at least this many output tokens is denied instead.
  int64_t min_reduced_max_tokens = 1;

  // InvalidArgument naming the first bad field: negative or zero defaults (every default must be
  // > 0: a tenant falls back to it), a TTL below 1 s or above 24 h, min_reduced_max_tokens < 1.
  absl::Status Validate() const;
};

// The limits enforced for one tenant: its own where set (> 0), else the config's defaults.
// budget_micro_usd stays 0 = unlimited when the tenant sets none.
struct EffectiveLimits {
  MicroUsd per_request_cap_micro_usd = 0;
  MicroUsd daily_limit_micro_usd = 0;
  MicroUsd budget_micro_usd = 0;
  int64_t requests_per_hour = 0;
  int32_t max_concurrent = 0;
  int32_t anomaly_zscore_centi = 0;
  int64_t reservation_ttl_ms = 0;
};

EffectiveLimits ResolveLimits(const TenantLimits& tenant, const GuardConfig& config);

}  // namespace p402::policy
