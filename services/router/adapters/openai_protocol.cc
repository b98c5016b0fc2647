#include "services/router/adapters/openai_protocol.h"

#include <string>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/router/core/cost.h"

namespace p402::router {
namespace {

using protocol_internal::IntOr0;
using protocol_internal::InvalidResponse;
using protocol_internal::ParseEmbedded;

absl::StatusOr<json::Value> PartToJson(const v1::ContentPart& part, const std::string& where) {
  json::Value out = json::Value::EmptyObject();
  if (part.type() == "text") {
    out.Set("type", "text");
    out.Set("text", part.text());
  } else if (part.type() == "image_url") {
    out.Set("type", "image_url");
    json::Value& image = out.Set("image_url", json::Value::EmptyObject());
    image.Set("url", part.image_url());
    if (!part.image_detail().empty()) image.Set("detail", part.image_detail());
  } else if (!part.raw_json().empty()) {
    return ParseEmbedded(part.raw_json(), where + ".raw_json");
  } else {
    out.Set("type", part.type());
  }
  return out;
}

absl::StatusOr<json::Value> MessageToJson(const v1::ChatMessage& m, const std::string& where) {
  json::Value msg = json::Value::EmptyObject();
  msg.Set("role", m.role());
  if (m.parts_size() > 0) {
    json::Value& parts = msg.Set("content", json::Value::EmptyArray());
    for (int i = 0; i < m.parts_size(); ++i) {
      P402_ASSIGN_OR_RETURN(json::Value part,
                            PartToJson(m.parts(i), where + ".content[" + std::to_string(i) + "]"));
      parts.Push(std::move(part));
    }
  } else if (m.content_is_null()) {
    msg.Set("content", nullptr);
  } else {
    msg.Set("content", m.content());
  }
  if (!m.name().empty()) msg.Set("name", m.name());
  if (m.tool_calls_size() > 0) {
    json::Value& calls = msg.Set("tool_calls", json::Value::EmptyArray());
    for (const v1::ToolCall& tc : m.tool_calls()) {
      json::Value& call = calls.Push(json::Value::EmptyObject());
      call.Set("id", tc.id());
      call.Set("type", tc.type().empty() ? std::string("function") : tc.type());
      json::Value& fn = call.Set("function", json::Value::EmptyObject());
      fn.Set("name", tc.name());
      fn.Set("arguments", tc.arguments());
    }
  }
  if (!m.tool_call_id().empty()) msg.Set("tool_call_id", m.tool_call_id());
  if (!m.refusal().empty()) msg.Set("refusal", m.refusal());
  return msg;
}

// Text of an OpenAI message `content`: a string, null, or an array of parts (text parts joined).
std::string ContentText(const json::Value* content) {
  if (content == nullptr) return "";
  if (content->is_string()) return content->AsString();
  std::string text;
  if (content->is_array()) {
    for (const json::Value& part : content->AsArray()) {
      auto type = part.GetString("type");
      auto t = part.GetString("text");
      if (t && (!type || *type == "text")) text.append(*t);
    }
  }
  return text;
}

}  // namespace

absl::StatusOr<json::Value> OpenAiRequestBody(const v1::ChatRequest& chat, const ModelEntry& model,
                                              const ProviderInfo& provider) {
  json::Value body = json::Value::EmptyObject();
  body.Set("model", model.id);
  json::Value& messages = body.Set("messages", json::Value::EmptyArray());
  for (int i = 0; i < chat.messages_size(); ++i) {
    P402_ASSIGN_OR_RETURN(json::Value msg,
                          MessageToJson(chat.messages(i), "messages[" + std::to_string(i) + "]"));
    messages.Push(std::move(msg));
  }
  if (chat.tools_size() > 0) {
    json::Value& tools = body.Set("tools", json::Value::EmptyArray());
    for (int i = 0; i < chat.tools_size(); ++i) {
      const v1::Tool& t = chat.tools(i);
      json::Value& tool = tools.Push(json::Value::EmptyObject());
      tool.Set("type", t.type().empty() ? std::string("function") : t.type());
      json::Value& fn = tool.Set("function", json::Value::EmptyObject());
      fn.Set("name", t.name());
      if (!t.description().empty()) fn.Set("description", t.description());
      if (!t.parameters_json().empty()) {
        P402_ASSIGN_OR_RETURN(
            json::Value params,
            ParseEmbedded(t.parameters_json(), "tools[" + std::to_string(i) + "].parameters"));
        fn.Set("parameters", std::move(params));
      }
      if (t.strict()) fn.Set("strict", true);
    }
  }
  if (!chat.tool_choice_json().empty()) {
    P402_ASSIGN_OR_RETURN(json::Value choice,
                          ParseEmbedded(chat.tool_choice_json(), "tool_choice"));
    body.Set("tool_choice", std::move(choice));
  }
  bool reasoning_style = !model.supports_temperature;
  if (chat.has_max_tokens()) {
    bool completion_name =
        chat.uses_max_completion_tokens() || (reasoning_style && provider.id == "openai");
    body.Set(completion_name ? "max_completion_tokens" : "max_tokens", chat.max_tokens());
  }
  if (chat.has_temperature() && !reasoning_style) body.Set("temperature", chat.temperature());
  if (chat.has_top_p() && !reasoning_style) body.Set("top_p", chat.top_p());
  if (chat.stop_size() > 0) {
    json::Value& stop = body.Set("stop", json::Value::EmptyArray());
    for (const std::string& s : chat.stop()) stop.Push(s);
  }
  if (chat.stream()) {
    body.Set("stream", true);
    body.Set("stream_options", json::Value::EmptyObject()).Set("include_usage", true);
  }
  if (!chat.response_format_json().empty()) {
    P402_ASSIGN_OR_RETURN(json::Value format,
                          ParseEmbedded(chat.response_format_json(), "response_format"));
    body.Set("response_format", std::move(format));
  }
  if (!chat.user().empty()) body.Set("user", chat.user());
  if (!chat.extra_json().empty()) {
    P402_ASSIGN_OR_RETURN(json::Value extra, ParseEmbedded(chat.extra_json(), "extra_json"));
    if (!extra.is_object()) return InvalidArgument("extra_json must be a JSON object");
    for (const auto& [key, value] : extra.AsObject()) {
      // Modelled fields win; temperature/top_p stay off reasoning-style models.
      bool dropped = reasoning_style && (key == "temperature" || key == "top_p");
      if (body.Find(key) == nullptr && !dropped && key != "stream" && key != "stream_options") {
        body.Append(key, value);
      }
    }
  }
  return body;
}

absl::StatusOr<ProviderHttpRequest> BuildOpenAiRequest(const v1::ChatRequest& chat,
                                                       const ModelEntry& model,
                                                       const ProviderInfo& provider,
                                                       std::string_view api_key) {
  P402_ASSIGN_OR_RETURN(json::Value body, OpenAiRequestBody(chat, model, provider));
  ProviderHttpRequest req;
  req.path = "/chat/completions";
  req.url = provider.base_url + req.path;
  req.stream = chat.stream();
  req.headers.emplace_back("content-type", "application/json");
  req.headers.emplace_back("accept", chat.stream() ? "text/event-stream" : "application/json");
  P402_RETURN_IF_ERROR(protocol_internal::AddAuth(provider, api_key, req));
  for (const auto& [name, value] : provider.default_headers) {
    req.headers.emplace_back(name, value);
  }
  req.body = body.Serialize();
  return req;
}

v1::TokenUsage ParseOpenAiUsage(const json::Value& usage) {
  ProviderUsage raw;
  raw.input_tokens = IntOr0(&usage, "prompt_tokens");
  raw.output_tokens = IntOr0(&usage, "completion_tokens");
  raw.cache_read_tokens = IntOr0(usage.Find("prompt_tokens_details"), "cached_tokens");
  if (raw.cache_read_tokens == 0) raw.cache_read_tokens = IntOr0(&usage, "prompt_cache_hit_tokens");
  raw.reasoning_tokens = IntOr0(usage.Find("completion_tokens_details"), "reasoning_tokens");
  return NormalizeUsage(raw, CacheRule::kCachedInsideInput);
}

void AppendOpenAiToolCalls(const json::Value& tool_calls,
                           google::protobuf::RepeatedPtrField<v1::ToolCall>& out) {
  if (!tool_calls.is_array()) return;
  int position = 0;
  for (const json::Value& c : tool_calls.AsArray()) {
    if (!c.is_object()) continue;
    v1::ToolCall* tc = out.Add();
    tc->set_id(std::string(c.GetString("id").value_or("")));
    tc->set_type(std::string(c.GetString("type").value_or("")));
    const json::Value* index = c.Find("index");
    std::optional<int64_t> i = index ? protocol_internal::SafeInt(*index) : std::nullopt;
    tc->set_index(i && *i < (1 << 20) ? static_cast<int32_t>(*i) : position);
    if (const json::Value* fn = c.Find("function"); fn != nullptr && fn->is_object()) {
      tc->set_name(std::string(fn->GetString("name").value_or("")));
      tc->set_arguments(std::string(fn->GetString("arguments").value_or("")));
    }
    ++position;
  }
}

absl::StatusOr<ParsedCompletion> ParseOpenAiResponse(std::string_view body) {
  absl::StatusOr<json::Value> root = json::Value::Parse(body);
  if (!root.ok()) return InvalidResponse("body is not JSON");
  if (!root->is_object()) return InvalidResponse("body is not a JSON object");
  if (const json::Value* err = root->Find("error"); err != nullptr && !err->is_null()) {
    return InvalidResponse("error object in a success response");
  }
  const json::Value* choices = root->Find("choices");
  if (choices == nullptr || !choices->is_array()) return InvalidResponse("no choices array");
  ParsedCompletion parsed;
  v1::ChatCompletion& c = parsed.completion;
  c.set_id(std::string(root->GetString("id").value_or("")));
  c.set_created(IntOr0(&*root, "created"));
  c.set_model(std::string(root->GetString("model").value_or("")));
  c.set_system_fingerprint(std::string(root->GetString("system_fingerprint").value_or("")));
  int position = 0;
  for (const json::Value& ch : choices->AsArray()) {
    if (!ch.is_object()) return InvalidResponse("choice is not an object");
    v1::ChatChoice* choice = c.add_choices();
    const json::Value* index = ch.Find("index");
    std::optional<int64_t> i = index ? protocol_internal::SafeInt(*index) : std::nullopt;
    choice->set_index(i && *i < (1 << 20) ? static_cast<int32_t>(*i) : position);
    choice->set_finish_reason(std::string(ch.GetString("finish_reason").value_or("")));
    v1::ChatMessage* msg = choice->mutable_message();
    msg->set_role("assistant");
    if (const json::Value* m = ch.Find("message"); m != nullptr && m->is_object()) {
      if (auto role = m->GetString("role")) msg->set_role(std::string(*role));
      const json::Value* content = m->Find("content");
      msg->set_content(ContentText(content));
      msg->set_content_is_null(content == nullptr || content->is_null());
      if (auto refusal = m->GetString("refusal")) msg->set_refusal(std::string(*refusal));
      if (const json::Value* calls = m->Find("tool_calls"); calls != nullptr) {
        AppendOpenAiToolCalls(*calls, *msg->mutable_tool_calls());
      }
    }
    ++position;
  }
  if (const json::Value* usage = root->Find("usage"); usage != nullptr && usage->is_object()) {
    *c.mutable_usage() = ParseOpenAiUsage(*usage);
    parsed.usage_reported = true;
  }
  return parsed;
}

}  // namespace p402::router
