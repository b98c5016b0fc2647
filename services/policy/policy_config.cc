#include "services/policy/policy_config.h"

namespace p402::policy {

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
           "Threads running blocking store calls (PostgreSQL mode)")
        .Validate(config::InRange(1, 256));
    s->Int("per_request_cap_micro_usd", "P402_POLICY_PER_REQUEST_CAP_MICRO_USD",
           &PolicyConfig::per_request_cap_micro_usd, 50'000'000,
           "Default per-request cost cap, micro-USD ($50)")
        .Validate(config::InRange(1, INT64_MAX));
    s->Duration("reservation_ttl", "P402_POLICY_RESERVATION_TTL", &PolicyConfig::reservation_ttl,
                std::chrono::minutes(5), "Uncommitted reservations are released after this")
        .Validate(config::PositiveDuration());
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
