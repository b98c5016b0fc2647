#include "services/edge/core/chat_pipeline.h"

#include <algorithm>

#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "libs/openai/error_body.h"
#include "libs/openai/p402_extension.h"
#include "services/edge/core/chat_exchange.h"

namespace p402::edge {

ChatPipeline::ChatPipeline(PolicyClient& policy, RouterClient& router, CatalogSnapshot catalog,
                           EdgeMetrics& metrics, const Clock& clock, Scheduler& scheduler,
                           PipelineOptions options)
    : policy_(policy),
      router_(router),
      catalog_(std::move(catalog)),
      metrics_(metrics),
      clock_(clock),
      scheduler_(scheduler),
      options_(options),
      settler_(policy, scheduler, metrics, clock, options.settle_retry),
      prepaid_(std::make_shared<PrepaidRetries>(options.settlement, scheduler, metrics)) {}

ChatPipeline::~ChatPipeline() { StopSettleRetries(); }

void ChatPipeline::StopSettleRetries() {
  settler_.Stop();
  absl::MutexLock lock(&prepaid_->mu);
  prepaid_->stopped = true;
}

void ChatPipeline::Handle(ChatCall call, std::shared_ptr<ResponseSink> sink) {
  std::make_shared<ChatExchange>(*this, std::move(call), std::move(sink))->Start();
}

int64_t ChatExchange::ElapsedMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - call_.received)
      .count();
}

int64_t ChatExchange::NowUnixMs() const { return UnixMillis(p_.clock_.Now()); }

HeaderList ChatExchange::ResponseHeaders() const {
  HeaderList headers{{"x-request-id", call_.request_id}};
  // x402: the payment-response header of a settled payment goes out with the answer.
  headers.insert(headers.end(), payment_headers_.begin(), payment_headers_.end());
  return headers;
}

void ChatExchange::StartEventStreamLocked() {
  if (!sse_started_) {
    sse_started_ = true;
    sink_->StartEventStream(ResponseHeaders());
  }
}

void ChatExchange::Fail(const HttpError& e, std::string_view param) {
  bool sse = false;
  {
    absl::MutexLock lock(&mu_);
    sse = sse_started_;
    if (sse) {
      // A held stream already answered 200: the error travels as an SSE error event.
      ended_ = true;
      std::string frame;
      openai::EncodeStreamError(e.message, e.type, e.code, nullptr, frame);
      openai::EncodeDone(frame);
      sink_->WriteEvent(std::move(frame));
      sink_->Finish();
    }
  }
  if (!sse) {
    HeaderList headers = ResponseHeaders();
    if (e.retry_after_ms > 0) {
      headers.emplace_back("retry-after", std::to_string(RetryAfterSeconds(e.retry_after_ms)));
      headers.emplace_back("retry-after-ms", std::to_string(e.retry_after_ms));
    }
    std::optional<std::string_view> param_opt;
    if (!param.empty()) param_opt = param;
    sink_->SendJson(e.status, openai::EncodeError(e.message, e.type, param_opt, e.code),
                    std::move(headers));
  }
  p_.metrics_.CountRequest(kChatRouteLabel, sse ? 200 : e.status);
  P402_LOG(kInfo, "chat request failed")
      .RequestId(call_.request_id)
      .Field("status", e.status)
      .Field("code", e.code)
      .Field("error", e.message);
}

void ChatExchange::FailStatus(const absl::Status& status) {
  openai::HttpError h = openai::HttpErrorFromStatus(status);
  bool sse = false;
  {
    absl::MutexLock lock(&mu_);
    sse = sse_started_;
  }
  if (sse) {
    // Same caller-safe message as the JSON body would carry.
    HttpError e{.status = h.http_status, .type = h.type, .code = h.code.value_or("server_error")};
    if (auto body = json::Value::Parse(h.body); body.ok() && body->Find("error") != nullptr) {
      e.message = std::string(body->Find("error")->GetString("message").value_or(""));
    }
    Fail(e);
    return;
  }
  p_.metrics_.CountRequest(kChatRouteLabel, h.http_status);
  sink_->SendJson(h.http_status, std::move(h.body), ResponseHeaders());
  P402_LOG(kInfo, "chat request failed")
      .RequestId(call_.request_id)
      .Field("status", h.http_status)
      .Field("error", MessageOf(status));
}

