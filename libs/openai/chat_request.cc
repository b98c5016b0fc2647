#include "libs/openai/chat_request.h"

#include <array>

#include "libs/common/status_macros.h"
#include "libs/openai/decode_util.h"
#include "libs/openai/error_param.h"
#include "libs/openai/message_decode.h"

namespace p402::openai {
namespace {

using internal::GetNonNull;

// Top-level members P402 models; every other member goes to chat.extra_json.
constexpr std::array<std::string_view, 15> kKnownFields = {
    "model",           "messages", "tools", "tool_choice", "max_tokens", "max_completion_tokens",
    "temperature",     "top_p",    "n",     "stop",        "stream",     "stream_options",
    "response_format", "user",     "p402"};

bool IsKnown(std::string_view key) {
  for (std::string_view k : kKnownFields) {
    if (k == key) {
      return true;
    }
  }
  return false;
}

absl::Status DecodeModel(const json::Value& root, const P402Extension& ext, v1::ChatRequest& chat) {
  if (const json::Value* model = GetNonNull(root, "model")) {
    P402_ASSIGN_OR_RETURN(std::string_view m, internal::ReadString(*model, "model"));
    if (m.size() > 256) {
      return internal::ReadNonEmptyString(*model, "model", 256).status();
    }
    chat.set_model(std::string(m));
  }
  if (chat.model().empty() && !ext.mode_given) {
    return InvalidRequest(
        "you must provide a model parameter (or a routing mode in 'p402.mode' to let P402 "
        "choose the model)",
        "model", "missing_required_parameter");
  }
  return absl::OkStatus();
}

absl::Status DecodeMaxTokens(const json::Value& root, v1::ChatRequest& chat) {
  const json::Value* max_tokens = GetNonNull(root, "max_tokens");
  const json::Value* max_completion = GetNonNull(root, "max_completion_tokens");
  if (max_tokens != nullptr && max_completion != nullptr) {
    return internal::BadValue("max_tokens",
                              "set either 'max_tokens' or 'max_completion_tokens', not both.");
  }
  if (max_tokens != nullptr) {
    P402_ASSIGN_OR_RETURN(int64_t n,
                          internal::ReadInt(*max_tokens, "max_tokens", 1, kMaxOutputTokens));
    chat.set_max_tokens(n);
  }
  if (max_completion != nullptr) {
    P402_ASSIGN_OR_RETURN(int64_t n, internal::ReadInt(*max_completion, "max_completion_tokens", 1,
                                                       kMaxOutputTokens));
    chat.set_max_tokens(n);
    chat.set_uses_max_completion_tokens(true);
  }
  return absl::OkStatus();
}

absl::Status DecodeSampling(const json::Value& root, v1::ChatRequest& chat) {
  if (const json::Value* t = GetNonNull(root, "temperature")) {
    P402_ASSIGN_OR_RETURN(double d, internal::ReadNumber(*t, "temperature", 0, 2));
    chat.set_temperature(d);
  }
  if (const json::Value* p = GetNonNull(root, "top_p")) {
    P402_ASSIGN_OR_RETURN(double d, internal::ReadNumber(*p, "top_p", 0, 1));
    chat.set_top_p(d);
  }
  if (const json::Value* n = GetNonNull(root, "n")) {
    if (!n->is_number() || !n->is_integer()) {
      return internal::WrongType("n", "an integer", *n);
    }
    if (n->AsDouble() != 1) {
      return InvalidRequest(
          internal::Cat({"Invalid value for 'n': P402 returns one choice per request, so 'n' must "
                         "be 1, but got ",
                         internal::NumberText(n->AsDouble()), " instead."}),
          "n", "unsupported_value");
    }
  }
  if (const json::Value* stop = GetNonNull(root, "stop")) {
    if (stop->is_string()) {
      if (!stop->AsString().empty()) {
        chat.add_stop(stop->AsString());
      }
    } else if (stop->is_array()) {
      P402_ASSIGN_OR_RETURN(std::vector<std::string> seqs,
                            internal::ReadStringArray(*stop, "stop", kMaxStopSequences, 1024));
      for (std::string& s : seqs) {
        chat.add_stop(std::move(s));
      }
    } else {
      return internal::WrongType("stop", "a string or an array of strings", *stop);
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeStreaming(const json::Value& root, v1::ChatRequest& chat) {
  if (const json::Value* s = GetNonNull(root, "stream")) {
    P402_ASSIGN_OR_RETURN(bool stream, internal::ReadBool(*s, "stream"));
    chat.set_stream(stream);
  }
  if (const json::Value* opts = GetNonNull(root, "stream_options")) {
    if (!opts->is_object()) {
      return internal::WrongType("stream_options", "an object", *opts);
    }
    if (!chat.stream()) {
      return internal::BadValue("stream_options",
                                "'stream_options' is only allowed when 'stream' is true.");
    }
    if (const json::Value* u = GetNonNull(*opts, "include_usage")) {
      P402_ASSIGN_OR_RETURN(bool include, internal::ReadBool(*u, "stream_options.include_usage"));
      chat.set_include_usage(include);
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeRest(const json::Value& root, v1::ChatRequest& chat) {
  if (const json::Value* tools = GetNonNull(root, "tools")) {
    P402_RETURN_IF_ERROR(internal::DecodeTools(*tools, chat));
  }
  if (const json::Value* choice = GetNonNull(root, "tool_choice")) {
    P402_RETURN_IF_ERROR(internal::DecodeToolChoice(*choice, chat));
  }
  P402_RETURN_IF_ERROR(DecodeMaxTokens(root, chat));
  P402_RETURN_IF_ERROR(DecodeSampling(root, chat));
  P402_RETURN_IF_ERROR(DecodeStreaming(root, chat));
  if (const json::Value* rf = GetNonNull(root, "response_format")) {
    P402_RETURN_IF_ERROR(internal::DecodeResponseFormat(*rf, chat));
  }
  if (const json::Value* user = GetNonNull(root, "user")) {
    P402_ASSIGN_OR_RETURN(std::string_view u, internal::ReadString(*user, "user"));
    chat.set_user(std::string(u));
  }
  // Unknown members travel verbatim; Set keeps one member per key (the last, as Find does).
  json::Value extra;
  for (const auto& [key, value] : root.AsObject()) {
    if (!IsKnown(key)) {
      extra.Set(key, value);
    }
  }
  if (!extra.is_null()) {
    chat.set_extra_json(extra.Serialize());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DecodedChatRequest> DecodeChatRequest(std::string_view body) {
  absl::StatusOr<json::Value> parsed = json::Value::Parse(body);
  if (!parsed.ok()) {
    return InvalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
        "using your HTTP library correctly. The API expects a JSON payload, but what was sent was "
        "not valid JSON.)",
        "", "invalid_json");
  }
  const json::Value& root = *parsed;
  if (!root.is_object()) {
    return InvalidRequest(internal::Cat({"Invalid type for request body: expected a JSON object, "
                                         "but got ",
                                         internal::Describe(root), " instead."}),
                          "", "invalid_type");
  }
  DecodedChatRequest out;
  const json::Value* messages = root.Find("messages");
  if (messages == nullptr) {
    return internal::Missing("messages");
  }
  P402_RETURN_IF_ERROR(internal::DecodeMessages(*messages, out.chat));
  if (const json::Value* p402 = root.Find("p402")) {
    P402_ASSIGN_OR_RETURN(out.ext, DecodeP402Extension(*p402));
  }
  P402_RETURN_IF_ERROR(DecodeModel(root, out.ext, out.chat));
  P402_RETURN_IF_ERROR(DecodeRest(root, out.chat));
  return out;
}

}  // namespace p402::openai
