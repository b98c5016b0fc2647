// File: libs/crypto/sha256.h
// SHA-256 (FIPS 180-4) through OpenSSL 3's EVP API. Used to store API keys only
// as hashes (policy service), for cache keys and for SigV4 payload hashes.
#pragma once

#include <string>
#include <string_view>

#include "libs/crypto/bytes.h"

namespace p402::crypto {

// The 32-byte SHA-256 digest of `data` (any bytes). Thread-safe. Cannot fail on
// valid input; an OpenSSL internal failure (out of memory, broken provider)
// aborts with a message, since no caller could do anything sensible with a
// missing digest.
Digest32 Sha256(std::string_view data);

// Sha256 as 64 lowercase hex characters.
std::string Sha256Hex(std::string_view data);

}  // namespace p402::crypto
