#include "libs/openai/message_decode.h"

#include "libs/common/status_macros.h"
#include "libs/openai/decode_util.h"
#include "libs/openai/error_param.h"

namespace p402::openai::internal {
namespace {

constexpr size_t kMaxIdLength = 256;
constexpr size_t kMaxNameLength = 256;

bool IsImageUrl(std::string_view url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0 ||
         url.rfind("data:", 0) == 0;
}

absl::Status DecodeImagePart(const json::Value& v, std::string_view param, v1::ContentPart& part) {
  P402_ASSIGN_OR_RETURN(const json::Value* iu, RequireMember(v, param, "image_url", "an object"));
  std::string iu_param = Field(param, "image_url");
  const json::Value* url = iu;
  std::string url_param = iu_param;
  if (iu->is_object()) {  // {"url": ..., "detail": ...}; a bare string URL is accepted too
    url_param = Field(iu_param, "url");
    P402_ASSIGN_OR_RETURN(url, RequireMember(*iu, iu_param, "url", "a string"));
    if (const json::Value* detail = GetNonNull(*iu, "detail")) {
      std::string d_param = Field(iu_param, "detail");
      P402_ASSIGN_OR_RETURN(std::string_view d, ReadString(*detail, d_param));
      if (d != "auto" && d != "low" && d != "high") {
        return NotOneOf(d_param, d, {"auto", "low", "high"});
      }
      part.set_image_detail(std::string(d));
    }
  } else if (!iu->is_string()) {
    return WrongType(iu_param, "an object", *iu);
  }
  P402_ASSIGN_OR_RETURN(std::string_view u, ReadString(*url, url_param));
  if (!IsImageUrl(u)) {
    return BadValue(url_param, "expected an https:// URL or a data: URL.");
  }
  part.set_image_url(std::string(u));
  return absl::OkStatus();
}

absl::Status DecodePart(const json::Value& v, std::string_view param, std::string_view role,
                        v1::ContentPart& part) {
  if (!v.is_object()) {
    return WrongType(param, "an object", v);
  }
  P402_ASSIGN_OR_RETURN(const json::Value* type_v, RequireMember(v, param, "type", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view type,
                        ReadNonEmptyString(*type_v, Field(param, "type"), 64));
  part.set_type(std::string(type));
  if (type == "text") {
    P402_ASSIGN_OR_RETURN(const json::Value* text, RequireMember(v, param, "text", "a string"));
    P402_ASSIGN_OR_RETURN(std::string_view t, ReadString(*text, Field(param, "text")));
    part.set_text(std::string(t));
    return absl::OkStatus();
  }
  if (type == "image_url") {
    if (role != "user") {
      return BadValue(Field(param, "type"),
                      Cat({"image content parts are only allowed in messages with role 'user', "
                           "but this message has role '",
                           role, "'."}));
    }
    return DecodeImagePart(v, param, part);
  }
  // input_audio, file, refusal, and types OpenAI adds later: forwarded verbatim.
  part.set_raw_json(v.Serialize());
  return absl::OkStatus();
}

absl::Status DecodeContent(const json::Value& c, std::string_view param, std::string_view role,
                           v1::ChatMessage& m) {
  if (c.is_string()) {
    m.set_content(c.AsString());
    return absl::OkStatus();
  }
  if (!c.is_array()) {
    return WrongType(param, "a string or an array of content parts", c);
  }
  const json::Array& parts = c.AsArray();
  if (parts.empty()) {
    return EmptyArray(param);
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    P402_RETURN_IF_ERROR(DecodePart(parts[i], Index(param, i), role, *m.add_parts()));
  }
  return absl::OkStatus();
}

absl::Status DecodeToolCall(const json::Value& v, std::string_view param, int32_t index,
                            v1::ToolCall& call) {
  if (!v.is_object()) {
    return WrongType(param, "an object", v);
  }
  P402_ASSIGN_OR_RETURN(const json::Value* id, RequireMember(v, param, "id", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view id_s,
                        ReadNonEmptyString(*id, Field(param, "id"), kMaxIdLength));
  P402_ASSIGN_OR_RETURN(const json::Value* type, RequireMember(v, param, "type", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view type_s, ReadString(*type, Field(param, "type")));
  if (type_s != "function") {
    return NotOneOf(Field(param, "type"), type_s, {"function"});
  }
  P402_ASSIGN_OR_RETURN(const json::Value* fn, RequireMember(v, param, "function", "an object"));
  std::string fn_param = Field(param, "function");
  if (!fn->is_object()) {
    return WrongType(fn_param, "an object", *fn);
  }
  P402_ASSIGN_OR_RETURN(const json::Value* name, RequireMember(*fn, fn_param, "name", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view name_s,
                        ReadNonEmptyString(*name, Field(fn_param, "name"), kMaxNameLength));
  P402_ASSIGN_OR_RETURN(const json::Value* args,
                        RequireMember(*fn, fn_param, "arguments", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view args_s, ReadString(*args, Field(fn_param, "arguments")));
  call.set_id(std::string(id_s));
  call.set_type("function");
  call.set_name(std::string(name_s));
  call.set_arguments(std::string(args_s));
  call.set_index(index);
  return absl::OkStatus();
}

absl::Status DecodeMessage(const json::Value& v, std::string_view param, v1::ChatMessage& m) {
  if (!v.is_object()) {
    return WrongType(param, "an object", v);
  }
  P402_ASSIGN_OR_RETURN(const json::Value* role_v, RequireMember(v, param, "role", "a string"));
  std::string role_param = Field(param, "role");
  P402_ASSIGN_OR_RETURN(std::string_view role, ReadString(*role_v, role_param));
  if (role != "system" && role != "developer" && role != "user" && role != "assistant" &&
      role != "tool") {
    return NotOneOf(role_param, role, {"system", "developer", "user", "assistant", "tool"});
  }
  m.set_role(std::string(role));
  const bool assistant = role == "assistant";

  if (const json::Value* name = GetNonNull(v, "name")) {
    P402_ASSIGN_OR_RETURN(std::string_view n,
                          ReadNonEmptyString(*name, Field(param, "name"), kMaxNameLength));
    m.set_name(std::string(n));
  }
  if (const json::Value* calls = GetNonNull(v, "tool_calls")) {
    std::string calls_param = Field(param, "tool_calls");
    P402_ASSIGN_OR_RETURN(const json::Array* arr, ReadArray(*calls, calls_param));
    // Some SDKs serialise an empty list on every message; only real calls need an assistant.
    if (!assistant && !arr->empty()) {
      return BadValue(calls_param, Cat({"tool calls are only allowed in messages with role "
                                        "'assistant', but this message has role '",
                                        role, "'."}));
    }
    for (size_t i = 0; i < arr->size(); ++i) {
      P402_RETURN_IF_ERROR(DecodeToolCall((*arr)[i], Index(calls_param, i), static_cast<int32_t>(i),
                                          *m.add_tool_calls()));
    }
  }
  if (assistant) {
    if (const json::Value* refusal = GetNonNull(v, "refusal")) {
      P402_ASSIGN_OR_RETURN(std::string_view r, ReadString(*refusal, Field(param, "refusal")));
      m.set_refusal(std::string(r));
    }
  }
  if (role == "tool") {
    P402_ASSIGN_OR_RETURN(const json::Value* id,
                          RequireMember(v, param, "tool_call_id", "a string"));
    P402_ASSIGN_OR_RETURN(std::string_view id_s,
                          ReadNonEmptyString(*id, Field(param, "tool_call_id"), kMaxIdLength));
    m.set_tool_call_id(std::string(id_s));
  }

  std::string content_param = Field(param, "content");
  const json::Value* content = v.Find("content");
  if (content == nullptr || content->is_null()) {
    if (assistant && (m.tool_calls_size() > 0 || !m.refusal().empty())) {
      m.set_content_is_null(true);
      return absl::OkStatus();
    }
    if (content == nullptr) {
      return Missing(content_param);
    }
    return WrongType(content_param, "a string or an array of content parts", *content);
  }
  return DecodeContent(*content, content_param, role, m);
}

}  // namespace

absl::Status DecodeMessages(const json::Value& v, v1::ChatRequest& chat) {
  P402_ASSIGN_OR_RETURN(const json::Array* arr, ReadArray(v, "messages"));
  if (arr->empty()) {
    return EmptyArray("messages");
  }
  chat.mutable_messages()->Reserve(static_cast<int>(arr->size()));
  for (size_t i = 0; i < arr->size(); ++i) {
    P402_RETURN_IF_ERROR(DecodeMessage((*arr)[i], Index("messages", i), *chat.add_messages()));
  }
  return absl::OkStatus();
}

}  // namespace p402::openai::internal
