#include "services/edge/http/management_handler.h"

#include "libs/common/request_id.h"
#include "libs/http/response.h"

namespace p402::edge {
namespace {

std::string BearerToken(const http::Request& request) {
  auto auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() ||
      !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
    return "";
  }
  std::string_view v = auth->substr(kBearer.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}; empty pieces ("a=1&&b") are skipped.
QueryParams DecodeQuery(std::string_view query) {
  QueryParams out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    out.emplace_back(http::PercentDecode(pair.substr(0, eq), true),
                     http::PercentDecode(value, true));
  }
  return out;
}

class ManagementHandler final : public http::Handler {
 public:
  ManagementHandler(ManagementApi& api, EdgeMetrics& metrics) : api_(api), metrics_(metrics) {}

  void Handle(http::Request request, std::shared_ptr<http::ResponseWriter> writer) override {
    ManagementCall call;
    if (auto id = request.Header("x-request-id"); id && IsValidRequestId(*id)) {
      call.request_id = std::string(*id);
    } else {
      call.request_id = NewRequestId();
    }
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
