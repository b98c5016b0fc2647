#include "services/router/adapters/openai_protocol.h"

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "tests/services/router/core/fixture_catalog.h"
#include "tests/support/catch_status.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;
using testing::FixtureCatalog;

json::Value ParseBody(const ProviderHttpRequest& req) {
  absl::StatusOr<json::Value> body = json::Value::Parse(req.body);
  REQUIRE(body.ok());
  return *std::move(body);
}

// A conversation using every modelled field.
v1::ChatRequest RichChat() {
  v1::ChatRequest chat;
  chat.set_model("fast-and-cheap");  // replaced by the concrete model
  v1::ChatMessage* sys = chat.add_messages();
  sys->set_role("system");
  sys->set_content("Be brief.");
  v1::ChatMessage* user = chat.add_messages();
  user->set_role("user");
  user->set_name("ann");
  v1::ContentPart* text = user->add_parts();
  text->set_type("text");
  text->set_text("What is in this image?");
  v1::ContentPart* image = user->add_parts();
  image->set_type("image_url");
  image->set_image_url("https://example.com/cat.png");
  image->set_image_detail("low");
  v1::ContentPart* audio = user->add_parts();
  audio->set_type("input_audio");
  audio->set_raw_json(R"({"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}})");
  v1::ChatMessage* assistant = chat.add_messages();
  assistant->set_role("assistant");
  assistant->set_content_is_null(true);
  v1::ToolCall* call = assistant->add_tool_calls();
  call->set_id("call_1");
  call->set_type("function");
  call->set_name("get_weather");
  call->set_arguments(R"({"city":"Paris"})");
  v1::ChatMessage* tool = chat.add_messages();
  tool->set_role("tool");
  tool->set_tool_call_id("call_1");
  tool->set_content("18C");
  v1::Tool* t = chat.add_tools();
  t->set_type("function");
  t->set_name("get_weather");
  t->set_description("Weather by city");
  t->set_parameters_json(R"({"type":"object","properties":{"city":{"type":"string"}}})");
  t->set_strict(true);
  chat.set_tool_choice_json(R"({"type":"function","function":{"name":"get_weather"}})");
  chat.set_max_tokens(256);
  chat.set_temperature(0.2);
  chat.set_top_p(0.9);
  chat.add_stop("END");
  chat.set_stream(true);
  chat.set_include_usage(false);
  chat.set_response_format_json(R"({"type":"json_object"})");
  chat.set_user("user-42");
  chat.set_extra_json(
      R"({"seed":7,"parallel_tool_calls":false,"model":"evil","stream_options":{"include_usage":false}})");
  return chat;
}

TEST_CASE("OpenAI request re-emits the request faithfully", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& model = *catalog.FindModel("groq", "llama-3.1-8b-instant");
  auto req = BuildOpenAiRequest(RichChat(), model, catalog.ProviderOf(model), "sk-test");
  REQUIRE(req.ok());
  CHECK(req->method == "POST");
  CHECK(req->url == "https://api.groq.com/openai/v1/chat/completions");
  CHECK(req->path == "/chat/completions");
  CHECK(req->stream);
  REQUIRE(req->Header("authorization") != nullptr);
  CHECK(*req->Header("authorization") == "Bearer sk-test");
  CHECK(*req->Header("content-type") == "application/json");
  CHECK(*req->Header("accept") == "text/event-stream");

  json::Value body = ParseBody(*req);
  CHECK(body.GetString("model") == "llama-3.1-8b-instant");
  const json::Array& msgs = body.Find("messages")->AsArray();
  REQUIRE(msgs.size() == 4);
  CHECK(msgs[0].GetString("role") == "system");
  CHECK(msgs[0].GetString("content") == "Be brief.");
  CHECK(msgs[1].GetString("name") == "ann");
  const json::Array& parts = msgs[1].Find("content")->AsArray();
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].GetString("text") == "What is in this image?");
  CHECK(parts[1].Find("image_url")->GetString("url") == "https://example.com/cat.png");
  CHECK(parts[1].Find("image_url")->GetString("detail") == "low");
  CHECK(parts[2].Find("input_audio")->GetString("format") == "wav");  // raw part verbatim
  CHECK(msgs[2].Find("content")->is_null());
  const json::Value& tc = msgs[2].Find("tool_calls")->AsArray()[0];
  CHECK(tc.GetString("id") == "call_1");
  CHECK(tc.Find("function")->GetString("arguments") == R"({"city":"Paris"})");
  CHECK(msgs[3].GetString("tool_call_id") == "call_1");

  const json::Value* tool_fn = body.Find("tools")->AsArray()[0].Find("function");
  CHECK(tool_fn->GetString("name") == "get_weather");
  CHECK(tool_fn->GetString("description") == "Weather by city");
  CHECK(tool_fn->Find("parameters")->Find("properties")->Find("city") != nullptr);
  CHECK(tool_fn->GetBool("strict") == true);
  CHECK(body.Find("tool_choice")->Find("function")->GetString("name") == "get_weather");
  CHECK(body.GetInt("max_tokens") == 256);
  CHECK(body.Find("max_completion_tokens") == nullptr);
  CHECK(body.GetDouble("temperature") == Approx(0.2));
  CHECK(body.GetDouble("top_p") == Approx(0.9));
  CHECK(body.Find("stop")->AsArray()[0].AsString() == "END");
  CHECK(body.GetBool("stream") == true);
  // Usage is always requested, whatever the client said.
  CHECK(body.Find("stream_options")->GetBool("include_usage") == true);
  CHECK(body.Find("response_format")->GetString("type") == "json_object");
  CHECK(body.GetString("user") == "user-42");
  CHECK(body.GetInt("seed") == 7);
  CHECK(body.GetBool("parallel_tool_calls") == false);
}

