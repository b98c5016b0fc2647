// Encoding goldens for chat.completion, chat.completion.chunk SSE frames, stream error events and
// p402_metadata (exact money formatting).
#include "libs/openai/chat_response.h"

#include "tests/libs/openai/test_util.h"

namespace p402::openai {
namespace {

using testing::ParseJson;

P402Metadata SampleMetadata() {
  P402Metadata m;
  m.request_id = "req_123";
  m.tenant_id = "t_1";
  m.provider = "openai";
  m.model = "gpt-4o-mini";
  m.cost_micro_usd = 123;
  m.direct_cost_micro_usd = 1500;
  m.input_tokens = 20;
  m.output_tokens = 7;
  m.latency_ms = 350;
  m.provider_latency_ms = 340;
  m.routing_mode = "cost";
  m.attempts = {{"groq", "llama-3.1-8b", "rate_limited", 429, 12},
                {"openai", "gpt-4o-mini", "success", 200, 320}};
  m.reservation_id = "res_9";
  return m;
}

v1::ChatCompletion SampleCompletion() {
  v1::ChatCompletion c;
  c.set_id("chatcmpl-abc");
  c.set_created(1700000000);
  c.set_model("gpt-4o-mini-2024-07-18");
  c.set_system_fingerprint("fp_44709d6fcb");
  v1::ChatChoice* choice = c.add_choices();
  choice->set_index(0);
  choice->set_finish_reason("stop");
  choice->mutable_message()->set_role("assistant");
  choice->mutable_message()->set_content("Hello \"world\"\n\xF0\x9F\x91\x8B");
  v1::TokenUsage* u = c.mutable_usage();
  u->set_input_tokens(20);
  u->set_output_tokens(7);
  u->set_cached_input_tokens(4);
  u->set_reasoning_tokens(2);
  return c;
}

// Strips "data: " and "\n\n" from one SSE frame, requiring both.
std::string FramePayload(const std::string& frame) {
  REQUIRE(frame.rfind("data: ", 0) == 0);
  REQUIRE(frame.size() >= 8);
  REQUIRE(frame.substr(frame.size() - 2) == "\n\n");
  std::string payload = frame.substr(6, frame.size() - 8);
  REQUIRE(payload.find('\n') == std::string::npos);  // one line: a newline would end the event
  return payload;
}

TEST_CASE("chat.completion golden", "[unit]") {
  std::string out = "prefix:";  // encoders append
  P402Metadata m = SampleMetadata();
  EncodeChatCompletion(SampleCompletion(), &m, out);
  REQUIRE(out.rfind("prefix:", 0) == 0);
  std::string body = out.substr(7);
  CHECK(body ==
        R"({"id":"chatcmpl-abc","object":"chat.completion","created":1700000000,)"
        R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",)"
        R"("content":"Hello \"world\"\n)"
        "\xF0\x9F\x91\x8B"
        R"(","refusal":null},"logprobs":null,"finish_reason":"stop"}],)"
        R"("usage":{"prompt_tokens":20,"completion_tokens":7,"total_tokens":27,)"
        R"("prompt_tokens_details":{"cached_tokens":4},)"
        R"("completion_tokens_details":{"reasoning_tokens":2}},)"
        R"("system_fingerprint":"fp_44709d6fcb","p402_metadata":{"request_id":"req_123",)"
        R"("tenant_id":"t_1","provider":"openai","model":"gpt-4o-mini","cost_usd":0.000123,)"
        R"("direct_cost":0.001500,"savings":0.001377,"cost_micro_usd":123,)"
        R"("direct_cost_micro_usd":1500,"savings_micro_usd":1377,"cost_estimated":false,)"
        R"("input_tokens":20,"output_tokens":7,"latency_ms":350,"provider_latency_ms":340,)"
        R"("cached":false,"routing_mode":"cost","attempts":[{"provider":"groq",)"
        R"("model":"llama-3.1-8b","outcome":"rate_limited","http_status":429,"latency_ms":12},)"
        R"({"provider":"openai","model":"gpt-4o-mini","outcome":"success","http_status":200,)"
        R"("latency_ms":320}],"reservation_id":"res_9"}})");
  json::Value v = ParseJson(body);
  CHECK(v.Find("p402_metadata")->GetDouble("cost_usd") == 0.000123);
}

