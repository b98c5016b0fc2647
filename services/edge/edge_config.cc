#include "services/edge/edge_config.h"

namespace p402::edge {

const config::Schema<EdgeConfig>& EdgeConfigSchema() {
  static const auto* const schema = [] {
    auto* s = new config::Schema<EdgeConfig>("p402-edge");
    s->String("http_listen", "P402_EDGE_HTTP_LISTEN", &EdgeConfig::http_listen, "127.0.0.1:8080",
              "OpenAI-compatible HTTP API listen address (host:port; port 0 = any free port)")
        .Validate(config::ListenAddress());
    s->String("admin_listen", "P402_EDGE_ADMIN_LISTEN", &EdgeConfig::admin_listen,
              "127.0.0.1:9080", "Admin listener: /metrics, /healthz, /readyz")
        .Validate(config::ListenAddress());
    s->String("policy_addr", "P402_EDGE_POLICY_ADDR", &EdgeConfig::policy_addr,
              "127.0.0.1:50052", "Policy (billing guard) gRPC address")
        .Validate(config::NonEmpty());
    s->String("router_addr", "P402_EDGE_ROUTER_ADDR", &EdgeConfig::router_addr,
              "127.0.0.1:50051", "Router gRPC address")
        .Validate(config::NonEmpty());
    s->String("settlement_addr", "P402_EDGE_SETTLEMENT_ADDR", &EdgeConfig::settlement_addr, "",
              "Settlement (x402) gRPC address; empty = x402 off: no payment routes, and chat "
              "requests without an API key get 401");
    s->Int("io_threads", "P402_EDGE_IO_THREADS", &EdgeConfig::io_threads, 2,
           "HTTP I/O threads")
        .Validate(config::InRange(1, 64));
    s->Int("body_limit_bytes", "P402_EDGE_BODY_LIMIT_BYTES", &EdgeConfig::body_limit_bytes,
           4 * 1024 * 1024, "Largest accepted request body; larger gets 413")
        .Validate(config::InRange(1024, 256 * 1024 * 1024));
    s->Duration("read_timeout", "P402_EDGE_READ_TIMEOUT", &EdgeConfig::read_timeout,
                std::chrono::seconds(30), "Time allowed to receive one request")
        .Validate(config::PositiveDuration());
    s->Duration("policy_timeout", "P402_EDGE_POLICY_TIMEOUT", &EdgeConfig::policy_timeout,
                std::chrono::seconds(2), "Deadline of policy calls (then fail closed: 503)")
        .Validate(config::PositiveDuration());
    s->Duration("route_timeout", "P402_EDGE_ROUTE_TIMEOUT", &EdgeConfig::route_timeout,
                std::chrono::minutes(10), "Deadline of one chat request at the router")
        .Validate(config::PositiveDuration());
    s->Duration("catalog_refresh", "P402_EDGE_CATALOG_REFRESH", &EdgeConfig::catalog_refresh,
                std::chrono::seconds(30), "How often the model catalog is re-read from the router")
        .Validate(config::PositiveDuration());
    s->Duration("settlement_timeout", "P402_EDGE_SETTLEMENT_TIMEOUT",
                &EdgeConfig::settlement_timeout, std::chrono::seconds(60),
                "Deadline of settling a payment or top-up (waits for the on-chain receipt)")
        .Validate(config::PositiveDuration());
    s->Duration("settlement_call_timeout", "P402_EDGE_SETTLEMENT_CALL_TIMEOUT",
                &EdgeConfig::settlement_call_timeout, std::chrono::seconds(10),
                "Deadline of the other settlement calls (offers, verify, ledger, Bazaar)")
        .Validate(config::PositiveDuration());
    s->String("ready_file", "P402_EDGE_READY_FILE", &EdgeConfig::ready_file, "",
              "After binding, write the bound ports as JSON here (tests)");
    s->IgnoreEnvPrefix("P402_TEST_");
    return s;
  }();
  return *schema;
}

}  // namespace p402::edge
