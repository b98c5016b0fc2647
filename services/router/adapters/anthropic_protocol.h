// File: services/router/adapters/anthropic_protocol.h
// Anthropic Messages wire protocol (Anthropic, MiniMax's Anthropic-compatible endpoint): request
// body from the OpenAI-shaped ChatRequest, non-stream response to ChatCompletion with normalised
// usage. The stream decoder is in anthropic_stream_decoder.h; error bodies are parsed by
// ParseProviderError (protocol.h). Pure translation, no I/O.
//
// Request mapping (POST {base_url}/messages, headers x-api-key + anthropic-version 2023-06-01):
//   system/developer messages -> top-level "system" (texts joined by a blank line)
//   user text/image parts     -> text blocks; image parts -> image blocks: data: URLs ->
//                                {type: base64, media_type, data}, http(s) URLs -> {type: url}
//   "file" parts with a PDF data: URL -> document blocks
//   assistant tool_calls      -> tool_use blocks {id, name, input: parsed arguments}
//   tool messages             -> user tool_result blocks {tool_use_id, content}
//   consecutive same-role messages are merged (parallel tool results share one user turn)
//   tools -> {name, description, input_schema}; tool_choice auto/required/none/function ->
//   {type: auto|any|none|tool}; parallel_tool_calls: false (extra_json) ->
//   disable_parallel_tool_use; max_tokens = request's (capped at the model limit) or the model's
//   output limit or 4096; stop -> stop_sequences; temperature (clamped to [0, 1]) or, when only it
//   is given, top_p (recent models reject both together; none for temperature: false models);
//   user -> metadata.user_id. response_format and other extra_json fields have no equivalent and
//   are not sent.
// Response: text blocks concatenated into content, tool_use blocks -> tool_calls (arguments =
// serialized input), stop_reason end_turn/stop_sequence/pause_turn -> "stop", max_tokens and
// model_context_window_exceeded -> "length", tool_use -> "tool_calls", refusal ->
// "content_filter". Usage: input_tokens + cache_read_input_tokens + cache_creation_input_tokens
// = TokenUsage.input_tokens, cached_input_tokens = cache_read, cache_write_input_tokens =
// cache_creation (core/cost.h kCachedSeparate).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "p402/v1/chat.pb.h"
#include "services/router/adapters/protocol.h"
#include "services/router/core/catalog.h"
#include "services/router/core/cost.h"

namespace p402::router {

inline constexpr char kAnthropicVersion[] = "2023-06-01";

// Errors: InvalidArgument when the conversation cannot be expressed (unknown role, a tool message
// without tool_call_id, tool-call arguments that are not a JSON object, an image URL that is
// neither data: base64 nor http(s), an unsupported part type, bad embedded JSON, no
// user/assistant message); Unimplemented for sigv4 auth.
absl::StatusOr<ProviderHttpRequest> BuildAnthropicRequest(const v1::ChatRequest& chat,
                                                          const ModelEntry& model,
                                                          const ProviderInfo& provider,
                                                          std::string_view api_key);

// Only the JSON body (same errors).
absl::StatusOr<json::Value> AnthropicRequestBody(const v1::ChatRequest& chat,
                                                 const ModelEntry& model);

// Parses a 2xx Messages response. Errors: InvalidArgument with reason "invalid_response".
absl::StatusOr<ParsedCompletion> ParseAnthropicResponse(std::string_view body);

// Anthropic stop_reason -> OpenAI finish_reason ("" for null/empty, "stop" for unknown values).
std::string AnthropicFinishReason(std::string_view stop_reason);

// Anthropic usage object (any subset of its fields) -> normalised TokenUsage.
v1::TokenUsage ParseAnthropicUsage(const json::Value& usage);
// Overwrites the counts present in `usage` (input_tokens, output_tokens, cache_read_input_tokens,
// cache_creation_input_tokens); used by the stream decoder to combine message_start and
// message_delta usage.
void MergeAnthropicUsage(const json::Value& usage, ProviderUsage& raw);

}  // namespace p402::router
