// DecodeChatRequest on valid input: full round trips of realistic requests, extra_json
// preservation, null-as-absent, and the forms OpenAI SDKs and frameworks actually send.
#include "libs/openai/chat_request.h"

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::Body;
using testing::ParseJson;

constexpr char kRealistic[] = R"({
  "model": "gpt-4o-mini",
  "messages": [
    {"role": "system", "content": "You are a weather bot."},
    {"role": "developer", "content": [{"type": "text", "text": "Answer in metric units."}]},
    {"role": "user", "name": "alice", "content": [
      {"type": "text", "text": "What is the weather here? \u00e9t\u00e9 \ud83c\udf1e"},
      {"type": "image_url", "image_url": {"url": "https://example.com/sky.png", "detail": "low"}},
      {"type": "image_url", "image_url": "data:image/png;base64,iVBORw0KGgo="},
      {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    ]},
    {"role": "assistant", "content": null, "tool_calls": [
      {"id": "call_1", "type": "function",
       "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
      {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": ""}}
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":21}"},
    {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "12:00"}]},
    {"role": "assistant", "content": "", "refusal": "I cannot do that."}
  ],
  "tools": [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather by city",
      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                     "required": ["city"]}, "strict": true}},
    {"type": "function", "function": {"name": "get_time"}}
  ],
  "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
  "max_completion_tokens": 512,
  "temperature": 0.7,
  "top_p": 1,
  "n": 1,
  "stop": ["\n\n", "END"],
  "stream": true,
  "stream_options": {"include_usage": true},
  "response_format": {"type": "json_schema",
                      "json_schema": {"name": "weather", "schema": {"type": "object"}}},
  "user": "user-1234",
  "seed": 42,
  "logit_bias": {"50256": -100},
  "parallel_tool_calls": false,
  "metadata": {"trace": "abc"},
  "p402": {"mode": {"cost": 0.4, "quality": 0.4, "speed": 0.2}, "cache": true,
           "session_id": "s-1", "max_cost_usd": 0.05, "required_capabilities": ["tools"]}
})";

TEST_CASE("realistic request round trip", "[unit]") {
  auto r = DecodeChatRequest(kRealistic);
  REQUIRE(r.ok());
  const v1::ChatRequest& c = r->chat;
  CHECK(c.model() == "gpt-4o-mini");
  REQUIRE(c.messages_size() == 7);

  CHECK(c.messages(0).role() == "system");
  CHECK(c.messages(0).content() == "You are a weather bot.");
  CHECK(c.messages(0).parts_size() == 0);

  CHECK(c.messages(1).role() == "developer");
  REQUIRE(c.messages(1).parts_size() == 1);
  CHECK(c.messages(1).parts(0).type() == "text");
  CHECK(c.messages(1).parts(0).text() == "Answer in metric units.");

  const v1::ChatMessage& user = c.messages(2);
  CHECK(user.name() == "alice");
  CHECK(user.content().empty());
  REQUIRE(user.parts_size() == 4);
  CHECK(user.parts(0).text() == "What is the weather here? \xC3\xA9t\xC3\xA9 \xF0\x9F\x8C\x9E");
  CHECK(user.parts(1).type() == "image_url");
  CHECK(user.parts(1).image_url() == "https://example.com/sky.png");
  CHECK(user.parts(1).image_detail() == "low");
  CHECK(user.parts(2).image_url() == "data:image/png;base64,iVBORw0KGgo=");
  CHECK(user.parts(2).image_detail().empty());
  CHECK(user.parts(3).type() == "input_audio");
  CHECK(ParseJson(user.parts(3).raw_json()) ==
        ParseJson(R"({"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}})"));

  const v1::ChatMessage& asst = c.messages(3);
  CHECK(asst.role() == "assistant");
  CHECK(asst.content_is_null());
  REQUIRE(asst.tool_calls_size() == 2);
  CHECK(asst.tool_calls(0).id() == "call_1");
  CHECK(asst.tool_calls(0).type() == "function");
  CHECK(asst.tool_calls(0).name() == "get_weather");
  CHECK(asst.tool_calls(0).arguments() == R"({"city":"Paris"})");
  CHECK(asst.tool_calls(0).index() == 0);
  CHECK(asst.tool_calls(1).index() == 1);
  CHECK(asst.tool_calls(1).arguments().empty());

  CHECK(c.messages(4).role() == "tool");
  CHECK(c.messages(4).tool_call_id() == "call_1");
  CHECK(c.messages(4).content() == R"({"temp_c":21})");
  REQUIRE(c.messages(5).parts_size() == 1);
  CHECK(c.messages(5).parts(0).text() == "12:00");
  CHECK(c.messages(6).refusal() == "I cannot do that.");
  CHECK_FALSE(c.messages(6).content_is_null());

  REQUIRE(c.tools_size() == 2);
  CHECK(c.tools(0).type() == "function");
  CHECK(c.tools(0).name() == "get_weather");
  CHECK(c.tools(0).description() == "Weather by city");
  CHECK(c.tools(0).strict());
  CHECK(ParseJson(c.tools(0).parameters_json()) ==
        ParseJson(R"({"type":"object","properties":{"city":{"type":"string"}},
                      "required":["city"]})"));
  CHECK(c.tools(1).parameters_json().empty());
  CHECK_FALSE(c.tools(1).strict());
  CHECK(ParseJson(c.tool_choice_json()) ==
        ParseJson(R"({"type":"function","function":{"name":"get_weather"}})"));

  REQUIRE(c.has_max_tokens());
  CHECK(c.max_tokens() == 512);
  CHECK(c.uses_max_completion_tokens());
  REQUIRE(c.has_temperature());
  CHECK(c.temperature() == 0.7);
  REQUIRE(c.has_top_p());
  CHECK(c.top_p() == 1);
  REQUIRE(c.stop_size() == 2);
  CHECK(c.stop(0) == "\n\n");
  CHECK(c.stop(1) == "END");
  CHECK(c.stream());
  CHECK(c.include_usage());
  CHECK(ParseJson(c.response_format_json()).GetString("type") == "json_schema");
  CHECK(c.user() == "user-1234");

  // Unknown members verbatim, in order; known ones, n and p402 are not there.
  CHECK(ParseJson(c.extra_json()) ==
        ParseJson(R"({"seed":42,"logit_bias":{"50256":-100},"parallel_tool_calls":false,
                      "metadata":{"trace":"abc"}})"));

  const P402Extension& e = r->ext;
  CHECK(e.present);
  CHECK(e.mode_given);
  CHECK(e.routing.mode() == v1::ROUTING_MODE_CUSTOM);
  CHECK(e.cache);
  CHECK(e.session_id == "s-1");
  CHECK(e.routing.max_cost_micro_usd() == 50000);
  REQUIRE(e.routing.required_capabilities_size() == 1);
}