void ChatExchange::FailMissingApiKey() {
  p_.metrics_.CountChat("denied");
  Fail({.status = 401,
        .type = "authentication_error",
        .code = "missing_api_key",
        .message = "You didn't provide an API key. Provide it in the Authorization header "
                   "(Authorization: Bearer YOUR_KEY)."});
}

void ChatExchange::Start() {
  auto decoded = openai::DecodeChatRequest(call_.body);
  if (!decoded.ok()) {
    p_.metrics_.CountChat("bad_request");
    FailStatus(decoded.status());
    return;
  }
  request_ = std::move(*decoded);
  if (call_.api_key.empty() && !call_.has_authorization && p_.options_.settlement != nullptr) {
    // x402 pay-per-call (chat_payment.cc). A request with a key ignores payment headers.
    StartPaid();
    return;
  }
  if (call_.api_key.empty()) {
    FailMissingApiKey();
    return;
  }
  catalog_ = p_.catalog_();
  if (catalog_ == nullptr) {
    Fail({.status = 503,
          .type = "server_error",
          .code = "catalog_unavailable",
          .message = "The model catalog is not loaded yet; retry in a moment."});
    return;
  }
  const v1::ChatRequest& chat = request_.chat;
  const v1::RoutingOptions& routing = request_.ext.routing;
  input_tokens_ = openai::EstimatePromptTokens(chat);
  std::optional<int64_t> max_tokens;
  if (chat.has_max_tokens()) {
    max_tokens = chat.max_tokens();
  }

  v1::AuthorizeRequest& req = authorize_;
  v1::RequestMeta* meta = req.mutable_meta();
  meta->set_request_id(call_.request_id);
  meta->set_received_unix_ms(NowUnixMs());
  meta->set_session_id(request_.ext.session_id);
  req.mutable_credential()->set_api_key(call_.api_key);
  req.set_estimated_input_tokens(input_tokens_);
  req.set_session_id(request_.ext.session_id);
  req.set_task(routing.task());
  req.set_capability("chat");
  req.set_allow_max_tokens_reduction(request_.ext.allow_max_tokens_reduction ||
                                     p_.options_.allow_max_tokens_reduction_default);
  bool explicit_model = routing.mode() == v1::ROUTING_MODE_UNSPECIFIED;
  if (explicit_model) {
    std::string name = chat.model();
    if (!routing.provider().empty() && name.find('/') == std::string::npos) {
      name = routing.provider() + "/" + name;
    }
    model_ = catalog_->Find(name);
  }
  if (model_ != nullptr) {
    *req.mutable_model() = model_->ref();
    MicroUsd worst = CatalogView::WorstCase(*model_, input_tokens_, max_tokens);
    // With failover (on unless the client turned it off) the router may answer from another
    // model of the same tier; the reservation must cover that too, since the router never picks
    // a candidate above its spend limit.
    if (!routing.has_failover() || routing.failover().enabled()) {
      std::string_view tier = CatalogView::LowerTier(model_->tier(), routing.max_tier());
      worst = std::max(worst, catalog_->ModeCeiling(input_tokens_, max_tokens, tier,
                                                    routing.max_cost_micro_usd()));
    }
    req.set_worst_case_micro_usd(worst);
    req.set_max_output_tokens(CatalogView::MaxOutput(*model_, max_tokens));
    req.set_output_per_mtok_micro_usd(model_->prices().output_per_mtok_micro_usd());
  } else if (!explicit_model) {
    req.set_worst_case_micro_usd(catalog_->ModeCeiling(input_tokens_, max_tokens,
                                                       routing.max_tier(),
                                                       routing.max_cost_micro_usd()));
    req.set_max_output_tokens(max_tokens.value_or(0));
  }
  // An unknown model is reported after authentication (401 wins over 404, as at OpenAI); the
  // zero-amount reservation made meanwhile is released.
  Authorize();
}

