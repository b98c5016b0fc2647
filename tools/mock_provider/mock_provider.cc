#include "tools/mock_provider/mock_provider.h"

#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "tools/mock_provider/anthropic_api.h"
#include "tools/mock_provider/mock_state.h"
#include "tools/mock_provider/openai_api.h"

namespace p402::mock_provider {
namespace {

using State = MockProvider::State;

http::Response JsonOk(std::string body) { return http::Response::Json(200, std::move(body)); }

// Errors for endpoints that are not chat: Anthropic's shape when the caller speaks Anthropic.
http::Response GenericError(const http::Request& req, int status, std::string_view message) {
  if (req.Header("anthropic-version")) {
    return AnthropicError(status, message, std::nullopt);
  }
  return OpenAiError(status, message, std::nullopt);
}

void HandleControl(State& state, const http::Request& req, http::ResponseWriter& w) {
  std::string_view path = req.path();
  if (path == "/__mock/behavior") {
    if (req.method == "DELETE") {
      state.queue.Clear();
      return w.Send(JsonOk(R"({"cleared":true})"));
    }
    if (req.method != "POST") {
      return w.Send(GenericError(req, 405, "use POST or DELETE"));
    }
    auto body = json::Value::Parse(req.body);
    if (!body.ok()) {
      return w.Send(GenericError(req, 400, MessageOf(body.status())));
    }
    auto queued = QueuedControlsFromJson(*body);
    if (!queued.ok()) {
      return w.Send(GenericError(req, 400, MessageOf(queued.status())));
    }
    state.queue.Push(std::move(*queued));
    return w.Send(JsonOk(R"({"queued":)" + std::to_string(state.queue.size()) + "}"));
  }
  if (path == "/__mock/stats" && req.method == "GET") {
    return w.Send(JsonOk(state.stats.ToJson(state.name, state.queue.size())));
  }
  if (path == "/__mock/reset" && req.method == "POST") {
    state.queue.Clear();
    state.stats.Reset();
    return w.Send(JsonOk(R"({"reset":true})"));
  }
  w.Send(GenericError(req, 404, "unknown mock control endpoint"));
}

void Route(const std::shared_ptr<State>& state, http::Request req,
           std::shared_ptr<http::ResponseWriter> w) {
  std::string_view path = req.path();
  const bool post = req.method == "POST";
  if (path == "/v1/chat/completions" || path == "/chat/completions") {
    if (!post) return w->Send(GenericError(req, 405, "use POST"));
    return HandleChat(state, Api::kOpenAi, std::move(req), std::move(w));
  }
  if (path == "/v1/messages") {
    if (!post) return w->Send(GenericError(req, 405, "use POST"));
    return HandleChat(state, Api::kAnthropic, std::move(req), std::move(w));
  }
  if (path.rfind("/__mock/", 0) == 0) {
    return HandleControl(*state, req, *w);
  }
  if (path == "/healthz") {
    return w->Send(http::Response::Text(200, "ok\n"));
  }
  state->stats.RecordRequest(req);
  if (path == "/v1/models" || path == "/models") {
    state->stats.RecordStatus(200, false);
    if (req.Header("anthropic-version")) {
      return w->Send(JsonOk(RenderAnthropicModels(state->models)));
    }
    return w->Send(JsonOk(RenderOpenAiModels(state->models, state->name)));
  }
  if (path == "/v1/embeddings" || path == "/embeddings") {
    http::Response r;
    if (!req.Header("authorization")) {
      r = OpenAiError(401, "You didn't provide an API key.", std::nullopt);
    } else if (auto body = json::Value::Parse(req.body); !body.ok()) {
      r = OpenAiError(400, MessageOf(body.status()), std::nullopt);
    } else if (auto out = RenderOpenAiEmbeddings(*body); !out.ok()) {
      r = OpenAiError(400, MessageOf(out.status()), std::nullopt);
    } else {
      r = JsonOk(std::move(*out));
    }
    state->stats.RecordStatus(r.status, false);
    r.headers.Add("x-mock-provider", state->name);
    return w->Send(std::move(r));
  }
  state->stats.RecordStatus(404, false);
  w->Send(GenericError(req, 404, "Unknown request URL: " + std::string(path)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockProvider>> MockProvider::Start(MockOptions options) {
  std::unique_ptr<MockProvider> mock(new MockProvider());
  mock->scheduler_ = std::make_unique<Scheduler>();
  mock->state_ = std::make_shared<State>();
  mock->state_->name = options.name;
  mock->state_->scheduler = mock->scheduler_.get();
  mock->state_->models = options.models;
  if (mock->state_->models.empty()) {
    mock->state_->models = {options.name + "-mock-small", options.name + "-mock-large"};
  }
  http::ServerOptions server_options;
  server_options.listen = options.listen;
  server_options.io_threads = options.threads;
  server_options.tls = options.tls;
  server_options.shutdown_timeout = std::chrono::milliseconds(500);
  // Deliberately slow streams (token delays) must not be cut by the server's own timers.
  server_options.idle_timeout = std::chrono::minutes(5);
  server_options.max_stream_buffer_bytes = 64 * 1024 * 1024;
  server_options.handler = http::MakeHandler(
      [state = mock->state_](http::Request req, std::shared_ptr<http::ResponseWriter> w) {
        Route(state, std::move(req), std::move(w));
      });
  auto server = http::HttpServer::Start(std::move(server_options));
  if (!server.ok()) {
    return server.status();
  }
  mock->server_ = std::move(*server);
  mock->base_url_ = std::string(options.tls ? "https" : "http") + "://127.0.0.1:" +
                    std::to_string(mock->server_->port());
  return mock;
}

MockProvider::~MockProvider() { Shutdown(); }

int MockProvider::port() const { return server_ ? server_->port() : 0; }
std::string MockProvider::base_url() const { return base_url_; }

void MockProvider::Shutdown() {
  server_.reset();
  scheduler_.reset();
  state_.reset();
}

}  // namespace p402::mock_provider
