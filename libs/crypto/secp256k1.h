// File: libs/crypto/secp256k1.h
// Ethereum-style secp256k1 ECDSA over Debian's libsecp256k1 (recovery module): sign a 32-byte
// digest into a 65-byte r||s||v signature, recover the signer's 20-byte address from one, and
// derive an address from a private key. The library headers stay private to secp256k1.cc.
// All functions are thread-safe: they share one process-wide context created on first use.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/crypto/bytes.h"

namespace p402::crypto {

// An EVM account address: last 20 bytes of keccak256(uncompressed public key without 0x04).
using Address20 = std::array<uint8_t, 20>;
// r (32 bytes big-endian) || s (32 bytes big-endian) || v (1 byte: 27/28, or 0/1 when recovering).
using Signature65 = std::array<uint8_t, 65>;

// Reason code (ReasonOf) attached when a signature's s is in the upper half of the curve order.
inline constexpr std::string_view kReasonHighS = "signature_high_s";

// Recovers the address that signed `digest`. `signature` must be exactly 65 bytes r||s||v with
// v in {27, 28, 0, 1}. Errors (all InvalidArgument): wrong length; bad v; r or s zero or >= the
// curve order n; s > n/2 (malleable "high-s" form, rejected like EIP-2 / OpenZeppelin ECDSA;
// this one carries reason kReasonHighS and a message containing "high-s"); no point recoverable.
absl::StatusOr<Address20> RecoverAddress(const Digest32& digest,
                                         std::span<const uint8_t> signature);
absl::StatusOr<Address20> RecoverAddress(const Digest32& digest, std::string_view signature);

// Signs `digest` deterministically (RFC 6979) with `private_key` (32 bytes big-endian). Returns a
// low-s signature with v = 27/28. InvalidArgument if the key is zero or >= n.
absl::StatusOr<Signature65> SignDigest(const Digest32& digest,
                                       const std::array<uint8_t, 32>& private_key);

// The address of `private_key`. InvalidArgument if the key is zero or >= n.
absl::StatusOr<Address20> AddressOf(const std::array<uint8_t, 32>& private_key);

}  // namespace p402::crypto
