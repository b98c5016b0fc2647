// sdk_client.mjs (the official openai npm SDK) checked against an in-process fake gateway whose
// answers are known byte for byte ([e2e][harness]): what the C++ tests read from RunSdk must be
// what the server sent — p402_metadata included, since the SDK passes unknown fields through.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "catch2/catch.hpp"
#include "libs/http/server.h"
#include "libs/json/value.h"
#include "tests/e2e/sdk_runner.h"
#include "tests/support/catch_status.h"

namespace p402::e2e {
namespace {

using testing::IsOk;

constexpr const char* kChatResponse =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2,)"
    R"("total_tokens":9},"p402_metadata":{"provider":"openai","cost_usd":0.000003,)"
    R"("cached":false}})";

constexpr const char* kToolResponse =
    R"({"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[)"
    R"({"id":"call_1","type":"function","function":{"name":"get_weather",)"
    R"("arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}]})";

std::string Chunk(const std::string& json) { return "data: " + json + "\n\n"; }

// Answers like a gateway; records the last Authorization header and body.
class FakeGateway {
 public:
  FakeGateway() {
    http::ServerOptions o;
    o.handler =
        http::MakeHandler([this](http::Request req, std::shared_ptr<http::ResponseWriter> w) {
          Handle(std::move(req), std::move(w));
        });
    auto s = http::HttpServer::Start(std::move(o));
    REQUIRE_THAT(s.status(), IsOk());
    server_ = *std::move(s);
  }
  std::string base_url() const { return "http://" + server_->address() + "/v1"; }
  std::string last_auth() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_auth_;
  }
  json::Value last_body() {
    std::lock_guard<std::mutex> lock(mu_);
    auto v = json::Value::Parse(last_body_);
    return v.ok() ? *v : json::Value();
  }

 private:
  void Handle(http::Request req, std::shared_ptr<http::ResponseWriter> w) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_auth_ = std::string(req.Header("authorization").value_or(""));
      last_body_ = req.body;
    }
    if (req.method == "GET" && req.path() == "/v1/models") {
      w->Send(http::Response::Json(
          200,
          R"({"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":0,)"
          R"("owned_by":"openai","p402":{"input_per_million":0.15}},{"id":"claude-sonnet-4-5",)"
          R"("object":"model","created":0,"owned_by":"anthropic"}]})"));
      return;
    }
    auto body = json::Value::Parse(req.body);
    std::string model(body.ok() ? body->GetString("model").value_or("") : "");
    if (model == "unknown-model") {
      w->Send(http::Response::Json(
          404, R"({"error":{"message":"The model `unknown-model` does not exist",)"
               R"("type":"not_found_error","param":"model","code":"model_not_found"}})"));
      return;
    }
    if (!body.ok() || !body->GetBool("stream").value_or(false)) {
      w->Send(http::Response::Json(
          200, body.ok() && body->Find("tools") ? kToolResponse : kChatResponse));
      return;
    }
    w->StartStream(200, {{"Content-Type", "text/event-stream"}});
    const std::string head = R"({"id":"c","object":"chat.completion.chunk","created":1,)"
                             R"("model":"gpt-4o-mini","choices":[)";
    w->Write(Chunk(head + R"({"index":0,"delta":{"role":"assistant","content":"Hel"},)"
                          R"("finish_reason":null}]})"));
    w->Write(Chunk(head + R"({"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]})"));
    if (model == "cut-mid-stream") {
      w->Abort();
      return;
    }
    if (model == "error-mid-stream") {
      w->Write(Chunk(R"({"error":{"message":"provider failed after first token",)"
                     R"("type":"server_error","code":"upstream_stream_error"}})"));
      w->Finish();
      return;
    }
    w->Write(Chunk(head + R"(],"usage":{"prompt_tokens":7,"completion_tokens":2,)"
                          R"("total_tokens":9},"p402_metadata":{"provider":"openai",)"
                          R"("cost_usd":0.000003}})"));
    w->Write("data: [DONE]\n\n");
    w->Finish();
  }

  std::unique_ptr<http::HttpServer> server_;
  std::mutex mu_;
  std::string last_auth_;
  std::string last_body_;
};

struct WorkDir {
  WorkDir() {
    std::string pattern = "/tmp/p402-sdk-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

json::Value Run(const FakeGateway& gw, const WorkDir& dir, std::string scenario,
                std::string body = "") {
  SdkCall call;
  call.base_url = gw.base_url();
  call.api_key = "sk-test-123";
  call.scenario = std::move(scenario);
  call.body_json = std::move(body);
  call.timeout = std::chrono::seconds(10);
  call.work_dir = dir.path;
  auto r = RunSdkClient(call);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return *std::move(r);
}

std::string Ser(const json::Value* v) { return v == nullptr ? "<absent>" : v->Serialize(); }

TEST_CASE("sdk_client chat: the SDK's object, p402_metadata included", "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  json::Value r = Run(gw, dir, "chat",
                      R"({"model":"gpt-4o-mini","messages":[{"role":"user",)"
                      R"("content":"hi"}],"p402":{"mode":"cost"}})");
  INFO(r.Serialize());
  CHECK(r.GetBool("ok") == true);
  CHECK(r.GetInt("status") == 200);
  CHECK(Ser(r.Find("error")) == "null");
  CHECK(r.GetString("content") == "Hi there");
  CHECK(r.GetString("finish_reason") == "stop");
  const json::Value* response = r.Find("response");
  REQUIRE(response != nullptr);
  CHECK(*response == *json::Value::Parse(kChatResponse));  // verbatim, unknown fields kept
  CHECK(gw.last_auth() == "Bearer sk-test-123");
  // The SDK sends the request extension through unchanged.
  CHECK(Ser(gw.last_body().Find("p402")) == R"({"mode":"cost"})");
}

TEST_CASE("sdk_client sends bodies beyond the argv limit (via a file)", "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  std::string big(300 * 1024, 'x');
  json::Value r = Run(gw, dir, "chat",
                      R"({"model":"gpt-4o-mini","messages":[{"role":"user",)"
                      R"("content":")" +
                          big + R"("}]})");
  CHECK(r.GetBool("ok") == true);
  json::Value sent = gw.last_body();
  REQUIRE(sent.Find("messages") != nullptr);
  CHECK(sent.Find("messages")->AsArray()[0].GetString("content") == big);
}

