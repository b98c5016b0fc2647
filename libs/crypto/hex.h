// File: libs/crypto/hex.h
// Base16 (RFC 4648 section 8) encoding for digests, key hashes and, later, EVM
// data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace p402::crypto {

// Lowercase hex, two characters per byte.
std::string HexEncode(std::string_view bytes);
std::string HexEncode(std::span<const uint8_t> bytes);

// Decodes hex (upper- or lowercase). Returns nullopt on an odd length or any
// non-hex character, including whitespace and a "0x" prefix (strip it first
// where a format allows one).
std::optional<std::string> HexDecode(std::string_view text);

}  // namespace p402::crypto
