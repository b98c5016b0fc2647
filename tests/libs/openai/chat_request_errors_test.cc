// Every validation error path of DecodeChatRequest outside the p402 extension: exact message,
// param and reason (the OpenAI `code`).
#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::Body;
using testing::ExpectDecodeError;
using testing::WithMessages;

TEST_CASE("body-level errors", "[unit]") {
  ExpectDecodeError("{", "We could not parse the JSON body of your request.", "", "invalid_json",
                    false);
  ExpectDecodeError("", "We could not parse the JSON body of your request.", "", "invalid_json",
                    false);
  ExpectDecodeError(R"({"model":"m","messages":[]} trailing)", "could not parse", "",
                    "invalid_json", false);
  ExpectDecodeError("[1]",
                    "Invalid type for request body: expected a JSON object, but got an array "
                    "instead.",
                    "", "invalid_type");
  ExpectDecodeError(R"("hello")",
                    "Invalid type for request body: expected a JSON object, but got a string "
                    "instead.",
                    "", "invalid_type");
}

TEST_CASE("messages errors", "[unit]") {
  ExpectDecodeError(R"({"model":"m"})", "'messages' is a required property", "messages",
                    "missing_required_parameter");
  ExpectDecodeError(WithMessages("{}"),
                    "Invalid type for 'messages': expected an array, but got an object instead.",
                    "messages", "invalid_type");
  ExpectDecodeError(WithMessages("null"),
                    "Invalid type for 'messages': expected an array, but got null instead.",
                    "messages", "invalid_type");
  ExpectDecodeError(WithMessages("[]"),
                    "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                    "but got an empty array instead.",
                    "messages", "empty_array");
  ExpectDecodeError(WithMessages(R"(["hi"])"),
                    "Invalid type for 'messages[0]': expected an object, but got a string "
                    "instead.",
                    "messages[0]", "invalid_type");
  ExpectDecodeError(WithMessages(R"([{"content":"x"}])"),
                    "'messages[0].role' is a required property", "messages[0].role",
                    "missing_required_parameter");
  ExpectDecodeError(WithMessages(R"([{"role":5,"content":"x"}])"),
                    "Invalid type for 'messages[0].role': expected a string, but got an integer "
                    "instead.",
                    "messages[0].role", "invalid_type");
  ExpectDecodeError(
      WithMessages(R"([{"role":"user","content":"x"},{"role":"robot","content":"y"}])"),
      "Invalid value for 'messages[1].role': 'robot' is not one of 'system', "
      "'developer', 'user', 'assistant', 'tool'.",
      "messages[1].role", "invalid_value");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":7}])"),
                    "Invalid type for 'messages[0].content': expected a string or an array of "
                    "content parts, but got an integer instead.",
                    "messages[0].content", "invalid_type");
  ExpectDecodeError(WithMessages(R"([{"role":"user"}])"),
                    "'messages[0].content' is a required property", "messages[0].content",
                    "missing_required_parameter");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":null}])"),
                    "Invalid type for 'messages[0].content': expected a string or an array of "
                    "content parts, but got null instead.",
                    "messages[0].content", "invalid_type");
  // An assistant message may have null content only with tool calls or a refusal.
  ExpectDecodeError(WithMessages(R"([{"role":"assistant","content":null}])"),
                    "Invalid type for 'messages[0].content': expected a string or an array of "
                    "content parts, but got null instead.",
                    "messages[0].content", "invalid_type");
  ExpectDecodeError(WithMessages(R"([{"role":"assistant"}])"),
                    "'messages[0].content' is a required property", "messages[0].content",
                    "missing_required_parameter");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[]}])"),
                    "Invalid 'messages[0].content': empty array. Expected an array with minimum "
                    "length 1, but got an empty array instead.",
                    "messages[0].content", "empty_array");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":"x","name":true}])"),
                    "Invalid type for 'messages[0].name': expected a string, but got a boolean "
                    "instead.",
                    "messages[0].name", "invalid_type");
}

