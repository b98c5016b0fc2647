// File: libs/crypto/openssl_fatal.h
// Internal to libs/crypto: the single place where an OpenSSL failure that
// callers cannot handle (allocation, provider or entropy failure) becomes a
// clear abort. Not part of the public API.
#pragma once

namespace p402::crypto::internal {

// Prints "p402 crypto: <what> failed: <OpenSSL error queue>" to stderr and
// aborts.
[[noreturn]] void OpenSslFatal(const char* what);

}  // namespace p402::crypto::internal
