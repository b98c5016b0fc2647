#include "tests/services/router/service/router_test_env.h"

#include <thread>

#include "catch2/catch.hpp"
#include "libs/metrics/text_lookup.h"

namespace p402::router::testing {
namespace {

std::unique_ptr<mock_provider::MockProvider> StartMock(const std::string& name) {
  mock_provider::MockOptions options;
  options.name = name;
  auto mock = mock_provider::MockProvider::Start(options);
  REQUIRE(mock.ok());
  return std::move(*mock);
}

}  // namespace

RouterFixture::RouterFixture(FixtureOptions options) {
  openai_ = StartMock("openai");
  anthropic_ = StartMock("anthropic");
  RouterConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.admin_listen = "127.0.0.1:0";
  config.provider_base_urls = {"openai=" + openai_->base_url() + "/v1",
                               "anthropic=" + anthropic_->base_url() + "/v1"};
  config.providers = {"openai", "anthropic"};
  config.connect_timeout = std::chrono::seconds(5);
  config.header_timeout = options.header_timeout;
  config.idle_timeout = std::chrono::seconds(10);
  config.first_token_timeout = options.first_token_timeout;
  config.http_threads = 2;
  config.circuit_failure_threshold = 5;
  config.circuit_cooldown = std::chrono::seconds(30);
  config.key_env_for_test = {{"OPENAI_API_KEY", "sk-test-openai"},
                             {"ANTHROPIC_API_KEY", "sk-ant-test"}};
  auto server = RouterServer::Start(config);
  if (!server.ok()) FAIL("RouterServer::Start: " << server.status().ToString());
  server_ = std::move(*server);
  auto http = http::HttpClient::Create();
  REQUIRE(http.ok());
  http_ = std::move(*http);
  channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->ports()["grpc_port"]),
                                 grpc::InsecureChannelCredentials());
  stub_ = v1::Router::NewStub(channel_);
}

RouterFixture::~RouterFixture() {
  stub_.reset();
  channel_.reset();
  if (server_) server_->Shutdown();
  server_.reset();
  http_.reset();
  if (openai_) openai_->Shutdown();
  if (anthropic_) anthropic_->Shutdown();
}

std::string RouterFixture::Metrics() {
  http::ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server_->ports()["admin_port"]) + "/metrics";
  auto r = http_->FetchBlocking(req);
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
  return r->body;
}

double RouterFixture::Metric(const std::string& series) {
  return metrics::FindSample(Metrics(), series).value_or(0);
}

json::Value RouterFixture::MockStats(mock_provider::MockProvider& mock) {
  http::ClientRequest req;
  req.url = mock.base_url() + "/__mock/stats";
  auto r = http_->FetchBlocking(req);
  REQUIRE(r.ok());
  auto v = json::Value::Parse(r->body);
  REQUIRE(v.ok());
  return *v;
}

void RouterFixture::MockBehavior(mock_provider::MockProvider& mock, const std::string& json) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = mock.base_url() + "/__mock/behavior";
  req.headers.Add("content-type", "application/json");
  req.body = json;
  auto r = http_->FetchBlocking(req);
  REQUIRE(r.ok());
  REQUIRE(r->status == 200);
}

v1::ChatRequest Chat(const std::string& model, const std::string& text) {
  v1::ChatRequest chat;
  chat.set_model(model);
  auto* system = chat.add_messages();
  system->set_role("system");
  system->set_content("You are terse.");
  auto* user = chat.add_messages();
  user->set_role("user");
  user->set_content(text);
  return chat;
}

v1::RouteRequest RouteRequestFor(const std::string& model, const std::string& text) {
  v1::RouteRequest req;
  req.mutable_meta()->set_request_id("req_test");
  *req.mutable_chat() = Chat(model, text);
  return req;
}

int64_t MockPromptTokens(const std::string& text) {
  auto ceil4 = [](int64_t b) { return (b + 3) / 4; };
  return (4 + ceil4(14)) + (4 + ceil4(static_cast<int64_t>(text.size())));
}

std::string MockReply(const std::string& name, int n) {
  static const std::vector<std::string> kCycle = {
      "mock", "reply",  "tokens", "flow", "from",  "a",     "deterministic", "provider",
      "with", "stable", "words",  "for",  "exact", "usage", "and",           "costs"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += " ";
    out += i == 0 ? name : kCycle[static_cast<size_t>(i - 1) % kCycle.size()];
  }
  return out;
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::milliseconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace p402::router::testing
