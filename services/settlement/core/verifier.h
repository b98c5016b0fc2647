// File: services/settlement/core/verifier.h
// The stateless part of x402 "exact" verification (no store, no chain), strict where the
// reference facilitator is lax (X402.md 2.4 and 4). First failure wins, in this order:
//   1 a requirement matches (libs/x402 RequirementMatches)  else no_matching_payment_requirements
//     (v1 payloads match by scheme + network only; see VerifyPayload for which offer is taken)
//   2 scheme "exact" on both sides                          else invalid_exact_evm_scheme
//   3 extra.name / extra.version present                    else ..._missing_eip712_domain
//   4 network: the payload's network is the requirement's and maps to the chain id
//     (VerifyOptions.expected_chain_id)                    else invalid_exact_evm_network_mismatch
//   5 asset equal (address compare, any case) to VerifyOptions.expected_asset and, for v2, to
//     accepted.asset                                       else invalid_exact_evm_asset_mismatch
//   6 signature canonical: v in {27,28}, s <= n/2          else ..._non_canonical_signature
//   7 ecrecover(EIP-712 digest with the requirement's domain) == authorization.from
//                                                          else invalid_exact_evm_signature
//   8 authorization.to == payTo                            else ..._recipient_mismatch
//   9 validBefore >= now + margin, and <= now + maxTimeoutSeconds + 600 s
//                                                          else ..._valid_before
//  10 validAfter <= now                                    else ..._valid_after
//  11 value == amount exactly                              else ..._value_mismatch (v1 spelling
//                                                          for v1 payloads)
// Pure, thread-safe; the cost is one Keccak-heavy digest plus one secp256k1 recovery.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/x402/payload.h"
#include "p402/v1/settlement.pb.h"

namespace p402::settlement {

struct VerifyResult {
  bool valid = false;
  std::string reason;      // libs/x402/reasons.h code; "" when valid
  std::string message;     // human-readable detail
  int matched_index = -1;  // index into the offers of the matched requirement (when one matched)
  std::string payer;       // authorization.from, EIP-55 ("" if unparsable)
};

struct VerifyOptions {
  uint64_t now_unix_seconds = 0;
  int64_t valid_before_margin_seconds = 6;
  // 0 = no upper bound on validBefore.
  int64_t max_valid_before_slack_seconds = 600;
  // Step 4 also requires the network to be this chain; 0 = any chain the network names.
  uint64_t expected_chain_id = 0;
  // Step 5 also requires the offer's asset to be this token (the one P402 settles); nullopt = the
  // offer's asset is taken as is.
  std::optional<evm::Address> expected_asset;
  // false skips steps 9-10 (the engine checks the window only before a new broadcast, so that a
  // replay of a settled payment still finds its first result after validBefore).
  bool check_time = true;
};

// v1 payloads match every offer of their scheme and network; the first such offer whose amount
// equals the authorization's value is taken (several modes share a network), else the first.
VerifyResult VerifyPayload(const x402::PaymentPayload& payload,
                           const std::vector<v1::PaymentRequirement>& offers,
                           const VerifyOptions& options);

// Steps 9-10 alone against `offer` (valid, or the reason of the first failing one).
VerifyResult CheckValidityWindow(const x402::PaymentPayload& payload,
                                 const v1::PaymentRequirement& offer, const VerifyOptions& options);

// The uint256 as a uint64 when it fits.
std::optional<uint64_t> Uint256ToU64(const evm::Uint256& value);

}  // namespace p402::settlement
