#include "services/edge/http/management_handler.h"

#include "libs/http/response.h"
#include "services/edge/http/request_fields.h"

namespace p402::edge {
namespace {

class ManagementHandler final : public http::Handler {
 public:
  ManagementHandler(ManagementApi& api, EdgeMetrics& metrics) : api_(api), metrics_(metrics) {}

  void Handle(http::Request request, std::shared_ptr<http::ResponseWriter> writer) override {
    ManagementCall call;
    call.request_id = RequestIdOf(request);
    call.method = request.method;
    call.path = std::string(request.path());
    call.query = DecodeQuery(request.query());
    call.bearer_token = BearerToken(request);
    call.body = std::move(request.body);
    std::string request_id = call.request_id;
    EdgeMetrics& metrics = metrics_;
    api_.Handle(
        std::move(call), [writer = std::move(writer), request_id, &metrics](ManagementReply reply) {
          http::Response response = http::Response::Json(reply.status, std::move(reply.body));
          for (auto& [name, value] : reply.headers) {
            response.headers.Set(name, std::move(value));
          }
          response.headers.Set("x-request-id", request_id);
          response.headers.Set("cache-control", "no-store");  // keys and tokens are shown once
          metrics.CountRequest("management", reply.status);
          writer->Send(std::move(response));
        });
  }

 private:
  ManagementApi& api_;
  EdgeMetrics& metrics_;
};

}  // namespace

std::shared_ptr<http::Handler> MakeManagementHandler(ManagementApi& api, EdgeMetrics& metrics) {
  return std::make_shared<ManagementHandler>(api, metrics);
}

}  // namespace p402::edge