TEST_CASE("OpenAI request for reasoning-style models and plain requests", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& o4 = *catalog.FindModel("openai", "o4-mini");
  v1::ChatRequest chat;
  chat.add_messages()->set_role("user");
  chat.mutable_messages(0)->set_content("hi");
  chat.set_max_tokens(100);
  chat.set_temperature(0.5);
  chat.set_extra_json(R"({"top_p":0.3,"logit_bias":{"50256":-100}})");
  auto req = BuildOpenAiRequest(chat, o4, catalog.ProviderOf(o4), "k");
  REQUIRE(req.ok());
  json::Value body = ParseBody(*req);
  CHECK(body.GetInt("max_completion_tokens") == 100);
  CHECK(body.Find("max_tokens") == nullptr);
  CHECK(body.Find("temperature") == nullptr);
  CHECK(body.Find("top_p") == nullptr);
  CHECK(body.Find("logit_bias") != nullptr);
  CHECK(body.Find("stream") == nullptr);
  CHECK(body.Find("stream_options") == nullptr);
  CHECK(*req->Header("accept") == "application/json");
  CHECK(body.Find("messages")->AsArray()[0].GetString("content") == "hi");

  // Client's max_completion_tokens is kept as such on any model.
  const ModelEntry& mini = *catalog.FindModel("openai", "gpt-4o-mini");
  chat.set_uses_max_completion_tokens(true);
  req = BuildOpenAiRequest(chat, mini, catalog.ProviderOf(mini), "");
  REQUIRE(req.ok());
  body = ParseBody(*req);
  CHECK(body.GetInt("max_completion_tokens") == 100);
  CHECK(body.GetDouble("temperature") == Approx(0.5));
  CHECK(req->Header("authorization") == nullptr);  // no key: no auth header
}

TEST_CASE("OpenAI request rejects bad embedded JSON", "[unit]") {
  Catalog catalog = FixtureCatalog();
  const ModelEntry& mini = *catalog.FindModel("openai", "gpt-4o-mini");
  v1::ChatRequest chat;
  chat.add_messages()->set_role("user");
  chat.add_tools()->set_parameters_json("{nope");
  CHECK_THAT(BuildOpenAiRequest(chat, mini, catalog.ProviderOf(mini), "k").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "tools[0].parameters"));
  chat.clear_tools();
  chat.set_extra_json("[1]");
  CHECK_THAT(BuildOpenAiRequest(chat, mini, catalog.ProviderOf(mini), "k").status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "extra_json"));
}

