#include "services/router/rpc/router_service.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "libs/common/status_util.h"
#include "libs/openai/token_estimate.h"
#include "libs/rpc/call_context.h"
#include "libs/rpc/status_convert.h"
#include "services/router/core/route_planner.h"
#include "services/router/rpc/stream_route_reactor.h"

namespace p402::router {
namespace {

absl::Status InvalidRequest(std::string_view message) {
  return WithReason(InvalidArgument(message), "invalid_request");
}

absl::Status ValidateChat(const v1::ChatRequest& chat) {
  if (chat.messages().empty()) return InvalidRequest("messages must not be empty");
  return absl::OkStatus();
}

absl::Status Unexpected(const std::exception& e) {
  return Internal(std::string("router: unexpected exception: ") + e.what());
}

// Route: one provider answer per call. The execution may finish before Start() returns (every
// candidate skipped) or concurrently with OnCancel; Finish is called exactly once, last.
class RouteReactor final : public grpc::ServerUnaryReactor {
 public:
  RouteReactor(RouterService& service, grpc::CallbackServerContext* ctx,
               const v1::RouteRequest* req, v1::RouteResponse* resp)
      : service_(service), ctx_(ctx), req_(req), resp_(resp) {}

  void Start() {
    absl::StatusOr<ExecutionRequest> prepared;
    try {
      prepared = service_.Prepare(*ctx_, *req_);
    } catch (const std::exception& e) {
      prepared = Unexpected(e);
    }
    if (!prepared.ok()) {
      Reply(RouterStatus(prepared.status()));
      return;
    }
    std::shared_ptr<Execution> execution = service_.executor().Route(
        std::move(*prepared), [this](ExecutionResult result) { OnResult(std::move(result)); });
    bool reply = false;
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      execution_ = execution;
      started_ = true;
      reply = have_result_;
      cancel = cancelled_ && !have_result_;
    }
    // OnDone cannot run before this handler has returned the reactor, so members stay valid.
    if (cancel) {
      execution->Cancel();  // replies through OnResult
    } else if (reply) {
      ReplyWithResult();
    }
  }

  void OnCancel() override {
    std::shared_ptr<Execution> execution;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      execution = execution_;
    }
    if (execution) execution->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  void OnResult(ExecutionResult result) {
    {
      absl::MutexLock lock(&mu_);
      result_ = std::move(result);
      have_result_ = true;
      if (!started_) return;  // Start() replies
    }
    ReplyWithResult();
  }

  void ReplyWithResult() {
    if (result_.status.ok()) {
      *resp_->mutable_completion() = std::move(result_.completion);
      *resp_->mutable_decision() = std::move(result_.decision);
      *resp_->mutable_cost() = std::move(result_.cost);
      Reply(grpc::Status::OK);
      return;
    }
    Reply(RouterStatus(result_.status, result_.retry_after_ms, &result_.decision));
  }

  // The last thing this reactor does: OnDone may delete it as soon as Finish is called.
  void Reply(grpc::Status status) {
    service_.Count("Route", status);
    Finish(std::move(status));
  }

  RouterService& service_;
  grpc::CallbackServerContext* ctx_;
  const v1::RouteRequest* req_;
  v1::RouteResponse* resp_;
  absl::Mutex mu_;
  std::shared_ptr<Execution> execution_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool have_result_ ABSL_GUARDED_BY(mu_) = false;
  ExecutionResult result_;  // written once before the reply, read by the reply only
};

}  // namespace

grpc::Status RouterStatus(const absl::Status& status, int64_t retry_after_ms,
                          const v1::RoutingDecision* decision) {
  grpc::Status converted = rpc::ToGrpcStatus(status);
  if (converted.ok()) return converted;
  v1::ErrorInfo info = rpc::ErrorInfoOf(converted);
  if (retry_after_ms > 0) info.set_retry_after_ms(retry_after_ms);
  if (decision != nullptr && decision->attempts_size() > 0) {
    v1::RoutingDecision slim = *decision;
    slim.clear_candidates();
    std::string json;
    if (google::protobuf::util::MessageToJsonString(slim, &json).ok()) {
      (*info.mutable_metadata())["decision"] = std::move(json);
    }
  }
  return grpc::Status(converted.error_code(), converted.error_message(), info.SerializeAsString());
}

RouterService::RouterService(const Catalog& catalog, const HealthView& health,
                             HttpProviderExecutor& executor, RouterMetrics& metrics,
                             const Clock& clock)
    : catalog_(catalog), health_(health), executor_(executor), metrics_(metrics), clock_(clock) {}

