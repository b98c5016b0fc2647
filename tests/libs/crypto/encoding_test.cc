// Hex and base64 against RFC 4648 section 10 vectors, plus malformed input for
// the decoders.
#include <cstdint>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"

namespace p402::crypto {
namespace {

struct Vector {
  const char* plain;
  const char* encoded;
};

TEST_CASE("base64 encodes and decodes the RFC 4648 vectors", "[unit]") {
  const Vector vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& v : vectors) {
    INFO(v.plain);
    CHECK(Base64Encode(std::string_view(v.plain)) == v.encoded);
    CHECK(Base64Decode(v.encoded) == std::optional<std::string>(v.plain));
  }
}

TEST_CASE("base64url drops padding and uses - and _", "[unit]") {
  const Vector vectors[] = {
      {"", ""},        {"f", "Zg"},        {"fo", "Zm8"},
      {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"},
  };
  for (const auto& v : vectors) {
    INFO(v.plain);
    CHECK(Base64UrlEncode(std::string_view(v.plain)) == v.encoded);
    CHECK(Base64UrlDecode(v.encoded) == std::optional<std::string>(v.plain));
  }
  const std::string tricky("\xfb\xff\xbf", 3);
  CHECK(Base64Encode(tricky) == "+/+/");
  CHECK(Base64UrlEncode(tricky) == "-_-_");
  CHECK(Base64Encode(std::string("\xfb\xff", 2)) == "+/8=");
  CHECK(Base64UrlEncode(std::string("\xfb\xff", 2)) == "-_8");
  CHECK(Base64UrlDecode("-_8") == std::string("\xfb\xff", 2));
  CHECK(Base64UrlDecode("-_8=") == std::string("\xfb\xff", 2));  // padding is optional
  CHECK(Base64Decode("+/8=") == std::string("\xfb\xff", 2));
}

TEST_CASE("base64 round-trips every byte value and length", "[unit]") {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t len = 0; len <= all.size(); len += 1 + len / 16) {
    std::string data = all.substr(all.size() - len);
    CHECK(Base64Decode(Base64Encode(data)) == data);
    CHECK(Base64UrlDecode(Base64UrlEncode(data)) == data);
  }
  std::vector<uint8_t> bytes = {0, 1, 2, 254, 255};
  CHECK(Base64Encode(bytes) == "AAEC/v8=");
  CHECK(Base64UrlEncode(bytes) == "AAEC_v8");
}

TEST_CASE("base64 decoding is strict", "[unit]") {
  const char* bad_std[] = {
      "Zg",            // padding required
      "Zg=",           // incomplete padding
      "Z",             // one character is never a byte
      "Zm9vY",         // 1 mod 4
      "Zh==",          // non-zero unused bits (canonical is Zg==)
      "Zm9=",          // non-zero unused bits (canonical is Zm8=)
      "Zg==Zg==",      // padding in the middle
      "Z===",          // three padding characters
      "====",          // only padding
      "=",             //
      "Zm9vYg===",     // too much padding
      "Zm9\n",         // whitespace (these lengths are multiples of 4: the character fails)
      " Zm9",          //
      "Zm 9",          //
      "Zm9v\r\nZm9v",  //
      "Zm9!",          // outside the alphabet
      "-_8=",          // url-safe characters in standard base64
  };
  for (const char* s : bad_std) {
    INFO(s);
    CHECK_FALSE(Base64Decode(s));
  }
  CHECK_FALSE(Base64Decode(std::string("Zm9v\0AAA", 8)));         // embedded NUL byte
  CHECK_FALSE(Base64Decode(std::string("\xff\xfe\xfd\xfc", 4)));  // high bytes

  const char* bad_url[] = {"Z", "Zm9vY", "Zg=", "Zh", "Zm9", "+/8", "Zg==Zg", "Zg===", "Zm 9"};
  for (const char* s : bad_url) {
    INFO(s);
    CHECK_FALSE(Base64UrlDecode(s));
  }
}

TEST_CASE("hex encodes lowercase and decodes either case", "[unit]") {
  CHECK(HexEncode(std::string_view("foobar")) == "666f6f626172");  // RFC 4648 base16 vector
  CHECK(HexDecode("666F6F626172") == std::string("foobar"));
  CHECK(HexDecode("666f6f626172") == std::string("foobar"));
  CHECK(HexDecode("DeadBeef") == std::string("\xde\xad\xbe\xef", 4));
  CHECK(HexEncode(std::string_view("")).empty());
  CHECK(HexDecode("") == std::string());
  std::vector<uint8_t> bytes = {0x00, 0x7f, 0x80, 0xff};
  CHECK(HexEncode(bytes) == "007f80ff");
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  CHECK(HexDecode(HexEncode(all)) == all);
}

TEST_CASE("hex decoding rejects malformed input", "[unit]") {
  const char* bad[] = {"0", "abc", "0g", "g0", "0x00", " 00", "00 ", "0-", "zz", "\xff\xff"};
  for (const char* s : bad) {
    INFO(s);
    CHECK_FALSE(HexDecode(s));
  }
  CHECK_FALSE(HexDecode(std::string("0\0", 2)));
}

}  // namespace
}  // namespace p402::crypto
