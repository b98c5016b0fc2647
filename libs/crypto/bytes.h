// File: libs/crypto/bytes.h
// Byte conventions shared by libs/crypto: variable-length binary data travels
// as std::string / std::string_view (binary-safe, cheap to pass to encoders and
// to Abseil), fixed-size digests as std::array<uint8_t, N>. AsStringView
// bridges the two, e.g. to key an HMAC with a previous HMAC (SigV4's
// signing-key chain) or to hex-encode a digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace p402::crypto {

// A SHA-256 or HMAC-SHA256 output.
using Digest32 = std::array<uint8_t, 32>;

// Views `bytes` as characters without copying; valid while `bytes` lives.
inline std::string_view AsStringView(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace p402::crypto
