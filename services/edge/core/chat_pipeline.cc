#include "services/edge/core/chat_pipeline.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "libs/common/log.h"
#include "libs/common/money.h"
#include "libs/common/status_util.h"
#include "libs/openai/chat_request.h"
#include "libs/openai/chat_response.h"
#include "libs/openai/error_body.h"
#include "libs/openai/p402_extension.h"
#include "libs/openai/p402_metadata.h"
#include "libs/openai/token_estimate.h"
#include "services/edge/core/error_mapping.h"

namespace p402::edge {
namespace {

constexpr char kRouteLabel[] = "chat";

}  // namespace

// The state of one request as it moves through the asynchronous steps. Owned by shared_ptrs held
// in the pending callbacks; dies when the last one ran.
class ChatExchange : public std::enable_shared_from_this<ChatExchange>,
                     public RouteStreamObserver {
 public:
  ChatExchange(ChatPipeline& pipeline, ChatCall call, std::shared_ptr<ResponseSink> sink)
      : p_(pipeline), call_(std::move(call)), sink_(std::move(sink)) {}

  void Start();

  // RouteStreamObserver (stream mode)
  void OnEvent(const v1::StreamRouteResponse& event) override;
  void OnDone(absl::Status status) override;

 private:
  void OnAuthorized(absl::StatusOr<v1::AuthorizeResponse> result);
  void Dispatch();
  void OnRouted(absl::StatusOr<v1::RouteResponse> result);
  void SendError(int status, std::string_view type, std::string_view code,
                 std::string_view message, std::string_view param = {},
                 int64_t retry_after_seconds = 0);
  void SendStatusError(const absl::Status& status);
  openai::P402Metadata Metadata(const v1::RoutingDecision& decision, const v1::CostBreakdown& cost,
                                const v1::TokenUsage& usage) const;
  HeaderList ResponseHeaders() const;
  void Commit(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
              const v1::ModelRef& model);
  void Release(std::string_view reason);
  int64_t ElapsedMs() const;
  openai::ChunkHeader ChunkHeader() const {
    return {.id = completion_id_, .created = created_, .model = stream_model_};
  }

  ChatPipeline& p_;
  ChatCall call_;
  std::shared_ptr<ResponseSink> sink_;
  openai::DecodedChatRequest request_;
  std::shared_ptr<const CatalogView> catalog_;
  const v1::ModelInfo* model_ = nullptr;  // the explicit model, when one was named and known
  v1::AuthorizeResponse auth_;

  // Stream state (touched only from the observer's sequential callbacks).
  std::shared_ptr<RouteStream> stream_;
  bool stream_started_ = false;
  bool stream_ended_ = false;
  std::string completion_id_;
  std::string stream_model_;
  int64_t created_ = 0;
};

ChatPipeline::ChatPipeline(PolicyClient& policy, RouterClient& router, CatalogSnapshot catalog,
                           EdgeMetrics& metrics, const Clock& clock, PipelineOptions options)
    : policy_(policy),
      router_(router),
      catalog_(std::move(catalog)),
      metrics_(metrics),
      clock_(clock),
      options_(options) {}

void ChatPipeline::Handle(ChatCall call, std::shared_ptr<ResponseSink> sink) {
  std::make_shared<ChatExchange>(*this, std::move(call), std::move(sink))->Start();
}

int64_t ChatExchange::ElapsedMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - call_.received)
      .count();
}

HeaderList ChatExchange::ResponseHeaders() const { return {{"x-request-id", call_.request_id}}; }

void ChatExchange::SendError(int status, std::string_view type, std::string_view code,
                             std::string_view message, std::string_view param,
                             int64_t retry_after_seconds) {
  HeaderList headers = ResponseHeaders();
  if (retry_after_seconds > 0) {
    headers.emplace_back("retry-after", std::to_string(retry_after_seconds));
  }
  p_.metrics_.CountRequest(kRouteLabel, status);
  std::optional<std::string_view> param_opt;
  if (!param.empty()) param_opt = param;
  sink_->SendJson(status, openai::EncodeError(message, type, param_opt, code), std::move(headers));
  P402_LOG(kInfo, "chat request failed")
      .RequestId(call_.request_id)
      .Field("status", status)
      .Field("code", code)
      .Field("error", message);
}

