// The `tools`, `tool_choice` and `response_format` parts of DecodeChatRequest (declared in
// message_decode.h).
#include "libs/common/status_macros.h"
#include "libs/openai/chat_request.h"
#include "libs/openai/decode_util.h"
#include "libs/openai/error_param.h"
#include "libs/openai/message_decode.h"

namespace p402::openai::internal {
namespace {

constexpr std::string_view kFunctionNamePattern = "^[a-zA-Z0-9_-]{1,64}$";

absl::Status CheckFunctionName(const json::Value& v, std::string_view param) {
  P402_ASSIGN_OR_RETURN(std::string_view name, ReadString(v, param));
  if (name.size() > 64) {
    return InvalidRequest(Cat({"Invalid '", param,
                               "': string too long. Expected a string with maximum length 64, but "
                               "got a string with length ",
                               std::to_string(name.size()), " instead."}),
                          param, "string_above_max_length");
  }
  if (!IsIdentifier(name, /*allow_dot=*/false)) {
    return InvalidRequest(Cat({"Invalid '", param,
                               "': string does not match pattern. Expected a string that matches "
                               "the pattern '",
                               kFunctionNamePattern, "'."}),
                          param, "invalid_value");
  }
  return absl::OkStatus();
}

absl::Status DecodeTool(const json::Value& v, std::string_view param, v1::Tool& tool) {
  if (!v.is_object()) {
    return WrongType(param, "an object", v);
  }
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
  P402_RETURN_IF_ERROR(CheckFunctionName(*name, Field(fn_param, "name")));
  tool.set_type("function");
  tool.set_name(name->AsString());
  if (const json::Value* d = GetNonNull(*fn, "description")) {
    P402_ASSIGN_OR_RETURN(std::string_view desc, ReadString(*d, Field(fn_param, "description")));
    tool.set_description(std::string(desc));
  }
  if (const json::Value* p = GetNonNull(*fn, "parameters")) {
    if (!p->is_object()) {
      return WrongType(Field(fn_param, "parameters"), "an object", *p);
    }
    tool.set_parameters_json(p->Serialize());
  }
  if (const json::Value* s = GetNonNull(*fn, "strict")) {
    P402_ASSIGN_OR_RETURN(bool strict, ReadBool(*s, Field(fn_param, "strict")));
    tool.set_strict(strict);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeTools(const json::Value& v, v1::ChatRequest& chat) {
  P402_ASSIGN_OR_RETURN(const json::Array* arr, ReadArray(v, "tools"));
  if (arr->empty()) {
    return EmptyArray("tools");
  }
  if (arr->size() > kMaxTools) {
    return InvalidRequest(Cat({"Invalid 'tools': array too long. Expected an array with maximum "
                               "length ",
                               std::to_string(kMaxTools), ", but got an array with length ",
                               std::to_string(arr->size()), " instead."}),
                          "tools", "array_above_max_length");
  }
  for (size_t i = 0; i < arr->size(); ++i) {
    P402_RETURN_IF_ERROR(DecodeTool((*arr)[i], Index("tools", i), *chat.add_tools()));
  }
  return absl::OkStatus();
}

absl::Status DecodeToolChoice(const json::Value& v, v1::ChatRequest& chat) {
  constexpr std::string_view kParam = "tool_choice";
  bool none = false;
  if (v.is_string()) {
    const std::string& s = v.AsString();
    if (s != "none" && s != "auto" && s != "required") {
      return NotOneOf(kParam, s, {"none", "auto", "required"});
    }
    none = s == "none";
  } else if (v.is_object()) {
    P402_ASSIGN_OR_RETURN(const json::Value* type, RequireMember(v, kParam, "type", "a string"));
    P402_ASSIGN_OR_RETURN(std::string_view type_s, ReadString(*type, "tool_choice.type"));
    if (type_s == "function") {
      P402_ASSIGN_OR_RETURN(const json::Value* fn,
                            RequireMember(v, kParam, "function", "an object"));
      if (!fn->is_object()) {
        return WrongType("tool_choice.function", "an object", *fn);
      }
      P402_ASSIGN_OR_RETURN(const json::Value* name,
                            RequireMember(*fn, "tool_choice.function", "name", "a string"));
      P402_RETURN_IF_ERROR(CheckFunctionName(*name, "tool_choice.function.name"));
    }
    // Other object types (e.g. "allowed_tools") are forwarded for the provider to judge.
  } else {
    return WrongType(kParam, "a string or an object", v);
  }
  if (!none && chat.tools_size() == 0) {
    return BadValue(kParam, "'tool_choice' is only allowed when 'tools' are specified.");
  }
  chat.set_tool_choice_json(v.Serialize());
  return absl::OkStatus();
}

absl::Status DecodeResponseFormat(const json::Value& v, v1::ChatRequest& chat) {
  constexpr std::string_view kParam = "response_format";
  if (!v.is_object()) {
    return WrongType(kParam, "an object", v);
  }
  P402_ASSIGN_OR_RETURN(const json::Value* type, RequireMember(v, kParam, "type", "a string"));
  P402_ASSIGN_OR_RETURN(std::string_view type_s, ReadString(*type, "response_format.type"));
  if (type_s == "json_schema") {
    P402_ASSIGN_OR_RETURN(const json::Value* schema,
                          RequireMember(v, kParam, "json_schema", "an object"));
    if (!schema->is_object()) {
      return WrongType("response_format.json_schema", "an object", *schema);
    }
    P402_ASSIGN_OR_RETURN(
        const json::Value* name,
        RequireMember(*schema, "response_format.json_schema", "name", "a string"));
    P402_RETURN_IF_ERROR(CheckFunctionName(*name, "response_format.json_schema.name"));
  } else if (type_s != "text" && type_s != "json_object") {
    return NotOneOf("response_format.type", type_s, {"text", "json_object", "json_schema"});
  }
  chat.set_response_format_json(v.Serialize());
  return absl::OkStatus();
}

}  // namespace p402::openai::internal
