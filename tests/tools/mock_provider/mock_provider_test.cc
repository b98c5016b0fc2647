// The mock provider's OpenAI surface, its binary, TLS mode, models and embeddings.
#include <atomic>
#include <cmath>

#include "catch2/catch.hpp"
#include "tests/libs/http/http_test_util.h"
#include "tests/support/process.h"
#include "tests/support/ready_file.h"
#include "tests/support/test_env.h"
#include "tests/tools/mock_provider/mock_test_util.h"

namespace p402::mock_provider {
namespace {

using p402::testing::IsOk;
using p402::testing::StatusIs;
using namespace p402::mock_provider::testing;  // NOLINT

constexpr const char* kTwelveWords =
    "openai mock reply tokens flow from a deterministic provider with stable words";

// system "You are terse." (14 bytes) -> 4 + 4; user "Say hello" (9 bytes) -> 4 + 3.
constexpr int64_t kPromptTokens = 15;
const std::string kChatBody =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Say hello"}]})";

std::string WithFields(std::string body, const std::string& fields) {
  body.pop_back();  // the closing brace
  return body + "," + fields + "}";
}

TEST_CASE("openai: non-streaming chat.completion with exact usage", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto resp = Fetch(*client, OpenAiPost(*mock, kChatBody));
  REQUIRE(resp.status == 200);
  CHECK(resp.headers.Get("content-type") == "application/json");
  CHECK(resp.headers.Get("x-mock-provider") == "openai");
  json::Value v = ParseJson(resp.body);
  CHECK(At(v, "id").AsString().rfind("chatcmpl-", 0) == 0);
  CHECK(At(v, "object").AsString() == "chat.completion");
  CHECK(At(v, "model").AsString() == "gpt-4o-mini");
  CHECK(At(v, "created").is_integer());
  CHECK(At(v, "system_fingerprint").is_string());
  CHECK(At(v, "choices/0/index").AsInt() == 0);
  CHECK(At(v, "choices/0/message/role").AsString() == "assistant");
  CHECK(At(v, "choices/0/message/content").AsString() == kTwelveWords);
  CHECK(At(v, "choices/0/finish_reason").AsString() == "stop");
  CHECK(At(v, "choices/0/logprobs").is_null());
  CHECK(v.Find("choices")->AsArray()[0].Find("message")->Find("tool_calls") == nullptr);
  CHECK(At(v, "usage/prompt_tokens").AsInt() == kPromptTokens);
  CHECK(At(v, "usage/completion_tokens").AsInt() == 12);
  CHECK(At(v, "usage/total_tokens").AsInt() == kPromptTokens + 12);
  CHECK(At(v, "usage/prompt_tokens_details/cached_tokens").AsInt() == 0);
  CHECK(At(v, "usage/completion_tokens_details/reasoning_tokens").AsInt() == 0);

  SECTION("max_tokens truncates with finish_reason length; the bare path works too") {
    auto r = Fetch(*client, OpenAiPost(*mock, WithFields(kChatBody, R"("max_tokens":5)"),
                                       "/chat/completions"));
    json::Value t = ParseJson(r.body);
    CHECK(At(t, "choices/0/message/content").AsString() == "openai mock reply tokens flow");
    CHECK(At(t, "choices/0/finish_reason").AsString() == "length");
    CHECK(At(t, "usage/completion_tokens").AsInt() == 5);
  }
  SECTION("x-mock-tokens and x-mock-cached-tokens") {
    auto req = OpenAiPost(*mock, kChatBody);
    req.headers.Add("x-mock-tokens", "30");
    req.headers.Add("x-mock-cached-tokens", "10");
    json::Value t = ParseJson(Fetch(*client, req).body);
    CHECK(At(t, "usage/completion_tokens").AsInt() == 30);
    CHECK(At(t, "usage/prompt_tokens").AsInt() == kPromptTokens);  // cached ones included
    CHECK(At(t, "usage/prompt_tokens_details/cached_tokens").AsInt() == 10);
    std::string content = At(t, "choices/0/message/content").AsString();
    CHECK(p402::http::testing::CountOf(content, " ") == 29);
  }
}

TEST_CASE("openai: stream chunks agree with the non-streamed answer", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto resp = Fetch(*client, OpenAiPost(*mock, WithFields(kChatBody,
      R"("stream":true,"stream_options":{"include_usage":true})")));
  REQUIRE(resp.status == 200);
  CHECK(resp.headers.Get("content-type")->find("text/event-stream") == 0);
  auto events = ParseSse(resp.body);
  REQUIRE(events.size() == 1 + 12 + 1 + 1 + 1);  // role, words, finish, usage, [DONE]
  CHECK(events.back().data == "[DONE]");
  std::string content;
  std::string id;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json::Value chunk = ParseJson(events[i].data);
    CHECK(At(chunk, "object").AsString() == "chat.completion.chunk");
    if (i == 0) id = At(chunk, "id").AsString();
    CHECK(At(chunk, "id").AsString() == id);
    if (i + 2 == events.size()) {  // the usage chunk
      CHECK(At(chunk, "choices").AsArray().empty());
      CHECK(At(chunk, "usage/prompt_tokens").AsInt() == kPromptTokens);
      CHECK(At(chunk, "usage/completion_tokens").AsInt() == 12);
      CHECK(At(chunk, "usage/total_tokens").AsInt() == kPromptTokens + 12);
      continue;
    }
    CHECK(At(chunk, "usage").is_null());
    const json::Value& delta = At(chunk, "choices/0/delta");
    if (i == 0) {
      CHECK(At(delta, "role").AsString() == "assistant");
      CHECK(At(delta, "content").AsString().empty());
    }
    if (auto c = delta.GetString("content")) content += *c;
    const json::Value& finish = At(chunk, "choices/0/finish_reason");
    CHECK(finish.is_null() == (i != 13));
    if (i == 13) CHECK(finish.AsString() == "stop");
  }
  CHECK(content == kTwelveWords);