TEST_CASE("completion with tool calls has null content; no metadata when not given", "[unit]") {
  v1::ChatCompletion c = SampleCompletion();
  c.clear_system_fingerprint();
  v1::ChatMessage* msg = c.mutable_choices(0)->mutable_message();
  msg->clear_content();
  c.mutable_choices(0)->set_finish_reason("tool_calls");
  v1::ToolCall* call = msg->add_tool_calls();
  call->set_id("call_1");
  call->set_name("get_weather");
  call->set_arguments(R"({"city":"Paris"})");
  std::string out;
  EncodeChatCompletion(c, nullptr, out);
  json::Value v = ParseJson(out);
  CHECK(v.Find("p402_metadata") == nullptr);
  CHECK(v.Find("system_fingerprint")->is_null());
  const json::Value& choice = v.Find("choices")->AsArray().at(0);
  CHECK(choice.GetString("finish_reason") == "tool_calls");
  const json::Value* message = choice.Find("message");
  CHECK(message->Find("content")->is_null());
  const json::Value& tc = message->Find("tool_calls")->AsArray().at(0);
  CHECK(tc == ParseJson(R"({"id":"call_1","type":"function",
                            "function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}})"));

  // content_is_null wins even without tool calls; a refusal is a string.
  msg->clear_tool_calls();
  msg->set_content_is_null(true);
  msg->set_refusal("I can't help with that.");
  out.clear();
  EncodeChatCompletion(c, nullptr, out);
  json::Value r = ParseJson(out);
  const json::Value* rm = r.Find("choices")->AsArray().at(0).Find("message");
  CHECK(rm->Find("content")->is_null());
  CHECK(rm->GetString("refusal") == "I can't help with that.");
  CHECK(rm->Find("tool_calls") == nullptr);
}

TEST_CASE("p402_metadata money is exact and optional members appear only when set", "[unit]") {
  struct Case {
    MicroUsd cost, direct;
    const char *cost_text, *direct_text, *savings_text;
  };
  for (const Case& k :
       {Case{123, 123, "0.000123", "0.000123", "0.000000"},
        Case{0, 0, "0.000000", "0.000000", "0.000000"},
        Case{1'234'567, 2'000'000, "1.234567", "2.000000", "0.765433"},
        Case{5'000, 1'000, "0.005000", "0.001000", "-0.004000"},
        Case{999'999'999'999, 1'000'000'000'000, "999999.999999", "1000000.000000", "0.000001"}}) {
    P402Metadata m;
    m.cost_micro_usd = k.cost;
    m.direct_cost_micro_usd = k.direct;
    std::string out;
    json::Writer w(&out);
    WriteP402Metadata(m, w);
    INFO(out);
    CHECK_THAT(out, Catch::Contains(std::string("\"cost_usd\":") + k.cost_text + ","));
    CHECK_THAT(out, Catch::Contains(std::string("\"direct_cost\":") + k.direct_text + ","));
    CHECK_THAT(out, Catch::Contains(std::string("\"savings\":") + k.savings_text + ","));
    json::Value v = ParseJson(out);
    CHECK(v.GetInt("cost_micro_usd") == k.cost);
    CHECK(v.GetInt("savings_micro_usd") == k.direct - k.cost);
    CHECK(v.GetString("routing_mode") == "direct");  // empty mode
    CHECK(v.Find("cache_similarity") == nullptr);
    CHECK(v.Find("reservation_id") == nullptr);
    CHECK(v.Find("session_id") == nullptr);
    CHECK(v.Find("max_tokens_reduced_to") == nullptr);
  }
  P402Metadata hit;
  hit.cached = true;
  hit.cache_similarity = 0.9731;
  hit.cache_age_ms = 60000;
  hit.decision_id = "dec_1";
  hit.max_tokens_reduced_to = 256;
  hit.session_id = "sess_1";
  hit.cost_estimated = true;
  hit.extra_raw_json = {{"payment", R"({"tx":"0xabc","amount_micro_usd":5})"}};
  std::string out;
  json::Writer w(&out);
  WriteP402Metadata(hit, w);
  json::Value v = ParseJson(out);
  CHECK(v.GetBool("cached") == true);
  CHECK(v.GetDouble("cache_similarity") == 0.9731);
  CHECK(v.GetInt("cache_age_ms") == 60000);
  CHECK(v.GetString("decision_id") == "dec_1");
  CHECK(v.GetInt("max_tokens_reduced_to") == 256);
  CHECK(v.GetString("session_id") == "sess_1");
  CHECK(v.GetBool("cost_estimated") == true);
  CHECK(v.Find("attempts")->AsArray().empty());
  CHECK(*v.Find("payment") == ParseJson(R"({"tx":"0xabc","amount_micro_usd":5})"));
}

TEST_CASE("attempts from a routing decision", "[unit]") {
  v1::RoutingDecision d;
  v1::Attempt* a = d.add_attempts();
  a->mutable_model()->set_provider("anthropic");
  a->mutable_model()->set_model("claude-3-5-haiku");
  a->set_outcome(v1::ATTEMPT_OUTCOME_TIMEOUT);
  a->set_latency_ms(30000);
  v1::Attempt* b = d.add_attempts();
  b->mutable_model()->set_provider("openai");
  b->mutable_model()->set_model("gpt-4o-mini");
  b->set_outcome(v1::ATTEMPT_OUTCOME_SUCCESS);
  b->set_http_status(200);
  std::vector<AttemptSummary> s = AttemptsFromDecision(d);
  REQUIRE(s.size() == 2);
  CHECK(s[0].provider == "anthropic");
  CHECK(s[0].outcome == "timeout");
  CHECK(s[0].http_status == 0);
  CHECK(s[0].latency_ms == 30000);
  CHECK(s[1].outcome == "success");
  CHECK(AttemptOutcomeName(v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED) == "budget_exhausted");
  CHECK(AttemptOutcomeName(v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED) == "stream_interrupted");
}

TEST_CASE("stream chunks: first, content, tool call fragments, finish, usage", "[unit]") {
  ChunkHeader h{.id = "chatcmpl-1", .created = 1700000001, .model = "gpt-4o-mini"};
  std::string stream;

  v1::ChatDelta first;
  first.set_role("assistant");
  EncodeChunk(h, &first, nullptr, nullptr, stream);
  std::string f1 = stream;
  CHECK(f1 ==
        "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000001,"
        "\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n");

  std::string f2;
  v1::ChatDelta text;
  text.set_content("Hel\nlo");
  EncodeChunk(h, &text, nullptr, nullptr, f2);
  json::Value v2 = ParseJson(FramePayload(f2));
  const json::Value& c2 = v2.Find("choices")->AsArray().at(0);
  CHECK(*c2.Find("delta") == ParseJson(R"({"content":"Hel\nlo"})"));
  CHECK(c2.Find("finish_reason")->is_null());
  CHECK(v2.Find("usage") == nullptr);

  std::string f3;
  v1::ChatDelta tool_first;
  tool_first.set_role("assistant");
  v1::ToolCall* tc = tool_first.add_tool_calls();
  tc->set_index(0);
  tc->set_id("call_9");
  tc->set_name("get_weather");
  EncodeChunk(h, &tool_first, nullptr, nullptr, f3);
  json::Value d3 = *ParseJson(FramePayload(f3)).Find("choices")->AsArray().at(0).Find("delta");
  CHECK(d3 == ParseJson(R"({"role":"assistant","content":null,"tool_calls":[{"index":0,
            "id":"call_9","type":"function","function":{"name":"get_weather","arguments":""}}]})"));

  std::string f4;
  v1::ChatDelta tool_more;
  v1::ToolCall* more = tool_more.add_tool_calls();
  more->set_index(0);
  more->set_arguments("{\"ci");
  EncodeChunk(h, &tool_more, nullptr, nullptr, f4);
  json::Value d4 = *ParseJson(FramePayload(f4)).Find("choices")->AsArray().at(0).Find("delta");
  CHECK(d4 == ParseJson(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]})"));

  std::string f5;
  v1::ChatDelta finish;
  finish.set_finish_reason("stop");
  ChunkHeader hf = h;
  hf.system_fingerprint = "fp_1";
  EncodeChunk(hf, &finish, nullptr, nullptr, f5);
  json::Value v5 = ParseJson(FramePayload(f5));
  CHECK(v5.GetString("system_fingerprint") == "fp_1");
  const json::Value& c5 = v5.Find("choices")->AsArray().at(0);
  CHECK(*c5.Find("delta") == json::Value::EmptyObject());
  CHECK(c5.GetString("finish_reason") == "stop");

  // The include_usage chunk: choices [], usage, and p402_metadata on the last chunk.
  std::string f6;
  v1::TokenUsage u;
  u.set_input_tokens(10);
  u.set_output_tokens(5);
  P402Metadata m = SampleMetadata();
  EncodeChunk(h, nullptr, &u, &m, f6);
  json::Value v6 = ParseJson(FramePayload(f6));
  CHECK(v6.Find("choices")->AsArray().empty());
  CHECK(v6.Find("usage")->GetInt("total_tokens") == 15);
  CHECK(v6.Find("usage")->Find("prompt_tokens_details")->GetInt("cached_tokens") == 0);
  CHECK(v6.Find("p402_metadata")->GetString("request_id") == "req_123");
  CHECK_THAT(f6, Catch::Contains("\"cost_usd\":0.000123,"));

  std::string done = "x";
  EncodeDone(done);
  CHECK(done == "xdata: [DONE]\n\n");
}