TEST_CASE("OpenAI response parses into ChatCompletion with usage", "[unit]") {
  auto parsed = ParseOpenAiResponse(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1",
    "choices": [{"index": 0, "finish_reason": "tool_calls",
      "message": {"role": "assistant", "content": null, "refusal": null,
        "tool_calls": [{"id": "call_9", "type": "function",
          "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}]}}],
    "usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
      "prompt_tokens_details": {"cached_tokens": 1920},
      "completion_tokens_details": {"reasoning_tokens": 64}}})");
  REQUIRE(parsed.ok());
  const v1::ChatCompletion& c = parsed->completion;
  CHECK(c.id() == "chatcmpl-1");
  CHECK(c.created() == 1700000000);
  CHECK(c.model() == "gpt-4o-mini-2024-07-18");
  CHECK(c.system_fingerprint() == "fp_1");
  REQUIRE(c.choices_size() == 1);
  CHECK(c.choices(0).finish_reason() == "tool_calls");
  const v1::ChatMessage& m = c.choices(0).message();
  CHECK(m.content_is_null());
  REQUIRE(m.tool_calls_size() == 1);
  CHECK(m.tool_calls(0).id() == "call_9");
  CHECK(m.tool_calls(0).name() == "get_weather");
  CHECK(m.tool_calls(0).arguments() == R"({"city":"Oslo"})");
  CHECK(parsed->usage_reported);
  CHECK(c.usage().input_tokens() == 2006);
  CHECK(c.usage().cached_input_tokens() == 1920);
  CHECK(c.usage().output_tokens() == 300);
  CHECK(c.usage().reasoning_tokens() == 64);

  // DeepSeek reports cache hits its own way; content may be an array of text parts.
  parsed = ParseOpenAiResponse(R"({"id":"x","choices":[{"index":0,"finish_reason":"stop",
    "message":{"role":"assistant","content":[{"type":"text","text":"Hel"},{"type":"text",
    "text":"lo"}]}}],"usage":{"prompt_tokens":100,"completion_tokens":2,
    "prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":36}})");
  REQUIRE(parsed.ok());
  CHECK(parsed->completion.choices(0).message().content() == "Hello");
  CHECK_FALSE(parsed->completion.choices(0).message().content_is_null());
  CHECK(parsed->completion.usage().cached_input_tokens() == 64);

  parsed = ParseOpenAiResponse(R"({"choices":[{"message":{"content":"hi"}}]})");
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed->usage_reported);
  CHECK(parsed->completion.choices(0).message().role() == "assistant");

  for (const char* bad : {"", "not json", "[]", R"({"id":"x"})", R"({"choices":[1]})",
                          R"({"error":{"message":"x"},"choices":[]})"}) {
    INFO(bad);
    auto r = ParseOpenAiResponse(bad);
    CHECK_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument));
    CHECK(ReasonOf(r.status()) == "invalid_response");
  }
}

TEST_CASE("Provider error bodies become a short type + message", "[unit]") {
  ProviderError e = ParseProviderError(
      "openai", 429,
      R"({"error":{"message":"Rate limit reached for gpt-4o-mini","type":"requests",)"
      R"("param":null,"code":"rate_limit_exceeded"}})");
  CHECK(e.type == "requests");
  CHECK(e.message == "Rate limit reached for gpt-4o-mini");
  e = ParseProviderError("openai", 401,
                         R"({"error":{"message":"Bad key","type":"","code":"invalid_api_key"}})");
  CHECK(e.type == "invalid_api_key");
  e = ParseProviderError(
      "anthropic", 529,
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  CHECK(e.type == "overloaded_error");
  CHECK(e.message == "Overloaded");
  e = ParseProviderError("openai", 502, "<html>\n<b>502 Bad Gateway</b>\n</html>");
  CHECK(e.type == "http_502");
  CHECK(e.message == "<html> <b>502 Bad Gateway</b> </html>");
  e = ParseProviderError("openai", 404, R"({"detail":"Not Found"})");
  CHECK(e.message == "Not Found");
  e = ParseProviderError("openai", 400, R"({"error":"model is required"})");
  CHECK(e.message == "model is required");
  e = ParseProviderError("openai", 500, std::string(5000, 'x'));
  CHECK(e.message.size() == kMaxErrorMessage);
  e = ParseProviderError("openai", 500, "");
  CHECK(e.type == "http_500");
  CHECK(e.message.empty());
}

}  // namespace
}  // namespace p402::router
