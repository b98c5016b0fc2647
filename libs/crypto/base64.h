// File: libs/crypto/base64.h
// Base64 (RFC 4648): the standard alphabet with padding, as x402 uses for its
// base64 JSON headers (X-PAYMENT, X-PAYMENT-RESPONSE), and the URL-safe
// alphabet for tokens and JWS-style values.
//
// Decoding is strict, so one value has exactly one accepted encoding (no
// malleable payment headers): no whitespace or line breaks, no characters
// outside the alphabet, padding only at the end, and the unused low bits of the
// last character must be zero (RFC 4648 section 3.5).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace p402::crypto {

// Standard alphabet (A-Z a-z 0-9 + /), padded with '=' to a multiple of 4
// characters.
std::string Base64Encode(std::string_view bytes);
std::string Base64Encode(std::span<const uint8_t> bytes);

// Decodes standard base64. Padding is required (length a multiple of 4).
// Returns nullopt on any violation of the strict rules above; "" decodes to "".
std::optional<std::string> Base64Decode(std::string_view text);

// URL-safe alphabet (A-Z a-z 0-9 - _), without padding (RFC 7515 base64url).
std::string Base64UrlEncode(std::string_view bytes);
std::string Base64UrlEncode(std::span<const uint8_t> bytes);

// Decodes URL-safe base64 with or without padding; if padding is present it
// must be complete. Returns nullopt on a length of 1 mod 4, '+' or '/', or any
// other strict-rule violation.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace p402::crypto
