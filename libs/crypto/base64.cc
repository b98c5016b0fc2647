#include "libs/crypto/base64.h"

#include <array>

#include "libs/crypto/bytes.h"

namespace p402::crypto {
namespace {

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

using DecodeTable = std::array<int8_t, 256>;

constexpr DecodeTable MakeTable(const char* alphabet) {
  DecodeTable t{};
  for (auto& v : t) {
    v = -1;
  }
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return t;
}

constexpr DecodeTable kStdTable = MakeTable(kStdAlphabet);
constexpr DecodeTable kUrlTable = MakeTable(kUrlAlphabet);

std::string Encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(in[i])); };
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t n = byte(i) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    if (pad) {
      out += "==";
    }
  } else if (rest == 2) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    if (pad) {
      out += '=';
    }
  }
  return out;
}

enum class Padding { kRequired, kOptional };

std::optional<std::string> Decode(std::string_view text, const DecodeTable& table,
                                  Padding padding) {
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') {
    ++pad;
  }
  if ((padding == Padding::kRequired || pad > 0) && text.size() % 4 != 0) {
    return std::nullopt;  // padding, when present or required, completes the
                          // last quad
  }
  std::string_view body = text.substr(0, text.size() - pad);
  size_t rem = body.size() % 4;
  if (rem == 1) {
    return std::nullopt;  // one character carries only 6 bits: never a whole
                          // byte
  }
  std::string out;
  out.reserve(body.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    int8_t v = table[static_cast<unsigned char>(body[i])];
    if (v < 0) {
      return std::nullopt;  // outside the alphabet, including '=' before the end
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (i % 4 == 3) {
      out += static_cast<char>((acc >> 16) & 0xff);
      out += static_cast<char>((acc >> 8) & 0xff);
      out += static_cast<char>(acc & 0xff);
      acc = 0;
    }
  }
  if (rem == 2) {
    // 12 bits hold one byte; the low 4 must be zero in a canonical encoding.
    if ((acc & 0xf) != 0) {
      return std::nullopt;
    }
    out += static_cast<char>((acc >> 4) & 0xff);
  } else if (rem == 3) {
    // 18 bits hold two bytes; the low 2 must be zero.
    if ((acc & 0x3) != 0) {
      return std::nullopt;
    }
    out += static_cast<char>((acc >> 10) & 0xff);
    out += static_cast<char>((acc >> 2) & 0xff);
  }
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStdAlphabet, true); }
std::string Base64Encode(std::span<const uint8_t> bytes) {
  return Base64Encode(AsStringView(bytes));
}

std::optional<std::string> Base64Decode(std::string_view text) {
  return Decode(text, kStdTable, Padding::kRequired);
}

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrlAlphabet, false); }
std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  return Base64UrlEncode(AsStringView(bytes));
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  return Decode(text, kUrlTable, Padding::kOptional);
}

}  // namespace p402::crypto
