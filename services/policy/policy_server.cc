#include "services/policy/policy_server.h"

#include <cmath>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "libs/admin/admin_server.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/crypto/sha256.h"
#include "libs/rpc/server_runner.h"
#include "libs/store/pg_pool.h"
#include "services/policy/adapters/log_alert_sink.h"
#include "services/policy/adapters/memory_counter_store.h"
#include "services/policy/adapters/memory_policy_store.h"
#include "services/policy/adapters/pg_policy_store.h"
#include "services/policy/adapters/redis_counter_store.h"
#include "services/policy/core/kill_switch.h"
#include "services/policy/core/policy_admin.h"
#include "services/policy/core/policy_cache.h"
#include "services/policy/core/session_admin.h"
#include "services/policy/rpc/policy_service.h"

namespace p402::policy {
namespace {

// Counts the counter store's failures (Unavailable, Internal; the layers then fail open) in
// p402_policy_counter_store_failures_total{op}, whatever the implementation.
class CountingCounterStore final : public CounterStore {
 public:
  CountingCounterStore(std::unique_ptr<CounterStore> inner, metrics::Registry& registry)
      : inner_(std::move(inner)),
        failures_(registry.AddCounterFamily(
            "p402_policy_counter_store_failures_total",
            "Counter store (Redis) operations that failed; layers 1-4 failed open", {"op"})) {}

  absl::StatusOr<TokenBucketResult> TakeToken(std::string_view key, int64_t capacity,
                                              int64_t refill_period_ms,
                                              int64_t now_unix_ms) override {
    return Count("take_token", inner_->TakeToken(key, capacity, refill_period_ms, now_unix_ms));
  }
  absl::StatusOr<BoundedAddResult> AddIfWithin(std::string_view key, int64_t delta, int64_t limit,
                                               int64_t ttl_ms) override {
    return Count("add_if_within", inner_->AddIfWithin(key, delta, limit, ttl_ms));
  }
  absl::StatusOr<int64_t> Add(std::string_view key, int64_t delta, int64_t ttl_ms) override {
    return Count("add", inner_->Add(key, delta, ttl_ms));
  }
  absl::StatusOr<int64_t> Get(std::string_view key) override {
    return Count("get", inner_->Get(key));
  }
  absl::StatusOr<SlotResult> AcquireSlot(std::string_view key, std::string_view member,
                                         int64_t limit, int64_t expires_unix_ms,
                                         int64_t now_unix_ms) override {
    return Count("acquire_slot",
                 inner_->AcquireSlot(key, member, limit, expires_unix_ms, now_unix_ms));
  }
  absl::Status ReleaseSlot(std::string_view key, std::string_view member) override {
    absl::Status status = inner_->ReleaseSlot(key, member);
    Note("release_slot", status);
    return status;
  }
  absl::StatusOr<SampleStats> ObserveSample(std::string_view key, double value, int64_t max_count,
                                            int64_t ttl_ms) override {
    return Count("observe_sample", inner_->ObserveSample(key, value, max_count, ttl_ms));
  }

 private:
  void Note(std::string_view op, const absl::Status& status) {
    if (!status.ok() && !absl::IsInvalidArgument(status)) {
      failures_.WithLabels({op}).Inc();
    }
  }
  template <typename T>
  absl::StatusOr<T> Count(std::string_view op, absl::StatusOr<T> result) {
    Note(op, result.status());
    return result;
  }