void RouterService::Count(std::string_view rpc, const grpc::Status& status) {
  std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  metrics_.requests.WithLabels({rpc, std::string_view(code)}).Inc();
}

absl::StatusOr<ExecutionRequest> RouterService::Prepare(const grpc::CallbackServerContext& ctx,
                                                        const v1::RouteRequest& req) const {
  if (absl::Status s = ValidateChat(req.chat()); !s.ok()) return s;
  if (req.spend_limit_micro_usd() < 0) {
    return InvalidRequest("spend_limit_micro_usd must be >= 0");
  }
  v1::RoutingOptions options = req.options();
  if (req.spend_limit_micro_usd() > 0) {
    int64_t cap = options.max_cost_micro_usd();
    options.set_max_cost_micro_usd(cap > 0 ? std::min(cap, req.spend_limit_micro_usd())
                                           : req.spend_limit_micro_usd());
  }
  const int64_t estimate = openai::EstimatePromptTokens(req.chat());
  RoutePlanner planner(catalog_, health_, clock_);
  absl::StatusOr<RoutePlan> plan = planner.Plan(req.chat(), options, req.constraints(), estimate);
  if (!plan.ok()) return plan.status();

  ExecutionRequest out;
  out.chat = req.chat();
  out.plan = std::move(*plan);
  out.spend_limit = req.spend_limit_micro_usd();
  // No deadline (time_point::max) or one further away than a day: treated as none.
  const auto now = std::chrono::system_clock::now();
  const auto deadline = ctx.deadline();
  if (deadline < now + std::chrono::hours(24)) {
    auto left = deadline - now - kDeadlineMargin;
    out.deadline = std::chrono::steady_clock::now() +
                   std::chrono::duration_cast<std::chrono::steady_clock::duration>(left);
  }
  out.request_id = rpc::RequestIdOf(ctx);
  if (out.request_id.empty()) out.request_id = req.meta().request_id();
  return out;
}

grpc::ServerUnaryReactor* RouterService::Route(grpc::CallbackServerContext* ctx,
                                               const v1::RouteRequest* req,
                                               v1::RouteResponse* resp) {
  auto* reactor = new RouteReactor(*this, ctx, req, resp);
  reactor->Start();
  return reactor;
}

grpc::ServerWriteReactor<v1::StreamRouteResponse>* RouterService::StreamRoute(
    grpc::CallbackServerContext* ctx, const v1::RouteRequest* req) {
  auto* reactor = new StreamRouteReactor(*this, ctx, req);
  reactor->Start();
  return reactor;
}

grpc::ServerUnaryReactor* RouterService::ListModels(grpc::CallbackServerContext* ctx,
                                                    const v1::ListModelsRequest* req,
                                                    v1::ListModelsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  grpc::Status status = grpc::Status::OK;
  try {
    for (const ModelEntry& m : catalog_.models()) {
      if (!req->provider().empty() && m.provider != req->provider()) continue;
      bool has_all =
          std::all_of(req->required_capabilities().begin(), req->required_capabilities().end(),
                      [&](const std::string& c) { return m.HasCapability(c); });
      if (!has_all) continue;
      *resp->add_models() = catalog_.ToModelInfo(m);
    }
    resp->set_catalog_version(catalog_.version());
  } catch (const std::exception& e) {
    status = RouterStatus(Unexpected(e));
  }
  Count("ListModels", status);
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* RouterService::Quote(grpc::CallbackServerContext* ctx,
                                               const v1::QuoteRequest* req,
                                               v1::QuoteResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::Status status;
  try {
    status = ValidateChat(req->chat());
    if (status.ok()) {
      std::vector<v1::RoutingMode> modes;
      for (int m : req->modes()) modes.push_back(static_cast<v1::RoutingMode>(m));
      // Prices from a view without live latency/error data: stable between a 402 and its paid
      // retry (router/core/ports.h PricingHealthView).
      PricingHealthView pricing(health_);
      RoutePlanner planner(catalog_, pricing, clock_);
      auto quotes = planner.Quote(req->chat(), req->options(), req->constraints(),
                                  openai::EstimatePromptTokens(req->chat()), modes);
      if (quotes.ok()) {
        for (v1::ModeQuote& q : *quotes) *resp->add_quotes() = std::move(q);
      } else {
        status = quotes.status();
      }
    }
  } catch (const std::exception& e) {
    status = Unexpected(e);
  }
  grpc::Status converted = RouterStatus(status);
  Count("Quote", converted);
  reactor->Finish(converted);
  return reactor;
}

}  // namespace p402::router
