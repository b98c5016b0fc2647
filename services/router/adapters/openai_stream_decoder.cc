#include "services/router/adapters/openai_stream_decoder.h"

#include <string>

#include "libs/common/status_util.h"
#include "services/router/adapters/openai_protocol.h"

namespace p402::router {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

void SetIfEmpty(std::string& field, const json::Value& obj, std::string_view key) {
  if (!field.empty()) return;
  if (auto v = obj.GetString(key)) field = std::string(*v);
}

}  // namespace

absl::Status OpenAiStreamDecoder::OnEvent(std::string_view /*event*/, std::string_view data,
                                          std::vector<v1::ChatDelta>& out) {
  if (done_) return absl::OkStatus();
  data = Trim(data);
  if (data.empty()) return absl::OkStatus();  // keep-alive
  if (data == "[DONE]") {
    done_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<json::Value> chunk = json::Value::Parse(data);
  if (!chunk.ok() || !chunk->is_object()) {
    return protocol_internal::InvalidResponse("stream chunk is not a JSON object");
  }
  if (const json::Value* err = chunk->Find("error"); err != nullptr && !err->is_null()) {
    error_ = ParseProviderError("openai", 0, data);
    if (error_->type == "http_0") error_->type = "stream_error";
    return WithReason(Unavailable("provider stream error: " + error_->message), "provider_error");
  }
  SetIfEmpty(summary_.id, *chunk, "id");
  SetIfEmpty(summary_.model, *chunk, "model");
  SetIfEmpty(summary_.system_fingerprint, *chunk, "system_fingerprint");
  if (summary_.created == 0) summary_.created = protocol_internal::IntOr0(&*chunk, "created");
  if (const json::Value* usage = chunk->Find("usage"); usage != nullptr && usage->is_object()) {
    summary_.usage = ParseOpenAiUsage(*usage);
    summary_.usage_reported = true;
  }
  const json::Value* choices = chunk->Find("choices");
  if (choices == nullptr || !choices->is_array()) return absl::OkStatus();  // usage-only chunk
  for (const json::Value& ch : choices->AsArray()) {
    if (!ch.is_object()) continue;
    v1::ChatDelta d;
    const json::Value* index = ch.Find("index");
    std::optional<int64_t> i = index ? protocol_internal::SafeInt(*index) : std::nullopt;
    d.set_index(i && *i < (1 << 20) ? static_cast<int32_t>(*i) : 0);
    if (const json::Value* delta = ch.Find("delta"); delta != nullptr && delta->is_object()) {
      if (auto role = delta->GetString("role")) d.set_role(std::string(*role));
      if (auto content = delta->GetString("content")) d.set_content(std::string(*content));
      if (auto refusal = delta->GetString("refusal")) d.set_refusal(std::string(*refusal));
      if (const json::Value* calls = delta->Find("tool_calls"); calls != nullptr) {
        AppendOpenAiToolCalls(*calls, *d.mutable_tool_calls());
      }
    }
    if (auto finish = ch.GetString("finish_reason")) d.set_finish_reason(std::string(*finish));
    int64_t chars = static_cast<int64_t>(d.content().size() + d.refusal().size());
    for (const v1::ToolCall& tc : d.tool_calls()) {
      chars += static_cast<int64_t>(tc.arguments().size() + tc.name().size());
    }
    summary_.delivered_chars += chars;
    if (chars > 0 || d.tool_calls_size() > 0) summary_.first_token = true;
    if (d.index() == 0 && !d.finish_reason().empty()) summary_.finish_reason = d.finish_reason();
    if (!d.role().empty() || chars > 0 || d.tool_calls_size() > 0 || !d.finish_reason().empty()) {
      out.push_back(std::move(d));
    }
  }
  return absl::OkStatus();
}

}  // namespace p402::router
