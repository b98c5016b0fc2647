// secp256k1 over libsecp256k1. The context is created once (function-local static, so creation is
// thread-safe) and afterwards only used through const-context APIs, which libsecp256k1 documents
// as safe to call concurrently. It is randomized once for side-channel protection of signing.
#include "libs/crypto/secp256k1.h"

#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstring>

#include "libs/common/status_util.h"
#include "libs/crypto/keccak256.h"
#include "libs/crypto/random.h"

namespace p402::crypto {
namespace {

// Curve order n and floor(n / 2), big-endian.
constexpr std::array<uint8_t, 32> kOrder = {
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41};
constexpr std::array<uint8_t, 32> kHalfOrder = {
    0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0x5D, 0x57, 0x6E, 0x73, 0x57, 0xA4, 0x50, 0x1D, 0xDF, 0xE9, 0x2F, 0x46, 0x68, 0x1B, 0x20, 0xA0};

// Big-endian comparison of a 32-byte scalar with `b`: <0, 0, >0.
int Compare(const uint8_t* a, const std::array<uint8_t, 32>& b) {
  return std::memcmp(a, b.data(), 32);
}
bool IsZero(const uint8_t* a) {
  return std::all_of(a, a + 32, [](uint8_t x) { return x == 0; });
}

const secp256k1_context* Context() {
  static const secp256k1_context* ctx = [] {
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<uint8_t, 32> seed{};
    std::string random = RandomBytes(32);
    std::memcpy(seed.data(), random.data(), 32);
    // Randomization is only a side-channel hardening; failure leaves a working context.
    if (!secp256k1_context_randomize(c, seed.data())) {
      // Not fatal: signing stays correct, only without the blinding.
    }
    return c;
  }();
  return ctx;
}

absl::Status CheckPrivateKey(const std::array<uint8_t, 32>& key) {
  if (IsZero(key.data()) || Compare(key.data(), kOrder) >= 0) {
    return InvalidArgument("secp256k1 private key must be in [1, n-1]");
  }
  return absl::OkStatus();
}

Address20 AddressOfPubkey(const secp256k1_pubkey& pubkey) {
  uint8_t out[65];
  size_t len = sizeof(out);
  secp256k1_ec_pubkey_serialize(Context(), out, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  Digest32 h = Keccak256(std::string_view(reinterpret_cast<const char*>(out + 1), 64));
  Address20 addr;
  std::copy(h.begin() + 12, h.end(), addr.begin());
  return addr;
}

}  // namespace

absl::StatusOr<Address20> RecoverAddress(const Digest32& digest,
                                         std::span<const uint8_t> signature) {
  if (signature.size() != 65) {
    return InvalidArgument("signature must be 65 bytes (r||s||v), got " +
                           std::to_string(signature.size()));
  }
  const uint8_t* r = signature.data();
  const uint8_t* s = signature.data() + 32;
  int v = signature[64];
  if (v == 27 || v == 28) v -= 27;
  if (v != 0 && v != 1) {
    return InvalidArgument("signature v must be 27, 28, 0 or 1, got " +
                           std::to_string(signature[64]));
  }
  if (IsZero(r) || Compare(r, kOrder) >= 0) {
    return InvalidArgument("signature r must be in [1, n-1]");
  }
  if (IsZero(s) || Compare(s, kOrder) >= 0) {
    return InvalidArgument("signature s must be in [1, n-1]");
  }
  if (Compare(s, kHalfOrder) > 0) {
    return WithReason(InvalidArgument("signature has high-s (s > n/2); malleable form rejected"),
                      kReasonHighS);
  }
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_recoverable_signature_parse_compact(Context(), &sig, signature.data(), v)) {
    return InvalidArgument("signature could not be parsed");
  }
  secp256k1_pubkey pubkey;
  if (!secp256k1_ecdsa_recover(Context(), &pubkey, &sig, digest.data())) {
    return InvalidArgument("no public key recoverable from signature");
  }
  return AddressOfPubkey(pubkey);
}

absl::StatusOr<Address20> RecoverAddress(const Digest32& digest, std::string_view signature) {
  return RecoverAddress(digest,
                        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()),
                                                 signature.size()));
}

absl::StatusOr<Signature65> SignDigest(const Digest32& digest,
                                       const std::array<uint8_t, 32>& private_key) {
  if (absl::Status st = CheckPrivateKey(private_key); !st.ok()) return st;
  secp256k1_ecdsa_recoverable_signature sig;
  if (!secp256k1_ecdsa_sign_recoverable(Context(), &sig, digest.data(), private_key.data(), nullptr,
                                        nullptr)) {
    return Internal("secp256k1 signing failed");
  }
  // libsecp256k1 always produces low-s signatures.
  Signature65 out;
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(27 + recid);
  return out;
}

absl::StatusOr<Address20> AddressOf(const std::array<uint8_t, 32>& private_key) {
  if (absl::Status st = CheckPrivateKey(private_key); !st.ok()) return st;
  secp256k1_pubkey pubkey;
  if (!secp256k1_ec_pubkey_create(Context(), &pubkey, private_key.data())) {
    return InvalidArgument("secp256k1 private key rejected");
  }
  return AddressOfPubkey(pubkey);
}

}  // namespace p402::crypto
