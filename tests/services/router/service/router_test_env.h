// File: tests/services/router/service/router_test_env.h
// Fixture of the router service tests: two in-process mock providers (named "openai" and
// "anthropic", tools/mock_provider) and a real RouterServer on 127.0.0.1:0 with only those two
// providers enabled and their base URLs pointing at the mocks, plus a generated gRPC stub and
// helpers for the mocks' token formulas (tools/mock_provider/README.md), /metrics and
// /__mock/stats.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "libs/http/client.h"
#include "libs/json/value.h"
#include "p402/v1/router.grpc.pb.h"
#include "services/router/router_server.h"
#include "tools/mock_provider/mock_provider.h"

namespace p402::router::testing {

struct FixtureOptions {
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds first_token_timeout{10'000};
};

class RouterFixture {
 public:
  explicit RouterFixture(FixtureOptions options = {});
  ~RouterFixture();

  v1::Router::Stub& stub() { return *stub_; }
  RouterServer& server() { return *server_; }
  mock_provider::MockProvider& openai() { return *openai_; }
  mock_provider::MockProvider& anthropic() { return *anthropic_; }

  // GET /metrics of the router's admin port.
  std::string Metrics();
  // One sample of /metrics (0 when absent).
  double Metric(const std::string& series);
  // GET /__mock/stats of a mock, parsed.
  json::Value MockStats(mock_provider::MockProvider& mock);
  // POST /__mock/behavior with `json` to a mock.
  void MockBehavior(mock_provider::MockProvider& mock, const std::string& json);

 private:
  std::unique_ptr<mock_provider::MockProvider> openai_;
  std::unique_ptr<mock_provider::MockProvider> anthropic_;
  std::unique_ptr<RouterServer> server_;
  std::unique_ptr<http::HttpClient> http_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Router::Stub> stub_;
};

// system "You are terse." + user `text`, for `model` (may be empty).
v1::ChatRequest Chat(const std::string& model, const std::string& text);
// A RouteRequest around Chat().
v1::RouteRequest RouteRequestFor(const std::string& model, const std::string& text);
// The mock's prompt tokens for Chat(model, text): (4 + ceil(14/4)) + (4 + ceil(bytes/4)).
int64_t MockPromptTokens(const std::string& text);
// The mock's reply text for provider `name` and `n` tokens.
std::string MockReply(const std::string& name, int n);
// A client context with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout = std::chrono::seconds(20));
// Polls `pred` every 10 ms until it holds or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& pred,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace p402::router::testing
