// File: tools/mock_provider/mock_provider.h
// The fake LLM provider used by tests, benchmarks and the demo: an HttpServer (libs/http) that
// speaks the OpenAI chat-completions/embeddings/models API and the Anthropic Messages API with
// deterministic content, plus behaviour controls (errors, delays, cuts, hangs) and stats. Runs
// in-process (tests) or as the p402-mock-provider binary. Reference: tools/mock_provider/README.md.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/http/server.h"

namespace p402::mock_provider {

class Scheduler;

struct MockOptions {
  std::string listen = "127.0.0.1:0";
  std::string name = "openai";  // provider name: first reply word, directive target, headers
  int threads = 1;              // io threads
  std::optional<http::ServerTlsOptions> tls;
  // Model ids listed by GET /v1/models (any model is accepted by the chat endpoints).
  std::vector<std::string> models;
};

class MockProvider {
 public:
  // Errors: as HttpServer::Start.
  static absl::StatusOr<std::unique_ptr<MockProvider>> Start(MockOptions options);
  ~MockProvider();
  MockProvider(const MockProvider&) = delete;
  MockProvider& operator=(const MockProvider&) = delete;

  int port() const;
  // "http://127.0.0.1:<port>" (https when TLS is on).
  std::string base_url() const;
  // Stops the server (in-flight streams are cut after a short grace period). Idempotent.
  void Shutdown();

  struct State;  // shared with the request handler (mock_provider.cc, chat_responder.cc)

 private:
  MockProvider() = default;
  // Destroyed in this order by Shutdown(): server (joins io threads), scheduler (joins the timer
  // thread), state.
  std::shared_ptr<State> state_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<http::HttpServer> server_;
  std::string base_url_;
};

}  // namespace p402::mock_provider
