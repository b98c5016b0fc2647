// File: services/policy/policy_config.h
// Configuration of p402-policy (`p402-policy --help`, README).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "libs/config/config.h"

namespace p402::policy {

struct PolicyConfig {
  std::string grpc_listen;
  std::string admin_listen;
  // Secret (env only). Empty = in-memory store (state lost on restart).
  std::string database_url;
  int64_t pg_pool_size = 8;
  int64_t worker_threads = 4;
  // Guard defaults (a tenant limit of 0 means these; GuardConfig).
  int64_t per_request_cap_micro_usd = 0;
  int64_t daily_limit_micro_usd = 0;
  int64_t requests_per_hour = 0;
  int64_t max_concurrent = 0;
  double anomaly_zscore = 0;
  std::chrono::milliseconds reservation_ttl{0};
  std::chrono::milliseconds expiry_sweep{0};
  std::chrono::milliseconds approval_timeout{0};
  // How long a tenant's policies are served from this process's cache (0 = always read).
  std::chrono::milliseconds policy_cache_ttl{0};
  // Secret (env only: the URL may hold a password). Empty = in-memory counters for layers 1-4
  // (per process); set it when several replicas must share them.
  std::string redis_url;
  std::chrono::milliseconds redis_command_timeout{0};
  // Demo/bootstrap: ensures this tenant exists and, when the secret key is set, that this API
  // key authenticates as it (the key itself is stored only as its SHA-256).
  std::string bootstrap_tenant;
  std::string bootstrap_api_key;
  std::string ready_file;
};

const config::Schema<PolicyConfig>& PolicyConfigSchema();

}  // namespace p402::policy
