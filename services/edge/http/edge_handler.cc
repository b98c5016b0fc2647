#include "services/edge/http/edge_handler.h"

#include "libs/common/clock.h"
#include "libs/http/response.h"
#include "libs/openai/error_body.h"
#include "libs/openai/models.h"
#include "services/edge/core/management_api.h"
#include "services/edge/core/payment_api.h"
#include "services/edge/http/request_fields.h"

namespace p402::edge {
namespace {

constexpr std::string_view kChatPaths[] = {"/v1/chat/completions", "/v2/chat/completions",
                                           "/api/v2/chat/completions"};

// ResponseSink over an http::ResponseWriter.
class WriterSink final : public ResponseSink {
 public:
  explicit WriterSink(std::shared_ptr<http::ResponseWriter> writer) : writer_(std::move(writer)) {}

  void SendJson(int status, std::string body, HeaderList headers) override {
    http::Response r = http::Response::Json(status, std::move(body));
    for (auto& [k, v] : headers) {
      r.headers.Set(k, std::move(v));
    }
    writer_->Send(std::move(r));
  }
  void StartEventStream(HeaderList headers) override {
    http::Headers h;
    h.Set("content-type", "text/event-stream; charset=utf-8");
    h.Set("cache-control", "no-cache");
    for (auto& [k, v] : headers) {
      h.Set(k, std::move(v));
    }
    writer_->StartStream(200, std::move(h));
  }
  void WriteEvent(std::string frame) override { writer_->Write(std::move(frame)); }
  void Finish() override { writer_->Finish(); }
  void OnClientGone(std::function<void()> callback) override {
    writer_->OnClose(std::move(callback));
  }

 private:
  std::shared_ptr<http::ResponseWriter> writer_;
};

class EdgeHandler final : public http::Handler {
 public:
  EdgeHandler(ChatPipeline& pipeline, CatalogSnapshot catalog, EdgeMetrics& metrics,
              std::shared_ptr<http::Handler> management, std::shared_ptr<http::Handler> payments)
      : pipeline_(pipeline),
        catalog_(std::move(catalog)),
        metrics_(metrics),
        management_(std::move(management)),
        payments_(std::move(payments)) {}

  void Handle(http::Request request, std::shared_ptr<http::ResponseWriter> writer) override {
    std::string_view path = request.path();
    if (management_ != nullptr && IsManagementPath(path)) {
      return management_->Handle(std::move(request), std::move(writer));
    }
    if (payments_ != nullptr && IsPaymentPath(path)) {
      return payments_->Handle(std::move(request), std::move(writer));
    }
    std::string request_id = RequestIdOf(request);
    for (std::string_view chat_path : kChatPaths) {
      if (path == chat_path) {
        if (request.method != "POST") {
          return Reply(*writer, "chat", 405, request_id, "method_not_allowed",
                       "Use POST for " + std::string(path) + ".");
        }
        ChatCall call{.request_id = std::move(request_id),
                      .api_key = BearerToken(request),
                      .body = std::move(request.body),
                      .received = std::chrono::steady_clock::now()};
        call.has_authorization = request.Header("authorization").has_value();
        if (auto v1 = request.Header("x-payment")) call.payment_v1 = std::string(*v1);
        if (auto v2 = request.Header("payment-signature")) call.payment_v2 = std::string(*v2);
        call.resource_url = "http://" + std::string(request.Header("host").value_or("localhost")) +
                            std::string(path);
        pipeline_.Handle(std::move(call), std::make_shared<WriterSink>(std::move(writer)));
        return;
      }
    }
    if (path == "/v1/models" || path == "/v2/models") {
      if (request.method != "GET") {
        return Reply(*writer, "models", 405, request_id, "method_not_allowed",
                     "Use GET for " + std::string(path) + ".");
      }
      auto catalog = catalog_();
      if (catalog == nullptr) {
        return Reply(*writer, "models", 503, request_id, "catalog_unavailable",
                     "The model catalog is not loaded yet.");
      }
      std::string body;
      // Default: what can be called now. ?all=true: the whole catalog with `available` flags.
      auto all = request.QueryParam("all");
      bool everything = all && (*all == "true" || *all == "1");
      openai::EncodeModelList(everything ? catalog->models() : catalog->available_models(),
                              catalog_created_unix_s_, body);
      http::Response r = http::Response::Json(200, std::move(body));
      r.headers.Set("x-request-id", request_id);
      metrics_.CountRequest("models", 200);
      writer->Send(std::move(r));
      return;
    }
    Reply(*writer, "other", 404, request_id, "unknown_url",
          "Unknown request URL: " + std::string(request.method) + " " + std::string(path) + ".");
  }

 private:
  void Reply(http::ResponseWriter& writer, std::string_view route, int status,
             const std::string& request_id, std::string_view code, const std::string& message) {
    http::Response r = http::Response::Json(
        status, openai::EncodeError(message, "invalid_request_error", std::nullopt, code));
    r.headers.Set("x-request-id", request_id);
    metrics_.CountRequest(route, status);
    writer.Send(std::move(r));
  }

  ChatPipeline& pipeline_;
  CatalogSnapshot catalog_;
  EdgeMetrics& metrics_;
  std::shared_ptr<http::Handler> management_;
  std::shared_ptr<http::Handler> payments_;
  // `created` of every model in /v1/models: when this edge started (the catalog has no dates).
  int64_t catalog_created_unix_s_ = UnixMillis(SystemClock::Get().Now()) / 1000;
};

}  // namespace

std::shared_ptr<http::Handler> MakeEdgeHandler(ChatPipeline& pipeline, CatalogSnapshot catalog,
                                               EdgeMetrics& metrics,
                                               std::shared_ptr<http::Handler> management,
                                               std::shared_ptr<http::Handler> payments) {
  return std::make_shared<EdgeHandler>(pipeline, std::move(catalog), metrics,
                                       std::move(management), std::move(payments));
}

}  // namespace p402::edge
