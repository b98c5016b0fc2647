// Keccak-256 (Ethereum padding) published vectors and vectors from the x402 trial rig
// (tests/libs/evm/data/eip3009-vectors.json, design/X402.md), and secp256k1 sign/recover with
// Ethereum-style 65-byte signatures.
#include <array>
#include <cstring>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"
#include "libs/crypto/secp256k1.h"
#include "tests/support/catch_status.h"

namespace p402::crypto {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;

std::string Unhex(std::string_view hex) {
  if (hex.substr(0, 2) == "0x") hex.remove_prefix(2);
  std::optional<std::string> b = HexDecode(hex);
  REQUIRE(b.has_value());
  return *b;
}

template <size_t N>
std::array<uint8_t, N> UnhexArray(std::string_view hex) {
  std::string b = Unhex(hex);
  REQUIRE(b.size() == N);
  std::array<uint8_t, N> out;
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// From eip3009-vectors.json (Base mainnet USDC vector).
constexpr std::string_view kSigner = "ffcf8fdee72ac11b5c542428b35eef5769c409f0";
constexpr std::string_view kDigest =
    "03393f63acd44f9f81ea906d19e63c428e89e019c63fd654820f7f7640827be2";
constexpr std::string_view kSignature =
    "95c8591fd0c55e2f1747580ff68924727a668d16ab1887f55b6995ab59d310d5"
    "75c973cfef9cb4202b44c01b83df4a80096faa45c87530927fcefe8b06407f161b";
// ganache deterministic account #1 (the vectors' signer).
constexpr std::string_view kPrivateKey =
    "6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";
constexpr std::string_view kOrderHex =
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

TEST_CASE("Keccak-256 matches published vectors (not SHA3-256)", "[unit][crypto]") {
  CHECK(Keccak256Hex("") == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  CHECK(Keccak256Hex("abc") == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  CHECK(Keccak256Hex("The quick brown fox jumps over the lazy dog") ==
        "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
  CHECK(HexEncode(Keccak256("abc")) == Keccak256Hex("abc"));
}

TEST_CASE("Keccak-256 of the EIP-712 type strings gives the published type hashes",
          "[unit][crypto]") {
  CHECK(Keccak256Hex("EIP712Domain(string name,string version,uint256 chainId,address "
                     "verifyingContract)") ==
        "8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f");
  // 122 bytes: one block.
  CHECK(Keccak256Hex("TransferWithAuthorization(address from,address to,uint256 value,uint256 "
                     "validAfter,uint256 validBefore,bytes32 nonce)") ==
        "7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267");
}

TEST_CASE("Keccak-256 across the 136-byte rate boundary matches the rig's EIP-712 hashes",
          "[unit][crypto]") {
  // 224-byte struct encoding (two blocks) -> structHash from the vectors file.
  const std::string struct_enc = Unhex(
      "7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267"
      "000000000000000000000000ffcf8fdee72ac11b5c542428b35eef5769c409f0"
      "00000000000000000000000022d491bde2303f2f43325b2108d26f1eaba1e32b"
      "0000000000000000000000000000000000000000000000000000000000002710"
      "0000000000000000000000000000000000000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000713fb300"
      "0000000000000000000000000000000000000000000000000000000000000001");
  REQUIRE(struct_enc.size() == 224);
  CHECK(Keccak256Hex(struct_enc) ==
        "a1d6928a3575f4aa1792438b840b9bb226f7c4c09a27d634f12c28420554721d");
  // 66-byte 0x1901 || domainSeparator || structHash -> digest.
  const std::string digest_enc = Unhex(
      "1901"
      "02fa7265e7c5d81118673727957699e4d68f74cd74b7db77da710fe8a2c7834f"
      "a1d6928a3575f4aa1792438b840b9bb226f7c4c09a27d634f12c28420554721d");
  CHECK(Keccak256Hex(digest_enc) == kDigest);
}

TEST_CASE("RecoverAddress returns the rig's signer for its signature", "[unit][crypto]") {
  const Digest32 digest = UnhexArray<32>(kDigest);
  absl::StatusOr<Address20> addr = RecoverAddress(digest, Unhex(kSignature));
  REQUIRE_THAT(addr.status(), IsOk());
  CHECK(HexEncode(*addr) == kSigner);

  // v given as 0/1 instead of 27/28 is accepted too.
  std::string sig01 = Unhex(kSignature);
  sig01[64] = static_cast<char>(sig01[64] - 27);
  absl::StatusOr<Address20> addr01 = RecoverAddress(digest, sig01);
  REQUIRE_THAT(addr01.status(), IsOk());
  CHECK(*addr01 == *addr);

  // A different digest recovers a different address (not the signer).
  Digest32 other = digest;
  other[0] ^= 1;
  absl::StatusOr<Address20> wrong = RecoverAddress(other, Unhex(kSignature));
  if (wrong.ok()) CHECK(HexEncode(*wrong) != kSigner);
}

TEST_CASE("AddressOf the ganache account #1 key is the rig's signer", "[unit][crypto]") {
  absl::StatusOr<Address20> addr = AddressOf(UnhexArray<32>(kPrivateKey));
  REQUIRE_THAT(addr.status(), IsOk());
  CHECK(HexEncode(*addr) == kSigner);
  CHECK_THAT(AddressOf(std::array<uint8_t, 32>{}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "private key"));
  CHECK_THAT(AddressOf(UnhexArray<32>(kOrderHex)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "private key"));
}

TEST_CASE("SignDigest reproduces the rig's signature and round-trips", "[unit][crypto]") {
  const auto key = UnhexArray<32>(kPrivateKey);
  const Digest32 digest = UnhexArray<32>(kDigest);
  absl::StatusOr<Signature65> sig = SignDigest(digest, key);
  REQUIRE_THAT(sig.status(), IsOk());
  // RFC 6979 deterministic nonces, as the rig's (viem) signer uses.
  CHECK(HexEncode(*sig) == kSignature);

  for (char c = 'a'; c <= 'e'; ++c) {
    const Digest32 d = Keccak256(std::string(50, c));
    absl::StatusOr<Signature65> s = SignDigest(d, key);
    REQUIRE_THAT(s.status(), IsOk());
    CHECK(((*s)[64] == 27 || (*s)[64] == 28));
    CHECK(std::memcmp(s->data() + 32, UnhexArray<32>(kOrderHex).data(), 32) < 0);
    absl::StatusOr<Address20> addr = RecoverAddress(d, *s);
    REQUIRE_THAT(addr.status(), IsOk());
    CHECK(HexEncode(*addr) == kSigner);
  }
  CHECK_THAT(SignDigest(digest, std::array<uint8_t, 32>{}).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "private key"));
}

// n - s as 32 bytes big-endian.
std::string Negate(std::string_view s) {
  const auto n = UnhexArray<32>(kOrderHex);
  std::string out(32, '\0');
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int v = n[i] - static_cast<uint8_t>(s[i]) - borrow;
    borrow = v < 0 ? 1 : 0;
    out[i] = static_cast<char>(v & 0xff);
  }
  return out;
}

TEST_CASE("RecoverAddress rejects the high-s twin of a valid signature", "[unit][crypto]") {
  const Digest32 digest = UnhexArray<32>(kDigest);
  const std::string sig = Unhex(kSignature);
  std::string high = sig.substr(0, 32) + Negate(sig.substr(32, 32)) +
                     std::string(1, static_cast<char>(sig[64] == 27 ? 28 : 27));
  absl::StatusOr<Address20> addr = RecoverAddress(digest, high);
  CHECK_THAT(addr.status(), StatusIs(absl::StatusCode::kInvalidArgument, "high-s"));
  CHECK(ReasonOf(addr.status()) == std::string(kReasonHighS));
}

TEST_CASE("RecoverAddress rejects malformed signatures with clear errors", "[unit][crypto]") {
  const Digest32 digest = UnhexArray<32>(kDigest);
  const std::string sig = Unhex(kSignature);
  const std::string zero32(32, '\0');
  const std::string n = Unhex(kOrderHex);

  CHECK_THAT(RecoverAddress(digest, sig.substr(0, 64)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "65 bytes"));
  CHECK_THAT(RecoverAddress(digest, sig + "x").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "65 bytes"));
  CHECK_THAT(RecoverAddress(digest, std::string_view()).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "65 bytes"));
  for (int v : {2, 26, 29, 255}) {
    std::string bad = sig;
    bad[64] = static_cast<char>(v);
    CHECK_THAT(RecoverAddress(digest, bad).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "signature v"));
  }
  CHECK_THAT(RecoverAddress(digest, zero32 + sig.substr(32)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "signature r"));
  CHECK_THAT(RecoverAddress(digest, n + sig.substr(32)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "signature r"));
  CHECK_THAT(RecoverAddress(digest, sig.substr(0, 32) + zero32 + sig.substr(64)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "signature s"));
  CHECK_THAT(RecoverAddress(digest, sig.substr(0, 32) + n + sig.substr(64)).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "signature s"));
  CHECK_THAT(RecoverAddress(digest, std::string(65, '\xff')).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  // r = 5 has an x coordinate with no curve point (x^3 + 7 is a non-residue): nothing recoverable.
  std::string r5(32, '\0');
  r5[31] = 5;
  absl::StatusOr<Address20> none = RecoverAddress(digest, r5 + sig.substr(32));
  if (!none.ok()) CHECK(none.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace p402::crypto
