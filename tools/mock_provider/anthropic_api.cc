#include "tools/mock_provider/anthropic_api.h"

#include "libs/common/status_util.h"
#include "libs/http/sse.h"
#include "tools/mock_provider/synth.h"

namespace p402::mock_provider {
namespace {

// Bytes of a content value that count as text: a string, or the blocks' text, tool_result
// content (string or text blocks) and tool_use input (compact JSON).
size_t ContentBytes(const json::Value& content, std::string* text_out) {
  size_t bytes = 0;
  auto add = [&](std::string_view s) {
    bytes += s.size();
    if (text_out != nullptr) text_out->append(s);
  };
  if (content.is_string()) {
    add(content.AsString());
    return bytes;
  }
  if (!content.is_array()) {
    return 0;
  }
  for (const json::Value& block : content.AsArray()) {
    std::string_view type = block.GetString("type").value_or("");
    if (auto t = block.GetString("text")) {
      add(*t);
    } else if (type == "tool_result") {
      if (const json::Value* inner = block.Find("content")) {
        bytes += ContentBytes(*inner, text_out);
      }
    } else if (type == "tool_use") {
      if (const json::Value* input = block.Find("input")) {
        bytes += input->Serialize().size();
      }
    }
  }
  return bytes;
}

const char* StopReason(const ChatPlan& p) {
  return p.tool_call ? "tool_use" : (p.truncated ? "max_tokens" : "end_turn");
}

void WriteUsage(json::Writer& w, const ChatPlan& p, int64_t output_tokens) {
  w.BeginObject();
  w.Key("input_tokens");
  w.Int(p.prompt_tokens - p.cached_tokens);
  w.Key("cache_creation_input_tokens");
  w.Int(0);
  w.Key("cache_read_input_tokens");
  w.Int(p.cached_tokens);
  w.Key("output_tokens");
  w.Int(output_tokens);
  w.EndObject();
}

// The message object; `complete` false gives the message_start shape (empty content, no stop).
void WriteMessage(json::Writer& w, const ChatPlan& p, bool complete) {
  w.BeginObject();
  w.Key("id");
  w.String(p.id);
  w.Key("type");
  w.String("message");
  w.Key("role");
  w.String("assistant");
  w.Key("model");
  w.String(p.model);
  w.Key("content");
  w.BeginArray();
  if (complete) {
    w.BeginObject();
    if (p.tool_call) {
      w.Key("type");
      w.String("tool_use");
      w.Key("id");
      w.String(p.tool_call->id);
      w.Key("name");
      w.String(p.tool_call->name);
      w.Key("input");
      w.Raw(p.tool_call->arguments);
    } else {
      w.Key("type");
      w.String("text");
      w.Key("text");
      w.String(p.text);
    }
    w.EndObject();
  }
  w.EndArray();
  w.Key("stop_reason");
  if (complete) {
    w.String(StopReason(p));
  } else {
    w.Null();
  }
  w.Key("stop_sequence");
  w.Null();
  w.Key("usage");
  WriteUsage(w, p, complete ? p.completion_tokens : 1);
  w.EndObject();
}

StreamItem Event(std::string_view name, std::string json, bool content = false) {
  return {http::FormatSseEvent(json, name), content};
}

}  // namespace

absl::StatusOr<ChatInput> ParseAnthropicMessages(const json::Value& body) {
  if (!body.is_object()) {
    return InvalidArgument("request body must be a JSON object");
  }
  ChatInput in;
  auto model = body.GetString("model");
  if (!model || model->empty()) {
    return InvalidArgument("model: Field required");
  }
  in.model = std::string(*model);
  const json::Value* max_tokens = body.Find("max_tokens");
  if (max_tokens == nullptr) {
    return InvalidArgument("max_tokens: Field required");
  }
  if (!max_tokens->is_integer() || max_tokens->AsInt() < 1) {
    return InvalidArgument("max_tokens: must be a positive integer");
  }
  in.max_tokens = max_tokens->AsInt();
  const json::Value* messages = body.Find("messages");
  if (messages == nullptr || !messages->is_array() || messages->AsArray().empty()) {
    return InvalidArgument("messages: must be a non-empty list");
  }
  if (const json::Value* system = body.Find("system"); system != nullptr) {
    size_t bytes = ContentBytes(*system, nullptr);
    if (bytes > 0) {
      in.prompt_tokens += kTokensPerMessage + static_cast<int64_t>((bytes + 3) / 4);
    }
  }
  for (const json::Value& msg : messages->AsArray()) {
    auto role = msg.GetString("role");
    const json::Value* content = msg.Find("content");
    if (!role || (*role != "user" && *role != "assistant") || content == nullptr) {
      return InvalidArgument("messages: each message needs role user|assistant and content");
    }
    std::string text;
    size_t bytes = ContentBytes(*content, *role == "user" ? &text : nullptr);
    in.prompt_tokens += kTokensPerMessage + static_cast<int64_t>((bytes + 3) / 4);
    if (*role == "user") {
      in.last_user_text = std::move(text);
    }
  }
  in.stream = body.GetBool("stream").value_or(false);
  if (const json::Value* tools = body.Find("tools"); tools != nullptr && !tools->is_null()) {
    if (!tools->is_array()) {
      return InvalidArgument("tools: must be a list");
    }
    for (const json::Value& t : tools->AsArray()) {
      auto name = t.GetString("name");
      if (!name || name->empty()) {
        return InvalidArgument("tools: each tool needs a name");
      }
      const json::Value* schema = t.Find("input_schema");
      in.tools.push_back({std::string(*name), schema != nullptr ? *schema : json::Value()});
      in.prompt_tokens += kTokensPerTool;
    }
  }
  if (const json::Value* choice = body.Find("tool_choice"); choice && choice->is_object()) {
    std::string_view type = choice->GetString("type").value_or("auto");
    in.tools_disabled = type == "none";
    if (type == "tool") {
      if (auto name = choice->GetString("name")) in.forced_tool = std::string(*name);
    }
  }
  return in;
}

std::string RenderAnthropicMessage(const ChatPlan& p) {
  json::Writer w;
  WriteMessage(w, p, true);
  return w.Take();
}

std::vector<StreamItem> RenderAnthropicStream(const ChatPlan& p) {
  std::vector<StreamItem> out;
  out.reserve(p.pieces.size() + 6);
  {
    json::Writer w;
    w.BeginObject();
    w.Key("type");
    w.String("message_start");
    w.Key("message");
    WriteMessage(w, p, false);
    w.EndObject();
    out.push_back(Event("message_start", w.Take()));
  }
  {
    json::Writer w;
    w.BeginObject();
    w.Key("type");
    w.String("content_block_start");
    w.Key("index");
    w.Int(0);
    w.Key("content_block");
    w.BeginObject();
    if (p.tool_call) {
      w.Key("type");
      w.String("tool_use");
      w.Key("id");
      w.String(p.tool_call->id);
      w.Key("name");
      w.String(p.tool_call->name);
      w.Key("input");
      w.BeginObject();
      w.EndObject();
    } else {
      w.Key("type");
      w.String("text");
      w.Key("text");
      w.String("");
    }
    w.EndObject();
    w.EndObject();
    out.push_back(Event("content_block_start", w.Take()));
  }
  out.push_back(Event("ping", R"({"type":"ping"})"));
  for (const std::string& piece : p.pieces) {
    json::Writer w;
    w.BeginObject();
    w.Key("type");
    w.String("content_block_delta");
    w.Key("index");
    w.Int(0);
    w.Key("delta");
    w.BeginObject();
    w.Key("type");
    if (p.tool_call) {
      w.String("input_json_delta");
      w.Key("partial_json");
    } else {
      w.String("text_delta");
      w.Key("text");
    }
    w.String(piece);
    w.EndObject();
    w.EndObject();
    out.push_back(Event("content_block_delta", w.Take(), true));
  }
  out.push_back(Event("content_block_stop", R"({"type":"content_block_stop","index":0})"));
  {
    json::Writer w;
    w.BeginObject();
    w.Key("type");
    w.String("message_delta");
    w.Key("delta");
    w.BeginObject();
    w.Key("stop_reason");
    w.String(StopReason(p));
    w.Key("stop_sequence");
    w.Null();
    w.EndObject();
    w.Key("usage");
    w.BeginObject();
    w.Key("output_tokens");
    w.Int(p.completion_tokens);
    w.EndObject();
    w.EndObject();
    out.push_back(Event("message_delta", w.Take()));
  }
  out.push_back(Event("message_stop", R"({"type":"message_stop"})"));
  return out;
}

http::Response AnthropicError(int status, std::string_view message,
                              std::optional<int> retry_after) {
  std::string_view type = "api_error";
  switch (status) {
    case 400: type = "invalid_request_error"; break;
    case 401: type = "authentication_error"; break;
    case 402: type = "billing_error"; break;
    case 403: type = "permission_error"; break;
    case 404: type = "not_found_error"; break;
    case 413: type = "request_too_large"; break;
    case 429: type = "rate_limit_error"; break;
    case 504: type = "timeout_error"; break;
    case 529: type = "overloaded_error"; break;
    default:
      if (status < 500) type = "invalid_request_error";
  }
  json::Writer w;
  w.BeginObject();
  w.Key("type");
  w.String("error");
  w.Key("error");
  w.BeginObject();
  w.Key("type");
  w.String(type);
  w.Key("message");
  w.String(message);
  w.EndObject();
  w.EndObject();
  http::Response r = http::Response::Json(status, w.Take());
  if (status == 429 || retry_after) {
    int secs = retry_after.value_or(1);
    r.headers.Add("Retry-After", std::to_string(secs));
    if (status == 429) {
      r.headers.Add("anthropic-ratelimit-requests-limit", "50");
      r.headers.Add("anthropic-ratelimit-requests-remaining", "0");
    }
  }
  return r;
}

std::string RenderAnthropicModels(const std::vector<std::string>& models) {
  json::Writer w;
  w.BeginObject();
  w.Key("data");
  w.BeginArray();
  for (const std::string& m : models) {
    w.BeginObject();
    w.Key("type");
    w.String("model");
    w.Key("id");
    w.String(m);
    w.Key("display_name");
    w.String(m);
    w.Key("created_at");
    w.String("2024-01-01T00:00:00Z");
    w.EndObject();
  }
  w.EndArray();
  w.Key("has_more");
  w.Bool(false);
  w.Key("first_id");
  if (models.empty()) {
    w.Null();
  } else {
    w.String(models.front());
  }
  w.Key("last_id");
  if (models.empty()) {
    w.Null();
  } else {
    w.String(models.back());
  }
  w.EndObject();
  return w.Take();
}

}  // namespace p402::mock_provider
