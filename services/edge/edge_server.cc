#include "services/edge/edge_server.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "libs/admin/admin_server.h"
#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/http/server.h"
#include "libs/metrics/registry.h"
#include "libs/rpc/channel.h"
#include "services/edge/clients/grpc_admin_client.h"
#include "services/edge/clients/grpc_clients.h"
#include "services/edge/clients/grpc_settlement_client.h"
#include "services/edge/core/chat_pipeline.h"
#include "services/edge/core/management_api.h"
#include "services/edge/core/payment_api.h"
#include "services/edge/http/edge_handler.h"
#include "services/edge/http/management_handler.h"
#include "services/edge/http/payment_handler.h"
#include "services/edge/timer_thread.h"

namespace p402::edge {

class EdgeServer::Impl {
 public:
  explicit Impl(const EdgeConfig& config)
      : config_(config), metrics_(metrics::Registry::Default()) {}

  absl::Status Start() {
    GrpcClientTimeouts timeouts{.policy = config_.policy_timeout, .route = config_.route_timeout};
    std::shared_ptr<grpc::Channel> policy_channel = rpc::MakeChannel(config_.policy_addr);
    policy_ = MakeGrpcPolicyClient(policy_channel, timeouts);
    // The management API shares the policy channel (and its deadline).
    policy_admin_ = MakeGrpcPolicyAdminClient(policy_channel, config_.policy_timeout);
    management_ = std::make_unique<ManagementApi>(*policy_admin_);
    router_ = MakeGrpcRouterClient(rpc::MakeChannel(config_.router_addr), timeouts);
    // x402 (issue 4): only with a settlement address; without one the payment routes are 404 and
    // chat requests without a key stay 401.
    PipelineOptions pipeline_options;
    std::shared_ptr<http::Handler> payments;
    if (!config_.settlement_addr.empty()) {
      settlement_ = MakeGrpcSettlementClient(
          rpc::MakeChannel(config_.settlement_addr),
          {.settle = config_.settlement_timeout, .call = config_.settlement_call_timeout});
      pipeline_options.settlement = settlement_.get();
      payments_ = std::make_unique<PaymentApi>(*settlement_, *policy_admin_, SystemClock::Get());
      payments = MakePaymentHandler(*payments_, metrics_);
      P402_LOG(kInfo, "x402 payments on").Field("settlement_addr", config_.settlement_addr);
    }
    CatalogSnapshot snapshot = [this] { return Catalog(); };
    // Billing guard (issue 3): approval polls and session-stream checks run on this timer thread.
    timers_ = std::make_unique<TimerThread>();
    pipeline_ = std::make_unique<ChatPipeline>(*policy_, *router_, snapshot, metrics_,
                                               SystemClock::Get(), *timers_,
                                               std::move(pipeline_options));
    http::ServerOptions options;
    options.listen = config_.http_listen;
    options.io_threads = static_cast<int>(config_.io_threads);
    options.body_limit_bytes = static_cast<uint64_t>(config_.body_limit_bytes);
    options.read_timeout = config_.read_timeout;
    options.handler = MakeEdgeHandler(*pipeline_, snapshot, metrics_,
                                      MakeManagementHandler(*management_, metrics_),
                                      std::move(payments));
    auto http = http::HttpServer::Start(std::move(options));
    if (!http.ok()) {
      return http.status();
    }
    http_ = std::move(*http);
    auto admin = admin::AdminServer::Start({.listen = config_.admin_listen});
    if (!admin.ok()) {
      return admin.status();
    }
    admin_ = std::move(*admin);
    refresher_ = std::thread([this] { RefreshLoop(); });
    return absl::OkStatus();
  }

  std::shared_ptr<const CatalogView> Catalog() {
    absl::MutexLock lock(&mu_);
    return catalog_;
  }

  // Re-reads the catalog: quickly until the first success, then every catalog_refresh.
  void RefreshLoop() {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.Unlock();
      auto models = router_->ListModels();
      mu_.Lock();
      absl::Duration wait = absl::Milliseconds(config_.catalog_refresh.count());
      if (models.ok()) {
        if (catalog_ == nullptr) {
          P402_LOG(kInfo, "catalog loaded").Field("models", models->models_size());
        }
        catalog_ = std::make_shared<const CatalogView>(std::move(*models));
      } else if (catalog_ == nullptr) {
        wait = absl::Milliseconds(200);
      } else {
        P402_LOG(kWarn, "catalog refresh failed").Field("error", MessageOf(models.status()));
      }
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait);
    }
  }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      stopping_ = true;
    }
    if (admin_) admin_->SetReady(false);
    if (http_) http_->Shutdown();
    // Before timers_ is destroyed (members die in reverse order, timers_ first): a Commit answer
    // arriving later must not schedule a retry on a dead TimerThread. Retries still waiting are
    // dropped here, counted and logged with their ids (they are in memory only).
    if (pipeline_) pipeline_->StopSettleRetries();
    if (refresher_.joinable()) refresher_.join();
    if (admin_) admin_->Shutdown();
  }

  EdgeConfig config_;
  EdgeMetrics metrics_;
  std::unique_ptr<PolicyClient> policy_;
  std::unique_ptr<PolicyAdminClient> policy_admin_;
  std::unique_ptr<ManagementApi> management_;
  std::unique_ptr<RouterClient> router_;
  // Null when x402 is off (no settlement_addr).
  std::unique_ptr<SettlementClient> settlement_;
  std::unique_ptr<PaymentApi> payments_;
  std::unique_ptr<ChatPipeline> pipeline_;
  // Declared after pipeline_: destroyed (its pending callbacks dropped) before the pipeline.
  // Shutdown stops the pipeline's settle retries first (they would schedule on it).
  std::unique_ptr<TimerThread> timers_;
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::thread refresher_;
  absl::Mutex mu_;
  std::shared_ptr<const CatalogView> catalog_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<EdgeServer>> EdgeServer::Start(const EdgeConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  if (absl::Status s = impl->Start(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<EdgeServer>(new EdgeServer(std::move(impl)));
}

EdgeServer::EdgeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EdgeServer::~EdgeServer() { Shutdown(); }

std::map<std::string, int> EdgeServer::ports() const {
  return {{"http_port", impl_->http_->port()}, {"admin_port", impl_->admin_->port()}};
}

void EdgeServer::SetReady(bool ready) { impl_->admin_->SetReady(ready); }
void EdgeServer::Shutdown() { impl_->Shutdown(); }

}  // namespace p402::edge
