// File: services/settlement/core/payment_terms.h
// What P402 accepts as a seller and settles as a facilitator: the chain, the token (its EIP-712
// domain) and the recipient, plus the timing rules of verification. Built from the service
// configuration (settlement_config.h); validated once at start-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "libs/evm/address.h"

namespace p402::settlement {

struct PaymentTerms {
  // EVM chain id (8453 Base, 84532 Base Sepolia, or a local chain using one of those ids).
  uint64_t chain_id = 84532;
  // The token (USDC) and its EIP-712 domain: Base "USD Coin"/"2", Base Sepolia "USDC"/"2".
  evm::Address asset{};
  std::string asset_name = "USDC";
  std::string asset_version = "2";
  int asset_decimals = 6;
  // Where P402's own payments go (the operator's wallet).
  evm::Address pay_to{};
  // maxTimeoutSeconds offered; validBefore of a payment must not be later than now + this + 600 s
  // (a client cannot hand over a near-eternal authorization).
  int64_t max_timeout_seconds = 300;
  // validBefore must be at least now + this at verification (@x402/evm uses 6 s).
  int64_t valid_before_margin_seconds = 6;
  // Longest wait for a receipt before answering settlement_pending.
  std::chrono::milliseconds receipt_timeout{30'000};
  // Receipt polling interval.
  std::chrono::milliseconds receipt_poll_interval{250};
};

// InvalidArgument naming the problem: unknown decimals (only 6 supported: amounts are micro-USD),
// zero addresses, chain_id 0, a non-positive timeout.
absl::Status ValidateTerms(const PaymentTerms& terms);

}  // namespace p402::settlement
