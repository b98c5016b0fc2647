// EIP-712 / EIP-3009 hashing against the x402 trial rig's vectors (data/eip3009-vectors.json,
// produced by the official clients for the USDC domains), EIP-55 addresses and uint256 parsing.
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::evm {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;

std::string Hex0x(const crypto::Digest32& d) { return "0x" + crypto::HexEncode(d); }

json::Value LoadVectors() {
  const std::string path =
      ::p402::testing::SourceDir() + "/tests/libs/evm/data/eip3009-vectors.json";
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<json::Value> v = json::Value::Parse(ss.str());
  REQUIRE_THAT(v.status(), IsOk());
  return *v;
}

std::string Str(const json::Value& obj, std::string_view key) {
  std::optional<std::string_view> s = obj.GetString(key);
  INFO("key " << key);
  REQUIRE(s.has_value());
  return std::string(*s);
}

Address Addr(std::string_view text) {
  absl::StatusOr<Address> a = ParseAddress(text);
  INFO(text);
  REQUIRE_THAT(a.status(), IsOk());
  return *a;
}

Uint256 U256(std::string_view text) {
  absl::StatusOr<Uint256> u = ParseUint256Decimal(text);
  INFO(text);
  REQUIRE_THAT(u.status(), IsOk());
  return *u;
}

TransferAuthorization AuthFrom(const json::Value& a) {
  TransferAuthorization auth;
  auth.from = Addr(Str(a, "from"));
  auth.to = Addr(Str(a, "to"));
  auth.value = U256(Str(a, "value"));
  auth.valid_after = U256(Str(a, "validAfter"));
  auth.valid_before = U256(Str(a, "validBefore"));
  absl::StatusOr<Bytes32> nonce = ParseBytes32Hex(Str(a, "nonce"));
  REQUIRE_THAT(nonce.status(), IsOk());
  auth.nonce = *nonce;
  return auth;
}

TEST_CASE("type hashes match the vectors file", "[unit][evm]") {
  const json::Value root = LoadVectors();
  CHECK(Str(root, "typeString") == kTransferWithAuthorizationType);
  CHECK(Str(root, "domainTypeString") == kEip712DomainType);
  CHECK(Hex0x(TransferWithAuthorizationTypeHash()) == Str(root, "typehash"));
  CHECK(Hex0x(DomainTypeHash()) == Str(root, "domainTypehash"));
}

TEST_CASE("every vector's domain separator, struct hash, digest and signer match", "[unit][evm]") {
  const json::Value root = LoadVectors();
  const json::Value* auth_json = root.Find("authorization");
  REQUIRE(auth_json != nullptr);
  const TransferAuthorization auth = AuthFrom(*auth_json);
  const Address signer = Addr(Str(root, "signer"));
  const json::Value* vectors = root.Find("vectors");
  REQUIRE(vectors != nullptr);
  REQUIRE(vectors->is_array());
  REQUIRE(vectors->AsArray().size() >= 2);
  int signed_vectors = 0;
  for (const json::Value& v : vectors->AsArray()) {
    const json::Value* d = v.Find("domain");
    REQUIRE(d != nullptr);
    Eip712Domain domain;
    domain.name = Str(*d, "name");
    domain.version = Str(*d, "version");
    std::optional<int64_t> chain = d->GetInt("chainId");
    REQUIRE(chain.has_value());
    domain.chain_id = static_cast<uint64_t>(*chain);
    domain.verifying_contract = Addr(Str(*d, "verifyingContract"));
    INFO("domain " << domain.name << " chain " << domain.chain_id);

    CHECK(Hex0x(DomainSeparator(domain)) == Str(v, "domainSeparator"));
    CHECK(Hex0x(TransferWithAuthorizationStructHash(auth)) == Str(v, "structHash"));
    const crypto::Digest32 digest = TypedDataDigest(domain, auth);
    CHECK(Hex0x(digest) == Str(v, "digest"));

    if (v.Find("signature") != nullptr) {
      ++signed_vectors;
      std::optional<std::string> sig = crypto::HexDecode(Str(v, "signature").substr(2));
      REQUIRE(sig.has_value());
      absl::StatusOr<Address> rec = crypto::RecoverAddress(digest, *sig);
      REQUIRE_THAT(rec.status(), IsOk());
      CHECK(*rec == signer);
      CHECK(ToChecksum(*rec) == Str(root, "signer"));
    }
    // Changing any field changes the digest.
    TransferAuthorization other = auth;
    other.value[31] ^= 1;
    CHECK(TypedDataDigest(domain, other) != digest);
    Eip712Domain other_domain = domain;
    other_domain.chain_id += 1;
    CHECK(TypedDataDigest(other_domain, auth) != digest);
  }
  CHECK(signed_vectors >= 1);
}

TEST_CASE("EIP-55 checksum of the vectors' addresses", "[unit][evm]") {
  for (std::string_view a :
       {"0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0", "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b",
        "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        // EIP-55 specification examples.
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    INFO(a);
    std::string lower(a);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const Address addr = Addr(lower);
    CHECK(ToChecksum(addr) == a);
    CHECK(ToLowerHex(addr) == lower);
    CHECK(IsValidChecksum(a));
    CHECK(ParseChecksummedAddress(a).ok());
    CHECK(ParseChecksummedAddress(lower).ok());
  }
  // One letter's case flipped: still parses loosely, fails the checksum.
  const std::string bad = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409F0";
  CHECK(ParseAddress(bad).ok());
  CHECK_FALSE(IsValidChecksum(bad));
  CHECK_THAT(ParseChecksummedAddress(bad).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "checksum"));
}

TEST_CASE("ParseAddress rejects malformed input", "[unit][evm]") {
  for (std::string_view bad :
       {"", "0x", "ffcf8fdee72ac11b5c542428b35eef5769c409f0",
        "0xffcf8fdee72ac11b5c542428b35eef5769c409f", "0xffcf8fdee72ac11b5c542428b35eef5769c409f00",
        "0xffcf8fdee72ac11b5c542428b35eef5769c409fg", " 0xffcf8fdee72ac11b5c542428b35eef5769c409f0",
        "0xffcf8fdee72ac11b5c542428b35eef5769c409f "}) {
    INFO("'" << bad << "'");
    CHECK_THAT(ParseAddress(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument, "address"));
    CHECK_FALSE(IsValidChecksum(bad));
  }
}

TEST_CASE("ParseUint256Decimal is exact up to 2^256-1", "[unit][evm]") {
  CHECK(U256("0") == Uint256{});
  CHECK(U256("000") == Uint256{});
  CHECK(U256("1") == Uint256FromU64(1));
  CHECK(U256("10000") == Uint256FromU64(10000));
  CHECK(U256("18446744073709551615") == Uint256FromU64(UINT64_MAX));
  Uint256 two64{};
  two64[23] = 1;
  CHECK(U256("18446744073709551616") == two64);
  Uint256 max;
  max.fill(0xff);
  CHECK(U256("115792089237316195423570985008687907853269984665640564039457584007913129639935") ==
        max);
  CHECK(
      U256("0000115792089237316195423570985008687907853269984665640564039457584007913129639935") ==
      max);
  Uint256 max_minus_1 = max;
  max_minus_1[31] = 0xfe;
  CHECK(U256("115792089237316195423570985008687907853269984665640564039457584007913129639934") ==
        max_minus_1);

  CHECK_THAT(ParseUint256Decimal(
                 "115792089237316195423570985008687907853269984665640564039457584007913129639936")
                 .status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "2^256"));
  CHECK_THAT(ParseUint256Decimal(std::string(100, '9')).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "2^256"));
  for (std::string_view bad : {"", "-1", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "12a"}) {
    INFO("'" << bad << "'");
    CHECK_THAT(ParseUint256Decimal(bad).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST_CASE("ParseBytes32Hex accepts exactly 0x + 64 hex", "[unit][evm]") {
  absl::StatusOr<Bytes32> one = ParseBytes32Hex("0x" + std::string(63, '0') + "1");
  REQUIRE_THAT(one.status(), IsOk());
  CHECK(*one == Uint256FromU64(1));
  CHECK_FALSE(ParseBytes32Hex(std::string(64, '0')).ok());
  CHECK_FALSE(ParseBytes32Hex("0x" + std::string(62, '0')).ok());
  CHECK_FALSE(ParseBytes32Hex("0x" + std::string(63, '0') + "g").ok());
}

}  // namespace
}  // namespace p402::evm
