#include "services/policy/policy_server.h"

#include <thread>

#include "absl/synchronization/mutex.h"
#include "libs/admin/admin_server.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/sha256.h"
#include "libs/rpc/server_runner.h"
#include "libs/store/pg_pool.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "services/policy/rpc/policy_service.h"

namespace p402::policy {

class PolicyServer::Impl {
 public:
  explicit Impl(const PolicyConfig& config) : config_(config) {}

  absl::Status Start() {
    if (config_.database_url.empty()) {
      store_ = std::make_unique<InMemoryPolicyStore>();
    } else {
      store::PgPoolOptions pool_options;
      pool_options.dsn = config_.database_url;
      pool_options.max_size = static_cast<int>(config_.pg_pool_size);
      P402_ASSIGN_OR_RETURN(pool_, store::PgPool::Create(pool_options));
      P402_ASSIGN_OR_RETURN(store_, PgPolicyStore::Open(*pool_));
      P402_ASSIGN_OR_RETURN(
          workers_, store::WorkerPool::Create({.name = "policy",
                                               .threads = static_cast<int>(config_.worker_threads),
                                               .max_queue = 4096}));
    }
    GuardConfig guard_config;
    guard_config.default_per_request_cap_micro_usd = config_.per_request_cap_micro_usd;
    guard_config.reservation_ttl = config_.reservation_ttl;
    P402_ASSIGN_OR_RETURN(guard_, Guard::Create(*store_, SystemClock::Get(), guard_config));
    admin_core_ = std::make_unique<TenantAdmin>(*store_, SystemClock::Get());
    P402_RETURN_IF_ERROR(Bootstrap());
    service_ = std::make_unique<PolicyService>(*guard_, *admin_core_, workers_.get(),
                                               metrics::Registry::Default());
    P402_ASSIGN_OR_RETURN(grpc_, rpc::GrpcServer::Start({.listen = config_.grpc_listen,
                                                         .services = {service_.get()}}));
    P402_ASSIGN_OR_RETURN(admin_, admin::AdminServer::Start({.listen = config_.admin_listen}));
    sweeper_ = std::thread([this] { SweepLoop(); });
    return absl::OkStatus();
  }

  // Ensures the bootstrap tenant exists and the bootstrap key (if any) authenticates as it.
  absl::Status Bootstrap() {
    if (config_.bootstrap_tenant.empty()) {
      return absl::OkStatus();
    }
    v1::CreateTenantRequest tenant;
    tenant.set_id(config_.bootstrap_tenant);
    tenant.set_name(config_.bootstrap_tenant);
    auto created = admin_core_->CreateTenant(tenant);
    if (!created.ok() && created.status().code() != absl::StatusCode::kAlreadyExists) {
      return created.status();
    }
    if (config_.bootstrap_api_key.empty()) {
      return absl::OkStatus();
    }
    std::string hash = crypto::Sha256Hex(config_.bootstrap_api_key);
    P402_ASSIGN_OR_RETURN(auto existing, store_->FindApiKeyByHash(hash));
    if (existing.has_value()) {
      return absl::OkStatus();
    }
    ApiKeyRecord key;
    key.id = "key_" + hash.substr(0, 16);
    key.tenant_id = config_.bootstrap_tenant;
    key.name = "bootstrap";
    key.prefix = config_.bootstrap_api_key.substr(0, 12);
    key.key_hash = hash;
    key.admin = true;
    key.created_unix_ms = UnixMillis(SystemClock::Get().Now());
    absl::Status s = store_->CreateApiKey(key);
    if (!s.ok() && s.code() != absl::StatusCode::kAlreadyExists) {
      return s;
    }
    P402_LOG(kInfo, "bootstrap api key registered")
        .Field("tenant_id", config_.bootstrap_tenant)
        .Field("key_id", key.id);
    return absl::OkStatus();
  }

  void SweepLoop() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                                 absl::Milliseconds(config_.expiry_sweep.count()))) {
      mu_.Unlock();
      auto expired = guard_->ExpireReservations();
      if (!expired.ok()) {
        P402_LOG(kWarn, "reservation sweep failed").Field("error", MessageOf(expired.status()));
      } else if (*expired > 0) {
        P402_LOG(kInfo, "reservations expired").Field("count", *expired);
      }
      mu_.Lock();
    }
  }

  void Shutdown() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    if (sweeper_.joinable()) sweeper_.join();
    if (admin_) admin_->SetReady(false);
    if (grpc_) grpc_->Shutdown();
    if (workers_) workers_->Shutdown();
    if (admin_) admin_->Shutdown();
  }

  PolicyConfig config_;
  std::unique_ptr<store::PgPool> pool_;
  std::unique_ptr<PolicyStore> store_;
  std::unique_ptr<store::WorkerPool> workers_;
  std::unique_ptr<Guard> guard_;
  std::unique_ptr<TenantAdmin> admin_core_;
  std::unique_ptr<PolicyService> service_;
  std::unique_ptr<rpc::GrpcServer> grpc_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::thread sweeper_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<std::unique_ptr<PolicyServer>> PolicyServer::Start(const PolicyConfig& config) {
  auto impl = std::make_unique<Impl>(config);
  if (absl::Status s = impl->Start(); !s.ok()) {
    impl->Shutdown();
    return s;
  }
  return std::unique_ptr<PolicyServer>(new PolicyServer(std::move(impl)));
}

PolicyServer::PolicyServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicyServer::~PolicyServer() { Shutdown(); }

std::map<std::string, int> PolicyServer::ports() const {
  return {{"grpc_port", impl_->grpc_->port()}, {"admin_port", impl_->admin_->port()}};
}
void PolicyServer::SetReady(bool ready) { impl_->admin_->SetReady(ready); }
void PolicyServer::Shutdown() { impl_->Shutdown(); }

}  // namespace p402::policy
