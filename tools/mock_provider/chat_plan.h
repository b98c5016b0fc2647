// File: tools/mock_provider/chat_plan.h
// API-neutral description of a chat request (ChatInput, filled by the OpenAI or Anthropic
// parser) and of the answer the mock will give (ChatPlan), which both APIs then render in their
// own wire format. Keeping one plan guarantees identical usage numbers for streamed and
// non-streamed answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "tools/mock_provider/controls.h"

namespace p402::mock_provider {

enum class Api { kOpenAi, kAnthropic };

struct ToolSpec {
  std::string name;
  json::Value schema;  // OpenAI function.parameters / Anthropic input_schema
};

struct ChatInput {
  std::string model;
  bool stream = false;
  bool include_usage = false;           // OpenAI stream_options.include_usage
  std::optional<int64_t> max_tokens;    // max_tokens / max_completion_tokens
  int64_t prompt_tokens = 0;            // per the README formula
  std::string last_user_text;           // where directives are read
  std::vector<ToolSpec> tools;
  std::optional<std::string> forced_tool;  // tool_choice naming a tool
  bool tools_disabled = false;             // tool_choice "none"
};

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // compact JSON
};

struct ChatPlan {
  std::string id;      // chatcmpl-... / msg_...
  int64_t created = 0;  // unix seconds
  std::string model;
  int64_t prompt_tokens = 0;      // all input tokens, cached included
  int64_t cached_tokens = 0;      // <= prompt_tokens
  int64_t completion_tokens = 0;
  bool truncated = false;         // stopped by max_tokens
  std::optional<ToolCall> tool_call;
  std::vector<std::string> pieces;  // stream content chunks (words, or argument fragments)
  std::string text;                 // the whole reply text (empty for tool calls)
};

// One pre-rendered server-sent event of a streamed answer.
struct StreamItem {
  std::string bytes;     // "event: ...\ndata: ...\n\n"
  bool content = false;  // a content chunk (counts for cut_after; token delays precede it)
};

// Decides the answer. Errors: InvalidArgument when tool_choice names an unknown tool.
absl::StatusOr<ChatPlan> PlanChat(const ChatInput& input, const Controls& controls, Api api,
                                  std::string_view provider, uint64_t seq, int64_t now_unix);

}  // namespace p402::mock_provider