void ChatExchange::Authorize() {
  auto self = shared_from_this();
  p_.policy_.Authorize(authorize_, [self](absl::StatusOr<v1::AuthorizeResponse> result) {
    self->OnAuthorized(std::move(result));
  });
}

void ChatExchange::OnAuthorized(absl::StatusOr<v1::AuthorizeResponse> result) {
  if (!result.ok()) {
    // Fail closed: no decision, no spend.
    p_.metrics_.PolicyFailClosed();
    p_.metrics_.CountChat("denied");
    Fail({.status = 503,
          .type = "server_error",
          .code = "guard_unavailable",
          .message =
              "The billing guard is unavailable; the request was not processed. Retry later."});
    return;
  }
  auth_ = std::move(*result);
  if (auth_.decision() == v1::GUARD_DECISION_HOLD_FOR_APPROVAL &&
      authorize_.approval_id().empty() && !auth_.approval().id().empty()) {
    Hold();
    return;
  }
  if (auth_.decision() != v1::GUARD_DECISION_ALLOW) {
    p_.metrics_.CountChat("denied");
    Fail(ErrorForDecision(auth_));
    return;
  }
  bool explicit_model = request_.ext.routing.mode() == v1::ROUTING_MODE_UNSPECIFIED;
  if (explicit_model && model_ == nullptr) {
    Release("model_not_found");
    p_.metrics_.CountChat("bad_request");
    Fail({.status = 404,
          .type = "invalid_request_error",
          .code = "model_not_found",
          .message = "The model '" + request_.chat.model() +
                     "' does not exist or is not available."},
         "model");
    return;
  }
  HoldPrepaid();  // then Dispatch (chat_prepaid.cc)
}

void ChatExchange::Dispatch() {
  v1::RouteRequest route;
  v1::RequestMeta* meta = route.mutable_meta();
  meta->set_request_id(call_.request_id);
  meta->set_tenant_id(auth_.tenant_id());
  meta->set_api_key_id(auth_.api_key_id());
  meta->set_session_id(auth_.session_id().empty() ? request_.ext.session_id : auth_.session_id());
  // The model and routing options go to the router as the client wrote them: the router resolves
  // the model itself (a bare id may be served by several providers) and may fail over across
  // providers; pinning the provider here would defeat that.
  *route.mutable_chat() = request_.chat;
  if (auth_.reduced_max_tokens() > 0) {
    route.mutable_chat()->set_max_tokens(auth_.reduced_max_tokens());
  }
  *route.mutable_options() = request_.ext.routing;
  const v1::PolicyRouting& policy = auth_.routing();
  v1::RoutingConstraints* c = route.mutable_constraints();
  c->mutable_allowed_providers()->CopyFrom(policy.allowed_providers());
  c->mutable_denied_providers()->CopyFrom(policy.denied_providers());
  c->set_max_tier(policy.max_tier());
  c->mutable_allowed_models()->CopyFrom(policy.allowed_models());
  c->mutable_denied_models()->CopyFrom(policy.denied_models());
  c->set_max_model(policy.max_model());
  c->set_preferred_model(policy.preferred_model());
  route.set_spend_limit_micro_usd(auth_.reservation().amount_micro_usd());
  SendRoute(route);
}

void ChatExchange::SendRoute(const v1::RouteRequest& route) {
  {
    absl::MutexLock lock(&mu_);
    // Chunks carry one id/created for the whole stream (OpenAI does the same).
    completion_id_ = "chatcmpl-" + call_.request_id;
    created_ = NowUnixMs() / 1000;
    stream_model_ = route.chat().model();
  }

  auto self = shared_from_this();
  if (request_.chat.stream()) {
    WatchClient();
    std::shared_ptr<RouteStream> stream = p_.router_.StreamRoute(route, self);
    {
      absl::MutexLock lock(&stream_mu_);
      stream_ = stream;
    }
    bool cut = false;
    {
      absl::MutexLock lock(&mu_);
      cut = cut_ || stream_settle_ == StreamSettle::kDropped;
    }
    // The client left, a timer cut the stream, or a paid stream's settlement failed, before the
    // handle was stored.
    if (client_gone_ || cut) {
      CancelRouterStream();
    }
    WatchSession();
    return;
  }
  p_.router_.Route(route, [self](absl::StatusOr<v1::RouteResponse> result) {
    self->OnRouted(std::move(result));
  });
}

