// File: services/edge/edge_config.h
// Configuration of p402-edge (keys, env names and defaults: `p402-edge --help`, README).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "libs/config/config.h"

namespace p402::edge {

struct EdgeConfig {
  std::string http_listen;
  std::string admin_listen;
  std::string policy_addr;
  std::string router_addr;
  // Settlement (x402) gRPC address; empty = x402 off (no payment routes, chat without a key 401).
  std::string settlement_addr;
  int64_t io_threads = 2;
  int64_t body_limit_bytes = 0;
  std::chrono::milliseconds read_timeout{0};
  std::chrono::milliseconds policy_timeout{0};
  std::chrono::milliseconds route_timeout{0};
  std::chrono::milliseconds catalog_refresh{0};
  // Deadline of SettlePayment / TopUp (they wait for the on-chain receipt) and of the other
  // settlement calls.
  std::chrono::milliseconds settlement_timeout{0};
  std::chrono::milliseconds settlement_call_timeout{0};
  std::string ready_file;
};

const config::Schema<EdgeConfig>& EdgeConfigSchema();

}  // namespace p402::edge
