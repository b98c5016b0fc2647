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
  int64_t per_request_cap_micro_usd = 0;
  std::chrono::milliseconds reservation_ttl{0};
  std::chrono::milliseconds expiry_sweep{0};
  // Demo/bootstrap: ensures this tenant exists and, when the secret key is set, that this API
  // key authenticates as it (the key itself is stored only as its SHA-256).
  std::string bootstrap_tenant;
  std::string bootstrap_api_key;
  std::string ready_file;
};

const config::Schema<PolicyConfig>& PolicyConfigSchema();

}  // namespace p402::policy
