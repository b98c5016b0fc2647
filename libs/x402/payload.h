// File: libs/x402/payload.h
// The x402 "exact" EVM PaymentPayload as the official clients send it (X402.md 1.4), decoded from
// the X-PAYMENT (v1) / PAYMENT-SIGNATURE (v2) header or from a facilitator request, and checked
// for shape only: fields present with the right JSON types, addresses/nonce/signature well formed,
// integers exact decimal uint256 strings. Whether the payment is any good (signature, amount,
// window, nonce) is the settlement verifier's job. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "p402/v1/settlement.pb.h"

namespace p402::x402 {

// Header names (matched case-insensitively on the wire).
inline constexpr std::string_view kHeaderPaymentV1 = "X-PAYMENT";
inline constexpr std::string_view kHeaderPaymentV2 = "PAYMENT-SIGNATURE";
inline constexpr std::string_view kHeaderPaymentRequired = "PAYMENT-REQUIRED";
inline constexpr std::string_view kHeaderPaymentResponseV1 = "X-PAYMENT-RESPONSE";
inline constexpr std::string_view kHeaderPaymentResponseV2 = "PAYMENT-RESPONSE";

struct PaymentPayload {
  int version = 0;  // 1 or 2
  // v1: the top-level scheme/network; v2: accepted.scheme / accepted.network.
  std::string scheme;
  std::string network;
  // v2 only: the `accepted` requirement copied by the client, with its raw JSON (for the
  // deep-equality match of RequirementMatches). Absent for v1.
  std::optional<v1::PaymentRequirement> accepted;
  json::Value accepted_json;
  // v2 only: resource.url ("" when absent).
  std::string resource_url;
  // payload.authorization, parsed. The decimal strings are kept too (value_text...) for
  // messages and the ledger.
  evm::TransferAuthorization authorization;
  std::string value_text;
  std::string valid_after_text;
  std::string valid_before_text;
  // payload.signature: 65 bytes r||s||v exactly as sent (v not normalised).
  crypto::Signature65 signature{};
  // The payload JSON re-serialised (canonical key order of json::Value) -- what is stored and
  // forwarded.
  std::string json;
};

// Strict standard base64 (libs/crypto Base64Decode) -> JSON -> ParsePaymentPayload.
// InvalidArgument with ReasonOf = kInvalidPayload (bad base64/JSON/shape) or kInvalidX402Version
// (x402Version not 1 or 2), message naming the bad field. Never crashes on any input; inputs over
// 16 KiB are rejected.
absl::StatusOr<PaymentPayload> DecodePaymentHeader(std::string_view header_value);
// Same from JSON text / an already parsed value.
absl::StatusOr<PaymentPayload> ParsePaymentPayload(std::string_view json_text);
absl::StatusOr<PaymentPayload> ParsePaymentPayload(const json::Value& value);
// JSON text held in a std::string (e.g. a proto's payment_payload_json()): without this overload
// the call would be ambiguous (std::string converts both to string_view and to json::Value).
inline absl::StatusOr<PaymentPayload> ParsePaymentPayload(const std::string& json_text) {
  return ParsePaymentPayload(std::string_view(json_text));
}
inline absl::StatusOr<PaymentPayload> ParsePaymentPayload(const char* json_text) {
  return ParsePaymentPayload(std::string_view(json_text));
}

// Whether `payload` is an answer to the offer `offered` (in the payload's version):
// v2: every field of `accepted` except extra equals the offer's JSON form exactly (strings
// compared byte for byte, so address case matters, as in @x402/core), accepted has no other
// member (key order is irrelevant), and accepted.extra contains every key/value of the offer's
// extra (an offer with an empty extra accepts any); only accepted_json is read; v1: scheme and
// network equal. Amount, asset, payTo and the rest are then checked by the verifier against the
// matched offer.
bool RequirementMatches(const PaymentPayload& payload, const v1::PaymentRequirement& offered);

}  // namespace p402::x402
