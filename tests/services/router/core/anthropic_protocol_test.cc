#include "services/router/adapters/anthropic_protocol.h"

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/router/core/fixture_catalog.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using testing::FixtureCatalog;

v1::ChatMessage* Add(v1::ChatRequest& chat, const std::string& role, const std::string& text) {
  v1::ChatMessage* m = chat.add_messages();
  m->set_role(role);
  m->set_content(text);
  return m;
}

v1::ChatRequest AgentChat() {
  v1::ChatRequest chat;
  Add(chat, "system", "You are terse.");
  Add(chat, "developer", "Use metric units.");
  v1::ChatMessage* user = Add(chat, "user", "");
  v1::ContentPart* text = user->add_parts();
  text->set_type("text");
  text->set_text("Weather here and there?");
  v1::ContentPart* inline_image = user->add_parts();
  inline_image->set_type("image_url");
  inline_image->set_image_url("data:image/png;base64,iVBORw0KGgo=");
  v1::ContentPart* remote_image = user->add_parts();
  remote_image->set_type("image_url");
  remote_image->set_image_url("https://example.com/map.jpg");
  v1::ChatMessage* assistant = Add(chat, "assistant", "Checking both.");
  for (const char* city : {"Paris", "Oslo"}) {
    v1::ToolCall* call = assistant->add_tool_calls();
    call->set_id(std::string("toolu_") + city);
    call->set_name("get_weather");
    call->set_arguments(std::string(R"({"city":")") + city + "\"}");
  }
  Add(chat, "tool", "18C")->set_tool_call_id("toolu_Paris");
  Add(chat, "tool", "9C")->set_tool_call_id("toolu_Oslo");
  v1::Tool* tool = chat.add_tools();
  tool->set_name("get_weather");
  tool->set_description("Weather by city");
  tool->set_parameters_json(R"({"type":"object","properties":{"city":{"type":"string"}}})");
  chat.add_tools()->set_name("no_params");
  chat.set_tool_choice_json(R"("required")");
  chat.set_extra_json(R"({"parallel_tool_calls":false,"seed":1})");
  chat.add_stop("STOP");
  chat.set_temperature(1.7);
  chat.set_top_p(0.5);
  chat.set_stream(true);
  chat.set_user("u-1");
  return chat;
}

json::Value Body(const ProviderHttpRequest& req) {
  absl::StatusOr<json::Value> body = json::Value::Parse(req.body);
  REQUIRE(body.ok());
  return *std::move(body);
}

TEST_CASE("Anthropic request translates an agent conversation", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& model = *catalog.FindModel("anthropic", "claude-sonnet-4-5");
  auto req = BuildAnthropicRequest(AgentChat(), model, catalog.ProviderOf(model), "sk-ant");
  REQUIRE(req.ok());
  CHECK(req->url == "https://api.anthropic.com/v1/messages");
  CHECK(*req->Header("x-api-key") == "sk-ant");
  CHECK(*req->Header("anthropic-version") == "2023-06-01");
  CHECK(req->Header("authorization") == nullptr);
  CHECK(*req->Header("accept") == "text/event-stream");

  json::Value body = Body(*req);
  CHECK(body.GetString("model") == "claude-sonnet-4-5");
  CHECK(body.GetInt("max_tokens") == 64000);  // model's output limit
  CHECK(body.GetString("system") == "You are terse.\n\nUse metric units.");
  const json::Array& msgs = body.Find("messages")->AsArray();
  REQUIRE(msgs.size() == 3);  // user, assistant, user(tool results merged)

  CHECK(msgs[0].GetString("role") == "user");
  const json::Array& u = msgs[0].Find("content")->AsArray();
  REQUIRE(u.size() == 3);
  CHECK(u[0].GetString("type") == "text");
  CHECK(u[1].GetString("type") == "image");
  CHECK(u[1].Find("source")->GetString("type") == "base64");
  CHECK(u[1].Find("source")->GetString("media_type") == "image/png");
  CHECK(u[1].Find("source")->GetString("data") == "iVBORw0KGgo=");
  CHECK(u[2].Find("source")->GetString("type") == "url");
  CHECK(u[2].Find("source")->GetString("url") == "https://example.com/map.jpg");

  CHECK(msgs[1].GetString("role") == "assistant");
  const json::Array& a = msgs[1].Find("content")->AsArray();
  REQUIRE(a.size() == 3);
  CHECK(a[0].GetString("text") == "Checking both.");
  CHECK(a[1].GetString("type") == "tool_use");
  CHECK(a[1].GetString("id") == "toolu_Paris");
  CHECK(a[1].GetString("name") == "get_weather");
  CHECK(a[1].Find("input")->GetString("city") == "Paris");
  CHECK(a[2].Find("input")->GetString("city") == "Oslo");

  CHECK(msgs[2].GetString("role") == "user");
  const json::Array& r = msgs[2].Find("content")->AsArray();
  REQUIRE(r.size() == 2);
  CHECK(r[0].GetString("type") == "tool_result");
  CHECK(r[0].GetString("tool_use_id") == "toolu_Paris");
  CHECK(r[0].GetString("content") == "18C");
  CHECK(r[1].GetString("tool_use_id") == "toolu_Oslo");

  const json::Array& tools = body.Find("tools")->AsArray();
  REQUIRE(tools.size() == 2);
  CHECK(tools[0].GetString("name") == "get_weather");
  CHECK(tools[0].GetString("description") == "Weather by city");
  CHECK(tools[0].Find("input_schema")->Find("properties")->Find("city") != nullptr);
  CHECK(tools[1].Find("input_schema")->GetString("type") == "object");
  CHECK(body.Find("tool_choice")->GetString("type") == "any");
  CHECK(body.Find("tool_choice")->GetBool("disable_parallel_tool_use") == true);
  CHECK(body.Find("stop_sequences")->AsArray()[0].AsString() == "STOP");
  CHECK(body.GetDouble("temperature") == Approx(1.0));  // clamped to Anthropic's range
  CHECK(body.Find("top_p") == nullptr);                 // not both
  CHECK(body.GetBool("stream") == true);
  CHECK(body.Find("metadata")->GetString("user_id") == "u-1");
  CHECK(body.Find("seed") == nullptr);  // OpenAI-only extras are not forwarded
}

