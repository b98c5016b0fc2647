// File: libs/x402/codec.h
// x402 JSON shapes on the wire, for both protocol versions (X402.md 1.3-1.6): payment
// requirements (v1 flat with maxAmountRequired/resource/description/mimeType; v2 the seven
// fields), the 402 answers (v1 JSON body, v2 PAYMENT-REQUIRED header), the payment-response
// header, and the facilitator HTTP API (/verify, /settle, /supported). Integers are decimal
// strings, x402Version and maxTimeoutSeconds JSON numbers; headers are padded standard base64 of
// compact UTF-8 JSON. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "p402/v1/settlement.pb.h"

namespace p402::x402 {

// A requirement in the JSON shape of `version` (1 or 2). extra is extra_json parsed (an object;
// {} when empty/invalid); v1 adds outputSchema when output_schema_json is set.
json::Value RequirementToJson(const v1::PaymentRequirement& requirement, int version);
// The inverse, for requirements a seller sends to the facilitator API. InvalidArgument (ReasonOf =
// kInvalidPaymentRequirements) naming the field when a required one is missing or mistyped
// (amount must be a canonical decimal uint256 string: digits, no leading zero; maxTimeoutSeconds a
// non-negative integer; extra/outputSchema objects or absent/null); kInvalidX402Version when
// version is not 1 or 2. v1 requires resource, description and mimeType as strings. extra_json /
// output_schema_json are the members re-serialised ("" when absent). mode/model/prices are left
// empty.
absl::StatusOr<v1::PaymentRequirement> RequirementFromJson(const json::Value& value, int version);

// The body of a v1 402 answer, which is also an OpenAI-shaped error so SDK clients get a readable
// error: {"x402Version":1,"error":{"message":..,"type":"payment_required","code":code},
// "accepts":[v1 requirements]}. x402-fetch 1.x reads only x402Version and accepts.
std::string EncodePaymentRequiredBodyV1(const std::vector<v1::PaymentRequirement>& accepts,
                                        std::string_view code, std::string_view message);
// The value of the v2 PAYMENT-REQUIRED header: base64 of {"x402Version":2,"error":message,
// "resource":{"url","description","mimeType"},"accepts":[v2 requirements]}; resource fields from
// accepts[0] (resource, description, mime_type).
std::string EncodePaymentRequiredHeaderV2(const std::vector<v1::PaymentRequirement>& accepts,
                                          std::string_view message);
// Decodes a PAYMENT-REQUIRED header (tests, p402ctl): the requirements, in v2 shape.
absl::StatusOr<std::vector<v1::PaymentRequirement>> DecodePaymentRequiredHeaderV2(
    std::string_view header_value);

// The payment-response header value (X-PAYMENT-RESPONSE for v1, PAYMENT-RESPONSE for v2): base64
// of EncodeSettleResponse's JSON. Decoding: InvalidArgument when not base64 of a JSON object,
// "success" not a boolean or a string member of another type.
std::string EncodePaymentResponseHeader(const v1::SettlePaymentResponse& settle);
absl::StatusOr<v1::SettlePaymentResponse> DecodePaymentResponseHeader(std::string_view value);

// Facilitator API request body of POST /verify and /settle:
// {"x402Version":n,"paymentPayload":{..},"paymentRequirements":{..}}.
struct FacilitatorRequest {
  int version = 0;
  std::string payment_payload_json;  // paymentPayload re-serialised
  v1::PaymentRequirement requirement;
};
// InvalidArgument with ReasonOf: kInvalidPayload (not JSON / paymentPayload missing or not an
// object), kInvalidPaymentRequirements, kInvalidX402Version.
absl::StatusOr<FacilitatorRequest> DecodeFacilitatorRequest(std::string_view body);
// {"isValid":bool,"invalidReason":..,"payer":..,"invalidMessage":..}: invalidReason only when
// invalid, invalidMessage only when invalid and non-empty, payer only when non-empty (the v1
// schema types it as an optional address, so "" is never sent).
std::string EncodeVerifyResponse(const v1::VerifyPaymentResponse& verify);
// {"success","errorReason","errorMessage","transaction","network","payer"} (@x402/evm order):
// errorReason only when not successful, errorMessage only then and non-empty, payer only when
// non-empty; transaction and network always (transaction "" when nothing was broadcast).
std::string EncodeSettleResponse(const v1::SettlePaymentResponse& settle);
// {"kinds":[{"x402Version","scheme","network"}..],"extensions":[],"signers":{"eip155:*":[..]}}.
std::string EncodeSupported(const v1::GetSupportedResponse& supported);

}  // namespace p402::x402
