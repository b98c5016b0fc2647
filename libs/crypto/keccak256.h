// File: libs/crypto/keccak256.h
// Keccak-256 as used by Ethereum (original Keccak submission padding 0x01, NOT FIPS 202 SHA3-256's
// 0x06). Hand-written Keccak-f[1600] because OpenSSL 3.0 (Debian 12) has no legacy Keccak. Used for
// EVM addresses and EIP-712 typed-data hashing (libs/evm).
#pragma once

#include <string>
#include <string_view>

#include "libs/crypto/bytes.h"

namespace p402::crypto {

// The 32-byte Keccak-256 digest of `data` (any bytes, any length). Pure, thread-safe, cannot fail.
Digest32 Keccak256(std::string_view data);

// Keccak256 as 64 lowercase hex characters (no "0x").
std::string Keccak256Hex(std::string_view data);

}  // namespace p402::crypto
