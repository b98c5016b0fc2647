// File: services/router/adapters/openai_stream_decoder.h
// Decoder for OpenAI chat.completion.chunk SSE streams: one ChatDelta per choice per chunk (role,
// content, refusal, tool-call fragments with their index, finish_reason), usage from the final
// usage chunk (sent because the request always asks for stream_options.include_usage), id /
// model / created / system_fingerprint from the first chunk that has them, done on "[DONE]", and
// an in-stream {"error": {...}} object reported as a provider error.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "services/router/adapters/protocol.h"

namespace p402::router {

class OpenAiStreamDecoder final : public StreamDecoder {
 public:
  // StreamDecoder:
  absl::Status OnEvent(std::string_view event, std::string_view data,
                       std::vector<v1::ChatDelta>& out) override;
  bool done() const override { return done_; }
  const StreamSummary& summary() const override { return summary_; }
  const std::optional<ProviderError>& error() const override { return error_; }

 private:
  StreamSummary summary_;
  std::optional<ProviderError> error_;
  bool done_ = false;
};

}  // namespace p402::router
