// File: tools/mock_provider/openai_api.h
// The OpenAI wire format of the mock: parsing /v1/chat/completions requests, rendering
// chat.completion objects, chat.completion.chunk streams, errors, /v1/models and
// /v1/embeddings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/http/response.h"
#include "libs/json/value.h"
#include "tools/mock_provider/chat_plan.h"

namespace p402::mock_provider {

// Validates and digests a chat completions body. Errors: InvalidArgument (missing model or
// messages, bad max_tokens, malformed tools).
absl::StatusOr<ChatInput> ParseOpenAiChat(const json::Value& body);

std::string RenderOpenAiCompletion(const ChatPlan& plan, std::string_view provider);
// role chunk, content chunks, finish chunk, [usage chunk], [DONE].
std::vector<StreamItem> RenderOpenAiStream(const ChatPlan& plan, bool include_usage,
                                           std::string_view provider);

// An error in OpenAI's shape for `status` (type/code chosen per status). 429 carries
// Retry-After and x-ratelimit-* headers.
http::Response OpenAiError(int status, std::string_view message,
                           std::optional<int> retry_after);

std::string RenderOpenAiModels(const std::vector<std::string>& models, std::string_view owner);
// Errors: InvalidArgument (missing model/input, bad dimensions or encoding_format).
absl::StatusOr<std::string> RenderOpenAiEmbeddings(const json::Value& body);

}  // namespace p402::mock_provider