TEST_CASE("Anthropic tool_choice, max_tokens and sampling mapping", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& haiku = *catalog.FindModel("anthropic", "claude-haiku-4-5");
  v1::ChatRequest chat;
  Add(chat, "user", "hi");
  chat.add_tools()->set_name("f");
  struct Case {
    const char* openai;
    const char* type;
  };
  for (const Case& c : {Case{R"("auto")", "auto"}, Case{R"("none")", "none"},
                        Case{R"({"type":"function","function":{"name":"f"}})", "tool"}}) {
    chat.set_tool_choice_json(c.openai);
    auto body = AnthropicRequestBody(chat, haiku);
    REQUIRE(body.ok());
    CHECK(body->Find("tool_choice")->GetString("type") == c.type);
    CHECK(body->Find("tool_choice")->Find("disable_parallel_tool_use") == nullptr);
  }
  CHECK(AnthropicRequestBody(chat, haiku)->Find("tool_choice")->GetString("name") == "f");
  chat.set_tool_choice_json(R"({"type":"weird"})");
  CHECK_THAT(AnthropicRequestBody(chat, haiku).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tool_choice"));
  chat.clear_tool_choice_json();
  chat.set_extra_json(R"({"parallel_tool_calls":false})");
  auto body = AnthropicRequestBody(chat, haiku);
  REQUIRE(body.ok());
  CHECK(body->Find("tool_choice")->GetString("type") == "auto");
  CHECK(body->Find("tool_choice")->GetBool("disable_parallel_tool_use") == true);

  v1::ChatRequest plain;
  Add(plain, "user", "hi");
  plain.set_max_tokens(1'000'000);
  plain.set_top_p(0.7);
  body = AnthropicRequestBody(plain, haiku);
  REQUIRE(body.ok());
  CHECK(body->GetInt("max_tokens") == 64000);  // capped at the model limit
  CHECK(body->GetDouble("top_p") == Approx(0.7));
  CHECK(body->Find("system") == nullptr);
  CHECK(body->Find("tools") == nullptr);
  plain.set_max_tokens(300);
  CHECK(AnthropicRequestBody(plain, haiku)->GetInt("max_tokens") == 300);
  // Unknown output limit: 4096.
  ModelEntry bare = haiku;
  bare.max_output = 0;
  plain.clear_max_tokens();
  CHECK(AnthropicRequestBody(plain, bare)->GetInt("max_tokens") == 4096);
  // Models that reject sampling parameters get none.
  bare.supports_temperature = false;
  plain.set_temperature(0.3);
  CHECK(AnthropicRequestBody(plain, bare)->Find("temperature") == nullptr);
}

TEST_CASE("Anthropic request rejects what it cannot express", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& haiku = *catalog.FindModel("anthropic", "claude-haiku-4-5");
  auto expect_error = [&](const v1::ChatRequest& chat, const std::string& text) {
    INFO(text);
    CHECK_THAT(AnthropicRequestBody(chat, haiku).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, text));
  };
  v1::ChatRequest only_system;
  Add(only_system, "system", "x");
  expect_error(only_system, "at least one user message");

  v1::ChatRequest tool_no_id;
  Add(tool_no_id, "user", "x");
  Add(tool_no_id, "tool", "y");
  expect_error(tool_no_id, "messages[1]: tool_call_id");

  v1::ChatRequest bad_image;
  v1::ContentPart* p = Add(bad_image, "user", "")->add_parts();
  p->set_type("image_url");
  p->set_image_url("ftp://x/y.png");
  expect_error(bad_image, "messages[0].content[0]");

  v1::ChatRequest audio;
  Add(audio, "user", "")->add_parts()->set_type("input_audio");
  expect_error(audio, "input_audio");

  v1::ChatRequest bad_args;
  Add(bad_args, "user", "x");
  v1::ToolCall* call = Add(bad_args, "assistant", "")->add_tool_calls();
  call->set_name("f");
  call->set_arguments("[1,2]");
  expect_error(bad_args, "arguments must be a JSON object");

  v1::ChatRequest role;
  Add(role, "function", "x");
  expect_error(role, "role \"function\"");

  // A PDF file part becomes a document block.
  v1::ChatRequest pdf;
  v1::ContentPart* file = Add(pdf, "user", "")->add_parts();
  file->set_type("file");
  file->set_raw_json(R"({"type":"file","file":{"file_data":"data:application/pdf;base64,JVBE"}})");
  auto body = AnthropicRequestBody(pdf, haiku);
  REQUIRE(body.ok());
  const json::Value& block = body->Find("messages")->AsArray()[0].Find("content")->AsArray()[0];
  CHECK(block.GetString("type") == "document");
  CHECK(block.Find("source")->GetString("data") == "JVBE");
}