  std::unique_ptr<CounterStore> inner_;
  metrics::CounterFamily& failures_;
};

}  // namespace

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
    P402_RETURN_IF_ERROR(StartCounters());
    if (workers_ == nullptr && !config_.redis_url.empty()) {
      // Redis calls block (up to redis_command_timeout): keep them off the gRPC threads.
      P402_ASSIGN_OR_RETURN(
          workers_, store::WorkerPool::Create({.name = "policy",
                                               .threads = static_cast<int>(config_.worker_threads),
                                               .max_queue = 4096}));
    }
    const Clock& clock = SystemClock::Get();
    metrics::Registry& registry = metrics::Registry::Default();
    alerts_ = std::make_unique<LogAlertSink>(registry);
    cache_ = std::make_unique<PolicyCache>(*store_, clock, config_.policy_cache_ttl);
    kill_switch_ = std::make_unique<KillSwitchMonitor>(*store_, *counters_, *alerts_);
    P402_ASSIGN_OR_RETURN(guard_, Guard::Create(GuardDeps{.store = *store_,
                                                          .clock = clock,
                                                          .counters = *counters_,
                                                          .alerts = *alerts_,
                                                          .policies = *cache_,
                                                          .kill_switch = *kill_switch_},
                                                MakeGuardConfig()));
    admin_core_ = std::make_unique<TenantAdmin>(*store_, clock);
    policy_admin_ = std::make_unique<PolicyAdmin>(*store_, clock, *cache_);
    session_admin_ = std::make_unique<SessionAdmin>(*store_, clock);
    P402_RETURN_IF_ERROR(Bootstrap());
    service_ = std::make_unique<PolicyService>(*guard_, *admin_core_, *policy_admin_,
                                               *session_admin_, workers_.get(), registry);
    P402_ASSIGN_OR_RETURN(grpc_, rpc::GrpcServer::Start({.listen = config_.grpc_listen,
                                                         .services = {service_.get()}}));
    P402_ASSIGN_OR_RETURN(admin_, admin::AdminServer::Start({.listen = config_.admin_listen}));
    sweeper_ = std::thread([this] { SweepLoop(); });
    return absl::OkStatus();
  }

  GuardConfig MakeGuardConfig() const {
    GuardConfig guard_config;
    guard_config.default_per_request_cap_micro_usd = config_.per_request_cap_micro_usd;
    guard_config.default_daily_limit_micro_usd = config_.daily_limit_micro_usd;
    guard_config.default_requests_per_hour = config_.requests_per_hour;
    guard_config.default_max_concurrent = static_cast<int32_t>(config_.max_concurrent);
    guard_config.default_anomaly_zscore_centi =
        static_cast<int32_t>(std::lround(config_.anomaly_zscore * 100));
    guard_config.reservation_ttl = config_.reservation_ttl;
    guard_config.approval_timeout = config_.approval_timeout;
    return guard_config;
  }

  // The counters of layers 1-4: Redis when configured (shared by replicas), else in memory. A
  // Redis that is down at startup does not stop the service: its layers fail open per call.
  absl::Status StartCounters() {
    std::unique_ptr<CounterStore> counters;
    if (config_.redis_url.empty()) {
      counters = std::make_unique<InMemoryCounterStore>(SystemClock::Get());
    } else {
      absl::StatusOr<RedisOptions> options = ParseRedisUrl(config_.redis_url);
      if (!options.ok()) {
        // The message never contains the password (ParseRedisUrl's contract).
        return InvalidArgument("redis_url: " + MessageOf(options.status()));
      }
      options->command_timeout = config_.redis_command_timeout;
      P402_ASSIGN_OR_RETURN(std::unique_ptr<RedisCounterStore> redis,
                            RedisCounterStore::Create(*std::move(options)));
      absl::Status ping = redis->Ping();
      P402_LOG(kInfo, "guard counters in redis")
          .Field("redis", redis->DebugString())
          .Field("reachable", ping.ok());
      if (!ping.ok()) {
        P402_LOG(kWarn, "redis is unreachable; layers 1-4 fail open until it is back")
            .Field("error", MessageOf(ping));
      }
      counters = std::move(redis);
    }
    counters_ =
        std::make_unique<CountingCounterStore>(std::move(counters), metrics::Registry::Default());
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
  std::unique_ptr<CounterStore> counters_;
  std::unique_ptr<AlertSink> alerts_;
  std::unique_ptr<PolicyCache> cache_;
  std::unique_ptr<KillSwitchMonitor> kill_switch_;
  std::unique_ptr<Guard> guard_;
  std::unique_ptr<TenantAdmin> admin_core_;
  std::unique_ptr<PolicyAdmin> policy_admin_;
  std::unique_ptr<SessionAdmin> session_admin_;
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
