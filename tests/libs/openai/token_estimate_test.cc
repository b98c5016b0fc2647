// The prompt-token heuristic: documented rules, determinism and upward bias.
#include "libs/openai/token_estimate.h"

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

TEST_CASE("text token rule", "[unit]") {
  CHECK(EstimateTextTokens("") == 0);
  CHECK(EstimateTextTokens("a") == 1);
  CHECK(EstimateTextTokens("abc") == 1);
  CHECK(EstimateTextTokens("abcd") == 2);
  CHECK(EstimateTextTokens(std::string(300, 'x')) == 100);
  // One token per non-ASCII code point, whatever its byte length.
  CHECK(EstimateTextTokens("\xE4\xBD\xA0\xE5\xA5\xBD") == 2);  // 你好
  CHECK(EstimateTextTokens("\xF0\x9F\x8C\x9E") == 1);          // one emoji
  CHECK(EstimateTextTokens("ab\xC3\xA9") == 2);                // "abé": ceil(2/3) + 1
}

TEST_CASE("the piecewise counter equals the rule over the concatenation", "[unit]") {
  TextTokenCounter counter;
  CHECK(counter.tokens() == 0);
  // Per-piece rounding would give 1 + 1 + 1 = 3; the concatenation "abcd" is 2.
  for (std::string_view piece : {"a", "bc", "d"}) counter.Add(piece);
  CHECK(counter.tokens() == 2);
  counter.Add("\xE4\xBD\xA0");  // one CJK code point
  CHECK(counter.tokens() == EstimateTextTokens("abcd\xE4\xBD\xA0"));
}

TEST_CASE("English prose is over-estimated, never under", "[unit]") {
  // 'The quick brown fox jumps over the lazy dog.' is 10 tokens in cl100k_base and o200k_base.
  std::string sentence = "The quick brown fox jumps over the lazy dog. ";
  std::string prose;
  for (int i = 0; i < 100; ++i) {
    prose += sentence;
  }
  int64_t est = EstimateTextTokens(prose);
  CHECK(est >= 1000);  // real count ~1,000-1,100
  CHECK(est <= 1600);  // and not absurdly high
}

TEST_CASE("request estimate follows the documented rules", "[unit]") {
  v1::ChatRequest r;
  CHECK(EstimatePromptTokens(r) == 3);
  v1::ChatMessage* m = r.add_messages();
  m->set_role("user");
  m->set_content("abcdef");  // 2
  CHECK(EstimatePromptTokens(r) == 3 + 4 + 2);
  m->set_name("bob");  // +1 +1
  CHECK(EstimatePromptTokens(r) == 3 + 4 + 2 + 2);

  v1::ChatRequest img;
  v1::ChatMessage* u = img.add_messages();
  v1::ContentPart* p = u->add_parts();
  p->set_type("image_url");
  p->set_image_url("https://x/y.png");
  p->set_image_detail("low");  // still counted at the ceiling (provider may ignore detail)
  CHECK(EstimatePromptTokens(img) == 3 + 4 + kImageTokens);

  v1::ChatRequest tools;
  tools.add_messages()->set_content("abc");
  v1::Tool* t = tools.add_tools();
  t->set_name("get_weather");  // 11 chars -> 4
  CHECK(EstimatePromptTokens(tools) == 3 + 4 + 1 + kToolsOverheadTokens + 8 + 4);
}

TEST_CASE("estimate of a decoded realistic request is deterministic and covers all content",
          "[unit]") {
  auto a = DecodeChatRequest(R"({"model":"m","messages":[
      {"role":"system","content":"You are terse."},
      {"role":"user","content":[{"type":"text","text":"Describe"},
        {"type":"image_url","image_url":{"url":"https://x/a.png"}}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"lookup","arguments":"{\"q\":\"sky\"}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"blue"}],
      "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],
      "response_format":{"type":"json_object"}})");
  REQUIRE(a.ok());
  int64_t first = EstimatePromptTokens(a->chat);
  CHECK(first == EstimatePromptTokens(a->chat));
  CHECK(first > kImageTokens + kToolsOverheadTokens);
  // Adding text to any message raises the estimate.
  v1::ChatRequest more = a->chat;
  more.mutable_messages(3)->set_content(std::string(3000, 'z'));
  CHECK(EstimatePromptTokens(more) == first - 2 + 1000);
}

}  // namespace
}  // namespace p402::openai
