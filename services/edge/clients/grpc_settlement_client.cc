#include "services/edge/clients/grpc_settlement_client.h"

#include <string>
#include <type_traits>

#include "libs/rpc/call_context.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/settlement.grpc.pb.h"

namespace p402::edge {
namespace {

using Async = v1::Settlement::StubInterface::async_interface;

// Keeps the context and messages of one unary call alive until its callback ran.
template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext context;
  Req request;
  Resp response;
  Callback<Resp> done;
};

class GrpcSettlementClient final : public SettlementClient {
 public:
  GrpcSettlementClient(std::shared_ptr<grpc::Channel> channel, SettlementTimeouts timeouts)
      : stub_(v1::Settlement::NewStub(channel)), timeouts_(timeouts) {}

  void GetPaymentRequirements(const v1::GetPaymentRequirementsRequest& r,
                              Callback<v1::GetPaymentRequirementsResponse> done) override {
    Unary(&Async::GetPaymentRequirements, r.meta().request_id(), timeouts_.call, r,
          std::move(done));
  }
  void VerifyPayment(const v1::VerifyPaymentRequest& r,
                     Callback<v1::VerifyPaymentResponse> done) override {
    Unary(&Async::VerifyPayment, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void SettlePayment(const v1::SettlePaymentRequest& r,
                     Callback<v1::SettlePaymentResponse> done) override {
    Unary(&Async::SettlePayment, r.meta().request_id(), timeouts_.settle, r, std::move(done));
  }
  void ReleasePayment(const v1::ReleasePaymentRequest& r,
                      Callback<v1::ReleasePaymentResponse> done) override {
    Unary(&Async::ReleasePayment, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void GetSupported(Callback<v1::GetSupportedResponse> done) override {
    Unary(&Async::GetSupported, "", timeouts_.call, v1::GetSupportedRequest(), std::move(done));
  }
  void TopUp(const v1::TopUpRequest& r, Callback<v1::TopUpResponse> done) override {
    Unary(&Async::TopUp, r.meta().request_id(), timeouts_.settle, r, std::move(done));
  }
  void RecordUsage(const v1::RecordUsageRequest& r,
                   Callback<v1::RecordUsageResponse> done) override {
    Unary(&Async::RecordUsage, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void GetBalance(const v1::GetBalanceRequest& r, Callback<v1::GetBalanceResponse> done) override {
    Unary(&Async::GetBalance, "", timeouts_.call, r, std::move(done));
  }
  void ListUsage(const v1::ListUsageRequest& r, Callback<v1::ListUsageResponse> done) override {
    Unary(&Async::ListUsage, "", timeouts_.call, r, std::move(done));
  }
  void HoldBalance(const v1::HoldBalanceRequest& r,
                   Callback<v1::HoldBalanceResponse> done) override {
    Unary(&Async::HoldBalance, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void CaptureHold(const v1::CaptureHoldRequest& r,
                   Callback<v1::CaptureHoldResponse> done) override {
    Unary(&Async::CaptureHold, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void ReleaseHold(const v1::ReleaseHoldRequest& r,
                   Callback<v1::ReleaseHoldResponse> done) override {
    Unary(&Async::ReleaseHold, r.meta().request_id(), timeouts_.call, r, std::move(done));
  }
  void CreateListing(const v1::CreateListingRequest& r,
                     Callback<v1::CreateListingResponse> done) override {
    Unary(&Async::CreateListing, "", timeouts_.call, r, std::move(done));
  }
  void ListListings(const v1::ListListingsRequest& r,
                    Callback<v1::ListListingsResponse> done) override {
    Unary(&Async::ListListings, "", timeouts_.call, r, std::move(done));
  }
  void DiscoverListings(const v1::DiscoverListingsRequest& r,
                        Callback<v1::DiscoverListingsResponse> done) override {
    Unary(&Async::DiscoverListings, "", timeouts_.call, r, std::move(done));
  }

 private:
  // The callback overload of a stub method; Req and Resp come from the request and callback, so
  // `method` picks that overload out of the reactor one.
  template <typename Req, typename Resp>
  using AsyncMethod = void (Async::*)(grpc::ClientContext*, const Req*, Resp*,
                                      std::function<void(grpc::Status)>);

  template <typename Req, typename Resp>
  void Unary(std::type_identity_t<AsyncMethod<Req, Resp>> method, const std::string& request_id,
             std::chrono::milliseconds timeout, const Req& request, Callback<Resp> done) {
    auto call = std::make_shared<UnaryCall<Req, Resp>>();
    call->request = request;
    call->done = std::move(done);
    rpc::PrepareClientContext(call->context, request_id, timeout);
    (stub_->async()->*method)(&call->context, &call->request, &call->response,
                              [call](grpc::Status status) {
                                if (status.ok()) {
                                  call->done(std::move(call->response));
                                } else {
                                  call->done(rpc::FromGrpcStatus(status));
                                }
                              });
  }

  std::unique_ptr<v1::Settlement::Stub> stub_;
  SettlementTimeouts timeouts_;
};

}  // namespace

std::unique_ptr<SettlementClient> MakeGrpcSettlementClient(std::shared_ptr<grpc::Channel> channel,
                                                           SettlementTimeouts timeouts) {
  return std::make_unique<GrpcSettlementClient>(std::move(channel), timeouts);
}

}  // namespace p402::edge