openai::P402Metadata ChatExchange::Metadata(const v1::RoutingDecision& decision,
                                            const v1::CostBreakdown& cost,
                                            const v1::TokenUsage& usage) const {
  openai::P402Metadata m;
  m.request_id = call_.request_id;
  m.tenant_id = auth_.tenant_id();
  m.provider = decision.chosen().provider();
  m.model = decision.chosen().model();
  m.cost_micro_usd = cost.total_micro_usd();
  m.direct_cost_micro_usd = cost.direct_micro_usd();
  m.input_tokens = usage.input_tokens();
  m.output_tokens = usage.output_tokens();
  m.latency_ms = ElapsedMs();
  if (decision.attempts_size() > 0) {
    m.provider_latency_ms = decision.attempts(decision.attempts_size() - 1).latency_ms();
  }
  m.cached = false;
  m.routing_mode = std::string(openai::RoutingModeName(decision.mode()));
  if (!decision.decision_id().empty()) {
    m.decision_id = decision.decision_id();
  }
  m.cost_estimated = cost.estimated() || usage.estimated();
  if (!paid_) {
    m.reservation_id = auth_.reservation().id();
  }
  if (!hold_id_.empty()) {
    m.prepaid = true;
  }
  m.payment = receipt_;
  if (!auth_.session_id().empty()) {
    m.session_id = auth_.session_id();
  }
  if (auth_.reduced_max_tokens() > 0) {
    m.max_tokens_reduced_to = auth_.reduced_max_tokens();
  }
  m.attempts = openai::AttemptsFromDecision(decision);
  return m;
}

void ChatExchange::OnRouted(absl::StatusOr<v1::RouteResponse> result) {
  if (!result.ok()) {
    Release("provider_failed");
    // Every provider failed (or the router did): the payer is not charged.
    ReleasePayment("provider_failed");
    p_.metrics_.CountChat("provider_error");
    FailStatus(result.status());
    return;
  }
  if (paid_) {
    // The provider answered: settle first, deliver only a paid completion.
    SettleCompletion(std::move(*result));
    return;
  }
  DeliverCompletion(*result);
}

void ChatExchange::DeliverCompletion(const v1::RouteResponse& r) {
  std::string body;
  openai::P402Metadata meta = Metadata(r.decision(), r.cost(), r.completion().usage());
  openai::EncodeChatCompletion(r.completion(), &meta, body);
  p_.metrics_.CountRequest(kChatRouteLabel, 200);
  p_.metrics_.CountChat("ok");
  p_.metrics_.ObserveLatency(ElapsedMs() / 1000.0);
  sink_->SendJson(200, std::move(body), ResponseHeaders());
  Commit(r.cost(), r.completion().usage(), r.decision().chosen());
}

void ChatExchange::Commit(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
                          const v1::ModelRef& model) {
  p_.metrics_.AddCost(cost.total_micro_usd());
  p_.metrics_.AddTokens(usage.input_tokens(), usage.output_tokens());
  if (paid_) {
    return;  // x402: paid and booked by the settlement service; there is no policy reservation
  }
  v1::CommitRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.mutable_meta()->set_tenant_id(auth_.tenant_id());
  req.mutable_meta()->set_session_id(auth_.session_id());
  req.set_reservation_id(auth_.reservation().id());
  req.set_actual_micro_usd(cost.total_micro_usd());
  *req.mutable_usage() = usage;
  *req.mutable_model() = model;
  // Retried off the response path while policy cannot answer; owns a copy of the request.
  p_.settler_.Commit(std::move(req));
  CaptureHold(cost, usage, model);
}

void ChatExchange::Release(std::string_view reason) {
  if (auth_.reservation().id().empty()) {
    return;
  }
  v1::ReleaseRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.set_reservation_id(auth_.reservation().id());
  req.set_reason(std::string(reason));
  p_.settler_.Release(std::move(req));
  ReleaseHold(reason);
}

}  // namespace p402::edge