void ChatExchange::SendStatusError(const absl::Status& status) {
  openai::HttpError e = openai::HttpErrorFromStatus(status);
  p_.metrics_.CountRequest(kRouteLabel, e.http_status);
  sink_->SendJson(e.http_status, std::move(e.body), ResponseHeaders());
  P402_LOG(kInfo, "chat request failed")
      .RequestId(call_.request_id)
      .Field("status", e.http_status)
      .Field("error", MessageOf(status));
}

void ChatExchange::Start() {
  auto decoded = openai::DecodeChatRequest(call_.body);
  if (!decoded.ok()) {
    p_.metrics_.CountChat("bad_request");
    SendStatusError(decoded.status());
    return;
  }
  request_ = std::move(*decoded);
  if (call_.api_key.empty()) {
    p_.metrics_.CountChat("denied");
    SendError(401, "authentication_error", "missing_api_key",
              "You didn't provide an API key. Provide it in the Authorization header "
              "(Authorization: Bearer YOUR_KEY).");
    return;
  }
  catalog_ = p_.catalog_();
  if (catalog_ == nullptr) {
    SendError(503, "server_error", "catalog_unavailable",
              "The model catalog is not loaded yet; retry in a moment.");
    return;
  }
  const v1::ChatRequest& chat = request_.chat;
  const v1::RoutingOptions& routing = request_.ext.routing;
  int64_t input_tokens = openai::EstimatePromptTokens(chat);
  std::optional<int64_t> max_tokens;
  if (chat.has_max_tokens()) {
    max_tokens = chat.max_tokens();
  }

  v1::AuthorizeRequest req;
  v1::RequestMeta* meta = req.mutable_meta();
  meta->set_request_id(call_.request_id);
  meta->set_received_unix_ms(UnixMillis(p_.clock_.Now()));
  meta->set_session_id(request_.ext.session_id);
  req.mutable_credential()->set_api_key(call_.api_key);
  req.set_estimated_input_tokens(input_tokens);
  req.set_session_id(request_.ext.session_id);
  req.set_task(routing.task());
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
    MicroUsd worst = CatalogView::WorstCase(*model_, input_tokens, max_tokens);
    // With failover (on unless the client turned it off) the router may answer from another
    // model of the same tier; the reservation must cover that too, since the router never picks
    // a candidate above its spend limit.
    if (!routing.has_failover() || routing.failover().enabled()) {
      std::string_view tier = CatalogView::LowerTier(model_->tier(), routing.max_tier());
      worst = std::max(worst, catalog_->ModeCeiling(input_tokens, max_tokens, tier,
                                                    routing.max_cost_micro_usd()));
    }
    req.set_worst_case_micro_usd(worst);
    req.set_max_output_tokens(CatalogView::MaxOutput(*model_, max_tokens));
    req.set_output_per_mtok_micro_usd(model_->prices().output_per_mtok_micro_usd());
  } else if (!explicit_model) {
    req.set_worst_case_micro_usd(catalog_->ModeCeiling(input_tokens, max_tokens,
                                                       routing.max_tier(),
                                                       routing.max_cost_micro_usd()));
    req.set_max_output_tokens(max_tokens.value_or(0));
  }
  // An unknown model is reported after authentication (401 wins over 404, as at OpenAI); the
  // zero-amount reservation made meanwhile is released.
  auto self = shared_from_this();
  p_.policy_.Authorize(req, [self](absl::StatusOr<v1::AuthorizeResponse> result) {
    self->OnAuthorized(std::move(result));
  });
}

