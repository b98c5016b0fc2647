// File: libs/crypto/random.h
// Cryptographically secure random bytes (OpenSSL RAND_bytes, seeded from the
// OS) and random tokens such as API keys ("sk-p402-..."), which are shown to
// the user once and stored only as their SHA-256.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace p402::crypto {

// `n` random bytes. Thread-safe.
//
// Failure policy: RAND_bytes fails only when the OS entropy source is
// unavailable or OpenSSL's DRBG cannot be seeded. A process in that state
// cannot mint keys, nonces or tokens safely, and a StatusOr here would tempt
// callers into fallbacks, so this logs the OpenSSL error to stderr and aborts
// (as Envoy's RandomGenerator does).
std::string RandomBytes(size_t n);

// `prefix` followed by a base62 string (0-9A-Za-z) holding at least
// `entropy_bytes` * 8 bits of uniform randomness: ceil(entropy_bytes * 8 /
// log2(62)) characters, e.g. 33 for the default 24 bytes, so
// RandomToken("sk-p402-") is 41 characters. Each character is drawn uniformly
// (rejection sampling, no modulo bias). Thread-safe; aborts like RandomBytes.
std::string RandomToken(std::string_view prefix, size_t entropy_bytes = 24);

// Number of base62 characters RandomToken appends for `entropy_bytes`.
size_t RandomTokenLength(size_t entropy_bytes);

}  // namespace p402::crypto