  SECTION("without include_usage there is no usage chunk and no usage field") {
    auto r = Fetch(*client, OpenAiPost(*mock, WithFields(kChatBody, R"("stream":true)")));
    auto ev = ParseSse(r.body);
    REQUIRE(ev.size() == 1 + 12 + 1 + 1);
    CHECK(ParseJson(ev[0].data).Find("usage") == nullptr);
  }
}

const std::string kToolsBody =
    R"({"model":"gpt-4o","messages":[{"role":"user","content":"Weather?"}],"tools":[)"
    R"({"type":"function","function":{"name":"get_weather","description":"w","parameters":)"
    R"({"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},)"
    R"("unit":{"type":"string","enum":["c","f"]}}}}},)"
    R"({"type":"function","function":{"name":"get_time","parameters":{"type":"object",)"
    R"("properties":{"utc":{"type":"boolean"}}}}}]})";
constexpr const char* kWeatherArgs = R"({"city":"mock","days":1,"unit":"c"})";

TEST_CASE("openai: tool calls + plain and streamed", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  // user "Weather?" (8 bytes) -> 4 + 2, plus 16 per declared tool.
  const int64_t prompt = 6 + 2 * 16;
  const int64_t completion = 8 + (std::string_view(kWeatherArgs).size() + 3) / 4;
  REQUIRE(completion == 17);

  json::Value v = ParseJson(Fetch(*client, OpenAiPost(*mock, kToolsBody)).body);
  CHECK(At(v, "choices/0/finish_reason").AsString() == "tool_calls");
  CHECK(At(v, "choices/0/message/content").is_null());
  const json::Value& call = At(v, "choices/0/message/tool_calls/0");
  CHECK(At(call, "id").AsString().rfind("call_", 0) == 0);
  CHECK(At(call, "type").AsString() == "function");
  CHECK(At(call, "function/name").AsString() == "get_weather");
  CHECK(At(call, "function/arguments").AsString() == kWeatherArgs);
  CHECK(At(v, "usage/prompt_tokens").AsInt() == prompt);
  CHECK(At(v, "usage/completion_tokens").AsInt() == completion);

  SECTION("streamed: id and name first, then argument fragments") {
    auto r = Fetch(*client, OpenAiPost(*mock, WithFields(kToolsBody,
        R"("stream":true,"stream_options":{"include_usage":true})")));
    auto events = ParseSse(r.body);
    json::Value first = ParseJson(events[0].data);
    CHECK(At(first, "choices/0/delta/tool_calls/0/index").AsInt() == 0);
    CHECK(At(first, "choices/0/delta/tool_calls/0/id").AsString().rfind("call_", 0) == 0);
    CHECK(At(first, "choices/0/delta/tool_calls/0/function/name").AsString() == "get_weather");
    std::string args;
    std::string finish;
    json::Value usage;
    for (size_t i = 1; i + 1 < events.size(); ++i) {
      json::Value chunk = ParseJson(events[i].data);
      if (At(chunk, "choices").AsArray().empty()) {
        usage = At(chunk, "usage");
        continue;
      }
      const json::Value& delta = At(chunk, "choices/0/delta");
      if (const json::Value* tc = delta.Find("tool_calls")) {
        args += At(*tc, "0/function/arguments").AsString();
      }
      if (At(chunk, "choices/0/finish_reason").is_string()) {
        finish = At(chunk, "choices/0/finish_reason").AsString();
      }
    }
    CHECK(args == kWeatherArgs);
    CHECK(finish == "tool_calls");
    CHECK(At(usage, "completion_tokens").AsInt() == completion);
  }
  SECTION("tool_choice none answers with text; a named tool_choice picks that tool") {
    json::Value none = ParseJson(
        Fetch(*client, OpenAiPost(*mock, WithFields(kToolsBody, R"("tool_choice":"none")"))).body);
    CHECK(At(none, "choices/0/finish_reason").AsString() == "stop");
    json::Value named = ParseJson(Fetch(*client, OpenAiPost(*mock, WithFields(kToolsBody,
        R"("tool_choice":{"type":"function","function":{"name":"get_time"}})"))).body);
    CHECK(At(named, "choices/0/message/tool_calls/0/function/name").AsString() == "get_time");
    CHECK(At(named, "choices/0/message/tool_calls/0/function/arguments").AsString() ==
          R"({"utc":true})");
  }
}

