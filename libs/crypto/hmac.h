// File: libs/crypto/hmac.h
// HMAC-SHA256 (RFC 2104) through OpenSSL 3's EVP_MAC API: webhook signatures,
// signed session tokens, and the SigV4 signing-key chain (key the next step
// with AsStringView of the previous).
#pragma once

#include <string_view>

#include "libs/crypto/bytes.h"

namespace p402::crypto {

// HMAC-SHA256 of `data` under `key`; both are arbitrary bytes and may be empty
// (keys longer than the 64-byte block are hashed first, per RFC 2104).
// Thread-safe. Aborts with a message only on an OpenSSL internal failure (see
// sha256.h). Compare MACs with ConstantTimeEquals.
Digest32 HmacSha256(std::string_view key, std::string_view data);

}  // namespace p402::crypto
