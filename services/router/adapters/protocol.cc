#include "services/router/adapters/protocol.h"

#include <cctype>
#include <cmath>

#include "libs/common/status_util.h"
#include "services/router/adapters/anthropic_protocol.h"
#include "services/router/adapters/anthropic_stream_decoder.h"
#include "services/router/adapters/openai_protocol.h"
#include "services/router/adapters/openai_stream_decoder.h"

namespace p402::router {

const std::string* ProviderHttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return &value;
  }
  return nullptr;
}

absl::StatusOr<ProviderHttpRequest> BuildProviderRequest(const v1::ChatRequest& chat,
                                                         const ModelEntry& model,
                                                         const ProviderInfo& provider,
                                                         std::string_view api_key) {
  if (provider.protocol == "openai") return BuildOpenAiRequest(chat, model, provider, api_key);
  if (provider.protocol == "anthropic") {
    return BuildAnthropicRequest(chat, model, provider, api_key);
  }
  return absl::UnimplementedError("no adapter for protocol \"" + provider.protocol + "\"");
}

absl::StatusOr<ParsedCompletion> ParseProviderResponse(std::string_view protocol,
                                                       std::string_view body) {
  if (protocol == "openai") return ParseOpenAiResponse(body);
  if (protocol == "anthropic") return ParseAnthropicResponse(body);
  return absl::UnimplementedError("no adapter for protocol \"" + std::string(protocol) + "\"");
}

// Both protocols (and most OpenAI-compatible servers) use one of these shapes:
//   OpenAI:    {"error": {"message", "type", "param", "code"}}
//   Anthropic: {"type": "error", "error": {"type", "message"}}
//   others:    {"error": "text"}, {"message": "text"}, {"detail": "text"}
ProviderError ParseProviderError(std::string_view /*protocol*/, int http_status,
                                 std::string_view body) {
  ProviderError out;
  out.type = "http_" + std::to_string(http_status);
  absl::StatusOr<json::Value> root = json::Value::Parse(body);
  if (!root.ok() || !root->is_object()) {
    out.message = protocol_internal::ShortMessage(body);
    return out;
  }
  const json::Value* error = root->Find("error");
  if (error != nullptr && error->is_object()) {
    if (auto type = error->GetString("type"); type && !type->empty()) {
      out.type = std::string(*type);
    } else if (auto code = error->GetString("code"); code && !code->empty()) {
      out.type = std::string(*code);
    }
    if (auto message = error->GetString("message")) {
      out.message = protocol_internal::ShortMessage(*message);
    }
  } else if (error != nullptr && error->is_string()) {
    out.message = protocol_internal::ShortMessage(error->AsString());
  } else if (auto message = root->GetString("message")) {
    out.message = protocol_internal::ShortMessage(*message);
  } else if (auto detail = root->GetString("detail")) {
    out.message = protocol_internal::ShortMessage(*detail);
  }
  if (out.message.empty()) {
    out.message = protocol_internal::ShortMessage(body);
  }
  return out;
}

std::unique_ptr<StreamDecoder> MakeStreamDecoder(std::string_view protocol) {
  if (protocol == "openai") return std::make_unique<OpenAiStreamDecoder>();
  if (protocol == "anthropic") return std::make_unique<AnthropicStreamDecoder>();
  return nullptr;
}

namespace protocol_internal {

absl::StatusOr<json::Value> ParseEmbedded(std::string_view text, std::string_view field) {
  absl::StatusOr<json::Value> v = json::Value::Parse(text);
  if (!v.ok()) {
    return InvalidArgument(std::string(field) + " is not valid JSON");
  }
  return v;
}

absl::Status AddAuth(const ProviderInfo& provider, std::string_view api_key,
                     ProviderHttpRequest& req) {
  if (api_key.empty() || provider.auth == AuthStyle::kNone) {
    return absl::OkStatus();  // keyless local servers and test fakes
  }
  switch (provider.auth) {
    case AuthStyle::kBearer:
      req.headers.emplace_back("authorization", "Bearer " + std::string(api_key));
      return absl::OkStatus();
    case AuthStyle::kXApiKey:
      req.headers.emplace_back("x-api-key", std::string(api_key));
      return absl::OkStatus();
    case AuthStyle::kApiKey:
      req.headers.emplace_back("api-key", std::string(api_key));
      return absl::OkStatus();
    case AuthStyle::kQueryKey:
      req.url += (req.url.find('?') == std::string::npos ? "?key=" : "&key=");
      req.url += api_key;  // provider keys are URL-safe tokens
      return absl::OkStatus();
    default:
      return absl::UnimplementedError("auth style of provider \"" + provider.id +
                                      "\" is not supported");
  }
}

std::string ShortMessage(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
    if (out.size() >= kMaxErrorMessage) break;
  }
  // Do not end inside a UTF-8 sequence: drop continuation bytes and their lead byte.
  if (out.size() >= kMaxErrorMessage) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) out.pop_back();
  }
  return out;
}

absl::Status InvalidResponse(std::string_view what) {
  return WithReason(InvalidArgument("invalid provider response: " + std::string(what)),
                    "invalid_response");
}

int64_t IntOr0(const json::Value* obj, std::string_view key) {
  if (obj == nullptr || !obj->is_object()) return 0;
  const json::Value* v = obj->Find(key);
  return v == nullptr ? 0 : SafeInt(*v).value_or(0);
}

std::optional<int64_t> SafeInt(const json::Value& v) {
  if (v.type() == json::Type::kInt) return v.AsInt();
  if (v.type() == json::Type::kDouble) {
    double d = v.AsDouble();
    // Integral and well inside int64 (a plain cast outside it is undefined behaviour).
    if (d > -9e18 && d < 9e18 && std::floor(d) == d) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace protocol_internal
}  // namespace p402::router