void ChatExchange::OnAuthorized(absl::StatusOr<v1::AuthorizeResponse> result) {
  if (!result.ok()) {
    // Fail closed: no decision, no spend.
    p_.metrics_.PolicyFailClosed();
    p_.metrics_.CountChat("denied");
    SendError(503, "server_error", "guard_unavailable",
              "The billing guard is unavailable; the request was not processed. Retry later.");
    return;
  }
  auth_ = std::move(*result);
  if (auth_.decision() != v1::GUARD_DECISION_ALLOW) {
    p_.metrics_.CountChat("denied");
    HttpError e = ErrorForDecision(auth_);
    SendError(e.status, e.type, e.code, e.message, {}, e.retry_after_seconds);
    return;
  }
  bool explicit_model = request_.ext.routing.mode() == v1::ROUTING_MODE_UNSPECIFIED;
  if (explicit_model && model_ == nullptr) {
    Release("model_not_found");
    p_.metrics_.CountChat("bad_request");
    SendError(404, "invalid_request_error", "model_not_found",
              "The model '" + request_.chat.model() + "' does not exist or is not available.",
              "model");
    return;
  }
  Dispatch();
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
  v1::RoutingConstraints* c = route.mutable_constraints();
  c->mutable_allowed_providers()->CopyFrom(auth_.routing().allowed_providers());
  c->mutable_denied_providers()->CopyFrom(auth_.routing().denied_providers());
  c->set_max_tier(auth_.routing().max_tier());
  c->mutable_allowed_models()->CopyFrom(auth_.routing().allowed_models());
  route.set_spend_limit_micro_usd(auth_.reservation().amount_micro_usd());
  // Chunks carry one id/created for the whole stream (OpenAI does the same).
  completion_id_ = "chatcmpl-" + call_.request_id;
  created_ = UnixMillis(p_.clock_.Now()) / 1000;
  stream_model_ = route.chat().model();

  auto self = shared_from_this();
  if (request_.chat.stream()) {
    sink_->OnClientGone([weak = std::weak_ptr<ChatExchange>(self)] {
      if (auto ex = weak.lock(); ex && ex->stream_) {
        ex->stream_->Cancel();
      }
    });
    stream_ = p_.router_.StreamRoute(route, self);
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
  m.reservation_id = auth_.reservation().id();
  if (auth_.reduced_max_tokens() > 0) {
    m.max_tokens_reduced_to = auth_.reduced_max_tokens();
  }
  m.attempts = openai::AttemptsFromDecision(decision);
  return m;
}

void ChatExchange::OnRouted(absl::StatusOr<v1::RouteResponse> result) {
  if (!result.ok()) {
    Release("provider_failed");
    p_.metrics_.CountChat("provider_error");
    SendStatusError(result.status());
    return;
  }
  const v1::RouteResponse& r = *result;
  std::string body;
  openai::P402Metadata meta = Metadata(r.decision(), r.cost(), r.completion().usage());
  openai::EncodeChatCompletion(r.completion(), &meta, body);
  p_.metrics_.CountRequest(kRouteLabel, 200);
  p_.metrics_.CountChat("ok");
  p_.metrics_.ObserveLatency(ElapsedMs() / 1000.0);
  sink_->SendJson(200, std::move(body), ResponseHeaders());
  Commit(r.cost(), r.completion().usage(), r.decision().chosen());
}

void ChatExchange::OnEvent(const v1::StreamRouteResponse& event) {
  switch (event.event_case()) {
    case v1::StreamRouteResponse::kDecision:
      stream_model_ = event.decision().chosen().model();
      if (!stream_started_) {
        stream_started_ = true;
        sink_->StartEventStream(ResponseHeaders());
      }
      return;
    case v1::StreamRouteResponse::kDelta: {
      if (!stream_started_) {
        stream_started_ = true;
        sink_->StartEventStream(ResponseHeaders());
      }
      std::string frame;
      openai::EncodeChunk(ChunkHeader(), &event.delta(), nullptr, nullptr, frame);
      sink_->WriteEvent(std::move(frame));
      return;
    }
    case v1::StreamRouteResponse::kEnd: {
      const v1::StreamEnd& end = event.end();
      stream_ended_ = true;
      if (!stream_started_) {
        stream_started_ = true;
        sink_->StartEventStream(ResponseHeaders());
      }
      openai::P402Metadata meta = Metadata(end.decision(), end.cost(), end.usage());
      std::string frame;
      if (end.has_error() && !end.error().reason().empty()) {
        // Never a silent truncation: an explicit error event carrying the cost of what was
        // delivered, then [DONE].
        if (request_.chat.include_usage()) {
          openai::EncodeChunk(ChunkHeader(), nullptr, &end.usage(), nullptr, frame);
        }
        openai::EncodeStreamError(end.error().message(), "server_error", end.error().reason(),
                                  &meta, frame);
        p_.metrics_.CountChat(end.error().reason());
      } else {
        // The usage chunk (choices: []) carries p402_metadata; without include_usage an extra
        // empty-choices chunk does (SDKs accept both).
        openai::EncodeChunk(ChunkHeader(), nullptr,
                            request_.chat.include_usage() ? &end.usage() : nullptr, &meta, frame);
        p_.metrics_.CountChat("ok");
      }
      openai::EncodeDone(frame);
      sink_->WriteEvent(std::move(frame));
      Commit(end.cost(), end.usage(), end.decision().chosen());
      return;
    }
    default:
      return;
  }
}

void ChatExchange::OnDone(absl::Status status) {
  if (!stream_started_) {
    // Failed before the first token: a normal HTTP error (nothing was sent yet).
    Release(status.ok() ? "empty_stream" : "provider_failed");
    p_.metrics_.CountChat("provider_error");
    SendStatusError(status.ok() ? Internal("router ended the stream without events") : status);
    return;
  }
  if (!stream_ended_) {
    // The router went away mid-stream: say so explicitly, never a silent truncation. The cost of
    // what was delivered is unknown here; the reservation is released (under-charge, counted).
    std::string frame;
    openai::EncodeStreamError("The stream was interrupted: " + MessageOf(status), "server_error",
                              "stream_interrupted", nullptr, frame);
    openai::EncodeDone(frame);
    sink_->WriteEvent(std::move(frame));
    Release("stream_interrupted");
    p_.metrics_.CountChat("stream_interrupted");
  }
  p_.metrics_.CountRequest(kRouteLabel, 200);
  p_.metrics_.ObserveLatency(ElapsedMs() / 1000.0);
  sink_->Finish();
}

void ChatExchange::Commit(const v1::CostBreakdown& cost, const v1::TokenUsage& usage,
                          const v1::ModelRef& model) {
  p_.metrics_.AddCost(cost.total_micro_usd());
  p_.metrics_.AddTokens(usage.input_tokens(), usage.output_tokens());
  v1::CommitRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.mutable_meta()->set_tenant_id(auth_.tenant_id());
  req.set_reservation_id(auth_.reservation().id());
  req.set_actual_micro_usd(cost.total_micro_usd());
  *req.mutable_usage() = usage;
  *req.mutable_model() = model;
  EdgeMetrics* metrics = &p_.metrics_;
  std::string request_id = call_.request_id;
  p_.policy_.Commit(req, [metrics, request_id](absl::StatusOr<v1::CommitResponse> r) {
    if (!r.ok()) {
      metrics->FinalizeFailed();
      P402_LOG(kWarn, "commit failed").RequestId(request_id).Field("error", MessageOf(r.status()));
    }
  });
}

void ChatExchange::Release(std::string_view reason) {
  if (auth_.reservation().id().empty()) {
    return;
  }
  v1::ReleaseRequest req;
  req.mutable_meta()->set_request_id(call_.request_id);
  req.set_reservation_id(auth_.reservation().id());
  req.set_reason(std::string(reason));
  EdgeMetrics* metrics = &p_.metrics_;
  std::string request_id = call_.request_id;
  p_.policy_.Release(req, [metrics, request_id](absl::StatusOr<v1::ReleaseResponse> r) {
    if (!r.ok()) {
      metrics->FinalizeFailed();
      P402_LOG(kWarn, "release failed").RequestId(request_id).Field("error", MessageOf(r.status()));
    }
  });
}

}  // namespace p402::edge