TEST_CASE("stream error events", "[unit]") {
  std::string out;
  P402Metadata m = SampleMetadata();
  EncodeStreamError("Budget exhausted after 120 tokens.", "", "budget_exhausted", &m, out);
  json::Value v = ParseJson(FramePayload(out));
  CHECK(*v.Find("error") ==
        ParseJson(R"({"message":"Budget exhausted after 120 tokens.","type":"server_error",
                      "param":null,"code":"budget_exhausted"})"));
  CHECK(v.Find("p402_metadata")->GetInt("cost_micro_usd") == 123);

  std::string plain;
  EncodeStreamError("The provider stream was interrupted.", "server_error", "", nullptr, plain);
  CHECK(plain ==
        "data: {\"error\":{\"message\":\"The provider stream was interrupted.\","
        "\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n");
}

TEST_CASE("invalid UTF-8 from a provider still yields valid JSON", "[unit]") {
  v1::ChatCompletion c = SampleCompletion();
  c.mutable_choices(0)->mutable_message()->set_content(std::string("ok\xFF\xC3", 4));
  std::string out;
  EncodeChatCompletion(c, nullptr, out);
  json::Value v = ParseJson(out);
  CHECK(v.Find("choices")->AsArray().at(0).Find("message")->GetString("content") ==
        "ok\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace p402::openai
