#include "services/edge/http/payment_handler.h"

#include "libs/http/response.h"
#include "services/edge/http/request_fields.h"

namespace p402::edge {
namespace {

class PaymentHandler final : public http::Handler {
 public:
  PaymentHandler(PaymentApi& api, EdgeMetrics& metrics) : api_(api), metrics_(metrics) {}

  void Handle(http::Request request, std::shared_ptr<http::ResponseWriter> writer) override {
    PaymentCall call;
    call.request_id = RequestIdOf(request);
    call.method = request.method;
    call.path = std::string(request.path());
    call.query = DecodeQuery(request.query());
    call.bearer_token = BearerToken(request);
    if (auto v1 = request.Header("x-payment")) call.payment_v1 = std::string(*v1);
    if (auto v2 = request.Header("payment-signature")) call.payment_v2 = std::string(*v2);
    call.resource_url =
        "http://" + std::string(request.Header("host").value_or("localhost")) + call.path;
    call.body = std::move(request.body);
    std::string request_id = call.request_id;
    EdgeMetrics& metrics = metrics_;
    api_.Handle(
        std::move(call), [writer = std::move(writer), request_id, &metrics](PaymentReply reply) {
          http::Response response = http::Response::Json(reply.status, std::move(reply.body));
          response.headers.Set("cache-control", "no-store");  // balances and payments are private
          for (auto& [name, value] : reply.headers) {
            response.headers.Set(name, std::move(value));
          }
          response.headers.Set("x-request-id", request_id);
          metrics.CountRequest("payments", reply.status);
          writer->Send(std::move(response));
        });
  }

 private:
  PaymentApi& api_;
  EdgeMetrics& metrics_;
};

}  // namespace

std::shared_ptr<http::Handler> MakePaymentHandler(PaymentApi& api, EdgeMetrics& metrics) {
  return std::make_shared<PaymentHandler>(api, metrics);
}

}  // namespace p402::edge
