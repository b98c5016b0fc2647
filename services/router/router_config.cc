#include "services/router/router_config.h"

#include "libs/common/status_util.h"

namespace p402::router {

absl::StatusOr<std::map<std::string, std::string>> ParseBaseUrlOverrides(
    const std::vector<std::string>& entries) {
  std::map<std::string, std::string> out;
  for (const std::string& entry : entries) {
    size_t eq = entry.find('=');
    std::string provider = eq == std::string::npos ? "" : entry.substr(0, eq);
    std::string url = eq == std::string::npos ? "" : entry.substr(eq + 1);
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (provider.empty() || url.empty()) {
      return InvalidArgument("provider_base_urls: expected provider=url, got \"" + entry + "\"");
    }
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return InvalidArgument("provider_base_urls: the URL of \"" + provider +
                             "\" must start with http:// or https://");
    }
    if (!out.emplace(provider, url).second) {
      return InvalidArgument("provider_base_urls: provider \"" + provider + "\" given twice");
    }
  }
  return out;
}

const config::Schema<RouterConfig>& RouterConfigSchema() {
  static const auto* const schema = [] {
    auto* s = new config::Schema<RouterConfig>("p402-router");
    s->String("grpc_listen", "P402_ROUTER_GRPC_LISTEN", &RouterConfig::grpc_listen,
              "127.0.0.1:50051", "gRPC listen address (port 0 = any free port)")
        .Validate(config::ListenAddress());
    s->String("admin_listen", "P402_ROUTER_ADMIN_LISTEN", &RouterConfig::admin_listen,
              "127.0.0.1:9081", "Admin listener: /metrics, /healthz, /readyz")
        .Validate(config::ListenAddress());
    s->String("catalog", "P402_ROUTER_CATALOG", &RouterConfig::catalog, "",
              "Catalog JSON file (models.dev format); empty = the catalog built into the binary");
    s->StringList("provider_base_urls", "P402_ROUTER_PROVIDER_BASE_URLS",
                  &RouterConfig::provider_base_urls, {},
                  "Base URL overrides, provider=url,... (e.g. openai=http://127.0.0.1:18080/v1); "
                  "an overridden provider needs no API key (local models)")
        .Validate(
            [](const std::vector<std::string>& v) { return ParseBaseUrlOverrides(v).status(); });
    s->StringList("providers", "P402_ROUTER_PROVIDERS", &RouterConfig::providers, {},
                  "Only these providers are enabled (empty = every provider with a key)");
    s->Duration("connect_timeout", "P402_ROUTER_CONNECT_TIMEOUT", &RouterConfig::connect_timeout,
                std::chrono::seconds(5), "Provider connect + TLS handshake timeout")
        .Validate(config::PositiveDuration());
    s->Duration("header_timeout", "P402_ROUTER_HEADER_TIMEOUT", &RouterConfig::header_timeout,
                std::chrono::seconds(120),
                "Wait for a provider's response headers (a timeout fails over)")
        .Validate(config::PositiveDuration());
    s->Duration("idle_timeout", "P402_ROUTER_IDLE_TIMEOUT", &RouterConfig::idle_timeout,
                std::chrono::seconds(60),
                "Longest silence in a provider's body (time to first token, gaps between tokens)")
        .Validate(config::PositiveDuration());
    s->Duration("first_token_timeout", "P402_ROUTER_FIRST_TOKEN_TIMEOUT",
                &RouterConfig::first_token_timeout, std::chrono::seconds(60),
                "Streams: wait for the first token before failing over to the next candidate")
        .Validate(config::PositiveDuration());
    s->String("ca_file", "P402_ROUTER_CA_FILE", &RouterConfig::ca_file, "",
              "Extra PEM CA file trusted for provider HTTPS (tests)");
    s->Int("http_threads", "P402_ROUTER_HTTP_THREADS", &RouterConfig::http_threads, 2,
           "Io threads of the provider HTTP client")
        .Validate(config::InRange(1, 16));
    s->Int("circuit_failure_threshold", "P402_ROUTER_CIRCUIT_FAILURE_THRESHOLD",
           &RouterConfig::circuit_failure_threshold, 5,
           "Consecutive failed calls that open a provider's circuit breaker")
        .Validate(config::InRange(1, 1000));
    s->Duration("circuit_cooldown", "P402_ROUTER_CIRCUIT_COOLDOWN", &RouterConfig::circuit_cooldown,
                std::chrono::seconds(30), "Time an open circuit waits before one trial call")
        .Validate(config::PositiveDuration());
    s->String("ready_file", "P402_ROUTER_READY_FILE", &RouterConfig::ready_file, "",
              "After binding, write the bound ports as JSON here (tests)");
    s->IgnoreEnvPrefix("P402_TEST_");
    return s;
  }();
  return *schema;
}

}  // namespace p402::router