TEST_CASE("sdk_client stream: chunks, content, usage, final p402_metadata, [DONE]",
          "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  json::Value r = Run(gw, dir, "stream");
  INFO(r.Serialize());
  CHECK(r.GetBool("ok") == true);
  CHECK(r.GetInt("status") == 200);
  CHECK(r.GetString("content") == "Hello");
  CHECK(r.GetString("finish_reason") == "stop");
  REQUIRE(r.Find("chunks") != nullptr);
  CHECK(r.Find("chunks")->AsArray().size() == 3);
  CHECK(Ser(r.Find("usage")) == R"({"prompt_tokens":7,"completion_tokens":2,"total_tokens":9})");
  const json::Value* meta = r.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CHECK(meta->GetString("provider") == "openai");
  // Compare money numerically: JSON number text may change form on the way (3e-06).
  CHECK(std::llround(meta->GetDouble("cost_usd").value_or(-1) * 1e6) == 3);
  CHECK(r.GetBool("done_seen") == true);
  CHECK(r.GetBool("ended_cleanly") == true);
  // The script asked for usage the way an SDK user does.
  CHECK(gw.last_body().GetBool("stream") == true);
  CHECK(Ser(gw.last_body().Find("stream_options")) == R"({"include_usage":true})");
}

TEST_CASE("sdk_client stream: a cut stream and an error event are not clean ends",
          "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  json::Value cut = Run(gw, dir, "stream",
                        R"({"model":"cut-mid-stream","messages":[{"role":"user","content":"x"}]})");
  INFO(cut.Serialize());
  CHECK(cut.GetString("content") == "Hello");
  CHECK(cut.GetBool("done_seen") == false);
  CHECK(cut.GetBool("ended_cleanly") == false);

  json::Value err =
      Run(gw, dir, "stream",
          R"({"model":"error-mid-stream","messages":[{"role":"user","content":"x"}]})");
  INFO(err.Serialize());
  CHECK(err.GetBool("ok") == false);
  CHECK(err.GetBool("ended_cleanly") == false);
  const json::Value* e = err.Find("error");
  REQUIRE(e != nullptr);
  CHECK(e->GetString("message") == "provider failed after first token");
  CHECK(e->GetString("type") == "server_error");
  CHECK(e->GetString("code") == "upstream_stream_error");
  // The whole event, for what the SDK drops (a gateway puts p402_metadata there).
  const json::Value* event = err.Find("error_event");
  REQUIRE(event != nullptr);
  CHECK(event->Find("error")->GetString("code") == "upstream_stream_error");
  CHECK(cut.Find("error_event")->is_null());
}

TEST_CASE("sdk_client error: the SDK's APIError with the OpenAI error fields", "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  json::Value r = Run(gw, dir, "error",
                      R"({"model":"unknown-model","messages":[{"role":"user","content":"x"}]})");
  INFO(r.Serialize());
  CHECK(r.GetBool("ok") == false);
  CHECK(r.GetInt("status") == 404);
  const json::Value* e = r.Find("error");
  REQUIRE(e != nullptr);
  CHECK(e->GetString("name") == "NotFoundError");
  CHECK(e->GetInt("status") == 404);
  CHECK(e->GetString("message") == "The model `unknown-model` does not exist");
  CHECK(e->GetString("type") == "not_found_error");
  CHECK(e->GetString("code") == "model_not_found");
  CHECK(e->GetString("param") == "model");
}

TEST_CASE("sdk_client tools and models", "[e2e][harness]") {
  FakeGateway gw;
  WorkDir dir;
  json::Value t = Run(gw, dir, "tools");
  INFO(t.Serialize());
  CHECK(t.GetString("finish_reason") == "tool_calls");
  const json::Value* calls = t.Find("tool_calls");
  REQUIRE(calls != nullptr);
  REQUIRE(calls->is_array());
  REQUIRE(calls->AsArray().size() == 1);
  const json::Value& call = calls->AsArray()[0];
  CHECK(call.GetString("id") == "call_1");
  CHECK(Ser(call.Find("function")) ==
        R"({"name":"get_weather","arguments":"{\"city\":\"Paris\"}"})");
  CHECK(gw.last_body().Find("tools") != nullptr);  // the default tools body was sent

  json::Value m = Run(gw, dir, "models");
  INFO(m.Serialize());
  CHECK(Ser(m.Find("ids")) == R"(["gpt-4o-mini","claude-sonnet-4-5"])");
  CHECK(Ser(m.Find("models")->AsArray()[0].Find("p402")) == R"({"input_per_million":0.15})");
}

TEST_CASE("sdk_client connection refused is reported, not thrown", "[e2e][harness]") {
  WorkDir dir;
  SdkCall call;
  call.base_url = "http://127.0.0.1:1/v1";
  call.api_key = "k";
  call.scenario = "chat";
  call.work_dir = dir.path;
  auto r = RunSdkClient(call);
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->GetBool("ok") == false);
  CHECK(r->Find("status")->is_null());
  CHECK(r->Find("error")->GetString("name") == "APIConnectionError");
}

}  // namespace
}  // namespace p402::e2e
