// File: services/router/adapters/anthropic_stream_decoder.h
// Decoder for Anthropic Messages SSE streams into OpenAI-shaped ChatDeltas (choice 0):
//   message_start        -> role "assistant"; id, model, input-side usage
//   content_block_start  -> text: its initial text, if any; tool_use: a tool-call delta with the
//                           call's position among tool_use blocks as index, id, name, arguments ""
//   content_block_delta  -> text_delta: content; input_json_delta: argument fragment of that call;
//                           thinking/signature deltas are dropped
//   message_delta        -> finish_reason (mapped like the non-stream stop_reason); cumulative
//   usage message_stop         -> done;  ping -> nothing;  error -> provider error (e.g.
//   overloaded_error)
// The event name comes from the SSE "event:" field, else from the data's "type".
// summary().usage_reported becomes true with the first message_delta carrying usage (the final
// output count); before that summary().usage holds message_start's counts.
#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "services/router/adapters/protocol.h"
#include "services/router/core/cost.h"

namespace p402::router {

class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  // StreamDecoder:
  absl::Status OnEvent(std::string_view event, std::string_view data,
                       std::vector<v1::ChatDelta>& out) override;
  bool done() const override { return done_; }
  const StreamSummary& summary() const override { return summary_; }
  const std::optional<ProviderError>& error() const override { return error_; }

 private:
  void UpdateUsage(const json::Value& usage);

  StreamSummary summary_;
  std::optional<ProviderError> error_;
  bool done_ = false;
  ProviderUsage raw_usage_;
  // Anthropic content-block index -> OpenAI tool-call index (tool_use blocks only).
  std::map<int64_t, int> tool_index_;
};

}  // namespace p402::router