TEST_CASE("content part errors", "[unit]") {
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[1]}])"),
                    "Invalid type for 'messages[0].content[0]': expected an object, but got an "
                    "integer instead.",
                    "messages[0].content[0]", "invalid_type");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[{"text":"x"}]}])"),
                    "'messages[0].content[0].type' is a required property",
                    "messages[0].content[0].type", "missing_required_parameter");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[{"type":"text"}]}])"),
                    "'messages[0].content[0].text' is a required property",
                    "messages[0].content[0].text", "missing_required_parameter");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[{"type":"text","text":1}]}])"),
                    "Invalid type for 'messages[0].content[0].text': expected a string, but got "
                    "an integer instead.",
                    "messages[0].content[0].text", "invalid_type");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}]}])"),
      "Invalid value for 'messages[0].content[0].type': image content parts are only allowed in "
      "messages with role 'user', but this message has role 'system'.",
      "messages[0].content[0].type", "invalid_value");
  ExpectDecodeError(WithMessages(R"([{"role":"user","content":[{"type":"image_url"}]}])"),
                    "'messages[0].content[0].image_url' is a required property",
                    "messages[0].content[0].image_url", "missing_required_parameter");
  ExpectDecodeError(
      WithMessages(R"([{"role":"user","content":[{"type":"image_url","image_url":{}}]}])"),
      "'messages[0].content[0].image_url.url' is a required property",
      "messages[0].content[0].image_url.url", "missing_required_parameter");
  ExpectDecodeError(
      WithMessages(R"([{"role":"user","content":[{"type":"image_url","image_url":3}]}])"),
      "Invalid type for 'messages[0].content[0].image_url': expected an object, but got an "
      "integer instead.",
      "messages[0].content[0].image_url", "invalid_type");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}])"),
      "Invalid value for 'messages[0].content[0].image_url.url': expected an https:// URL or a "
      "data: URL.",
      "messages[0].content[0].image_url.url", "invalid_value");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x","detail":"ultra"}}]}])"),
      "Invalid value for 'messages[0].content[0].image_url.detail': 'ultra' is not one of 'auto', "
      "'low', 'high'.",
      "messages[0].content[0].image_url.detail", "invalid_value");
}

TEST_CASE("tool message and tool call errors", "[unit]") {
  ExpectDecodeError(
      WithMessages(R"([{"role":"user","content":"x"},{"role":"tool","content":"42"}])"),
      "'messages[1].tool_call_id' is a required property", "messages[1].tool_call_id",
      "missing_required_parameter");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"user","content":"x"},{"role":"tool","content":"42","tool_call_id":""}])"),
      "Invalid 'messages[1].tool_call_id': empty string. Expected a string with minimum length 1, "
      "but got an empty string instead.",
      "messages[1].tool_call_id", "empty_string");
  const char* call = R"({"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}})";
  ExpectDecodeError(
      WithMessages(std::string(R"([{"role":"user","content":"x","tool_calls":[)") + call + "]}]"),
      "Invalid value for 'messages[0].tool_calls': tool calls are only allowed in "
      "messages with role 'assistant', but this message has role 'user'.",
      "messages[0].tool_calls", "invalid_value");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}])"),
      "'messages[0].tool_calls[0].id' is a required property", "messages[0].tool_calls[0].id",
      "missing_required_parameter");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"assistant","tool_calls":[{"id":"c","type":"retrieval","function":{"name":"f","arguments":"{}"}}]}])"),
      "Invalid value for 'messages[0].tool_calls[0].type': 'retrieval' is not one of "
      "'function'.",
      "messages[0].tool_calls[0].type", "invalid_value");
  ExpectDecodeError(
      WithMessages(R"([{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}])"),
      "'messages[0].tool_calls[0].function' is a required property",
      "messages[0].tool_calls[0].function", "missing_required_parameter");
  ExpectDecodeError(
      WithMessages(
          R"([{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{"a":1}}}]}])"),
      "Invalid type for 'messages[0].tool_calls[0].function.arguments': expected a string, but "
      "got an object instead.",
      "messages[0].tool_calls[0].function.arguments", "invalid_type");
  ExpectDecodeError(
      WithMessages(R"([{"role":"assistant","tool_calls":{"id":"c"}}])"),
      "Invalid type for 'messages[0].tool_calls': expected an array, but got an object instead.",
      "messages[0].tool_calls", "invalid_type");
}

TEST_CASE("model errors", "[unit]") {
  const char* kNeedModel =
      "you must provide a model parameter (or a routing mode in 'p402.mode' to let P402 choose "
      "the model)";
  ExpectDecodeError(R"({"messages":[{"role":"user","content":"x"}]})", kNeedModel, "model",
                    "missing_required_parameter");
  ExpectDecodeError(R"({"model":"","messages":[{"role":"user","content":"x"}]})", kNeedModel,
                    "model", "missing_required_parameter");
  // p402 without a mode does not lift the requirement.
  ExpectDecodeError(R"({"messages":[{"role":"user","content":"x"}],"p402":{"cache":true}})",
                    kNeedModel, "model", "missing_required_parameter");
  ExpectDecodeError(R"({"model":5,"messages":[{"role":"user","content":"x"}]})",
                    "Invalid type for 'model': expected a string, but got an integer instead.",
                    "model", "invalid_type");
  ExpectDecodeError(std::string(R"({"model":")") + std::string(300, 'm') +
                        R"(","messages":[{"role":"user","content":"x"}]})",
                    "Invalid 'model': string too long. Expected a string with maximum length 256, "
                    "but got a string with length 300 instead.",
                    "model", "string_above_max_length");
}

