#include "libs/openai/token_estimate.h"

namespace p402::openai {

void TextTokenCounter::Add(std::string_view text) {
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      ++ascii_;
    } else if ((c & 0xC0) != 0x80) {
      ++code_points_;  // a lead byte (or a stray byte): one code point
    }
  }
}

int64_t EstimateTextTokens(std::string_view text) {
  TextTokenCounter counter;
  counter.Add(text);
  return counter.tokens();
}

int64_t EstimatePromptTokens(const v1::ChatRequest& request) {
  int64_t tokens = 3;  // reply priming
  for (const v1::ChatMessage& m : request.messages()) {
    tokens += 4;
    tokens += EstimateTextTokens(m.content());
    if (!m.name().empty()) {
      tokens += 1 + EstimateTextTokens(m.name());
    }
    for (const v1::ContentPart& p : m.parts()) {
      if (!p.raw_json().empty()) {
        tokens += EstimateTextTokens(p.raw_json());
      } else if (p.type() == "image_url") {
        tokens += kImageTokens;
      } else {
        tokens += EstimateTextTokens(p.text());
      }
    }
    for (const v1::ToolCall& c : m.tool_calls()) {
      tokens += 4 + EstimateTextTokens(c.id()) + EstimateTextTokens(c.name()) +
                EstimateTextTokens(c.arguments());
    }
    tokens += EstimateTextTokens(m.tool_call_id());
    tokens += EstimateTextTokens(m.refusal());
  }
  if (request.tools_size() > 0) {
    tokens += kToolsOverheadTokens;
  }
  for (const v1::Tool& t : request.tools()) {
    tokens += 8 + EstimateTextTokens(t.name()) + EstimateTextTokens(t.description()) +
              EstimateTextTokens(t.parameters_json());
  }
  tokens += EstimateTextTokens(request.tool_choice_json());
  tokens += EstimateTextTokens(request.response_format_json());
  return tokens;
}

}  // namespace p402::openai
