#include "libs/admin/admin_server.h"

#include "libs/http/handler.h"
#include "libs/http/response.h"
#include "libs/metrics/registry.h"

namespace p402::admin {

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(AdminOptions options) {
  metrics::Registry* registry =
      options.registry != nullptr ? options.registry : &metrics::Registry::Default();
  auto ready = std::make_shared<std::atomic<bool>>(false);
  http::ServerOptions server_options;
  server_options.listen = options.listen;
  server_options.io_threads = 1;
  server_options.body_limit_bytes = 64 * 1024;
  server_options.handler = http::MakeHandler(
      [registry, ready](http::Request request, std::shared_ptr<http::ResponseWriter> writer) {
        std::string_view path = request.path();
        if (request.method != "GET" && request.method != "HEAD") {
          writer->Send(http::Response::Json(
              405, http::OpenAiErrorBody("Only GET is supported here.", "invalid_request_error",
                                         "method_not_allowed")));
        } else if (path == "/metrics") {
          http::Response r = http::Response::Text(200, registry->RenderPrometheusText());
          r.headers.Set("content-type", std::string(metrics::kPrometheusContentType));
          writer->Send(std::move(r));
        } else if (path == "/healthz") {
          writer->Send(http::Response::Json(200, R"({"status":"ok"})"));
        } else if (path == "/readyz") {
          bool ok = ready->load();
          writer->Send(http::Response::Json(ok ? 200 : 503, ok ? R"({"status":"ready"})"
                                                                : R"({"status":"not_ready"})"));
        } else {
          writer->Send(http::Response::Json(
              404, http::OpenAiErrorBody("Unknown admin path.", "invalid_request_error",
                                         "not_found")));
        }
      });
  auto server = http::HttpServer::Start(std::move(server_options));
  if (!server.ok()) {
    return server.status();
  }
  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->ready_ = std::move(ready);
  admin->server_ = std::move(*server);
  return admin;
}

AdminServer::~AdminServer() {
  if (server_) {
    server_->Shutdown();
  }
}

}  // namespace p402::admin
