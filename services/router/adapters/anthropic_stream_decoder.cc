#include "services/router/adapters/anthropic_stream_decoder.h"

#include <string>

#include "libs/common/status_util.h"
#include "services/router/adapters/anthropic_protocol.h"

namespace p402::router {
namespace {

v1::ChatDelta NewDelta() {
  v1::ChatDelta d;
  d.set_index(0);
  return d;
}

}  // namespace

void AnthropicStreamDecoder::UpdateUsage(const json::Value& usage) {
  MergeAnthropicUsage(usage, raw_usage_);
  summary_.usage = NormalizeUsage(raw_usage_, CacheRule::kCachedSeparate);
}

absl::Status AnthropicStreamDecoder::OnEvent(std::string_view event, std::string_view data,
                                             std::vector<v1::ChatDelta>& out) {
  if (done_) return absl::OkStatus();
  if (event == "ping") return absl::OkStatus();
  absl::StatusOr<json::Value> parsed = json::Value::Parse(data);
  if (!parsed.ok() || !parsed->is_object()) {
    return protocol_internal::InvalidResponse("stream event is not a JSON object");
  }
  const json::Value& root = *parsed;
  std::string type(event.empty() ? root.GetString("type").value_or("") : event);

  if (type == "error") {
    error_ = ParseProviderError("anthropic", 0, data);
    if (error_->type == "http_0") error_->type = "stream_error";
    return WithReason(
        Unavailable("provider stream error: " + error_->type + ": " + error_->message),
        "provider_error");
  }
  if (type == "message_start") {
    const json::Value* msg = root.Find("message");
    if (msg != nullptr && msg->is_object()) {
      if (auto id = msg->GetString("id")) summary_.id = std::string(*id);
      if (auto model = msg->GetString("model")) summary_.model = std::string(*model);
      if (const json::Value* usage = msg->Find("usage")) UpdateUsage(*usage);
    }
    v1::ChatDelta d = NewDelta();
    d.set_role("assistant");
    out.push_back(std::move(d));
    return absl::OkStatus();
  }
  if (type == "content_block_start") {
    int64_t block = protocol_internal::IntOr0(&root, "index");
    const json::Value* cb = root.Find("content_block");
    if (cb == nullptr || !cb->is_object()) {
      return protocol_internal::InvalidResponse("content_block_start without content_block");
    }
    auto kind = cb->GetString("type");
    v1::ChatDelta d = NewDelta();
    if (kind == std::optional<std::string_view>("tool_use")) {
      int index = static_cast<int>(tool_index_.size());
      tool_index_[block] = index;
      v1::ToolCall* tc = d.add_tool_calls();
      tc->set_index(index);
      tc->set_id(std::string(cb->GetString("id").value_or("")));
      tc->set_type("function");
      tc->set_name(std::string(cb->GetString("name").value_or("")));
      summary_.delivered_chars += static_cast<int64_t>(tc->name().size());
      summary_.first_token = true;
      out.push_back(std::move(d));
    } else if (kind == std::optional<std::string_view>("text")) {
      std::string_view text = cb->GetString("text").value_or("");
      if (!text.empty()) {
        d.set_content(std::string(text));
        summary_.delivered_chars += static_cast<int64_t>(text.size());
        summary_.first_token = true;
        out.push_back(std::move(d));
      }
    }
    return absl::OkStatus();
  }
  if (type == "content_block_delta") {
    int64_t block = protocol_internal::IntOr0(&root, "index");
    const json::Value* delta = root.Find("delta");
    if (delta == nullptr || !delta->is_object()) {
      return protocol_internal::InvalidResponse("content_block_delta without delta");
    }
    auto kind = delta->GetString("type");
    v1::ChatDelta d = NewDelta();
    if (kind == std::optional<std::string_view>("text_delta")) {
      std::string_view text = delta->GetString("text").value_or("");
      if (text.empty()) return absl::OkStatus();
      d.set_content(std::string(text));
      summary_.delivered_chars += static_cast<int64_t>(text.size());
    } else if (kind == std::optional<std::string_view>("input_json_delta")) {
      auto it = tool_index_.find(block);
      if (it == tool_index_.end()) {
        return protocol_internal::InvalidResponse("input_json_delta for an unknown block");
      }
      std::string_view fragment = delta->GetString("partial_json").value_or("");
      v1::ToolCall* tc = d.add_tool_calls();
      tc->set_index(it->second);
      tc->set_arguments(std::string(fragment));
      summary_.delivered_chars += static_cast<int64_t>(fragment.size());
    } else {
      return absl::OkStatus();  // thinking_delta, signature_delta, citations, future kinds
    }
    summary_.first_token = true;
    out.push_back(std::move(d));
    return absl::OkStatus();
  }
  if (type == "message_delta") {
    if (const json::Value* usage = root.Find("usage"); usage != nullptr && usage->is_object()) {
      UpdateUsage(*usage);
      summary_.usage_reported = true;
    }
    const json::Value* delta = root.Find("delta");
    std::string_view stop = delta != nullptr ? delta->GetString("stop_reason").value_or("") : "";
    if (!stop.empty()) {
      v1::ChatDelta d = NewDelta();
      d.set_finish_reason(AnthropicFinishReason(stop));
      summary_.finish_reason = d.finish_reason();
      out.push_back(std::move(d));
    }
    return absl::OkStatus();
  }
  if (type == "message_stop") {
    done_ = true;
  }
  return absl::OkStatus();  // content_block_stop, ping in data, unknown future events
}

}  // namespace p402::router
