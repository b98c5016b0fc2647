#include "services/router/router_server.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/synchronization/mutex.h"
#include "libs/admin/admin_server.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/http/client.h"
#include "libs/metrics/registry.h"
#include "libs/rpc/server_runner.h"
#include "services/router/adapters/embedded_catalog.h"
#include "services/router/adapters/http_provider_executor.h"
#include "services/router/adapters/router_metrics.h"
#include "libs/common/timer_queue.h"
#include "services/router/rpc/router_service.h"

namespace p402::router {
namespace {

absl::StatusOr<Catalog> LoadCatalog(const std::string& path) {
  if (path.empty()) {
    auto catalog = Catalog::FromJsonText(EmbeddedCatalogJson());
    if (!catalog.ok()) return Internal("embedded catalog: " + MessageOf(catalog.status()));
    return catalog;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("catalog: cannot read \"" + path + "\"");
  std::ostringstream text;
  text << in.rdbuf();
  auto catalog = Catalog::FromJsonText(text.str());
  if (!catalog.ok()) {
    return InvalidArgument("catalog \"" + path + "\": " + MessageOf(catalog.status()));
  }
  return catalog;
}

std::string KeyFromEnv(const RouterConfig& config, const std::string& name) {
  if (name.empty()) return "";
  if (!config.key_env_for_test.empty()) {
    auto it = config.key_env_for_test.find(name);
    return it == config.key_env_for_test.end() ? "" : it->second;
  }
  const char* value = std::getenv(name.c_str());  // read once, at startup
  return value == nullptr ? "" : value;
}

}  // namespace

class RouterServer::Impl {
 public:
  explicit Impl(const RouterConfig& config) : config_(config) {}

  absl::Status Start() {
    P402_ASSIGN_OR_RETURN(Catalog loaded, LoadCatalog(config_.catalog));
    catalog_ = std::make_unique<Catalog>(std::move(loaded));
    P402_ASSIGN_OR_RETURN(ProviderKeys keys, ConfigureProviders());

    HealthConfig health_config;
    health_config.circuit_failure_threshold = static_cast<int>(config_.circuit_failure_threshold);
    health_config.circuit_cooldown = config_.circuit_cooldown;
    health_ = std::make_unique<HealthTracker>(SystemClock::Get(), health_config);
    metrics_ = std::make_unique<RouterMetrics>(metrics::Registry::Default());

    http::ClientOptions client_options;
    client_options.io_threads = static_cast<int>(config_.http_threads);
    if (!config_.ca_file.empty()) client_options.ca_files.push_back(config_.ca_file);
    P402_ASSIGN_OR_RETURN(client_, http::HttpClient::Create(client_options));
    timers_ = std::make_unique<TimerQueue>();

    ExecutorOptions options;
    options.connect_timeout = config_.connect_timeout;
    options.header_timeout = config_.header_timeout;
    options.idle_timeout = config_.idle_timeout;
    options.first_token_timeout = config_.first_token_timeout;
    executor_ =
        std::make_unique<HttpProviderExecutor>(*catalog_, std::move(keys), *client_, *timers_,
                                               *health_, *metrics_, SystemClock::Get(), options);
    service_ = std::make_unique<RouterService>(*catalog_, *health_, *executor_, *metrics_,
                                               SystemClock::Get());
    P402_ASSIGN_OR_RETURN(grpc_, rpc::GrpcServer::Start({.listen = config_.grpc_listen,
                                                         .services = {service_.get()}}));
    P402_ASSIGN_OR_RETURN(admin_, admin::AdminServer::Start({.listen = config_.admin_listen}));
    return absl::OkStatus();
  }

  // Applies base-URL overrides, the `providers` filter and the API keys; returns the keys.
  absl::StatusOr<ProviderKeys> ConfigureProviders() {
    P402_ASSIGN_OR_RETURN(auto overrides, ParseBaseUrlOverrides(config_.provider_base_urls));
    for (const auto& [provider, url] : overrides) {
      if (!catalog_->SetBaseUrl(provider, url).ok()) {
        return InvalidArgument("provider_base_urls: unknown provider \"" + provider + "\"");
      }
    }
    std::set<std::string, std::less<>> enabled(config_.providers.begin(), config_.providers.end());
    for (const std::string& p : enabled) {
      if (catalog_->FindProvider(p) == nullptr) {
        return InvalidArgument("providers: unknown provider \"" + p + "\"");
      }
    }
    ProviderKeys keys;
    std::string available;
    for (const ProviderInfo& p : std::vector<ProviderInfo>(catalog_->providers())) {
      std::string key = KeyFromEnv(config_, p.key_env);
      const bool overridden = overrides.count(p.id) > 0;
      // A provider needs an adapter and credentials; an overridden base URL (local model,
      // test fake) may be keyless.
      const bool on = (enabled.empty() || enabled.count(p.id) > 0) &&
                      IsSupportedProtocol(p.protocol) && (!key.empty() || overridden);
      P402_RETURN_IF_ERROR(catalog_->SetAvailable(p.id, on));
      if (!on) continue;
      if (!key.empty()) keys.emplace(p.id, std::move(key));
      available += (available.empty() ? "" : ",") + p.id;
    }
    if (available.empty()) {
      P402_LOG(kWarn,
               "no provider is available: set provider API keys (e.g. OPENAI_API_KEY) "
               "or provider_base_urls; every Route will fail with no_candidate");
    } else {
      P402_LOG(kInfo, "providers available").Field("providers", available);
    }
    return keys;
  }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    if (admin_) admin_->SetReady(false);
    // In-flight RPCs are cancelled after the grace period; that cancels their provider calls.
    if (grpc_) grpc_->Shutdown();
    // The client cancels what is still in flight (callbacks reach the executor, still alive).
    client_.reset();
    timers_.reset();
    if (admin_) admin_->Shutdown();
  }

  RouterConfig config_;
  // Declaration order = reverse destruction order: the client and the timers (which call into
  // executions) die before the executor, the service, the health tracker and the catalog.
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<HealthTracker> health_;
  std::unique_ptr<RouterMetrics> metrics_;
  std::unique_ptr<HttpProviderExecutor> executor_;
  std::unique_ptr<RouterService> service_;
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<http::HttpClient> client_;
  std::unique_ptr<rpc::GrpcServer> grpc_;
  std::unique_ptr<admin::AdminServer> admin_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<RouterServer>> RouterServer::Start(const RouterConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  if (absl::Status s = impl->Start(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<RouterServer>(new RouterServer(std::move(impl)));
}

RouterServer::RouterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RouterServer::~RouterServer() { Shutdown(); }

std::map<std::string, int> RouterServer::ports() const {
  return {{"grpc_port", impl_->grpc_->port()}, {"admin_port", impl_->admin_->port()}};
}
void RouterServer::SetReady(bool ready) { impl_->admin_->SetReady(ready); }
void RouterServer::Shutdown() { impl_->Shutdown(); }
const Catalog& RouterServer::catalog() const { return *impl_->catalog_; }
const HealthTracker& RouterServer::health() const { return *impl_->health_; }

}  // namespace p402::router
