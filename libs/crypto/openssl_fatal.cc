#include "libs/crypto/openssl_fatal.h"

#include <openssl/err.h>

#include <cstdio>
#include <cstdlib>

namespace p402::crypto::internal {

void OpenSslFatal(const char* what) {
  // stderr directly: the logger may be configured off, and this must be seen.
  std::fprintf(stderr, "p402 crypto: %s failed:", what);
  unsigned long err = 0;  // NOLINT(runtime/int): OpenSSL's type
  bool any = false;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    std::fprintf(stderr, " %s", buf);
    any = true;
  }
  std::fprintf(stderr, "%s\n", any ? "" : " (no OpenSSL error queued)");
  std::abort();
}

}  // namespace p402::crypto::internal