TEST_CASE("openai: authentication and validation errors", "[unit][mock]") {
  auto mock = StartMock();
  auto client = Client();
  auto req = OpenAiPost(*mock, kChatBody);
  req.headers.Remove("authorization");
  auto r = Fetch(*client, req);
  CHECK(r.status == 401);
  json::Value e = ParseJson(r.body);
  CHECK(At(e, "error/type").AsString() == "invalid_request_error");
  CHECK(At(e, "error/code").AsString() == "invalid_api_key");
  CHECK(At(e, "error/param").is_null());
  CHECK(At(e, "error/message").is_string());

  auto bad = Fetch(*client, OpenAiPost(*mock, "{not json"));
  CHECK(bad.status == 400);
  CHECK(At(ParseJson(bad.body), "error/type").AsString() == "invalid_request_error");
  CHECK(Fetch(*client, OpenAiPost(*mock, R"({"messages":[]})")).status == 400);
  CHECK(Fetch(*client, OpenAiPost(*mock, R"({"model":"m","messages":[]})")).status == 400);
  CHECK(Fetch(*client, OpenAiPost(*mock, WithFields(kChatBody, R"("max_tokens":0)"))).status ==
        400);
  auto unknown = OpenAiPost(*mock, kChatBody, "/v1/nope");
  CHECK(Fetch(*client, unknown).status == 404);
}

