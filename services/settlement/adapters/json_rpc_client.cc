#include "services/settlement/adapters/json_rpc_client.h"

#include <cctype>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/crypto/hex.h"
#include "libs/evm/abi.h"

namespace p402::settlement {
namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";

// The Error(string) reason inside a JSON-RPC error's data: geth/anvil/hardhat send the revert
// bytes as a hex string, ganache as {"result": "0x..."} (older ganache: keyed by tx hash).
std::optional<std::string> RevertReasonFromData(const json::Value* data) {
  if (data == nullptr) return std::nullopt;
  auto from_hex = [](const json::Value& v) -> std::optional<std::string> {
    if (!v.is_string()) return std::nullopt;
    absl::StatusOr<std::string> bytes = evm::abi::ParseHexData(v.AsString());
    if (!bytes.ok()) return std::nullopt;
    return evm::abi::DecodeRevertReason(*bytes);
  };
  if (std::optional<std::string> r = from_hex(*data)) return r;
  if (!data->is_object()) return std::nullopt;
  for (const std::string_view key : {"result", "data"}) {
    if (const json::Value* inner = data->Find(key)) {
      if (std::optional<std::string> r = from_hex(*inner)) return r;
    }
  }
  for (const json::Member& m : data->AsObject()) {
    if (m.second.is_object()) {
      if (const json::Value* inner = m.second.Find("return")) {
        if (std::optional<std::string> r = from_hex(*inner)) return r;
      }
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::string_view> HexDigitsOf(const json::Value& value, size_t max_digits) {
  if (!value.is_string()) return InvalidArgument("JSON-RPC quantity is not a string");
  std::string_view s = value.AsString();
  if (s.size() < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return InvalidArgument("JSON-RPC quantity must be 0x + hex digits");
  }
  s.remove_prefix(2);
  while (s.size() > 1 && s.front() == '0') s.remove_prefix(1);
  if (s.size() > max_digits) return InvalidArgument("JSON-RPC quantity out of range");
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return InvalidArgument("JSON-RPC quantity has a non-hex digit");
    }
  }
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

absl::Status JsonRpcClient::ErrorStatus(std::string_view method, const JsonRpcError& error) {
  std::string message = absl::StrCat(ToAbsl(method), ": ", ToAbsl(error.message));
  if (error.revert_reason.has_value() &&
      error.message.find(*error.revert_reason) == std::string::npos) {
    absl::StrAppend(&message, ": ", ToAbsl(*error.revert_reason));
  }
  return FailedPrecondition(message);
}

absl::StatusOr<JsonRpcOutcome> JsonRpcClient::CallRaw(std::string_view method, json::Value params) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  json::Value request = json::Value::EmptyObject();
  request.Set("jsonrpc", "2.0");
  request.Set("id", id);
  request.Set("method", method);
  request.Set("params", params.is_null() ? json::Value::EmptyArray() : std::move(params));

  http::ClientRequest http_request;
  http_request.method = "POST";
  http_request.url = options_.url;
  http_request.headers.Set("Content-Type", "application/json");
  http_request.body = request.Serialize();
  http_request.timeouts.connect = options_.connect_timeout;
  http_request.timeouts.headers = options_.timeout;
  http_request.timeouts.idle = options_.timeout;
  http_request.timeouts.total = options_.timeout;
  http_request.max_response_body_bytes = options_.max_response_bytes;

  absl::StatusOr<http::ClientResponse> response = http_.FetchBlocking(std::move(http_request));
  if (!response.ok()) {
    if (response.status().code() == absl::StatusCode::kInvalidArgument) return response.status();
    return Unavailable(absl::StrCat("JSON-RPC ", ToAbsl(method),
                                    " to the chain node failed: ", response.status().message()));
  }
  // Rate limits and server errors say nothing about the request itself (a gateway in front of
  // the node may even wrap them in a JSON-RPC error): retryable, like a transport failure.
  if (response->status == 429 || response->status >= 500) {
    return Unavailable(absl::StrCat("JSON-RPC ", ToAbsl(method), ": HTTP ", response->status,
                                    " from the chain node"));
  }
  absl::StatusOr<json::Value> body = json::Value::Parse(response->body);
  if (!body.ok() || !body->is_object()) {
    return Unavailable(absl::StrCat("JSON-RPC ", ToAbsl(method), ": HTTP ", response->status,
                                    " without a JSON-RPC response object"));
  }
  JsonRpcOutcome outcome;
  if (const json::Value* error = body->Find("error"); error != nullptr && !error->is_null()) {
    JsonRpcError e;
    if (std::optional<int64_t> code = error->GetInt("code")) e.code = *code;
    if (std::optional<std::string_view> msg = error->GetString("message")) e.message = *msg;
    e.revert_reason = RevertReasonFromData(error->Find("data"));
    outcome.error = std::move(e);
    return outcome;
  }
  if (response->status < 200 || response->status > 299) {
    return Unavailable(absl::StrCat("JSON-RPC ", ToAbsl(method), ": HTTP ", response->status));
  }
  const json::Value* result = body->Find("result");
  if (result == nullptr) {
    return Unavailable(absl::StrCat("JSON-RPC ", ToAbsl(method), ": response has no result"));
  }
  outcome.result = *result;
  return outcome;
}

absl::StatusOr<json::Value> JsonRpcClient::Call(std::string_view method, json::Value params) {
  absl::StatusOr<JsonRpcOutcome> outcome = CallRaw(method, std::move(params));
  if (!outcome.ok()) return outcome.status();
  if (outcome->error.has_value()) return ErrorStatus(method, *outcome->error);
  return std::move(outcome->result);
}

absl::StatusOr<uint64_t> ParseQuantity(const json::Value& value) {
  absl::StatusOr<std::string_view> digits = HexDigitsOf(value, 16);
  if (!digits.ok()) return digits.status();
  uint64_t out = 0;
  for (char c : *digits) out = (out << 4) | static_cast<uint64_t>(HexValue(c));
  return out;
}

absl::StatusOr<evm::Uint256> ParseQuantity256(const json::Value& value) {
  absl::StatusOr<std::string_view> digits = HexDigitsOf(value, 64);
  if (!digits.ok()) return digits.status();
  evm::Uint256 out{};
  // Fill from the least significant nibble.
  size_t nibble = 0;
  for (auto it = digits->rbegin(); it != digits->rend(); ++it, ++nibble) {
    const int v = HexValue(*it);
    uint8_t& byte = out[31 - nibble / 2];
    byte = static_cast<uint8_t>(byte | (nibble % 2 == 0 ? v : v << 4));
  }
  return out;
}

std::string ToQuantity(uint64_t value) {
  std::string digits;
  do {
    digits.insert(digits.begin(), kHexDigits[value & 0xf]);
    value >>= 4;
  } while (value != 0);
  return "0x" + digits;
}

std::string ToQuantity(const evm::Uint256& value) {
  std::string hex = crypto::HexEncode(value);
  const size_t first = hex.find_first_not_of('0');
  return first == std::string::npos ? "0x0" : "0x" + hex.substr(first);
}

}  // namespace p402::settlement
