// File: tools/mock_provider/anthropic_api.h
// The Anthropic Messages wire format of the mock: parsing /v1/messages requests, rendering
// message objects, the named-event stream (message_start ... message_stop), errors and models.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/http/response.h"
#include "libs/json/value.h"
#include "tools/mock_provider/chat_plan.h"

namespace p402::mock_provider {

// Validates and digests a messages body. Errors: InvalidArgument (missing model, messages or
// max_tokens; malformed tools).
absl::StatusOr<ChatInput> ParseAnthropicMessages(const json::Value& body);

std::string RenderAnthropicMessage(const ChatPlan& plan);
// message_start, content_block_start, ping, content_block_delta*, content_block_stop,
// message_delta, message_stop.
std::vector<StreamItem> RenderAnthropicStream(const ChatPlan& plan);

// {"type":"error","error":{"type":...,"message":...}} with the type for `status`
// (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404
// not_found_error, 413 request_too_large, 429 rate_limit_error, 529 overloaded_error, other 5xx
// api_error). 429 carries Retry-After and anthropic-ratelimit-* headers.
http::Response AnthropicError(int status, std::string_view message,
                              std::optional<int> retry_after);

std::string RenderAnthropicModels(const std::vector<std::string>& models);

}  // namespace p402::mock_provider