TEST_CASE("models and embeddings", "[unit][mock]") {
  auto mock = StartMock("groq");
  auto client = Client();
  http::ClientRequest get;
  get.url = mock->base_url() + "/v1/models";
  get.headers.Add("Authorization", "Bearer x");
  json::Value models = ParseJson(Fetch(*client, get).body);
  CHECK(At(models, "object").AsString() == "list");
  CHECK(At(models, "data/0/id").AsString() == "groq-mock-small");
  CHECK(At(models, "data/0/owned_by").AsString() == "groq");

  auto embed = [&](const std::string& body) {
    return ParseJson(Fetch(*client, OpenAiPost(*mock, body, "/v1/embeddings")).body);
  };
  json::Value e = embed(R"({"model":"e","input":["the cat sat","The cat sat!","dogs bark"]})");
  const auto& data = At(e, "data").AsArray();
  REQUIRE(data.size() == 3);
  CHECK(At(data[0], "embedding").AsArray().size() == 256);
  CHECK(At(data[0], "embedding") == At(data[1], "embedding"));  // same words
  CHECK_FALSE(At(data[0], "embedding") == At(data[2], "embedding"));
  double norm = 0;
  for (const json::Value& x : At(data[0], "embedding").AsArray()) norm += x.AsDouble() * x.AsDouble();
  CHECK(std::abs(norm - 1.0) < 1e-5);
  CHECK(At(e, "usage/prompt_tokens").AsInt() == 3 + 3 + 3);
  json::Value b = embed(R"({"model":"e","input":"x","dimensions":8,"encoding_format":"base64"})");
  CHECK(At(b, "data/0/embedding").AsString().size() == 44);  // 32 bytes in base64
}

TEST_CASE("TLS mode", "[unit][mock]") {
  p402::http::testing::TempDir dir;
  auto cert = p402::http::testing::MakeSelfSignedCert(dir.path());
  REQUIRE(cert.ok);
  MockOptions options;
  options.tls = http::ServerTlsOptions{cert.cert, cert.key};
  auto mock = MockProvider::Start(options);
  REQUIRE_THAT(mock.status(), IsOk());
  CHECK((*mock)->base_url().rfind("https://", 0) == 0);
  http::ClientOptions copts;
  copts.ca_files = {cert.cert};
  auto client = http::HttpClient::Create(copts);
  REQUIRE_THAT(client.status(), IsOk());
  auto r = Fetch(**client, OpenAiPost(**mock, kChatBody));
  CHECK(r.status == 200);
  CHECK(At(ParseJson(r.body), "choices/0/message/content").AsString() == kTwelveWords);
}

TEST_CASE("the p402-mock-provider binary: flags + ready file + SIGTERM", "[unit][mock]") {
  p402::http::testing::TempDir dir;
  std::string ready = dir.path() + "/ready.json";
  p402::testing::ProcessOptions o;
  o.name = "mock-anthropic";
  o.path = p402::testing::BuildDir() + "/tools/mock_provider/p402-mock-provider";
  o.args = {"--listen=127.0.0.1:0", "--name=anthropic", "--ready_file=" + ready, "--threads=1"};
  o.log_path = dir.path() + "/mock.log";
  auto proc = p402::testing::Process::Spawn(o);
  REQUIRE_THAT(proc.status(), IsOk());
  auto rf = p402::testing::WaitForReadyFile(ready, p402::testing::kReadyTimeout, proc->get());
  REQUIRE_THAT(rf.status(), IsOk());
  REQUIRE(rf->http_port());
  auto client = Client();
  http::ClientRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(*rf->http_port()) + "/v1/messages";
  req.headers.Add("x-api-key", "k");
  req.headers.Add("anthropic-version", "2023-06-01");
  req.body = R"({"model":"claude","max_tokens":3,"messages":[{"role":"user","content":"hi"}]})";
  auto resp = Fetch(*client, req);
  INFO((*proc)->LogTail());
  CHECK(resp.status == 200);
  CHECK(At(ParseJson(resp.body), "content/0/text").AsString() == "anthropic mock reply");
  CHECK_THAT((*proc)->Terminate(), IsOk());

  p402::testing::ProcessOptions bad = o;
  bad.args = {"--bogus=1"};
  auto failing = p402::testing::Process::Spawn(bad);
  REQUIRE_THAT(failing.status(), IsOk());
  REQUIRE((*failing)->WaitForExit(std::chrono::seconds(5)));
  CHECK((*failing)->exit_code() == 2);
}

}  // namespace
}  // namespace p402::mock_provider
