// File: services/router/adapters/openai_protocol.h
// OpenAI Chat Completions wire protocol (OpenAI and every OpenAI-compatible provider): request
// body from ChatRequest, non-stream response to ChatCompletion, usage normalisation. The stream
// decoder is in openai_stream_decoder.h; error bodies are parsed by ParseProviderError
// (protocol.h). Pure translation, no I/O.
//
// The request is re-emitted faithfully: every modelled field, then every member of extra_json
// that is not already set. Deliberate changes:
//  - `model` is the concrete catalog model id;
//  - streaming always sends stream_options {"include_usage": true} so usage is captured (the edge
//    decides whether the client sees the usage chunk);
//  - models whose catalog entry says temperature: false (reasoning-style) get no temperature or
//    top_p, and on provider "openai" max_tokens is sent as max_completion_tokens (the official
//    API rejects max_tokens for those models).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "p402/v1/chat.pb.h"
#include "services/router/adapters/protocol.h"
#include "services/router/core/catalog.h"

namespace p402::router {

// POST {base_url}/chat/completions. Errors: InvalidArgument when an embedded JSON field
// (tools[].parameters_json, tool_choice_json, response_format_json, extra_json, parts[].raw_json)
// is not valid JSON, or extra_json is not an object; Unimplemented for sigv4 auth.
absl::StatusOr<ProviderHttpRequest> BuildOpenAiRequest(const v1::ChatRequest& chat,
                                                       const ModelEntry& model,
                                                       const ProviderInfo& provider,
                                                       std::string_view api_key);

// Only the JSON body of the request above (same errors).
absl::StatusOr<json::Value> OpenAiRequestBody(const v1::ChatRequest& chat, const ModelEntry& model,
                                              const ProviderInfo& provider);

// Parses a 2xx chat.completion body. Tolerates null/missing optional fields and content given as
// an array of text parts. Errors: InvalidArgument with reason "invalid_response".
absl::StatusOr<ParsedCompletion> ParseOpenAiResponse(std::string_view body);

// OpenAI `usage` object -> TokenUsage (cached from prompt_tokens_details.cached_tokens, or
// DeepSeek's prompt_cache_hit_tokens; reasoning from completion_tokens_details).
v1::TokenUsage ParseOpenAiUsage(const json::Value& usage);

// Appends the tool calls of an OpenAI `tool_calls` array (message or stream delta) to `out`.
// Entries that are not objects are skipped; missing fields stay empty.
void AppendOpenAiToolCalls(const json::Value& tool_calls,
                           google::protobuf::RepeatedPtrField<v1::ToolCall>& out);

}  // namespace p402::router