TEST_CASE("sampling and limit errors", "[unit]") {
  ExpectDecodeError(Body(R"("temperature":2.5)"),
                    "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, "
                    "but got 2.5 instead.",
                    "temperature", "decimal_above_max_value");
  ExpectDecodeError(Body(R"("temperature":-0.1)"),
                    "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, "
                    "but got -0.1 instead.",
                    "temperature", "decimal_below_min_value");
  ExpectDecodeError(Body(R"("temperature":"hot")"),
                    "Invalid type for 'temperature': expected a number, but got a string instead.",
                    "temperature", "invalid_type");
  ExpectDecodeError(Body(R"("top_p":1.5)"),
                    "Invalid 'top_p': decimal above maximum value. Expected a value <= 1, but got "
                    "1.5 instead.",
                    "top_p", "decimal_above_max_value");
  ExpectDecodeError(Body(R"("max_tokens":0)"),
                    "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, "
                    "but got 0 instead.",
                    "max_tokens", "integer_below_min_value");
  ExpectDecodeError(Body(R"("max_tokens":3000000000)"),
                    "Invalid 'max_tokens': integer above maximum value. Expected a value <= "
                    "2147483647, but got 3000000000 instead.",
                    "max_tokens", "integer_above_max_value");
  ExpectDecodeError(Body(R"("max_tokens":18446744073709551615)"), "integer above maximum value",
                    "max_tokens", "integer_above_max_value", false);
  ExpectDecodeError(Body(R"("max_tokens":1e300)"), "integer above maximum value", "max_tokens",
                    "integer_above_max_value", false);
  ExpectDecodeError(Body(R"("max_tokens":1.5)"),
                    "Invalid type for 'max_tokens': expected an integer, but got a decimal number "
                    "instead.",
                    "max_tokens", "invalid_type");
  ExpectDecodeError(Body(R"("max_tokens":"100")"),
                    "Invalid type for 'max_tokens': expected an integer, but got a string instead.",
                    "max_tokens", "invalid_type");
  ExpectDecodeError(Body(R"("max_completion_tokens":-5)"),
                    "Invalid 'max_completion_tokens': integer below minimum value. Expected a "
                    "value >= 1, but got -5 instead.",
                    "max_completion_tokens", "integer_below_min_value");
  ExpectDecodeError(Body(R"("max_tokens":10,"max_completion_tokens":10)"),
                    "Invalid value for 'max_tokens': set either 'max_tokens' or "
                    "'max_completion_tokens', not both.",
                    "max_tokens", "invalid_value");
  ExpectDecodeError(Body(R"("n":2)"),
                    "Invalid value for 'n': P402 returns one choice per request, so 'n' must be "
                    "1, but got 2 instead.",
                    "n", "unsupported_value");
  ExpectDecodeError(Body(R"("n":"1")"),
                    "Invalid type for 'n': expected an integer, but got a string instead.", "n",
                    "invalid_type");
  ExpectDecodeError(Body(R"("stop":["a","b","c","d","e"])"),
                    "Invalid 'stop': array too long. Expected an array with maximum length 4, but "
                    "got an array with length 5 instead.",
                    "stop", "array_above_max_length");
  ExpectDecodeError(Body(R"("stop":[1])"),
                    "Invalid type for 'stop[0]': expected a string, but got an integer instead.",
                    "stop[0]", "invalid_type");
  ExpectDecodeError(Body(R"("stop":5)"),
                    "Invalid type for 'stop': expected a string or an array of strings, but got "
                    "an integer instead.",
                    "stop", "invalid_type");
  ExpectDecodeError(Body(R"("stream":"yes")"),
                    "Invalid type for 'stream': expected a boolean, but got a string instead.",
                    "stream", "invalid_type");
  ExpectDecodeError(Body(R"("stream_options":{"include_usage":true})"),
                    "Invalid value for 'stream_options': 'stream_options' is only allowed when "
                    "'stream' is true.",
                    "stream_options", "invalid_value");
  ExpectDecodeError(Body(R"("stream":true,"stream_options":{"include_usage":"x"})"),
                    "Invalid type for 'stream_options.include_usage': expected a boolean, but got "
                    "a string instead.",
                    "stream_options.include_usage", "invalid_type");
  ExpectDecodeError(Body(R"("stream":true,"stream_options":[])"),
                    "Invalid type for 'stream_options': expected an object, but got an array "
                    "instead.",
                    "stream_options", "invalid_type");
  ExpectDecodeError(Body(R"("user":5)"),
                    "Invalid type for 'user': expected a string, but got an integer instead.",
                    "user", "invalid_type");
}

