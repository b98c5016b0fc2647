// File: services/router/router_config.h
// Configuration of p402-router (`p402-router --help`; table in services/router/README.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/config/config.h"

namespace p402::router {

struct RouterConfig {
  std::string grpc_listen;
  std::string admin_listen;
  // Catalog file (models.dev format); "" = the catalog embedded at build time.
  std::string catalog;
  // "provider=url" entries overriding a provider's base URL (tests, demo, local models).
  std::vector<std::string> provider_base_urls;
  // When non-empty, only these providers are enabled.
  std::vector<std::string> providers;
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds header_timeout{0};
  std::chrono::milliseconds idle_timeout{0};
  std::chrono::milliseconds first_token_timeout{60'000};
  // Extra PEM CA file trusted for provider HTTPS (tests with a self-signed provider).
  std::string ca_file;
  int64_t http_threads = 2;
  int64_t circuit_failure_threshold = 5;
  std::chrono::milliseconds circuit_cooldown{0};
  std::string ready_file;

  // Not a key: when non-empty, provider keys are looked up here (env var name -> value) instead
  // of in the process environment (in-process tests).
  std::map<std::string, std::string> key_env_for_test;
};

const config::Schema<RouterConfig>& RouterConfigSchema();

// Parses provider_base_urls entries ("openai=http://127.0.0.1:18080/v1") into provider -> URL
// (trailing '/' removed). Errors: InvalidArgument naming the bad entry (no '=', empty provider,
// URL not http(s)://, duplicate provider).
absl::StatusOr<std::map<std::string, std::string>> ParseBaseUrlOverrides(
    const std::vector<std::string>& entries);

}  // namespace p402::router
