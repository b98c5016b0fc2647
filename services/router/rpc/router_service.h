// File: services/router/rpc/router_service.h
// The gRPC adapter of the router (callback API). Thin: each RPC validates the request, plans it
// with the pure RoutePlanner (core/), hands provider calls to the HttpProviderExecutor
// (adapters/), converts the status (libs/rpc status_convert, plus the retry hint and the
// decision in ErrorInfo) and counts p402_router_requests_total{rpc,code}.
//   Route        ServerUnaryReactor; OnCancel cancels the execution.
//   StreamRoute  StreamRouteReactor (stream_route_reactor.h): bounded queue, one write in flight.
//   ListModels   the catalog with prices and availability.
//   Quote        the best candidate per routing mode with its worst-case cost.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/common/clock.h"
#include "p402/v1/router.grpc.pb.h"
#include "services/router/adapters/http_provider_executor.h"
#include "services/router/adapters/router_metrics.h"
#include "services/router/core/catalog.h"
#include "services/router/core/ports.h"

namespace p402::router {

class RouterService final : public v1::Router::CallbackService {
 public:
  // Every reference must outlive the service (and the gRPC server it is registered on).
  RouterService(const Catalog& catalog, const HealthView& health, HttpProviderExecutor& executor,
                RouterMetrics& metrics, const Clock& clock);

  grpc::ServerUnaryReactor* Route(grpc::CallbackServerContext* ctx, const v1::RouteRequest* req,
                                  v1::RouteResponse* resp) override;
  grpc::ServerWriteReactor<v1::StreamRouteResponse>* StreamRoute(
      grpc::CallbackServerContext* ctx, const v1::RouteRequest* req) override;
  grpc::ServerUnaryReactor* ListModels(grpc::CallbackServerContext* ctx,
                                       const v1::ListModelsRequest* req,
                                       v1::ListModelsResponse* resp) override;
  grpc::ServerUnaryReactor* Quote(grpc::CallbackServerContext* ctx, const v1::QuoteRequest* req,
                                  v1::QuoteResponse* resp) override;

  // For the reactors. Validates `req` and plans it: the execution request (chat, plan, spend
  // limit, deadline from the context minus a margin, request id). The spend limit also caps
  // options.max_cost_micro_usd, so no candidate whose worst case exceeds the reservation is
  // chosen. Errors: InvalidArgument "invalid_request" (no messages, negative spend limit), and
  // the planner's (NotFound "model_not_found", FailedPrecondition "no_candidate", ...).
  absl::StatusOr<ExecutionRequest> Prepare(const grpc::CallbackServerContext& ctx,
                                           const v1::RouteRequest& req) const;
  HttpProviderExecutor& executor() { return executor_; }
  // Counts one finished RPC.
  void Count(std::string_view rpc, const grpc::Status& status);

 private:
  const Catalog& catalog_;
  const HealthView& health_;
  HttpProviderExecutor& executor_;
  RouterMetrics& metrics_;
  const Clock& clock_;
};

// absl::Status -> grpc::Status with a p402.v1.ErrorInfo carrying the reason, `retry_after_ms`
// and, when `decision` has attempts, the decision (without its candidate list, to keep the
// trailer small) as JSON in metadata["decision"].
grpc::Status RouterStatus(const absl::Status& status, int64_t retry_after_ms = 0,
                          const v1::RoutingDecision* decision = nullptr);

// Time the router keeps for itself before the caller's deadline (to answer with a status rather
// than let the caller's deadline fire).
inline constexpr std::chrono::milliseconds kDeadlineMargin{25};

}  // namespace p402::router
