#include "services/router/adapters/anthropic_protocol.h"

#include <algorithm>
#include <string>
#include <vector>

#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "services/router/core/route_planner.h"

namespace p402::router {
namespace {

using protocol_internal::InvalidResponse;
using protocol_internal::ParseEmbedded;

json::Value TextBlock(std::string_view text) {
  json::Value block = json::Value::EmptyObject();
  block.Set("type", "text");
  block.Set("text", text);
  return block;
}

// "data:<media type>;base64,<data>" -> {media type, data}; nullopt when not of that form.
std::optional<std::pair<std::string, std::string>> SplitDataUrl(std::string_view url) {
  constexpr std::string_view kPrefix = "data:";
  constexpr std::string_view kBase64 = ";base64,";
  if (url.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  size_t marker = url.find(kBase64);
  if (marker == std::string_view::npos || marker <= kPrefix.size()) return std::nullopt;
  return std::make_pair(std::string(url.substr(kPrefix.size(), marker - kPrefix.size())),
                        std::string(url.substr(marker + kBase64.size())));
}

absl::StatusOr<json::Value> ImageBlock(std::string_view url, const std::string& where) {
  json::Value block = json::Value::EmptyObject();
  block.Set("type", "image");
  json::Value& source = block.Set("source", json::Value::EmptyObject());
  if (auto data = SplitDataUrl(url)) {
    source.Set("type", "base64");
    source.Set("media_type", data->first);
    source.Set("data", data->second);
  } else if (url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://") {
    source.Set("type", "url");
    source.Set("url", url);
  } else {
    return InvalidArgument(where + ": image URL must be a base64 data: URL or an http(s) URL");
  }
  return block;
}

// OpenAI {"type":"file","file":{"file_data":"data:application/pdf;base64,..."}} -> document.
absl::StatusOr<json::Value> FileBlock(const v1::ContentPart& part, const std::string& where) {
  P402_ASSIGN_OR_RETURN(json::Value raw, ParseEmbedded(part.raw_json(), where));
  const json::Value* file = raw.Find("file");
  std::optional<std::string_view> data = file ? file->GetString("file_data") : std::nullopt;
  auto split = data ? SplitDataUrl(*data) : std::nullopt;
  if (!split || split->first != "application/pdf") {
    return InvalidArgument(where + ": only PDF files given as base64 data: URLs are supported");
  }
  json::Value block = json::Value::EmptyObject();
  block.Set("type", "document");
  json::Value& source = block.Set("source", json::Value::EmptyObject());
  source.Set("type", "base64");
  source.Set("media_type", split->first);
  source.Set("data", split->second);
  return block;
}

// Content of a user/system/tool message as blocks (text, image, document).
absl::StatusOr<json::Array> ContentBlocks(const v1::ChatMessage& m, const std::string& where) {
  json::Array blocks;
  if (m.parts_size() == 0) {
    if (!m.content().empty()) blocks.push_back(TextBlock(m.content()));
    return blocks;
  }
  for (int i = 0; i < m.parts_size(); ++i) {
    const v1::ContentPart& part = m.parts(i);
    std::string pwhere = where + ".content[" + std::to_string(i) + "]";
    if (part.type() == "text") {
      if (!part.text().empty()) blocks.push_back(TextBlock(part.text()));
    } else if (part.type() == "image_url") {
      P402_ASSIGN_OR_RETURN(json::Value block, ImageBlock(part.image_url(), pwhere));
      blocks.push_back(std::move(block));
    } else if (part.type() == "file") {
      P402_ASSIGN_OR_RETURN(json::Value block, FileBlock(part, pwhere));
      blocks.push_back(std::move(block));
    } else {
      return InvalidArgument(pwhere + ": content part type \"" + part.type() +
                             "\" is not supported by the anthropic protocol");
    }
  }
  return blocks;
}

std::string PlainText(const v1::ChatMessage& m) {
  if (m.parts_size() == 0) return m.content();
  std::string text;
  for (const v1::ContentPart& p : m.parts()) {
    if (p.type() == "text") text += p.text();
  }
  return text;
}

absl::StatusOr<json::Array> AssistantBlocks(const v1::ChatMessage& m, const std::string& where) {
  json::Array blocks;
  std::string text = PlainText(m);
  if (!text.empty()) blocks.push_back(TextBlock(text));
  for (int i = 0; i < m.tool_calls_size(); ++i) {
    const v1::ToolCall& tc = m.tool_calls(i);
    json::Value input = json::Value::EmptyObject();
    if (!tc.arguments().empty()) {
      absl::StatusOr<json::Value> parsed = json::Value::Parse(tc.arguments());
      if (!parsed.ok() || !parsed->is_object()) {
        return InvalidArgument(where + ".tool_calls[" + std::to_string(i) +
                               "].function.arguments must be a JSON object");
      }
      input = std::move(*parsed);
    }
    json::Value block = json::Value::EmptyObject();
    block.Set("type", "tool_use");
    block.Set("id", tc.id());
    block.Set("name", tc.name());
    block.Set("input", std::move(input));
    blocks.push_back(std::move(block));
  }
  return blocks;
}

// OpenAI tool_choice -> Anthropic tool_choice; nullopt when absent.
absl::StatusOr<std::optional<json::Value>> ToolChoice(const v1::ChatRequest& chat,
                                                      bool disable_parallel) {
  std::optional<json::Value> out;
  if (chat.tool_choice_json().empty()) {
    if (disable_parallel) {
      out = json::Value::EmptyObject();
      out->Set("type", "auto");
    }
  } else {
    P402_ASSIGN_OR_RETURN(json::Value choice,
                          ParseEmbedded(chat.tool_choice_json(), "tool_choice"));
    out = json::Value::EmptyObject();
    std::string_view kind = choice.is_string() ? std::string_view(choice.AsString()) : "";
    const json::Value* fn = choice.is_object() ? choice.Find("function") : nullptr;
    auto name = fn != nullptr ? fn->GetString("name") : std::nullopt;
    if (kind == "auto") {
      out->Set("type", "auto");
    } else if (kind == "required") {
      out->Set("type", "any");
    } else if (kind == "none") {
      out->Set("type", "none");
    } else if (name) {
      out->Set("type", "tool");
      out->Set("name", *name);
    } else {
      return InvalidArgument("tool_choice must be auto, required, none or a function");
    }
  }
  if (out && disable_parallel &&
      out->GetString("type") != std::optional<std::string_view>("none")) {
    out->Set("disable_parallel_tool_use", true);
  }
  return out;
}

}  // namespace

absl::StatusOr<json::Value> AnthropicRequestBody(const v1::ChatRequest& chat,
                                                 const ModelEntry& model) {
  json::Value body = json::Value::EmptyObject();
  body.Set("model", model.id);
  std::optional<int64_t> max_tokens;
  if (chat.has_max_tokens()) max_tokens = chat.max_tokens();
  body.Set("max_tokens", OutputBound(model, max_tokens));

  std::string system;
  struct Turn {
    std::string role;
    json::Array blocks;
  };
  std::vector<Turn> turns;  // consecutive same-role messages merged
  for (int i = 0; i < chat.messages_size(); ++i) {
    const v1::ChatMessage& m = chat.messages(i);
    std::string where = "messages[" + std::to_string(i) + "]";
    std::string role;
    json::Array blocks;
    if (m.role() == "system" || m.role() == "developer") {
      std::string text = PlainText(m);
      if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
      continue;
    } else if (m.role() == "user") {
      role = "user";
      P402_ASSIGN_OR_RETURN(blocks, ContentBlocks(m, where));
    } else if (m.role() == "assistant") {
      role = "assistant";
      P402_ASSIGN_OR_RETURN(blocks, AssistantBlocks(m, where));
    } else if (m.role() == "tool") {
      if (m.tool_call_id().empty()) return InvalidArgument(where + ": tool_call_id is required");
      role = "user";
      json::Value result = json::Value::EmptyObject();
      result.Set("type", "tool_result");
      result.Set("tool_use_id", m.tool_call_id());
      std::string text = PlainText(m);
      if (!text.empty()) result.Set("content", text);
      blocks.push_back(std::move(result));
    } else {
      return InvalidArgument(where + ": role \"" + m.role() +
                             "\" is not supported by the anthropic protocol");
    }
    if (blocks.empty()) continue;
    if (!turns.empty() && turns.back().role == role) {
      for (json::Value& b : blocks) turns.back().blocks.push_back(std::move(b));
    } else {
      turns.push_back({role, std::move(blocks)});
    }
  }
  if (turns.empty()) return InvalidArgument("messages: at least one user message is required");
  if (!system.empty()) body.Set("system", system);
  json::Value& messages = body.Set("messages", json::Value::EmptyArray());
  for (Turn& t : turns) {
    json::Value& turn = messages.Push(json::Value::EmptyObject());
    turn.Set("role", t.role);
    turn.Set("content", json::Value(std::move(t.blocks)));
  }

  if (chat.tools_size() > 0) {
    json::Value& tools = body.Set("tools", json::Value::EmptyArray());
    for (int i = 0; i < chat.tools_size(); ++i) {
      const v1::Tool& t = chat.tools(i);
      json::Value& tool = tools.Push(json::Value::EmptyObject());
      tool.Set("name", t.name());
      if (!t.description().empty()) tool.Set("description", t.description());
      json::Value schema = json::Value::EmptyObject();
      if (!t.parameters_json().empty()) {
        P402_ASSIGN_OR_RETURN(schema, ParseEmbedded(t.parameters_json(),
                                                    "tools[" + std::to_string(i) + "].parameters"));
      } else {
        schema.Set("type", "object");
        schema.Set("properties", json::Value::EmptyObject());
      }
      tool.Set("input_schema", std::move(schema));
    }
    bool disable_parallel = false;
    if (!chat.extra_json().empty()) {
      P402_ASSIGN_OR_RETURN(json::Value extra, ParseEmbedded(chat.extra_json(), "extra_json"));
      disable_parallel = extra.GetBool("parallel_tool_calls") == std::optional<bool>(false);
    }
    P402_ASSIGN_OR_RETURN(std::optional<json::Value> choice, ToolChoice(chat, disable_parallel));
    if (choice) body.Set("tool_choice", std::move(*choice));
  }
  if (chat.stop_size() > 0) {
    json::Value& stop = body.Set("stop_sequences", json::Value::EmptyArray());
    for (const std::string& s : chat.stop()) {
      if (!s.empty()) stop.Push(s);
    }
  }
  if (model.supports_temperature) {
    if (chat.has_temperature()) {
      body.Set("temperature", std::clamp(chat.temperature(), 0.0, 1.0));
    } else if (chat.has_top_p()) {
      body.Set("top_p", chat.top_p());
    }
  }
  if (chat.stream()) body.Set("stream", true);
  if (!chat.user().empty()) {
    body.Set("metadata", json::Value::EmptyObject()).Set("user_id", chat.user());
  }
  return body;
}

absl::StatusOr<ProviderHttpRequest> BuildAnthropicRequest(const v1::ChatRequest& chat,
                                                          const ModelEntry& model,
                                                          const ProviderInfo& provider,
                                                          std::string_view api_key) {
  P402_ASSIGN_OR_RETURN(json::Value body, AnthropicRequestBody(chat, model));
  ProviderHttpRequest req;
  req.path = "/messages";
  req.url = provider.base_url + req.path;
  req.stream = chat.stream();
  req.headers.emplace_back("content-type", "application/json");
  req.headers.emplace_back("accept", chat.stream() ? "text/event-stream" : "application/json");
  P402_RETURN_IF_ERROR(protocol_internal::AddAuth(provider, api_key, req));
  for (const auto& [name, value] : provider.default_headers) {
    req.headers.emplace_back(name, value);
  }
  if (req.Header("anthropic-version") == nullptr) {
    req.headers.emplace_back("anthropic-version", kAnthropicVersion);
  }
  req.body = body.Serialize();
  return req;
}

std::string AnthropicFinishReason(std::string_view stop_reason) {
  if (stop_reason.empty()) return "";
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, future values
}

void MergeAnthropicUsage(const json::Value& usage, ProviderUsage& raw) {
  if (!usage.is_object()) return;
  auto merge = [&](std::string_view key, int64_t& field) {
    if (const json::Value* v = usage.Find(key); v != nullptr) {
      if (auto n = protocol_internal::SafeInt(*v)) field = *n;
    }
  };
  merge("input_tokens", raw.input_tokens);
  merge("output_tokens", raw.output_tokens);
  merge("cache_read_input_tokens", raw.cache_read_tokens);
  merge("cache_creation_input_tokens", raw.cache_write_tokens);
}

v1::TokenUsage ParseAnthropicUsage(const json::Value& usage) {
  ProviderUsage raw;
  MergeAnthropicUsage(usage, raw);
  return NormalizeUsage(raw, CacheRule::kCachedSeparate);
}

absl::StatusOr<ParsedCompletion> ParseAnthropicResponse(std::string_view body) {
  absl::StatusOr<json::Value> root = json::Value::Parse(body);
  if (!root.ok()) return InvalidResponse("body is not JSON");
  if (!root->is_object()) return InvalidResponse("body is not a JSON object");
  if (root->GetString("type") == std::optional<std::string_view>("error")) {
    return InvalidResponse("error object in a success response");
  }
  const json::Value* content = root->Find("content");
  if (content == nullptr || !content->is_array()) return InvalidResponse("no content array");
  ParsedCompletion parsed;
  v1::ChatCompletion& c = parsed.completion;
  c.set_id(std::string(root->GetString("id").value_or("")));
  c.set_model(std::string(root->GetString("model").value_or("")));
  v1::ChatChoice* choice = c.add_choices();
  choice->set_index(0);
  choice->set_finish_reason(AnthropicFinishReason(root->GetString("stop_reason").value_or("")));
  v1::ChatMessage* msg = choice->mutable_message();
  msg->set_role("assistant");
  std::string text;
  for (const json::Value& block : content->AsArray()) {
    auto type = block.GetString("type");
    if (type == std::optional<std::string_view>("text")) {
      text += block.GetString("text").value_or("");
    } else if (type == std::optional<std::string_view>("tool_use")) {
      v1::ToolCall* tc = msg->add_tool_calls();
      tc->set_index(msg->tool_calls_size() - 1);
      tc->set_id(std::string(block.GetString("id").value_or("")));
      tc->set_type("function");
      tc->set_name(std::string(block.GetString("name").value_or("")));
      const json::Value* input = block.Find("input");
      tc->set_arguments(input != nullptr ? input->Serialize() : "{}");
    }  // thinking and other blocks are not part of the OpenAI message
  }
  msg->set_content(text);
  msg->set_content_is_null(text.empty() && msg->tool_calls_size() > 0);
  if (const json::Value* usage = root->Find("usage"); usage != nullptr && usage->is_object()) {
    *c.mutable_usage() = ParseAnthropicUsage(*usage);
    parsed.usage_reported = true;
  }
  return parsed;
}

}  // namespace p402::router
