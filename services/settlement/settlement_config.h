// File: services/settlement/settlement_config.h
// Configuration of p402-settlement (`p402-settlement --help`, services/settlement/README.md): the
// listeners, the stores (PostgreSQL or in memory), the chain (JSON-RPC URL + facilitator key; none
// = verify without chain checks, no settling), the payment terms P402 offers and its fee schedule.
// The schema validates every key and the cross-key rules at load time, so a bad deployment stops
// at start with one clear line (secrets are never echoed).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "libs/config/config.h"
#include "services/settlement/core/payment_terms.h"

namespace p402::settlement {

// Base Sepolia USDC, the default asset (X402.md 2.1).
inline constexpr char kBaseSepoliaUsdc[] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
// The default fee tiers in FeeSchedule::Parse form ($0-1K 2%, $1K-50K 1%, $50K-250K 0.75%,
// $250K+ 0.5%).
inline constexpr char kDefaultFeeSchedule[] = "0:200,1000000000:100,50000000000:75,250000000000:50";

struct SettlementConfig {
  std::string grpc_listen;
  std::string admin_listen;
  // Secret (env only). Empty = in-memory stores (state lost on restart).
  std::string database_url;
  int64_t pg_pool_size = 8;
  int64_t worker_threads = 8;
  // Secret (env only: hosted RPC URLs embed API keys). Empty = no chain.
  std::string chain_rpc_url;
  // Secret (env only): the facilitator's private key, 64 hex digits with or without "0x".
  // Required with a chain; never logged.
  std::string facilitator_key;
  int64_t chain_id = 84532;
  std::string asset;
  std::string asset_name;
  std::string asset_version;
  // Recipient of P402's own payments. Empty = the facilitator's address when a key is set, else
  // P402 offers no payments (GetPaymentRequirements answers settlement_not_configured).
  std::string pay_to;
  int64_t max_timeout_seconds = 300;
  int64_t receipt_timeout_ms = 30'000;
  // Per JSON-RPC call to the chain node.
  std::chrono::milliseconds chain_rpc_timeout{0};
  // How often submitted-but-unconfirmed payments are reconciled against the chain.
  std::chrono::milliseconds reconcile_interval{0};
  std::string fee_schedule;
  std::string ready_file;
};

const config::Schema<SettlementConfig>& SettlementConfigSchema();

// The facilitator key as 32 bytes. InvalidArgument (never echoing the key) unless it is 64 hex
// digits, optionally "0x"-prefixed, and a valid secp256k1 private key.
absl::StatusOr<std::array<uint8_t, 32>> ParseFacilitatorKey(std::string_view text);

// The payment terms of a loaded config. `pay_to_fallback` is used when pay_to is empty (the
// facilitator's address, or a placeholder when P402 offers no payments). InvalidArgument naming
// the key on a malformed address.
absl::StatusOr<PaymentTerms> TermsFromConfig(const SettlementConfig& config,
                                             const evm::Address& pay_to_fallback);

}  // namespace p402::settlement
