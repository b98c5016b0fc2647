#include "libs/x402/codec.h"

#include <optional>
#include <utility>

#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/evm/eip712.h"
#include "libs/x402/reasons.h"

namespace p402::x402 {
namespace {

absl::Status Bad(std::string_view reason, std::string message) {
  return WithReason(InvalidArgument(message), reason);
}

absl::Status BadRequirement(std::string_view field, std::string_view what) {
  return Bad(kInvalidPaymentRequirements,
             "payment requirements: \"" + std::string(field) + "\" " + std::string(what));
}

// A JSON object from text; {} when empty, not JSON or not an object (extra_json is produced by
// P402 itself, so a bad one is a bug upstream -- the wire still gets a valid shape).
json::Value ObjectOrEmpty(const std::string& text) {
  if (text.empty()) return json::Value::EmptyObject();
  absl::StatusOr<json::Value> parsed = json::Value::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return json::Value::EmptyObject();
  return *std::move(parsed);
}

// Exact decimal uint256 in canonical form: digits only, no leading zero (so one amount has one
// spelling), below 2^256.
bool IsCanonicalUint256(std::string_view text) {
  if (text.size() > 1 && text[0] == '0') return false;
  return evm::ParseUint256Decimal(text).ok();
}

absl::StatusOr<std::string> RequireString(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return BadRequirement(key, "is missing");
  if (!v->is_string()) return BadRequirement(key, "must be a string");
  return v->AsString();
}

// Optional object member: absent or null -> "", object -> its compact JSON, else an error.
absl::StatusOr<std::string> OptionalObjectJson(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_object()) return BadRequirement(key, "must be an object");
  return v->Serialize();
}

// Optional string member: absent -> "", string -> it, else nullopt (mistyped).
std::optional<std::string> OptionalString(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return std::nullopt;
  return v->AsString();
}

std::optional<json::Value> DecodeBase64Json(std::string_view text) {
  std::optional<std::string> bytes = crypto::Base64Decode(text);
  if (!bytes) return std::nullopt;
  absl::StatusOr<json::Value> parsed = json::Value::Parse(*bytes);
  if (!parsed.ok() || !parsed->is_object()) return std::nullopt;
  return *std::move(parsed);
}

// SettleResponse members, in the order @x402/evm 2.27 builds them.
json::Value SettleJson(const v1::SettlePaymentResponse& settle) {
  json::Value out = json::Value::EmptyObject();
  out.Set("success", settle.success());
  if (!settle.success()) {
    out.Set("errorReason", settle.error_reason());
    if (!settle.error_message().empty()) out.Set("errorMessage", settle.error_message());
  }
  out.Set("transaction", settle.transaction());
  out.Set("network", settle.network());
  // The v1 schema types payer as an optional address: omit rather than send "".
  if (!settle.payer().empty()) out.Set("payer", settle.payer());
  return out;
}

}  // namespace

json::Value RequirementToJson(const v1::PaymentRequirement& r, int version) {
  json::Value out = json::Value::EmptyObject();
  out.Set("scheme", r.scheme());
  out.Set("network", r.network());
  if (version == 1) {
    // x402@1.2.0 key order (X402.md 1.3; samples/server-v1-402.json).
    out.Set("maxAmountRequired", r.amount());
    out.Set("resource", r.resource());
    out.Set("description", r.description());
    out.Set("mimeType", r.mime_type());
    out.Set("payTo", r.pay_to());
    out.Set("maxTimeoutSeconds", static_cast<int64_t>(r.max_timeout_seconds()));
    out.Set("asset", r.asset());
    if (!r.output_schema_json().empty()) {
      absl::StatusOr<json::Value> schema = json::Value::Parse(r.output_schema_json());
      if (schema.ok() && schema->is_object()) out.Set("outputSchema", *std::move(schema));
    }
  } else {
    out.Set("amount", r.amount());
    out.Set("asset", r.asset());
    out.Set("payTo", r.pay_to());
    out.Set("maxTimeoutSeconds", static_cast<int64_t>(r.max_timeout_seconds()));
  }
  out.Set("extra", ObjectOrEmpty(r.extra_json()));
  return out;
}

