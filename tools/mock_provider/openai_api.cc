#include "tools/mock_provider/openai_api.h"

#include "libs/common/status_util.h"
#include "libs/http/sse.h"
#include "tools/mock_provider/synth.h"

namespace p402::mock_provider {
namespace {

// Bytes of a message that count as its text: the content string or the `text` of its parts,
// plus tool-call arguments.
size_t MessageTextBytes(const json::Value& msg, std::string* text_out) {
  size_t bytes = 0;
  auto add = [&](std::string_view s) {
    bytes += s.size();
    if (text_out != nullptr) text_out->append(s);
  };
  if (const json::Value* content = msg.Find("content")) {
    if (content->is_string()) {
      add(content->AsString());
    } else if (content->is_array()) {
      for (const json::Value& part : content->AsArray()) {
        if (auto t = part.GetString("text")) add(*t);
      }
    }
  }
  if (const json::Value* calls = msg.Find("tool_calls"); calls && calls->is_array()) {
    for (const json::Value& call : calls->AsArray()) {
      if (const json::Value* fn = call.Find("function")) {
        if (auto args = fn->GetString("arguments")) bytes += args->size();
      }
    }
  }
  return bytes;
}

void WriteUsage(json::Writer& w, const ChatPlan& p) {
  w.BeginObject();
  w.Key("prompt_tokens");
  w.Int(p.prompt_tokens);
  w.Key("completion_tokens");
  w.Int(p.completion_tokens);
  w.Key("total_tokens");
  w.Int(p.prompt_tokens + p.completion_tokens);
  w.Key("prompt_tokens_details");
  w.BeginObject();
  w.Key("cached_tokens");
  w.Int(p.cached_tokens);
  w.Key("audio_tokens");
  w.Int(0);
  w.EndObject();
  w.Key("completion_tokens_details");
  w.BeginObject();
  for (const char* k : {"reasoning_tokens", "audio_tokens", "accepted_prediction_tokens",
                        "rejected_prediction_tokens"}) {
    w.Key(k);
    w.Int(0);
  }
  w.EndObject();
  w.EndObject();
}

const char* FinishReason(const ChatPlan& p) {
  return p.tool_call ? "tool_calls" : (p.truncated ? "length" : "stop");
}

void WriteChunkHead(json::Writer& w, const ChatPlan& p, std::string_view provider) {
  w.BeginObject();
  w.Key("id");
  w.String(p.id);
  w.Key("object");
  w.String("chat.completion.chunk");
  w.Key("created");
  w.Int(p.created);
  w.Key("model");
  w.String(p.model);
  w.Key("service_tier");
  w.String("default");
  w.Key("system_fingerprint");
  w.String("fp_mock_" + std::string(provider));
}

// Ends a chunk: "usage":null on every chunk but the last when include_usage is on.
std::string EndChunk(json::Writer& w, bool include_usage) {
  if (include_usage) {
    w.Key("usage");
    w.Null();
  }
  w.EndObject();
  return http::FormatSseEvent(w.Take());
}

}  // namespace

absl::StatusOr<ChatInput> ParseOpenAiChat(const json::Value& body) {
  if (!body.is_object()) {
    return InvalidArgument("request body must be a JSON object");
  }
  ChatInput in;
  auto model = body.GetString("model");
  if (!model || model->empty()) {
    return InvalidArgument("you must provide a model parameter");
  }
  in.model = std::string(*model);
  const json::Value* messages = body.Find("messages");
  if (messages == nullptr || !messages->is_array() || messages->AsArray().empty()) {
    return InvalidArgument("'messages' must be a non-empty array");
  }
  for (const json::Value& msg : messages->AsArray()) {
    auto role = msg.GetString("role");
    if (!msg.is_object() || !role) {
      return InvalidArgument("each message must be an object with a 'role'");
    }
    std::string text;
    size_t bytes = MessageTextBytes(msg, *role == "user" ? &text : nullptr);
    in.prompt_tokens += kTokensPerMessage + static_cast<int64_t>((bytes + 3) / 4);
    if (*role == "user") {
      in.last_user_text = std::move(text);
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (const json::Value* v = body.Find(key); v != nullptr && !v->is_null()) {
      if (!v->is_integer() || v->AsInt() < 1) {
        return InvalidArgument(std::string(key) + " must be a positive integer");
      }
      in.max_tokens = v->AsInt();  // max_completion_tokens (later) wins
    }
  }
  in.stream = body.GetBool("stream").value_or(false);
  if (const json::Value* so = body.Find("stream_options"); so != nullptr && so->is_object()) {
    in.include_usage = so->GetBool("include_usage").value_or(false);
  }
  if (const json::Value* tools = body.Find("tools"); tools != nullptr && !tools->is_null()) {
    if (!tools->is_array()) {
      return InvalidArgument("'tools' must be an array");
    }
    for (const json::Value& t : tools->AsArray()) {
      const json::Value* fn = t.Find("function");
      auto name = fn != nullptr ? fn->GetString("name") : std::nullopt;
      if (!name || name->empty()) {
        return InvalidArgument("each tool must have function.name");
      }
      const json::Value* params = fn->Find("parameters");
      in.tools.push_back({std::string(*name), params != nullptr ? *params : json::Value()});
      in.prompt_tokens += kTokensPerTool;
    }
  }
  if (const json::Value* choice = body.Find("tool_choice"); choice != nullptr) {
    if (choice->is_string()) {
      in.tools_disabled = choice->AsString() == "none";
    } else if (choice->is_object()) {
      const json::Value* fn = choice->Find("function");
      if (auto name = fn != nullptr ? fn->GetString("name") : std::nullopt) {
        in.forced_tool = std::string(*name);
      }
    }
  }
  return in;
}

std::string RenderOpenAiCompletion(const ChatPlan& p, std::string_view provider) {
  json::Writer w;
  w.BeginObject();
  w.Key("id");
  w.String(p.id);
  w.Key("object");
  w.String("chat.completion");
  w.Key("created");
  w.Int(p.created);
  w.Key("model");
  w.String(p.model);
  w.Key("choices");
  w.BeginArray();
  w.BeginObject();
  w.Key("index");
  w.Int(0);
  w.Key("message");
  w.BeginObject();
  w.Key("role");
  w.String("assistant");
  w.Key("content");
  if (p.tool_call) {
    w.Null();
    w.Key("tool_calls");
    w.BeginArray();
    w.BeginObject();
    w.Key("id");
    w.String(p.tool_call->id);
    w.Key("type");
    w.String("function");
    w.Key("function");
    w.BeginObject();
    w.Key("name");
    w.String(p.tool_call->name);
    w.Key("arguments");
    w.String(p.tool_call->arguments);
    w.EndObject();
    w.EndObject();
    w.EndArray();
  } else {
    w.String(p.text);
  }
  w.Key("refusal");
  w.Null();
  w.Key("annotations");
  w.BeginArray();
  w.EndArray();
  w.EndObject();
  w.Key("logprobs");
  w.Null();
  w.Key("finish_reason");
  w.String(FinishReason(p));
  w.EndObject();
  w.EndArray();
  w.Key("usage");
  WriteUsage(w, p);
  w.Key("service_tier");
  w.String("default");
  w.Key("system_fingerprint");
  w.String("fp_mock_" + std::string(provider));
  w.EndObject();
  return w.Take();
}

std::vector<StreamItem> RenderOpenAiStream(const ChatPlan& p, bool include_usage,
                                           std::string_view provider) {
  std::vector<StreamItem> out;
  out.reserve(p.pieces.size() + 4);
  auto choice_begin = [](json::Writer& w) {
    w.Key("choices");
    w.BeginArray();
    w.BeginObject();
    w.Key("index");
    w.Int(0);
    w.Key("delta");
    w.BeginObject();
  };
  auto choice_end = [](json::Writer& w, const char* finish) {
    w.EndObject();  // delta
    w.Key("logprobs");
    w.Null();
    w.Key("finish_reason");
    if (finish != nullptr) {
      w.String(finish);
    } else {
      w.Null();
    }
    w.EndObject();
    w.EndArray();
  };
  {  // First chunk: the role (and, for tool calls, the call's id and name).
    json::Writer w;
    WriteChunkHead(w, p, provider);
    choice_begin(w);
    w.Key("role");
    w.String("assistant");
    if (p.tool_call) {
      w.Key("content");
      w.Null();
      w.Key("tool_calls");
      w.BeginArray();
      w.BeginObject();
      w.Key("index");
      w.Int(0);
      w.Key("id");
      w.String(p.tool_call->id);
      w.Key("type");
      w.String("function");
      w.Key("function");
      w.BeginObject();
      w.Key("name");
      w.String(p.tool_call->name);
      w.Key("arguments");
      w.String("");
      w.EndObject();
      w.EndObject();
      w.EndArray();
    } else {
      w.Key("content");
      w.String("");
    }
    w.Key("refusal");
    w.Null();
    choice_end(w, nullptr);
    out.push_back({EndChunk(w, include_usage), false});
  }
  for (const std::string& piece : p.pieces) {
    json::Writer w;
    WriteChunkHead(w, p, provider);
    choice_begin(w);
    if (p.tool_call) {
      w.Key("tool_calls");
      w.BeginArray();
      w.BeginObject();
      w.Key("index");
      w.Int(0);
      w.Key("function");
      w.BeginObject();
      w.Key("arguments");
      w.String(piece);
      w.EndObject();
      w.EndObject();
      w.EndArray();
    } else {
      w.Key("content");
      w.String(piece);
    }
    choice_end(w, nullptr);
    out.push_back({EndChunk(w, include_usage), true});
  }
  {
    json::Writer w;
    WriteChunkHead(w, p, provider);
    choice_begin(w);
    choice_end(w, FinishReason(p));
    out.push_back({EndChunk(w, include_usage), false});
  }
  if (include_usage) {
    json::Writer w;
    WriteChunkHead(w, p, provider);
    w.Key("choices");
    w.BeginArray();
    w.EndArray();
    w.Key("usage");
    WriteUsage(w, p);
    w.EndObject();
    out.push_back({http::FormatSseEvent(w.Take()), false});
  }
  out.push_back({http::FormatSseEvent("[DONE]"), false});
  return out;
}

http::Response OpenAiError(int status, std::string_view message,
                           std::optional<int> retry_after) {
  std::string_view type = "invalid_request_error";
  std::string_view code;
  switch (status) {
    case 401: code = "invalid_api_key"; break;
    case 403: code = "unsupported_country_region_territory"; break;
    case 404: code = "model_not_found"; break;
    case 429: type = "requests"; code = "rate_limit_exceeded"; break;
    default:
      if (status >= 500) type = "server_error";
  }
  http::Response r = http::Response::Json(status, http::OpenAiErrorBody(message, type, code));
  if (status == 429 || retry_after) {
    int secs = retry_after.value_or(1);
    r.headers.Add("Retry-After", std::to_string(secs));
    if (status == 429) {
      r.headers.Add("x-ratelimit-limit-requests", "60");
      r.headers.Add("x-ratelimit-remaining-requests", "0");
      r.headers.Add("x-ratelimit-reset-requests", std::to_string(secs) + "s");
      r.headers.Add("x-ratelimit-limit-tokens", "150000");
      r.headers.Add("x-ratelimit-remaining-tokens", "0");
      r.headers.Add("x-ratelimit-reset-tokens", std::to_string(secs) + "s");
    }
  }
  return r;
}

std::string RenderOpenAiModels(const std::vector<std::string>& models, std::string_view owner) {
  json::Writer w;
  w.BeginObject();
  w.Key("object");
  w.String("list");
  w.Key("data");
  w.BeginArray();
  for (const std::string& m : models) {
    w.BeginObject();
    w.Key("id");
    w.String(m);
    w.Key("object");
    w.String("model");
    w.Key("created");
    w.Int(1700000000);
    w.Key("owned_by");
    w.String(owner);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace p402::mock_provider
