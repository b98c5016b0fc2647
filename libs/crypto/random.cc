#include "libs/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cmath>

#include "libs/crypto/openssl_fatal.h"

namespace p402::crypto {
namespace {

constexpr std::string_view kBase62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// The largest multiple of 62 that fits in a byte: bytes below it map uniformly
// onto the alphabet.
constexpr unsigned kBase62Limit = 62 * 4;  // 248

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    // RAND_bytes takes an int length.
    int chunk = static_cast<int>(std::min<size_t>(n - done, INT_MAX));
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done), chunk) != 1) {
      internal::OpenSslFatal("RAND_bytes");
    }
    done += static_cast<size_t>(chunk);
  }
  return out;
}

size_t RandomTokenLength(size_t entropy_bytes) {
  return static_cast<size_t>(std::ceil(static_cast<double>(entropy_bytes) * 8 / std::log2(62.0)));
}

std::string RandomToken(std::string_view prefix, size_t entropy_bytes) {
  const size_t length = RandomTokenLength(entropy_bytes);
  std::string out(prefix);
  out.reserve(prefix.size() + length);
  while (out.size() < prefix.size() + length) {
    // 248/256 of bytes are accepted; drawing ~10% extra usually finishes in one
    // round.
    std::string pool = RandomBytes(length - (out.size() - prefix.size()) + 8);
    for (unsigned char b : pool) {
      if (b < kBase62Limit && out.size() < prefix.size() + length) {
        out += kBase62[b % 62];
      }
    }
  }
  return out;
}

}  // namespace p402::crypto
