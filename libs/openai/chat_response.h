// File: libs/openai/chat_response.h
// Step 5 of the request lifecycle: the edge writes the router's provider-neutral answer as OpenAI
// JSON -- a `chat.completion` object, or SSE frames of `chat.completion.chunk` objects -- with
// P402's `p402_metadata`. Hot path: every encoder appends straight to a std::string through
// json::Writer, without building a tree. All functions are pure and thread-safe; output is always
// valid JSON (invalid UTF-8 from a provider becomes U+FFFD).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libs/openai/p402_metadata.h"
#include "p402/v1/chat.pb.h"
#include "p402/v1/common.pb.h"

namespace p402::openai {

// Appends the `chat.completion` object:
//   {"id","object":"chat.completion","created","model",
//    "choices":[{"index","message":{"role","content","refusal","tool_calls"?},"logprobs":null,
//                "finish_reason"}],
//    "usage":{"prompt_tokens","completion_tokens","total_tokens",
//             "prompt_tokens_details":{"cached_tokens"},
//             "completion_tokens_details":{"reasoning_tokens"}},
//    "system_fingerprint", "p402_metadata"?}
// content is null when the message has content_is_null set, or no text but tool calls/refusal;
// a message with parts writes them as an array. Empty finish_reason / system_fingerprint / refusal
// are written as null. `metadata` may be nullptr (then no p402_metadata member).
void EncodeChatCompletion(const p402::v1::ChatCompletion& completion, const P402Metadata* metadata,
                          std::string& out);

// Identity shared by every chunk of one stream.
struct ChunkHeader {
  std::string_view id;
  int64_t created = 0;
  std::string_view model;
  // Written when not empty.
  std::string_view system_fingerprint;
};

// Appends one SSE frame "data: {chat.completion.chunk}\n\n".
// - delta != nullptr: "choices":[{"index","delta":{...},"logprobs":null,"finish_reason"}]. The
//   delta has "role" when set (first chunk; then "content" is always present, "" or null with
//   tool calls), "content" when not empty, "refusal" when not empty, and "tool_calls" fragments
//   [{"index","id"?,"type":"function"?,"function":{"name"?,"arguments"}}] (id/type only on the
//   first fragment of a call, i.e. when id is set). A finish chunk is a delta with only
//   finish_reason set: "delta":{}.
// - delta == nullptr: "choices":[] -- the usage chunk of stream_options.include_usage.
// - usage != nullptr: a "usage" member (same shape as in the completion).
// - metadata != nullptr: a "p402_metadata" member (put it on the last chunk of the stream).
void EncodeChunk(const ChunkHeader& header, const p402::v1::ChatDelta* delta,
                 const p402::v1::TokenUsage* usage, const P402Metadata* metadata, std::string& out);

// Appends "data: [DONE]\n\n".
void EncodeDone(std::string& out);

// Appends an explicit error event ending a stream that already sent tokens -- never a silent
// truncation: "data: {"error":{"message","type","param":null,"code"},"p402_metadata"?}\n\n".
// Typical codes: "budget_exhausted", "stream_interrupted", "deadline_exceeded"; type defaults to
// "server_error" when empty. The stream should then end with EncodeDone.
void EncodeStreamError(std::string_view message, std::string_view type, std::string_view code,
                       const P402Metadata* metadata, std::string& out);

}  // namespace p402::openai