TEST_CASE("minimal request has no optional fields set", "[unit]") {
  auto r = DecodeChatRequest(Body());
  REQUIRE(r.ok());
  const v1::ChatRequest& c = r->chat;
  CHECK_FALSE(c.has_max_tokens());
  CHECK_FALSE(c.has_temperature());
  CHECK_FALSE(c.has_top_p());
  CHECK_FALSE(c.stream());
  CHECK_FALSE(c.include_usage());
  CHECK(c.stop_size() == 0);
  CHECK(c.tools_size() == 0);
  CHECK(c.tool_choice_json().empty());
  CHECK(c.response_format_json().empty());
  CHECK(c.extra_json().empty());
  CHECK(c.messages(0).content() == "hi");
}

TEST_CASE("null is the same as absent for optional fields", "[unit]") {
  auto r = DecodeChatRequest(
      Body(R"("temperature":null,"top_p":null,"max_tokens":null,"stop":null,"stream":null,)"
           R"("stream_options":null,"tools":null,"tool_choice":null,"response_format":null,)"
           R"("user":null,"n":null,"p402":null,"model":null)"));
  // model: null with no mode -> still required.
  REQUIRE_FALSE(r.ok());
  CHECK(ParamOf(r.status()) == "model");
  auto ok = DecodeChatRequest(Body(
      R"("temperature":null,"top_p":null,"max_tokens":null,"stop":null,"stream":null,)"
      R"("tools":null,"tool_choice":null,"response_format":null,"user":null,"n":null,"p402":null)"));
  REQUIRE(ok.ok());
  CHECK_FALSE(ok->chat.has_temperature());
  CHECK_FALSE(ok->chat.has_max_tokens());
  // Messages: null name/tool_calls/tool_call_id are ignored too.
  auto m = DecodeChatRequest(testing::WithMessages(
      R"([{"role":"user","content":"x","name":null,"tool_calls":null,"tool_call_id":null}])"));
  REQUIRE(m.ok());
}

