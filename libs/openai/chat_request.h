// File: libs/openai/chat_request.h
// Step 1 of the request lifecycle: the edge turns the body of POST /v1/chat/completions (OpenAI
// JSON, plus the optional `p402` extension object) into a validated p402.v1.ChatRequest and a
// P402Extension. Nothing invalid gets past this point, so nothing invalid reaches a provider.
//
// Errors are OpenAI-shaped: absl::InvalidArgumentError whose message is the text for
// `error.message`, with the OpenAI `code` as the reason payload (ReasonOf, libs/common/status_util)
// and the offending parameter as the param payload (ParamOf, error_param.h). Reasons used:
// invalid_json, invalid_type, invalid_value, missing_required_parameter, empty_array,
// empty_string, string_above_max_length, array_above_max_length, decimal_below_min_value,
// decimal_above_max_value, integer_below_min_value, integer_above_max_value, unsupported_value,
// unknown_parameter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/openai/p402_extension.h"
#include "p402/v1/chat.pb.h"

namespace p402::openai {

struct DecodedChatRequest {
  // The OpenAI part. Top-level fields P402 does not model (seed, logit_bias, presence_penalty,
  // parallel_tool_calls, ...) are in chat.extra_json as one JSON object, verbatim; `n` (always 1)
  // and `p402` are not.
  p402::v1::ChatRequest chat;
  // The `p402` object (defaults when absent).
  P402Extension ext;
};

// Limits enforced on top of OpenAI's own rules (they bound work and memory per request).
inline constexpr size_t kMaxTools = 128;
inline constexpr size_t kMaxStopSequences = 4;
inline constexpr int64_t kMaxOutputTokens = 2'147'483'647;

// Decodes and validates a chat-completions request body.
//
// Accepted shape (null is the same as absent for every optional field):
//   model         string; may be absent or "" only when p402.mode is given
//   messages      non-empty array of {role, content, name?, tool_calls?, tool_call_id?, refusal?}
//                 role: system | developer | user | assistant | tool
//                 content: string | array of parts | null (assistant with tool_calls/refusal only)
//                 parts: {type:"text", text} | {type:"image_url", image_url:{url, detail?}} (user
//                 messages only) | any other {type:...} kept verbatim in ContentPart.raw_json
//                 tool messages need tool_call_id; assistant tool_calls need id and
//                 function{name, arguments (string)}
//   tools         1..128 of {type:"function", function:{name ^[a-zA-Z0-9_-]{1,64}$, description?,
//                 parameters? (object), strict?}}
//   tool_choice   "none" | "auto" | "required" | {type, function?:{name}}; only with tools
//   max_tokens / max_completion_tokens   integer >= 1 (not both)
//   temperature [0,2], top_p [0,1], n == 1, stop string | array of <= 4 strings, stream bool,
//   stream_options {include_usage?} (only with stream: true), response_format {type: text |
//   json_object | json_schema, ...}, user string, p402 object (see p402_extension.h).
//
// Returns InvalidArgument as described in the file comment; never crashes on any input.
// Thread-safe (pure function).
absl::StatusOr<DecodedChatRequest> DecodeChatRequest(std::string_view body);

}  // namespace p402::openai
