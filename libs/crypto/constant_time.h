// File: libs/crypto/constant_time.h
// Comparison of secrets (API key hashes, MACs, session tokens) in time that
// does not depend on where the inputs differ, so an attacker cannot discover a
// secret byte by byte from timings.
#pragma once

#include <string_view>

namespace p402::crypto {

// True when `a` and `b` are byte-for-byte equal. The time taken depends only on
// the length: inputs of different lengths return false at once (length is not
// secret for the fixed-size digests and tokens we compare; hash variable-length
// secrets first). Thread-safe.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace p402::crypto
