// RLP encoding against the examples of the Ethereum wiki / yellow paper appendix B and the
// ethereum/tests rlptest.json cases (short/long strings and lists, integers, nesting).
#include <string>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/evm/rlp.h"

namespace p402::evm::rlp {
namespace {

std::string Hex(const std::string& bytes) { return crypto::HexEncode(bytes); }

constexpr std::string_view kLorem56 = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";

TEST_CASE("rlp: strings", "[unit]") {
  CHECK(Hex(EncodeBytes("dog")) == "83646f67");
  CHECK(Hex(EncodeBytes("")) == "80");
  // A single byte below 0x80 is its own encoding; 0x80 and above get a prefix.
  CHECK(Hex(EncodeBytes(std::string("\x00", 1))) == "00");
  CHECK(Hex(EncodeBytes("\x7f")) == "7f");
  CHECK(Hex(EncodeBytes("\x80")) == "8180");
  // 55 bytes is the last short string, 56 the first long one (0xb8 + 1-byte length).
  REQUIRE(kLorem56.size() == 56);
  CHECK(Hex(EncodeBytes(kLorem56.substr(0, 55))) ==
        "b7" + crypto::HexEncode(kLorem56.substr(0, 55)));
  CHECK(Hex(EncodeBytes(kLorem56)) == "b838" + crypto::HexEncode(kLorem56));
  // 1024 bytes: 0xb9 + 2-byte length.
  const std::string kilo(1024, 'a');
  const std::string enc = EncodeBytes(kilo);
  CHECK(Hex(enc.substr(0, 3)) == "b90400");
  CHECK(enc.substr(3) == kilo);
  // The span overload agrees.
  const uint8_t dog[] = {'d', 'o', 'g'};
  CHECK(Hex(EncodeBytes(std::span<const uint8_t>(dog))) == "83646f67");
}

TEST_CASE("rlp: integers", "[unit]") {
  CHECK(Hex(EncodeUint(uint64_t{0})) == "80");
  CHECK(Hex(EncodeUint(uint64_t{1})) == "01");
  CHECK(Hex(EncodeUint(uint64_t{15})) == "0f");
  CHECK(Hex(EncodeUint(uint64_t{127})) == "7f");
  CHECK(Hex(EncodeUint(uint64_t{128})) == "8180");
  CHECK(Hex(EncodeUint(uint64_t{1024})) == "820400");
  CHECK(Hex(EncodeUint(uint64_t{100000})) == "830186a0");
  CHECK(Hex(EncodeUint(~uint64_t{0})) == "88ffffffffffffffff");
  // uint256: leading zero bytes are dropped, zero is the empty string.
  CHECK(Hex(EncodeUint(Uint256{})) == "80");
  CHECK(Hex(EncodeUint(Uint256FromU64(1024))) == "820400");
  Uint256 max;
  max.fill(0xff);
  CHECK(Hex(EncodeUint(max)) == "a0" + std::string(64, 'f'));
}

TEST_CASE("rlp: lists", "[unit]") {
  CHECK(Hex(ListBuilder().Encode()) == "c0");
  CHECK(Hex(ListBuilder().Bytes("cat").Bytes("dog").Encode()) == "c88363617483646f67");
  // The set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ].
  const std::string empty = ListBuilder().Encode();
  const std::string one = ListBuilder().Raw(empty).Encode();
  const std::string two = ListBuilder().Raw(empty).Raw(one).Encode();
  CHECK(Hex(ListBuilder().Raw(empty).Raw(one).Raw(two).Encode()) == "c7c0c1c0c3c0c1c0");
  // Mixed: [ "zw", [4], 1 ] (rlptest.json "multiList").
  CHECK(Hex(ListBuilder().Bytes("zw").Raw(ListBuilder().Uint(4).Encode()).Uint(1).Encode()) ==
        "c6827a77c10401");
  // A list whose payload is 56+ bytes gets 0xf8 + length: rlptest.json "longList1".
  const std::string inner = ListBuilder().Bytes("asdf").Bytes("qwer").Bytes("zxcv").Encode();
  CHECK(Hex(ListBuilder().Raw(inner).Raw(inner).Raw(inner).Raw(inner).Encode()) ==
        "f840cf84617364668471776572847a786376cf84617364668471776572847a786376cf8461736466847177"
        "6572847a786376cf84617364668471776572847a786376");
  // ["cat", <56-byte string>]: payload 4 + 58 = 62 bytes.
  CHECK(Hex(ListBuilder().Bytes("cat").Bytes(kLorem56).Encode()) ==
        "f83e83636174b838" + crypto::HexEncode(kLorem56));
  // A 1024-byte payload: 0xf9 + 2-byte length.
  const std::string big = ListBuilder().Bytes(std::string(1021, 'x')).Encode();
  CHECK(Hex(big.substr(0, 6)) == "f90400b903fd");
  CHECK(big.size() == 3 + 1024);
}

}  // namespace
}  // namespace p402::evm::rlp
