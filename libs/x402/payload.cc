#include "libs/x402/payload.h"

#include <algorithm>
#include <utility>

#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"
#include "libs/evm/address.h"
#include "libs/x402/codec.h"
#include "libs/x402/reasons.h"

namespace p402::x402 {
namespace {

// Real headers are about 1 KiB (v1) / 1.4 KiB (v2); the cap bounds the work an attacker can make
// us do before anything is checked.
constexpr size_t kMaxPayloadBytes = 16 * 1024;

absl::Status BadPayload(std::string message) {
  return WithReason(InvalidArgument("payment payload: " + message), kInvalidPayload);
}

absl::Status BadField(std::string_view field, std::string_view what) {
  return BadPayload("\"" + std::string(field) + "\" " + std::string(what));
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "0x" (lowercase x, as viem's isAddress / isHex regexes want) followed by exactly `hex_chars` hex
// digits.
bool IsPrefixedHex(std::string_view text, size_t hex_chars) {
  if (text.size() != 2 + hex_chars || text[0] != '0' || text[1] != 'x') return false;
  return std::all_of(text.begin() + 2, text.end(), IsHexDigit);
}

absl::StatusOr<std::string_view> RequireString(const json::Value& obj, std::string_view key,
                                               std::string_view path) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return BadField(path, "is missing");
  if (!v->is_string()) return BadField(path, "must be a string");
  return std::string_view(v->AsString());
}

absl::StatusOr<const json::Value*> RequireObject(const json::Value& obj, std::string_view key,
                                                 std::string_view path) {
  const json::Value* v = obj.Find(key);
  if (v == nullptr) return BadField(path, "is missing");
  if (!v->is_object()) return BadField(path, "must be an object");
  return v;
}

absl::StatusOr<evm::Address> RequireAddress(const json::Value& obj, std::string_view key,
                                            std::string_view path) {
  absl::StatusOr<std::string_view> s = RequireString(obj, key, path);
  if (!s.ok()) return s.status();
  if (!IsPrefixedHex(*s, 40)) return BadField(path, "must be 0x followed by 40 hex characters");
  absl::StatusOr<evm::Address> a = evm::ParseAddress(*s);
  if (!a.ok()) return BadField(path, "is not an address");
  return *a;
}

// An exact decimal uint256 string in canonical form (no sign, no leading zero, < 2^256). JSON
// numbers are refused: the official clients send strings, and a number above 2^53 would not
// survive a JavaScript round trip anyway.
absl::StatusOr<evm::Uint256> RequireUint256(const json::Value& obj, std::string_view key,
                                            std::string_view path, std::string* text) {
  absl::StatusOr<std::string_view> s = RequireString(obj, key, path);
  if (!s.ok()) return s.status();
  absl::StatusOr<evm::Uint256> v = evm::ParseUint256Decimal(*s);
  if (!v.ok() || (s->size() > 1 && (*s)[0] == '0')) {
    return BadField(path, "must be a decimal uint256 string");
  }
  *text = std::string(*s);
  return *v;
}

absl::Status ParseAuthorization(const json::Value& payload, PaymentPayload& out) {
  absl::StatusOr<const json::Value*> auth =
      RequireObject(payload, "authorization", "payload.authorization");
  if (!auth.ok()) return auth.status();
  const json::Value& a = **auth;
  evm::TransferAuthorization& t = out.authorization;

  absl::StatusOr<evm::Address> addr = RequireAddress(a, "from", "payload.authorization.from");
  if (!addr.ok()) return addr.status();
  t.from = *addr;
  addr = RequireAddress(a, "to", "payload.authorization.to");
  if (!addr.ok()) return addr.status();
  t.to = *addr;

  absl::StatusOr<evm::Uint256> n =
      RequireUint256(a, "value", "payload.authorization.value", &out.value_text);
  if (!n.ok()) return n.status();
  t.value = *n;
  n = RequireUint256(a, "validAfter", "payload.authorization.validAfter", &out.valid_after_text);
  if (!n.ok()) return n.status();
  t.valid_after = *n;
  n = RequireUint256(a, "validBefore", "payload.authorization.validBefore", &out.valid_before_text);
  if (!n.ok()) return n.status();
  t.valid_before = *n;

  absl::StatusOr<std::string_view> nonce = RequireString(a, "nonce", "payload.authorization.nonce");
  if (!nonce.ok()) return nonce.status();
  absl::StatusOr<evm::Bytes32> nonce_bytes = evm::ParseBytes32Hex(*nonce);
  if (!IsPrefixedHex(*nonce, 64) || !nonce_bytes.ok()) {
    return BadField("payload.authorization.nonce", "must be 0x followed by 64 hex characters");
  }
  t.nonce = *nonce_bytes;
  return absl::OkStatus();
}

absl::Status ParseSignature(const json::Value& payload, PaymentPayload& out) {
  absl::StatusOr<std::string_view> sig = RequireString(payload, "signature", "payload.signature");
  if (!sig.ok()) return sig.status();
  std::optional<std::string> bytes;
  if (IsPrefixedHex(*sig, 130)) bytes = crypto::HexDecode(sig->substr(2));
  if (!bytes || bytes->size() != out.signature.size()) {
    return BadField("payload.signature", "must be 0x followed by 130 hex characters (65 bytes)");
  }
  std::copy(bytes->begin(), bytes->end(), out.signature.begin());
  return absl::OkStatus();
}

// v2: `accepted` (the requirement the client chose) and `resource`.
absl::Status ParseV2Envelope(const json::Value& value, PaymentPayload& out) {
  absl::StatusOr<const json::Value*> accepted = RequireObject(value, "accepted", "accepted");
  if (!accepted.ok()) return accepted.status();
  absl::StatusOr<v1::PaymentRequirement> requirement = RequirementFromJson(**accepted, 2);
  if (!requirement.ok()) {
    // Inside a payload a bad `accepted` is a malformed payload, not bad seller requirements.
    return BadPayload("accepted: " + MessageOf(requirement.status()));
  }
  out.scheme = requirement->scheme();
  out.network = requirement->network();
  out.accepted = *std::move(requirement);
  out.accepted_json = **accepted;

  if (const json::Value* resource = value.Find("resource")) {
    if (!resource->is_object()) return BadField("resource", "must be an object");
    if (const json::Value* url = resource->Find("url")) {
      if (!url->is_string()) return BadField("resource.url", "must be a string");
      out.resource_url = url->AsString();
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PaymentPayload> DecodePaymentHeader(std::string_view header_value) {
  if (header_value.size() > kMaxPayloadBytes) return BadPayload("header longer than 16 KiB");
  std::optional<std::string> json_text = crypto::Base64Decode(header_value);
  if (!json_text) return BadPayload("header is not standard padded base64");
  return ParsePaymentPayload(*json_text);
}

absl::StatusOr<PaymentPayload> ParsePaymentPayload(std::string_view json_text) {
  if (json_text.size() > kMaxPayloadBytes) return BadPayload("JSON longer than 16 KiB");
  absl::StatusOr<json::Value> value = json::Value::Parse(json_text);
  if (!value.ok()) return BadPayload("not JSON (" + MessageOf(value.status()) + ")");
  return ParsePaymentPayload(*value);
}

absl::StatusOr<PaymentPayload> ParsePaymentPayload(const json::Value& value) {
  if (!value.is_object()) return BadPayload("not a JSON object");
  const json::Value* version = value.Find("x402Version");
  if (version == nullptr) return BadField("x402Version", "is missing");
  std::optional<int64_t> v = value.GetInt("x402Version");
  if (!version->is_number()) return BadField("x402Version", "must be a number");
  if (!v || (*v != 1 && *v != 2)) {
    return WithReason(InvalidArgument("payment payload: unsupported x402Version (1 or 2)"),
                      kInvalidX402Version);
  }
  PaymentPayload out;
  out.version = static_cast<int>(*v);

  if (out.version == 1) {
    absl::StatusOr<std::string_view> s = RequireString(value, "scheme", "scheme");
    if (!s.ok()) return s.status();
    out.scheme = std::string(*s);
    s = RequireString(value, "network", "network");
    if (!s.ok()) return s.status();
    out.network = std::string(*s);
  } else {
    absl::Status st = ParseV2Envelope(value, out);
    if (!st.ok()) return st;
  }

  absl::StatusOr<const json::Value*> payload = RequireObject(value, "payload", "payload");
  if (!payload.ok()) return payload.status();
  absl::Status st = ParseAuthorization(**payload, out);
  if (!st.ok()) return st;
  st = ParseSignature(**payload, out);
  if (!st.ok()) return st;

  out.json = value.Serialize();
  return out;
}

bool RequirementMatches(const PaymentPayload& payload, const v1::PaymentRequirement& offered) {
  if (payload.version == 1) {
    return payload.scheme == offered.scheme() && payload.network == offered.network();
  }
  if (payload.version != 2 || !payload.accepted_json.is_object()) {
    return false;
  }
  const json::Value offer = RequirementToJson(offered, 2);
  const json::Value& accepted = payload.accepted_json;
  // Every non-extra member equal, and no member the offer does not have (@x402/core deep-equals
  // the requirement; member order is irrelevant there).
  for (const auto& [key, want] : offer.AsObject()) {
    if (key == "extra") continue;
    const json::Value* got = accepted.Find(key);
    if (got == nullptr || !(*got == want)) return false;
  }
  for (const auto& [key, got] : accepted.AsObject()) {
    if (key != "extra" && offer.Find(key) == nullptr) return false;
  }
  // extra: the client's copy must contain every key/value the offer has.
  const json::Value* offer_extra = offer.Find("extra");
  if (offer_extra == nullptr || offer_extra->AsObject().empty()) return true;
  const json::Value* got_extra = accepted.Find("extra");
  if (got_extra == nullptr || !got_extra->is_object()) return false;
  for (const auto& [key, want] : offer_extra->AsObject()) {
    const json::Value* got = got_extra->Find(key);
    if (got == nullptr || !(*got == want)) return false;
  }
  return true;
}

}  // namespace p402::x402
