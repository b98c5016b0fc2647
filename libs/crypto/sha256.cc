#include "libs/crypto/sha256.h"

#include <openssl/evp.h>

#include "libs/crypto/hex.h"
#include "libs/crypto/openssl_fatal.h"

namespace p402::crypto {
namespace {

// OpenSSL 3 looks algorithms up in its provider on every implicit use
// (EVP_sha256()); fetching once avoids that lookup on every API-key check.
const EVP_MD* FetchedSha256() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) {
      internal::OpenSslFatal("EVP_MD_fetch(SHA256)");
    }
    return fetched;  // kept for the life of the process
  }();
  return md;
}

}  // namespace

Digest32 Sha256(std::string_view data) {
  Digest32 out;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, FetchedSha256(), nullptr) != 1 ||
      len != out.size()) {
    internal::OpenSslFatal("EVP_Digest(SHA256)");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexEncode(Sha256(data)); }

}  // namespace p402::crypto
