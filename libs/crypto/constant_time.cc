#include "libs/crypto/constant_time.h"

#include <openssl/crypto.h>

namespace p402::crypto {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;  // CRYPTO_memcmp with length 0 is fine, but data() may be null
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace p402::crypto
