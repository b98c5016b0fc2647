#include "services/router/adapters/openai_stream_decoder.h"

#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;

// A streamed answer with text, then two parallel tool calls whose arguments arrive in fragments,
// then the usage-only chunk (choices: []) and [DONE], as api.openai.com sends them.
const std::vector<std::string> kToolStream = {
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Let me check."},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Paris\"}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":null}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
    R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1710000000,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":85,"completion_tokens":40,"total_tokens":125,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}})",
    "[DONE]",
};

TEST_CASE("OpenAI stream decodes text, tool-call fragments, finish and usage", "[unit]") {
  OpenAiStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  for (const std::string& data : kToolStream) {
    REQUIRE(decoder.OnEvent("", data, deltas).ok());
  }
  CHECK(decoder.done());
  REQUIRE(deltas.size() == 7);
  CHECK(deltas[0].role() == "assistant");
  CHECK(deltas[0].content().empty());
  CHECK(deltas[1].content() == "Let me check.");
  REQUIRE(deltas[2].tool_calls_size() == 1);
  CHECK(deltas[2].tool_calls(0).index() == 0);
  CHECK(deltas[2].tool_calls(0).id() == "call_a");
  CHECK(deltas[2].tool_calls(0).name() == "get_weather");
  std::string args0 = deltas[3].tool_calls(0).arguments() + deltas[4].tool_calls(0).arguments();
  CHECK(args0 == R"({"city": "Paris"})");
  CHECK(deltas[4].tool_calls(0).id().empty());
  CHECK(deltas[5].tool_calls(0).index() == 1);
  CHECK(deltas[5].tool_calls(0).name() == "get_time");
  CHECK(deltas[6].finish_reason() == "tool_calls");

  const StreamSummary& s = decoder.summary();
  CHECK(s.id == "chatcmpl-7");
  CHECK(s.model == "gpt-4o-mini-2024-07-18");
  CHECK(s.created == 1710000000);
  CHECK(s.system_fingerprint == "fp_x");
  CHECK(s.finish_reason == "tool_calls");
  CHECK(s.first_token);
  CHECK(s.usage_reported);
  CHECK(s.usage.input_tokens() == 85);
  CHECK(s.usage.output_tokens() == 40);
  CHECK(s.delivered_chars == static_cast<int64_t>(std::string("Let me check.").size() +
                                                  std::string("get_weather").size() + args0.size() +
                                                  std::string("get_time{}").size()));
  CHECK_FALSE(decoder.error().has_value());

  // Events after [DONE] are ignored.
  std::vector<v1::ChatDelta> more;
  REQUIRE(decoder.OnEvent("", kToolStream[1], more).ok());
  CHECK(more.empty());
}

TEST_CASE("OpenAI stream: role-only chunk is not the first token; no usage", "[unit]") {
  OpenAiStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  REQUIRE(decoder.OnEvent("", kToolStream[0], deltas).ok());
  CHECK_FALSE(decoder.summary().first_token);
  REQUIRE(decoder.OnEvent("", "  \n", deltas).ok());  // keep-alive / blank
  REQUIRE(decoder.OnEvent("", kToolStream[1], deltas).ok());
  CHECK(decoder.summary().first_token);
  CHECK_FALSE(decoder.summary().usage_reported);
  CHECK_FALSE(decoder.done());
}

TEST_CASE("OpenAI stream errors", "[unit]") {
  OpenAiStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  absl::Status s = decoder.OnEvent(
      "", R"({"error":{"message":"The server had an error","type":"server_error"}})", deltas);
  CHECK_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "The server had an error"));
  CHECK(ReasonOf(s) == "provider_error");
  REQUIRE(decoder.error().has_value());
  CHECK(decoder.error()->type == "server_error");

  OpenAiStreamDecoder other;
  s = other.OnEvent("", "{not json", deltas);
  CHECK_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(ReasonOf(s) == "invalid_response");
  // Odd but valid chunks are tolerated.
  CHECK(other.OnEvent("", R"({"choices":null})", deltas).ok());
  CHECK(other.OnEvent("", R"({"choices":[{"index":99999999999,"delta":null}]})", deltas).ok());
}

}  // namespace
}  // namespace p402::router