TEST_CASE("forms that SDKs and frameworks send", "[unit]") {
  SECTION("stop as a single string") {
    auto r = DecodeChatRequest(Body(R"("stop":"###")"));
    REQUIRE(r.ok());
    REQUIRE(r->chat.stop_size() == 1);
    CHECK(r->chat.stop(0) == "###");
  }
  SECTION("max_tokens, integral decimals and sampling bounds") {
    auto r = DecodeChatRequest(Body(R"("max_tokens":100.0,"temperature":2,"top_p":0)"));
    REQUIRE(r.ok());
    CHECK(r->chat.max_tokens() == 100);
    CHECK_FALSE(r->chat.uses_max_completion_tokens());
    CHECK(r->chat.temperature() == 2);
    CHECK(r->chat.top_p() == 0);
  }
  SECTION("empty tool_calls on every message") {
    auto r = DecodeChatRequest(testing::WithMessages(
        R"([{"role":"user","content":"x","tool_calls":[]},{"role":"assistant","content":"y","tool_calls":[]}])"));
    REQUIRE(r.ok());
    CHECK(r->chat.messages(1).content() == "y");
  }
  SECTION("tool_choice none without tools, strings with tools") {
    REQUIRE(DecodeChatRequest(Body(R"("tool_choice":"none")")).ok());
    auto r = DecodeChatRequest(
        Body(R"("tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required")"));
    REQUIRE(r.ok());
    CHECK(r->chat.tool_choice_json() == R"("required")");
  }
  SECTION("stream without stream_options, and stream false") {
    auto r = DecodeChatRequest(Body(R"("stream":true)"));
    REQUIRE(r.ok());
    CHECK(r->chat.stream());
    CHECK_FALSE(r->chat.include_usage());
    auto f = DecodeChatRequest(Body(R"("stream":false)"));
    REQUIRE(f.ok());
    CHECK_FALSE(f->chat.stream());
  }
  SECTION("response_format text and json_object") {
    REQUIRE(DecodeChatRequest(Body(R"("response_format":{"type":"text"})")).ok());
    REQUIRE(DecodeChatRequest(Body(R"("response_format":{"type":"json_object"})")).ok());
  }
  SECTION("assistant refusal with null content") {
    auto r = DecodeChatRequest(testing::WithMessages(
        R"([{"role":"user","content":"x"},{"role":"assistant","content":null,"refusal":"no"}])"));
    REQUIRE(r.ok());
    CHECK(r->chat.messages(1).content_is_null());
    CHECK(r->chat.messages(1).refusal() == "no");
  }
  SECTION("unknown message members are ignored") {
    auto r = DecodeChatRequest(testing::WithMessages(
        R"([{"role":"user","content":"x","cache_control":{"type":"ephemeral"}}])"));
    REQUIRE(r.ok());
  }
}

TEST_CASE("extra_json keeps unknown members verbatim, one per key", "[unit]") {
  auto r = DecodeChatRequest(
      Body(R"("seed":1,"presence_penalty":0.5,"seed":2,"functions":[{"name":"f"}],)"
           R"("logprobs":true,"top_logprobs":3,"service_tier":"auto","store":false,)"
           R"("weird":{"nested":[1,"two",null,{"x":1.25e-3}]})"));
  REQUIRE(r.ok());
  json::Value extra = ParseJson(r->chat.extra_json());
  REQUIRE(extra.is_object());
  CHECK(extra.GetInt("seed") == 2);  // the last duplicate wins, as for known fields
  CHECK(extra.GetDouble("presence_penalty") == 0.5);
  CHECK(extra.GetBool("logprobs") == true);
  CHECK(extra.GetInt("top_logprobs") == 3);
  CHECK(extra.GetString("service_tier") == "auto");
  CHECK(extra.GetBool("store") == false);
  REQUIRE(extra.Find("functions") != nullptr);
  CHECK(*extra.Find("weird") == ParseJson(R"({"nested":[1,"two",null,{"x":1.25e-3}]})"));
  CHECK(extra.Find("model") == nullptr);
  CHECK(extra.Find("messages") == nullptr);
  size_t seeds = 0;
  for (const auto& [k, v] : extra.AsObject()) {
    seeds += k == "seed" ? 1 : 0;
  }
  CHECK(seeds == 1);
}

TEST_CASE("duplicate known keys: the last one wins", "[unit]") {
  auto r = DecodeChatRequest(
      R"({"model":"a","model":"b","messages":[{"role":"user","content":"x"}],"temperature":3,"temperature":1})");
  REQUIRE(r.ok());
  CHECK(r->chat.model() == "b");
  CHECK(r->chat.temperature() == 1);
}

}  // namespace
}  // namespace p402::openai
