#include "services/policy/policy_config.h"

#include <cstdint>
#include <string>

namespace p402::policy {
namespace {

config::Validator<std::chrono::milliseconds> Between(std::chrono::milliseconds lo,
                                                     std::chrono::milliseconds hi) {
  return [lo, hi](const std::chrono::milliseconds& d) -> absl::Status {
    if (d < lo || d > hi) {
      return absl::InvalidArgumentError("must be " + std::to_string(lo.count()) + "ms.." +
                                        std::to_string(hi.count()) + "ms, got " +
                                        std::to_string(d.count()) + "ms");
    }
    return absl::OkStatus();
  };
}

}  // namespace

const config::Schema<PolicyConfig>& PolicyConfigSchema() {
  static const auto* const schema = [] {
    auto* s = new config::Schema<PolicyConfig>("p402-policy");
    s->String("grpc_listen", "P402_POLICY_GRPC_LISTEN", &PolicyConfig::grpc_listen,
              "127.0.0.1:50052", "gRPC listen address (port 0 = any free port)")
        .Validate(config::ListenAddress());
    s->String("admin_listen", "P402_POLICY_ADMIN_LISTEN", &PolicyConfig::admin_listen,
              "127.0.0.1:9082", "Admin listener: /metrics, /healthz, /readyz")
        .Validate(config::ListenAddress());
    s->String("database_url", "P402_POLICY_DATABASE_URL", &PolicyConfig::database_url, "",
              "PostgreSQL DSN (secret: env or P402_POLICY_DATABASE_URL_FILE); empty = in-memory")
        .Secret();
    s->Int("pg_pool_size", "P402_POLICY_PG_POOL_SIZE", &PolicyConfig::pg_pool_size, 8,
           "PostgreSQL connections")
        .Validate(config::InRange(1, 256));
    s->Int("worker_threads", "P402_POLICY_WORKER_THREADS", &PolicyConfig::worker_threads, 8,
           "Threads running blocking store calls (PostgreSQL or Redis mode)")
        .Validate(config::InRange(1, 256));
    s->Int("per_request_cap_micro_usd", "P402_POLICY_PER_REQUEST_CAP_MICRO_USD",
           &PolicyConfig::per_request_cap_micro_usd, 50'000'000,
           "Default per-request cost cap, micro-USD ($50)")
        .Validate(config::InRange(1, INT64_MAX));
    s->Int("daily_limit_micro_usd", "P402_POLICY_DAILY_LIMIT_MICRO_USD",
           &PolicyConfig::daily_limit_micro_usd, 1'000'000'000,
           "Default spend per tenant per UTC day (layer 2 circuit breaker), micro-USD ($1,000)")
        .Validate(config::InRange(1, INT64_MAX));
    s->Int("requests_per_hour", "P402_POLICY_REQUESTS_PER_HOUR", &PolicyConfig::requests_per_hour,
           1000, "Default requests per tenant per hour (layer 1 token bucket)")
        .Validate(config::InRange(1, 1'000'000'000));
    s->Int("max_concurrent", "P402_POLICY_MAX_CONCURRENT", &PolicyConfig::max_concurrent, 10,
           "Default requests per tenant in flight at once (layer 3)")
        .Validate(config::InRange(1, 1'000'000));
    s->Double("anomaly_zscore", "P402_POLICY_ANOMALY_ZSCORE", &PolicyConfig::anomaly_zscore, 3.0,
              "Default z-score at which an estimated cost is flagged (layer 4; soft)")
        .Validate(config::InRangeDouble(0.01, 100.0));
    s->Duration("reservation_ttl", "P402_POLICY_RESERVATION_TTL", &PolicyConfig::reservation_ttl,
                std::chrono::minutes(5), "Uncommitted reservations are released after this")
        .Validate(Between(std::chrono::seconds(1), std::chrono::hours(24)));
    s->Duration("approval_timeout", "P402_POLICY_APPROVAL_TIMEOUT", &PolicyConfig::approval_timeout,
                std::chrono::minutes(2),
                "A request held for approval is denied when nobody decides within this")
        .Validate(Between(std::chrono::seconds(1), std::chrono::hours(24)));
    s->Duration("policy_cache_ttl", "P402_POLICY_POLICY_CACHE_TTL", &PolicyConfig::policy_cache_ttl,
                std::chrono::seconds(1),
                "How long a tenant's policies are cached per process (changes through another "
                "replica are seen after at most this; 0 = always read the store)")
        .Validate(Between(std::chrono::milliseconds(0), std::chrono::minutes(10)));
    s->String("redis_url", "P402_POLICY_REDIS_URL", &PolicyConfig::redis_url, "",
              "redis://[[user]:password@]host[:port][/db] for the shared counters of layers 1-4 "
              "(secret: env or P402_POLICY_REDIS_URL_FILE); empty = in-memory counters")
        .Secret();
    s->Duration("redis_command_timeout", "P402_POLICY_REDIS_COMMAND_TIMEOUT",
                &PolicyConfig::redis_command_timeout, std::chrono::milliseconds(50),
                "Per Redis command; on timeout the layer fails open")
        .Validate(Between(std::chrono::milliseconds(1), std::chrono::seconds(10)));
    s->Duration("expiry_sweep", "P402_POLICY_EXPIRY_SWEEP", &PolicyConfig::expiry_sweep,
                std::chrono::seconds(10), "How often expired reservations are released")
        .Validate(config::PositiveDuration());
    s->String("bootstrap_tenant", "P402_POLICY_BOOTSTRAP_TENANT", &PolicyConfig::bootstrap_tenant,
              "demo", "Tenant created at startup when missing (empty = none)");
    s->String("bootstrap_api_key", "P402_POLICY_BOOTSTRAP_API_KEY",
              &PolicyConfig::bootstrap_api_key, "",
              "API key registered for the bootstrap tenant at startup (secret, env only)")
        .Secret();
    s->String("ready_file", "P402_POLICY_READY_FILE", &PolicyConfig::ready_file, "",
              "After binding, write the bound ports as JSON here (tests)");
    s->IgnoreEnvPrefix("P402_TEST_");
    return s;
  }();
  return *schema;
}

}  // namespace p402::policy
