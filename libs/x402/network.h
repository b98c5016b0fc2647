// File: libs/x402/network.h
// x402 network identifiers: v1 names ("base", "base-sepolia", ...; the fixed table of X402.md 1.8)
// and v2 CAIP-2 ids ("eip155:<decimal chain id>"), both mapped to EVM chain ids. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace p402::x402 {

// Chain id of a v1 network name (exact, lowercase match); nullopt when unknown or not EVM
// (solana...).
std::optional<uint64_t> ChainIdOfV1Name(std::string_view name);
// The v1 name of a chain id ("base" for 8453); nullopt when the chain has none.
std::optional<std::string_view> V1NameOfChainId(uint64_t chain_id);
// "eip155:<decimal>" -> chain id. InvalidArgument otherwise (no leading zeros, no sign, fits u64,
// not 0).
absl::StatusOr<uint64_t> ParseCaip2(std::string_view network);
// "eip155:" + decimal chain id.
std::string Caip2(uint64_t chain_id);
// Chain id of a network id in either form (CAIP-2 first, then the v1 table). InvalidArgument with
// a message naming the network when neither applies.
absl::StatusOr<uint64_t> ChainIdOfNetwork(std::string_view network);
// The network id of `chain_id` in the form of x402 `version`: v2 -> CAIP-2; v1 -> the v1 name, or
// nullopt when the chain has none (v1 clients cannot pay on it).
std::optional<std::string> NetworkForVersion(uint64_t chain_id, int version);

}  // namespace p402::x402