absl::StatusOr<v1::PaymentRequirement> RequirementFromJson(const json::Value& value, int version) {
  if (version != 1 && version != 2) {
    return Bad(kInvalidX402Version, "unsupported x402Version " + std::to_string(version));
  }
  if (!value.is_object()) {
    return Bad(kInvalidPaymentRequirements, "payment requirements must be a JSON object");
  }
  v1::PaymentRequirement r;
  absl::StatusOr<std::string> s = RequireString(value, "scheme");
  if (!s.ok()) return s.status();
  r.set_scheme(*std::move(s));
  s = RequireString(value, "network");
  if (!s.ok()) return s.status();
  r.set_network(*std::move(s));

  const std::string_view amount_key = version == 1 ? "maxAmountRequired" : "amount";
  s = RequireString(value, amount_key);
  if (!s.ok()) return s.status();
  if (!IsCanonicalUint256(*s))
    return BadRequirement(amount_key, "must be a decimal uint256 string");
  r.set_amount(*std::move(s));

  s = RequireString(value, "asset");
  if (!s.ok()) return s.status();
  r.set_asset(*std::move(s));
  s = RequireString(value, "payTo");
  if (!s.ok()) return s.status();
  r.set_pay_to(*std::move(s));

  if (value.Find("maxTimeoutSeconds") == nullptr) {
    return BadRequirement("maxTimeoutSeconds", "is missing");
  }
  std::optional<int64_t> timeout = value.GetInt("maxTimeoutSeconds");
  if (!timeout || *timeout < 0) {
    return BadRequirement("maxTimeoutSeconds", "must be a non-negative integer");
  }
  r.set_max_timeout_seconds(*timeout);

  if (version == 1) {
    s = RequireString(value, "resource");
    if (!s.ok()) return s.status();
    r.set_resource(*std::move(s));
    s = RequireString(value, "description");
    if (!s.ok()) return s.status();
    r.set_description(*std::move(s));
    s = RequireString(value, "mimeType");
    if (!s.ok()) return s.status();
    r.set_mime_type(*std::move(s));
    s = OptionalObjectJson(value, "outputSchema");
    if (!s.ok()) return s.status();
    r.set_output_schema_json(*std::move(s));
  }
  s = OptionalObjectJson(value, "extra");
  if (!s.ok()) return s.status();
  r.set_extra_json(*std::move(s));
  return r;
}

std::string EncodePaymentRequiredBodyV1(const std::vector<v1::PaymentRequirement>& accepts,
                                        std::string_view code, std::string_view message) {
  json::Value out = json::Value::EmptyObject();
  out.Set("x402Version", 1);
  json::Value& error = out.Set("error", json::Value::EmptyObject());
  error.Set("message", message);
  error.Set("type", "payment_required");
  error.Set("code", code);
  json::Value& list = out.Set("accepts", json::Value::EmptyArray());
  for (const v1::PaymentRequirement& r : accepts) list.Push(RequirementToJson(r, 1));
  return out.Serialize();
}

std::string EncodePaymentRequiredHeaderV2(const std::vector<v1::PaymentRequirement>& accepts,
                                          std::string_view message) {
  json::Value out = json::Value::EmptyObject();
  out.Set("x402Version", 2);
  out.Set("error", message);
  json::Value& resource = out.Set("resource", json::Value::EmptyObject());
  const v1::PaymentRequirement& first =
      accepts.empty() ? v1::PaymentRequirement::default_instance() : accepts.front();
  resource.Set("url", first.resource());
  resource.Set("description", first.description());
  resource.Set("mimeType", first.mime_type());
  json::Value& list = out.Set("accepts", json::Value::EmptyArray());
  for (const v1::PaymentRequirement& r : accepts) list.Push(RequirementToJson(r, 2));
  return crypto::Base64Encode(out.Serialize());
}

absl::StatusOr<std::vector<v1::PaymentRequirement>> DecodePaymentRequiredHeaderV2(
    std::string_view header_value) {
  std::optional<json::Value> doc = DecodeBase64Json(header_value);
  if (!doc) {
    return Bad(kInvalidPaymentRequirements,
               "PAYMENT-REQUIRED is not standard base64 of a JSON object");
  }
  if (doc->GetInt("x402Version") != std::optional<int64_t>(2)) {
    return Bad(kInvalidX402Version, "PAYMENT-REQUIRED x402Version must be 2");
  }
  const json::Value* list = doc->Find("accepts");
  if (list == nullptr || !list->is_array()) {
    return BadRequirement("accepts", "must be an array");
  }
  std::string url, description, mime_type;
  if (const json::Value* resource = doc->Find("resource")) {
    if (!resource->is_object()) return BadRequirement("resource", "must be an object");
    std::optional<std::string> u = OptionalString(*resource, "url");
    std::optional<std::string> d = OptionalString(*resource, "description");
    std::optional<std::string> m = OptionalString(*resource, "mimeType");
    if (!u || !d || !m) return BadRequirement("resource", "fields must be strings");
    url = *std::move(u);
    description = *std::move(d);
    mime_type = *std::move(m);
  }
  std::vector<v1::PaymentRequirement> out;
  for (const json::Value& item : list->AsArray()) {
    absl::StatusOr<v1::PaymentRequirement> r = RequirementFromJson(item, 2);
    if (!r.ok()) return r.status();
    r->set_resource(url);
    r->set_description(description);
    r->set_mime_type(mime_type);
    out.push_back(*std::move(r));
  }
  return out;
}