TEST_CASE("Anthropic response parses into ChatCompletion with normalised usage", "[unit]") {
  auto parsed = ParseAnthropicResponse(R"({
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [
      {"type": "thinking", "thinking": "hmm", "signature": "s"},
      {"type": "text", "text": "Let me look "},
      {"type": "text", "text": "that up."},
      {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
    "stop_reason": "tool_use", "stop_sequence": null,
    "usage": {"input_tokens": 12, "output_tokens": 60, "cache_read_input_tokens": 2000,
              "cache_creation_input_tokens": 300}})");
  REQUIRE(parsed.ok());
  const v1::ChatCompletion& c = parsed->completion;
  CHECK(c.id() == "msg_01");
  CHECK(c.model() == "claude-sonnet-4-5-20250929");
  CHECK(c.created() == 0);
  REQUIRE(c.choices_size() == 1);
  CHECK(c.choices(0).finish_reason() == "tool_calls");
  const v1::ChatMessage& m = c.choices(0).message();
  CHECK(m.role() == "assistant");
  CHECK(m.content() == "Let me look that up.");
  CHECK_FALSE(m.content_is_null());
  REQUIRE(m.tool_calls_size() == 1);
  CHECK(m.tool_calls(0).id() == "toolu_1");
  CHECK(m.tool_calls(0).type() == "function");
  CHECK(m.tool_calls(0).arguments() == R"({"city":"Paris"})");
  CHECK(parsed->usage_reported);
  CHECK(c.usage().input_tokens() == 2312);
  CHECK(c.usage().cached_input_tokens() == 2000);
  CHECK(c.usage().cache_write_input_tokens() == 300);
  CHECK(c.usage().output_tokens() == 60);

  CHECK(AnthropicFinishReason("end_turn") == "stop");
  CHECK(AnthropicFinishReason("stop_sequence") == "stop");
  CHECK(AnthropicFinishReason("max_tokens") == "length");
  CHECK(AnthropicFinishReason("refusal") == "content_filter");
  CHECK(AnthropicFinishReason("") == "");

  auto only_tool = ParseAnthropicResponse(
      R"({"content":[{"type":"tool_use","id":"t","name":"f","input":{}}],"stop_reason":"tool_use"})");
  REQUIRE(only_tool.ok());
  CHECK(only_tool->completion.choices(0).message().content_is_null());
  CHECK_FALSE(only_tool->usage_reported);

  for (const char* bad : {"", "{}", "[]", R"({"type":"error","error":{"type":"x"}})"}) {
    INFO(bad);
    auto r = ParseAnthropicResponse(bad);
    CHECK(ReasonOf(r.status()) == "invalid_response");
  }
}

}  // namespace
}  // namespace p402::router