TEST_CASE("tools, tool_choice and response_format errors", "[unit]") {
  const std::string tool = R"({"type":"function","function":{"name":"get_weather"}})";
  ExpectDecodeError(Body(R"("tools":{})"),
                    "Invalid type for 'tools': expected an array, but got an object instead.",
                    "tools", "invalid_type");
  ExpectDecodeError(Body(R"("tools":[])"),
                    "Invalid 'tools': empty array. Expected an array with minimum length 1, but "
                    "got an empty array instead.",
                    "tools", "empty_array");
  ExpectDecodeError(Body(R"("tools":[{"type":"retrieval"}])"),
                    "Invalid value for 'tools[0].type': 'retrieval' is not one of 'function'.",
                    "tools[0].type", "invalid_value");
  ExpectDecodeError(Body(R"("tools":[{"function":{"name":"f"}}])"),
                    "'tools[0].type' is a required property", "tools[0].type",
                    "missing_required_parameter");
  ExpectDecodeError(Body(R"("tools":[{"type":"function"}])"),
                    "'tools[0].function' is a required property", "tools[0].function",
                    "missing_required_parameter");
  ExpectDecodeError(Body(R"("tools":[{"type":"function","function":{}}])"),
                    "'tools[0].function.name' is a required property", "tools[0].function.name",
                    "missing_required_parameter");
  ExpectDecodeError(
      Body("\"tools\":[" + tool + R"(,{"type":"function","function":{"name":"bad name!"}}])"),
      "Invalid 'tools[1].function.name': string does not match pattern. Expected a "
      "string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.",
      "tools[1].function.name", "invalid_value");
  ExpectDecodeError(Body(R"("tools":[{"type":"function","function":{"name":")" +
                         std::string(65, 'a') + R"("}}])"),
                    "Invalid 'tools[0].function.name': string too long. Expected a string with "
                    "maximum length 64, but got a string with length 65 instead.",
                    "tools[0].function.name", "string_above_max_length");
  ExpectDecodeError(
      Body(R"("tools":[{"type":"function","function":{"name":"f","parameters":[]}}])"),
      "Invalid type for 'tools[0].function.parameters': expected an object, but got "
      "an array instead.",
      "tools[0].function.parameters", "invalid_type");
  ExpectDecodeError(Body(R"("tools":[{"type":"function","function":{"name":"f","strict":"yes"}}])"),
                    "Invalid type for 'tools[0].function.strict': expected a boolean, but got a "
                    "string instead.",
                    "tools[0].function.strict", "invalid_type");
  std::string many = "\"tools\":[";
  for (int i = 0; i < 129; ++i) {
    many += (i ? "," : "") + tool;
  }
  ExpectDecodeError(Body(many + "]"),
                    "Invalid 'tools': array too long. Expected an array with maximum length 128, "
                    "but got an array with length 129 instead.",
                    "tools", "array_above_max_length");
  ExpectDecodeError(Body(R"("tool_choice":"auto")"),
                    "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                    "are specified.",
                    "tool_choice", "invalid_value");
  ExpectDecodeError(Body("\"tools\":[" + tool + R"(],"tool_choice":"sometimes")"),
                    "Invalid value for 'tool_choice': 'sometimes' is not one of 'none', 'auto', "
                    "'required'.",
                    "tool_choice", "invalid_value");
  ExpectDecodeError(Body("\"tools\":[" + tool + R"(],"tool_choice":{"type":"function"})"),
                    "'tool_choice.function' is a required property", "tool_choice.function",
                    "missing_required_parameter");
  ExpectDecodeError(Body("\"tools\":[" + tool + R"(],"tool_choice":7)"),
                    "Invalid type for 'tool_choice': expected a string or an object, but got an "
                    "integer instead.",
                    "tool_choice", "invalid_type");
  ExpectDecodeError(Body(R"("response_format":{"type":"yaml"})"),
                    "Invalid value for 'response_format.type': 'yaml' is not one of 'text', "
                    "'json_object', 'json_schema'.",
                    "response_format.type", "invalid_value");
  ExpectDecodeError(Body(R"("response_format":{"type":"json_schema"})"),
                    "'response_format.json_schema' is a required property",
                    "response_format.json_schema", "missing_required_parameter");
  ExpectDecodeError(Body(R"("response_format":"json")"),
                    "Invalid type for 'response_format': expected an object, but got a string "
                    "instead.",
                    "response_format", "invalid_type");
}

TEST_CASE("long values are cut in error messages", "[unit]") {
  std::string role(500, 'r');
  auto r = DecodeChatRequest(WithMessages(R"([{"role":")" + role + R"(","content":"x"}])"));
  REQUIRE_FALSE(r.ok());
  std::string msg = MessageOf(r.status());
  CHECK(msg.size() < 200);
  CHECK_THAT(msg, Catch::Contains("...'"));
}

}  // namespace
}  // namespace p402::openai
