// File: libs/openai/token_estimate.h
// Prompt-size estimate for worst-case cost before dispatch (router Quote, policy reservation):
// reservation = estimated input tokens x input price + max output tokens x output price. It is a
// deterministic HEURISTIC, not a tokenizer, deliberately biased upwards so a reservation covers
// the actual cost; the real provider-reported usage settles the bill afterwards.
//
// Rules (documented so the bias is auditable):
// - text: ceil(ASCII bytes / 3) + 1 per non-ASCII code point. Real BPE tokenizers (cl100k,
//   o200k, Claude, Llama 3) average ~4 chars/token on English prose and ~3-3.5 on code, so ASCII
//   is over-counted by 0-35%; CJK runs at <= 1 token per character and other scripts well below,
//   so non-ASCII is counted at the ceiling. Only adversarial ASCII (random base64, long digit
//   strings) can come out up to ~25% under.
// - per message: +4 (role and separators, OpenAI's documented overhead is 3-4), name +1.
// - assistant tool calls: +4 each plus id, name and arguments as text.
// - image parts: kImageTokens each, whatever `detail` says -- a high-detail image costs up to
//   ~1,450 tokens on OpenAI and ~1,600 on Anthropic (which ignores `detail`); counting "low" as 85
//   would under-estimate by 20x when the router picks another provider.
// - other parts (audio, files): their JSON as text, a large over-estimate for base64 payloads.
// - tools: +350 when any tool is present (Anthropic's tool-use system prompt is ~350 tokens,
//   OpenAI's is smaller), +8 per tool plus name, description and parameters JSON as text.
// - tool_choice and response_format JSON as text; +3 for the reply priming.
#pragma once

#include <cstdint>
#include <string_view>

#include "p402/v1/chat.pb.h"

namespace p402::openai {

inline constexpr int64_t kImageTokens = 1600;
inline constexpr int64_t kToolsOverheadTokens = 350;

// Tokens of a piece of text by the rule above. Pure, thread-safe.
int64_t EstimateTextTokens(std::string_view text);

// The same rule over text that arrives in pieces (stream deltas): tokens() is exactly
// EstimateTextTokens of the concatenation (rounding once, not once per piece), without keeping
// the text. The edge uses it to bill what it delivered when it cuts a stream itself. Not
// thread-safe.
class TextTokenCounter {
 public:
  void Add(std::string_view text);
  int64_t tokens() const { return (ascii_ + 2) / 3 + code_points_; }

 private:
  int64_t ascii_ = 0;
  int64_t code_points_ = 0;
};

// Input tokens of a request by the rules above; >= 3 and deterministic. Pure, thread-safe.
int64_t EstimatePromptTokens(const p402::v1::ChatRequest& request);

}  // namespace p402::openai
