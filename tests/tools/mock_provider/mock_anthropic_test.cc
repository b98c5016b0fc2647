// The mock provider's Anthropic Messages surface.
#include "catch2/catch.hpp"
#include "tests/tools/mock_provider/mock_test_util.h"

namespace p402::mock_provider {
namespace {

using namespace p402::mock_provider::testing;  // NOLINT

// system "Be brief." (9 bytes) -> 4 + 3; user "Hello there" (11 bytes) -> 4 + 3.
constexpr int64_t kPrompt = 14;
const std::string kBody =
    R"({"model":"claude-3-5-haiku","max_tokens":64,"system":"Be brief.",)"
    R"("messages":[{"role":"user","content":[{"type":"text","text":"Hello there"}]}]})";

std::string WithFields(std::string body, const std::string& fields) {
  body.pop_back();
  return body + "," + fields + "}";
}

TEST_CASE("anthropic: message object with usage", "[unit][mock]") {
  auto mock = StartMock("anthropic");
  auto client = Client();
  auto r = Fetch(*client, AnthropicPost(*mock, kBody));
  REQUIRE(r.status == 200);
  CHECK(r.headers.Get("request-id").has_value());
  json::Value v = ParseJson(r.body);
  CHECK(At(v, "id").AsString().rfind("msg_", 0) == 0);
  CHECK(At(v, "type").AsString() == "message");
  CHECK(At(v, "role").AsString() == "assistant");
  CHECK(At(v, "model").AsString() == "claude-3-5-haiku");
  CHECK(At(v, "content/0/type").AsString() == "text");
  CHECK(At(v, "content/0/text").AsString() ==
        "anthropic mock reply tokens flow from a deterministic provider with stable words");
  CHECK(At(v, "stop_reason").AsString() == "end_turn");
  CHECK(At(v, "stop_sequence").is_null());
  CHECK(At(v, "usage/input_tokens").AsInt() == kPrompt);
  CHECK(At(v, "usage/output_tokens").AsInt() == 12);
  CHECK(At(v, "usage/cache_creation_input_tokens").AsInt() == 0);
  CHECK(At(v, "usage/cache_read_input_tokens").AsInt() == 0);

  SECTION("cached tokens are reported apart from input_tokens; max_tokens stops early") {
    auto req = AnthropicPost(*mock, WithFields(kBody, R"("temperature":0)"));
    req.headers.Add("x-mock-cached-tokens", "5");
    req.body = std::string(req.body).replace(req.body.find("64"), 2, "4");
    json::Value t = ParseJson(Fetch(*client, req).body);
    CHECK(At(t, "usage/input_tokens").AsInt() == kPrompt - 5);
    CHECK(At(t, "usage/cache_read_input_tokens").AsInt() == 5);
    CHECK(At(t, "usage/output_tokens").AsInt() == 4);
    CHECK(At(t, "stop_reason").AsString() == "max_tokens");
  }
}

TEST_CASE("anthropic: the event stream", "[unit][mock]") {
  auto mock = StartMock("anthropic");
  auto client = Client();
  auto r = Fetch(*client, AnthropicPost(*mock, WithFields(kBody, R"("stream":true)")));
  REQUIRE(r.status == 200);
  auto events = ParseSse(r.body);
  std::vector<std::string> names;
  std::string text;
  for (const auto& e : events) {
    names.push_back(e.event);
    json::Value d = ParseJson(e.data);
    CHECK(At(d, "type").AsString() == e.event);  // the data's type matches the event name
    if (e.event == "content_block_delta") {
      CHECK(At(d, "delta/type").AsString() == "text_delta");
      text += At(d, "delta/text").AsString();
    }
    if (e.event == "message_start") {
      CHECK(At(d, "message/usage/input_tokens").AsInt() == kPrompt);
      CHECK(At(d, "message/content").AsArray().empty());
      CHECK(At(d, "message/stop_reason").is_null());
    }
    if (e.event == "message_delta") {
      CHECK(At(d, "delta/stop_reason").AsString() == "end_turn");
      CHECK(At(d, "usage/output_tokens").AsInt() == 12);
    }
  }
  REQUIRE(names.size() == 3 + 12 + 3);
  CHECK(names[0] == "message_start");
  CHECK(names[1] == "content_block_start");
  CHECK(names[2] == "ping");
  CHECK(names[3] == "content_block_delta");
  CHECK(names[15] == "content_block_stop");
  CHECK(names[16] == "message_delta");
  CHECK(names[17] == "message_stop");
  CHECK(text == "anthropic mock reply tokens flow from a deterministic provider with stable words");
}

TEST_CASE("anthropic: tool_use + plain and streamed", "[unit][mock]") {
  auto mock = StartMock("anthropic");
  auto client = Client();
  const std::string body = WithFields(kBody,
      R"("tools":[{"name":"lookup","description":"d","input_schema":{"type":"object",)"
      R"("properties":{"q":{"type":"string"},"n":{"type":"number"}}}}])");
  json::Value v = ParseJson(Fetch(*client, AnthropicPost(*mock, body)).body);
  CHECK(At(v, "stop_reason").AsString() == "tool_use");
  CHECK(At(v, "content/0/type").AsString() == "tool_use");
  CHECK(At(v, "content/0/id").AsString().rfind("toolu_", 0) == 0);
  CHECK(At(v, "content/0/name").AsString() == "lookup");
  CHECK(At(v, "content/0/input/q").AsString() == "mock");
  CHECK(At(v, "content/0/input/n").AsDouble() == 1.5);
  CHECK(At(v, "usage/input_tokens").AsInt() == kPrompt + 16);
  const std::string args = R"({"q":"mock","n":1.5})";
  CHECK(At(v, "usage/output_tokens").AsInt() == 8 + static_cast<int64_t>((args.size() + 3) / 4));

  auto s = Fetch(*client, AnthropicPost(*mock, WithFields(body, R"("stream":true)")));
  std::string partial;
  for (const auto& e : ParseSse(s.body)) {
    json::Value d = ParseJson(e.data);
    if (e.event == "content_block_start") {
      CHECK(At(d, "content_block/type").AsString() == "tool_use");
      CHECK(At(d, "content_block/name").AsString() == "lookup");
    }
    if (e.event == "content_block_delta") {
      CHECK(At(d, "delta/type").AsString() == "input_json_delta");
      partial += At(d, "delta/partial_json").AsString();
    }
    if (e.event == "message_delta") {
      CHECK(At(d, "delta/stop_reason").AsString() == "tool_use");
    }
  }
  CHECK(partial == args);
}

TEST_CASE("anthropic: header and body validation + error shapes", "[unit][mock]") {
  auto mock = StartMock("anthropic");
  auto client = Client();
  auto no_key = AnthropicPost(*mock, kBody);
  no_key.headers.Remove("x-api-key");
  auto r = Fetch(*client, no_key);
  CHECK(r.status == 401);
  json::Value e = ParseJson(r.body);
  CHECK(At(e, "type").AsString() == "error");
  CHECK(At(e, "error/type").AsString() == "authentication_error");

  auto no_version = AnthropicPost(*mock, kBody);
  no_version.headers.Remove("anthropic-version");
  auto r2 = Fetch(*client, no_version);
  CHECK(r2.status == 400);
  CHECK(At(ParseJson(r2.body), "error/type").AsString() == "invalid_request_error");

  auto r3 = Fetch(*client, AnthropicPost(*mock,
      R"({"model":"c","messages":[{"role":"user","content":"x"}]})"));
  CHECK(r3.status == 400);
  CHECK(At(ParseJson(r3.body), "error/message").AsString().find("max_tokens") !=
        std::string::npos);

  auto overloaded = AnthropicPost(*mock, kBody);
  overloaded.headers.Add("x-mock-status", "529");
  auto r4 = Fetch(*client, overloaded);
  CHECK(r4.status == 529);
  CHECK(At(ParseJson(r4.body), "error/type").AsString() == "overloaded_error");

  auto limited = AnthropicPost(*mock, kBody);
  limited.headers.Add("x-mock-status", "429");
  limited.headers.Add("x-mock-retry-after", "7");
  auto r5 = Fetch(*client, limited);
  CHECK(r5.status == 429);
  CHECK(r5.headers.Get("retry-after") == "7");
  CHECK(At(ParseJson(r5.body), "error/type").AsString() == "rate_limit_error");
}

}  // namespace
}  // namespace p402::mock_provider
