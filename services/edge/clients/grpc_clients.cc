#include "services/edge/clients/grpc_clients.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/status_convert.h"
#include "p402/v1/policy.grpc.pb.h"
#include "p402/v1/router.grpc.pb.h"

namespace p402::edge {
namespace {

// Keeps the context and messages of one unary call alive until its callback ran.
template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext context;
  Req request;
  Resp response;
  Callback<Resp> done;
};

template <typename Req, typename Resp, typename Invoke>
void CallUnary(const Req& request, const std::string& request_id,
               std::chrono::milliseconds timeout, Callback<Resp> done, Invoke invoke) {
  auto call = std::make_shared<UnaryCall<Req, Resp>>();
  call->request = request;
  call->done = std::move(done);
  rpc::PrepareClientContext(call->context, request_id, timeout);
  invoke(&call->context, &call->request, &call->response, [call](grpc::Status status) {
    if (status.ok()) {
      call->done(std::move(call->response));
    } else {
      call->done(rpc::FromGrpcStatus(status));
    }
  });
}

class GrpcPolicyClient final : public PolicyClient {
 public:
  GrpcPolicyClient(std::shared_ptr<grpc::Channel> channel, GrpcClientTimeouts timeouts)
      : stub_(v1::Policy::NewStub(channel)), timeouts_(timeouts) {}

  // PolicyClient
  void Authorize(const v1::AuthorizeRequest& request,
                 Callback<v1::AuthorizeResponse> done) override {
    CallUnary(request, request.meta().request_id(), timeouts_.policy, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->Authorize(ctx, req, resp, std::move(cb));
              });
  }
  void Commit(const v1::CommitRequest& request, Callback<v1::CommitResponse> done) override {
    CallUnary(request, request.meta().request_id(), timeouts_.policy, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->Commit(ctx, req, resp, std::move(cb));
              });
  }
  void Release(const v1::ReleaseRequest& request, Callback<v1::ReleaseResponse> done) override {
    CallUnary(request, request.meta().request_id(), timeouts_.policy, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->Release(ctx, req, resp, std::move(cb));
              });
  }
  void GetApproval(std::string_view request_id, const v1::GetApprovalRequest& request,
                   Callback<v1::GetApprovalResponse> done) override {
    CallUnary(request, std::string(request_id), timeouts_.policy, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->GetApproval(ctx, req, resp, std::move(cb));
              });
  }
  void CheckReservation(std::string_view request_id, const v1::CheckReservationRequest& request,
                        Callback<v1::CheckReservationResponse> done) override {
    CallUnary(request, std::string(request_id), timeouts_.policy, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->CheckReservation(ctx, req, resp, std::move(cb));
              });
  }

 private:
  std::unique_ptr<v1::Policy::Stub> stub_;
  GrpcClientTimeouts timeouts_;
};

// One StreamRoute call: a client read reactor that deletes itself after OnDone.
class StreamRouteCall final : public grpc::ClientReadReactor<v1::StreamRouteResponse>,
                              public RouteStream {
 public:
  StreamRouteCall(std::shared_ptr<RouteStreamObserver> observer)
      : observer_(std::move(observer)) {}

  void Start(v1::Router::Stub& stub, const v1::RouteRequest& request,
             std::chrono::milliseconds timeout) {
    request_ = request;
    rpc::PrepareClientContext(context_, request.meta().request_id(), timeout);
    stub.async()->StreamRoute(&context_, &request_, this);
    StartRead(&event_);
    StartCall();
  }

  // RouteStream
  void Cancel() override { context_.TryCancel(); }

  // grpc::ClientReadReactor
  void OnReadDone(bool ok) override {
    if (!ok) {
      return;  // OnDone follows with the final status
    }
    observer_->OnEvent(event_);
    StartRead(&event_);
  }
  void OnDone(const grpc::Status& status) override {
    // The observer (the edge's exchange) holds this call through its RouteStream pointer and
    // this call holds the observer: drop our side before finishing, or the pair never dies
    // (one leaked exchange per streamed request).
    std::shared_ptr<RouteStreamObserver> observer = std::move(observer_);
    observer->OnDone(rpc::FromGrpcStatus(status));
    // The shared_ptr handed to the caller keeps a self-reference alive until here.
    self_.reset();
  }

  std::shared_ptr<StreamRouteCall> self_;

 private:
  grpc::ClientContext context_;
  v1::RouteRequest request_;
  v1::StreamRouteResponse event_;
  std::shared_ptr<RouteStreamObserver> observer_;
};

class GrpcRouterClient final : public RouterClient {
 public:
  GrpcRouterClient(std::shared_ptr<grpc::Channel> channel, GrpcClientTimeouts timeouts)
      : stub_(v1::Router::NewStub(channel)), timeouts_(timeouts) {}

  // RouterClient
  void Route(const v1::RouteRequest& request, Callback<v1::RouteResponse> done) override {
    CallUnary(request, request.meta().request_id(), timeouts_.route, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->Route(ctx, req, resp, std::move(cb));
              });
  }

  std::shared_ptr<RouteStream> StreamRoute(
      const v1::RouteRequest& request, std::shared_ptr<RouteStreamObserver> observer) override {
    auto call = std::make_shared<StreamRouteCall>(std::move(observer));
    call->self_ = call;
    call->Start(*stub_, request, timeouts_.route);
    return call;
  }

  void Quote(const v1::QuoteRequest& request, Callback<v1::QuoteResponse> done) override {
    CallUnary(request, request.meta().request_id(), timeouts_.quote, std::move(done),
              [this](auto* ctx, auto* req, auto* resp, auto cb) {
                stub_->async()->Quote(ctx, req, resp, std::move(cb));
              });
  }

  absl::StatusOr<v1::ListModelsResponse> ListModels() override {
    grpc::ClientContext context;
    rpc::PrepareClientContext(context, "", timeouts_.list_models);
    v1::ListModelsRequest request;
    v1::ListModelsResponse response;
    grpc::Status status = stub_->ListModels(&context, request, &response);
    if (!status.ok()) {
      return rpc::FromGrpcStatus(status);
    }
    return response;
  }

 private:
  std::unique_ptr<v1::Router::Stub> stub_;
  GrpcClientTimeouts timeouts_;
};

}  // namespace

std::unique_ptr<PolicyClient> MakeGrpcPolicyClient(std::shared_ptr<grpc::Channel> channel,
                                                   GrpcClientTimeouts timeouts) {
  return std::make_unique<GrpcPolicyClient>(std::move(channel), timeouts);
}

std::unique_ptr<RouterClient> MakeGrpcRouterClient(std::shared_ptr<grpc::Channel> channel,
                                                   GrpcClientTimeouts timeouts) {
  return std::make_unique<GrpcRouterClient>(std::move(channel), timeouts);
}

}  // namespace p402::edge
