#include "services/router/adapters/anthropic_stream_decoder.h"

#include <string>
#include <utility>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using Event = std::pair<std::string, std::string>;  // {event name, data}

// A Messages stream with text, a tool_use block whose input arrives in fragments, and the final
// usage, as api.anthropic.com sends it.
const std::vector<Event> kStream = {
    {"message_start",
     R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}}})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"},
    {"ping", R"({"type": "ping"})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":0})"},
    {"content_block_start",
     R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"loc"}})"},
    {"content_block_delta",
     R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ation\": \"Paris\"}"}})"},
    {"content_block_stop", R"({"type":"content_block_stop","index":1})"},
    {"message_delta",
     R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}})"},
    {"message_stop", R"({"type":"message_stop"})"},
};

TEST_CASE("Anthropic stream decodes text, tool input fragments, finish and usage", "[unit]") {
  AnthropicStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  for (const auto& [event, data] : kStream) {
    INFO(event);
    REQUIRE(decoder.OnEvent(event, data, deltas).ok());
  }
  CHECK(decoder.done());
  REQUIRE(deltas.size() == 8);
  CHECK(deltas[0].role() == "assistant");
  CHECK(deltas[1].content() == "Hello");
  CHECK(deltas[2].content() == " world");
  REQUIRE(deltas[3].tool_calls_size() == 1);
  CHECK(deltas[3].tool_calls(0).index() == 0);  // first tool_use block, though block index 1
  CHECK(deltas[3].tool_calls(0).id() == "toolu_01");
  CHECK(deltas[3].tool_calls(0).type() == "function");
  CHECK(deltas[3].tool_calls(0).name() == "get_weather");
  CHECK(deltas[3].tool_calls(0).arguments().empty());
  std::string args;
  for (int i = 4; i <= 6; ++i) {
    REQUIRE(deltas[i].tool_calls_size() == 1);
    CHECK(deltas[i].tool_calls(0).index() == 0);
    CHECK(deltas[i].tool_calls(0).id().empty());
    args += deltas[i].tool_calls(0).arguments();
  }
  CHECK(args == R"({"location": "Paris"})");
  CHECK(deltas[7].finish_reason() == "tool_calls");

  const StreamSummary& s = decoder.summary();
  CHECK(s.id == "msg_1");
  CHECK(s.model == "claude-sonnet-4-5-20250929");
  CHECK(s.finish_reason == "tool_calls");
  CHECK(s.first_token);
  CHECK(s.usage_reported);
  CHECK(s.usage.input_tokens() == 135);  // 25 + 100 read + 10 written
  CHECK(s.usage.cached_input_tokens() == 100);
  CHECK(s.usage.cache_write_input_tokens() == 10);
  CHECK(s.usage.output_tokens() == 42);
  CHECK(s.delivered_chars == static_cast<int64_t>(std::string("Hello world").size() +
                                                  std::string("get_weather").size() + args.size()));

  std::vector<v1::ChatDelta> after;
  REQUIRE(decoder.OnEvent("content_block_delta", kStream[3].second, after).ok());
  CHECK(after.empty());
}

TEST_CASE("Anthropic stream: input usage before the end, event name from data", "[unit]") {
  AnthropicStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  REQUIRE(decoder.OnEvent("", kStream[0].second, deltas).ok());  // no "event:" line
  CHECK_FALSE(decoder.summary().first_token);
  CHECK_FALSE(decoder.summary().usage_reported);
  CHECK(decoder.summary().usage.input_tokens() == 135);
  REQUIRE(decoder.OnEvent("", kStream[3].second, deltas).ok());
  CHECK(decoder.summary().first_token);
  // Thinking deltas are dropped.
  REQUIRE(
      decoder
          .OnEvent(
              "content_block_delta",
              R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}})",
              deltas)
          .ok());
  CHECK(deltas.size() == 2);
  // Newer API versions repeat cumulative input counts in message_delta.
  REQUIRE(
      decoder
          .OnEvent(
              "message_delta",
              R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":30,"output_tokens":7}})",
              deltas)
          .ok());
  CHECK(decoder.summary().usage.input_tokens() == 140);
  CHECK(decoder.summary().usage.output_tokens() == 7);
  CHECK(decoder.summary().finish_reason == "stop");
  CHECK_FALSE(decoder.done());
}

TEST_CASE("Anthropic stream error events and malformed data", "[unit]") {
  AnthropicStreamDecoder decoder;
  std::vector<v1::ChatDelta> deltas;
  absl::Status s = decoder.OnEvent(
      "error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
      deltas);
  CHECK_THAT(s, StatusIs(absl::StatusCode::kUnavailable, "overloaded_error: Overloaded"));
  CHECK(ReasonOf(s) == "provider_error");
  REQUIRE(decoder.error().has_value());
  CHECK(decoder.error()->type == "overloaded_error");
  CHECK(decoder.error()->message == "Overloaded");

  AnthropicStreamDecoder other;
  s = other.OnEvent("content_block_delta", "{oops", deltas);
  CHECK(ReasonOf(s) == "invalid_response");
  s = other.OnEvent(
      "content_block_delta",
      R"({"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"x"}})",
      deltas);
  CHECK_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, "unknown block"));
  CHECK(other.OnEvent("something_new", R"({"type":"something_new"})", deltas).ok());
}

}  // namespace
}  // namespace p402::router
