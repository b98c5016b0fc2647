// SHA-256 (FIPS 180-4 / NIST CSRC examples) and HMAC-SHA256 (RFC 4231)
// published vectors.
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/crypto/hmac.h"
#include "libs/crypto/sha256.h"

namespace p402::crypto {
namespace {

std::string Hex(const Digest32& d) { return HexEncode(d); }

TEST_CASE("SHA-256 matches the published vectors", "[unit]") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 is binary-safe and Sha256Hex agrees with Sha256", "[unit]") {
  const std::string with_nuls("\0a\0", 3);
  CHECK(Sha256Hex(with_nuls) == "98fb63f7212bb7a738d1cd6d6d51d3e96169b23710ae5113c65123f029074860");
  CHECK(Hex(Sha256("abc")) == Sha256Hex("abc"));
  CHECK(Sha256("abc") != Sha256("abd"));
}

TEST_CASE("HMAC-SHA256 matches RFC 4231", "[unit]") {
  SECTION("test case 1") {
    CHECK(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")) ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
  SECTION("test case 2: key shorter than the output") {
    CHECK(Hex(HmacSha256("Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  SECTION("test case 3: binary key and data") {
    CHECK(Hex(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))) ==
          "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  }
  SECTION("test case 6: key larger than the block size") {
    CHECK(Hex(HmacSha256(std::string(131, '\xaa'),
                         "Test Using Larger Than Block-Size Key - Hash Key First")) ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  }
}

TEST_CASE("HMAC-SHA256 accepts an empty key and chains keys", "[unit]") {
  CHECK(Hex(HmacSha256("", "")) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  // SigV4-style chaining: the next key is the previous MAC's bytes.
  Digest32 k1 = HmacSha256("Jefe", "what do ya want ");
  Digest32 k2 = HmacSha256(AsStringView(k1), "for nothing?");
  CHECK(k2 == HmacSha256(std::string(AsStringView(k1)), "for nothing?"));
  CHECK(k2 != HmacSha256("Jefe", "for nothing?"));
}

}  // namespace
}  // namespace p402::crypto
