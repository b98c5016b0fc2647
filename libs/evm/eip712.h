// File: libs/evm/eip712.h
// EIP-712 typed-data hashing for EIP-3009 TransferWithAuthorization (the x402 "exact" scheme on
// USDC): type hashes, domain separator, struct hash and the final digest that the payer signs.
// Also the uint256 decimal parser used for amounts and timestamps. Pure, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/crypto/bytes.h"
#include "libs/evm/address.h"

namespace p402::evm {

// A uint256 as 32 bytes big-endian (the ABI encoding, so it is hashed as is). Decimal strings from
// x402 payloads are converted with ParseUint256Decimal.
using Uint256 = std::array<uint8_t, 32>;
using Bytes32 = std::array<uint8_t, 32>;

inline constexpr std::string_view kEip712DomainType =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
inline constexpr std::string_view kTransferWithAuthorizationType =
    "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,"
    "uint256 validBefore,bytes32 nonce)";

// Parses a non-negative decimal integer ("0" .. "115792...639935" = 2^256-1) exactly. Only ASCII
// digits, no sign, no whitespace, not empty; leading zeros are allowed. InvalidArgument otherwise,
// including for values >= 2^256.
absl::StatusOr<Uint256> ParseUint256Decimal(std::string_view text);

// A uint256 from a uint64 (right-aligned big-endian).
Uint256 Uint256FromU64(uint64_t v);

// Parses "0x" + 64 hex characters (any case). InvalidArgument otherwise.
absl::StatusOr<Bytes32> ParseBytes32Hex(std::string_view text);

struct Eip712Domain {
  std::string name;     // e.g. "USD Coin" (Base) or "USDC" (Base Sepolia)
  std::string version;  // e.g. "2"
  uint64_t chain_id = 0;
  Address verifying_contract{};
};

struct TransferAuthorization {
  Address from{};
  Address to{};
  Uint256 value{};
  Uint256 valid_after{};
  Uint256 valid_before{};
  Bytes32 nonce{};
};

// keccak256 of kEip712DomainType / kTransferWithAuthorizationType.
crypto::Digest32 DomainTypeHash();
crypto::Digest32 TransferWithAuthorizationTypeHash();

// hashStruct(EIP712Domain) with fields name, version, chainId, verifyingContract (no salt).
crypto::Digest32 DomainSeparator(const Eip712Domain& domain);

// hashStruct(TransferWithAuthorization).
crypto::Digest32 TransferWithAuthorizationStructHash(const TransferAuthorization& auth);

// keccak256(0x19 0x01 || DomainSeparator(domain) || TransferWithAuthorizationStructHash(auth)):
// the digest the payer signs and RecoverAddress checks.
crypto::Digest32 TypedDataDigest(const Eip712Domain& domain, const TransferAuthorization& auth);

}  // namespace p402::evm