std::string EncodePaymentResponseHeader(const v1::SettlePaymentResponse& settle) {
  return crypto::Base64Encode(SettleJson(settle).Serialize());
}

absl::StatusOr<v1::SettlePaymentResponse> DecodePaymentResponseHeader(std::string_view value) {
  std::optional<json::Value> doc = DecodeBase64Json(value);
  if (!doc) return InvalidArgument("payment response is not standard base64 of a JSON object");
  std::optional<bool> success = doc->GetBool("success");
  if (!success) return InvalidArgument("payment response: \"success\" must be a boolean");
  v1::SettlePaymentResponse out;
  out.set_success(*success);
  const std::pair<std::string_view, std::string*> fields[] = {
      {"transaction", out.mutable_transaction()},
      {"network", out.mutable_network()},
      {"payer", out.mutable_payer()},
      {"errorReason", out.mutable_error_reason()},
      {"errorMessage", out.mutable_error_message()},
      {"amount", out.mutable_amount()},
  };
  for (const auto& [key, target] : fields) {
    std::optional<std::string> s = OptionalString(*doc, key);
    if (!s) {
      return InvalidArgument("payment response: \"" + std::string(key) + "\" must be a string");
    }
    *target = *std::move(s);
  }
  return out;
}

absl::StatusOr<FacilitatorRequest> DecodeFacilitatorRequest(std::string_view body) {
  absl::StatusOr<json::Value> doc = json::Value::Parse(body);
  if (!doc.ok() || !doc->is_object()) {
    return Bad(kInvalidPayload, "facilitator request body is not a JSON object");
  }
  std::optional<int64_t> version = doc->GetInt("x402Version");
  if (!version || (*version != 1 && *version != 2)) {
    return Bad(kInvalidX402Version, "facilitator request: x402Version must be 1 or 2");
  }
  const json::Value* payload = doc->Find("paymentPayload");
  if (payload == nullptr || !payload->is_object()) {
    return Bad(kInvalidPayload, "facilitator request: \"paymentPayload\" must be an object");
  }
  // A payload of another version than the envelope cannot be checked against its requirements.
  if (const json::Value* pv = payload->Find("x402Version");
      pv != nullptr && !(*pv == json::Value(*version))) {
    return Bad(kInvalidX402Version,
               "facilitator request: paymentPayload.x402Version differs from x402Version");
  }
  const json::Value* requirements = doc->Find("paymentRequirements");
  if (requirements == nullptr || !requirements->is_object()) {
    return Bad(kInvalidPaymentRequirements,
               "facilitator request: \"paymentRequirements\" must be an object");
  }
  FacilitatorRequest out;
  out.version = static_cast<int>(*version);
  absl::StatusOr<v1::PaymentRequirement> r = RequirementFromJson(*requirements, out.version);
  if (!r.ok()) return r.status();
  out.requirement = *std::move(r);
  out.payment_payload_json = payload->Serialize();
  return out;
}

std::string EncodeVerifyResponse(const v1::VerifyPaymentResponse& verify) {
  // @x402/evm 2.27 order: isValid, invalidReason, payer, invalidMessage.
  json::Value out = json::Value::EmptyObject();
  out.Set("isValid", verify.valid());
  if (!verify.valid()) out.Set("invalidReason", verify.invalid_reason());
  if (!verify.payer().empty()) out.Set("payer", verify.payer());
  if (!verify.valid() && !verify.invalid_message().empty()) {
    out.Set("invalidMessage", verify.invalid_message());
  }
  return out.Serialize();
}

std::string EncodeSettleResponse(const v1::SettlePaymentResponse& settle) {
  return SettleJson(settle).Serialize();
}

std::string EncodeSupported(const v1::GetSupportedResponse& supported) {
  json::Value out = json::Value::EmptyObject();
  json::Value& kinds = out.Set("kinds", json::Value::EmptyArray());
  for (const v1::SupportedKind& k : supported.kinds()) {
    json::Value kind = json::Value::EmptyObject();
    kind.Set("x402Version", static_cast<int64_t>(k.x402_version()));
    kind.Set("scheme", k.scheme());
    kind.Set("network", k.network());
    kinds.Push(std::move(kind));
  }
  out.Set("extensions", json::Value::EmptyArray());
  json::Value& signers = out.Set("signers", json::Value::EmptyObject());
  json::Value& list = signers.Set("eip155:*", json::Value::EmptyArray());
  for (const std::string& s : supported.signers()) list.Push(json::Value(s));
  return out.Serialize();
}

}  // namespace p402::x402
