// RouterServer::Start (composition root): catalog sources, provider availability, config errors.
#include <string>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "services/router/router_config.h"
#include "services/router/router_server.h"
#include "tests/support/catch_status.h"
#include "tests/support/test_env.h"

namespace p402::router {
namespace {

using p402::testing::StatusIs;

RouterConfig BaseConfig() {
  RouterConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.admin_listen = "127.0.0.1:0";
  config.connect_timeout = std::chrono::seconds(1);
  config.header_timeout = std::chrono::seconds(1);
  config.idle_timeout = std::chrono::seconds(1);
  config.circuit_cooldown = std::chrono::seconds(1);
  return config;
}

bool Available(const Catalog& catalog, std::string_view provider) {
  const ProviderInfo* p = catalog.FindProvider(provider);
  return p != nullptr && p->available;
}

TEST_CASE("RouterServer: embedded catalog, keys decide availability", "[service][router]") {
  RouterConfig config = BaseConfig();
  config.key_env_for_test = {{"GROQ_API_KEY", "gsk-test"}, {"GEMINI_API_KEY", "g-test"}};
  config.provider_base_urls = {"anthropic=http://127.0.0.1:9/v1/"};
  auto server = RouterServer::Start(config);
  REQUIRE(server.ok());
  const Catalog& catalog = (*server)->catalog();
  CHECK(catalog.models().size() >= 30);
  CHECK(Available(catalog, "groq"));       // key present
  CHECK(Available(catalog, "anthropic"));  // keyless, base URL overridden (local server)
  CHECK(catalog.FindProvider("anthropic")->base_url == "http://127.0.0.1:9/v1");
  CHECK_FALSE(Available(catalog, "openai"));  // no key
  CHECK_FALSE(Available(catalog, "google"));  // key, but no adapter for its protocol
  CHECK((*server)->ports().at("grpc_port") > 0);
  CHECK((*server)->ports().at("admin_port") > 0);
  (*server)->Shutdown();
  (*server)->Shutdown();  // idempotent
}

TEST_CASE("RouterServer: --catalog file and the providers filter", "[service][router]") {
  RouterConfig config = BaseConfig();
  config.catalog = p402::testing::SourceDir() + "/services/router/data/catalog.json";
  config.providers = {"groq"};
  config.key_env_for_test = {{"GROQ_API_KEY", "gsk-test"}, {"OPENAI_API_KEY", "sk-test"}};
  auto server = RouterServer::Start(config);
  REQUIRE(server.ok());
  CHECK(Available((*server)->catalog(), "groq"));
  CHECK_FALSE(Available((*server)->catalog(), "openai"));  // has a key, but not listed

  // The embedded catalog is the same file.
  RouterConfig embedded = BaseConfig();
  auto other = RouterServer::Start(embedded);
  REQUIRE(other.ok());
  CHECK((*other)->catalog().version() == (*server)->catalog().version());
}

TEST_CASE("RouterServer: configuration errors", "[service][router]") {
  RouterConfig config = BaseConfig();
  SECTION("unreadable catalog") {
    config.catalog = "/nonexistent/catalog.json";
    CHECK_THAT(RouterServer::Start(config).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "cannot read"));
  }
  SECTION("unknown provider in providers") {
    config.providers = {"nope"};
    CHECK_THAT(RouterServer::Start(config).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "unknown provider \"nope\""));
  }
  SECTION("unknown provider in provider_base_urls") {
    config.provider_base_urls = {"nope=http://127.0.0.1:1"};
    CHECK_THAT(RouterServer::Start(config).status(),
               StatusIs(absl::StatusCode::kInvalidArgument, "unknown provider \"nope\""));
  }
  SECTION("malformed provider_base_urls entries") {
    CHECK_FALSE(ParseBaseUrlOverrides({"openai"}).ok());
    CHECK_FALSE(ParseBaseUrlOverrides({"openai=ftp://x"}).ok());
    CHECK_FALSE(ParseBaseUrlOverrides({"a=http://x", "a=http://y"}).ok());
    auto ok = ParseBaseUrlOverrides({"openai=https://x/v1//"});
    REQUIRE(ok.ok());
    CHECK(ok->at("openai") == "https://x/v1");
  }
}

TEST_CASE("RouterConfig: env and flags", "[service][router]") {
  config::LoadOptions options;
  options.env = {{"P402_ROUTER_PROVIDERS", "openai,anthropic"},
                 {"P402_ROUTER_PROVIDER_BASE_URLS", "openai=http://127.0.0.1:1/v1"}};
  options.args = {"--header_timeout=250ms", "--grpc_listen=127.0.0.1:0"};
  auto loaded = RouterConfigSchema().Load(options);
  REQUIRE(loaded.ok());
  CHECK(loaded->config.providers == std::vector<std::string>{"openai", "anthropic"});
  CHECK(loaded->config.provider_base_urls.size() == 1);
  CHECK(loaded->config.header_timeout == std::chrono::milliseconds(250));
  CHECK(loaded->config.admin_listen == "127.0.0.1:9081");
  CHECK(loaded->config.idle_timeout == std::chrono::seconds(60));
  options.args = {"--provider_base_urls=openai"};
  CHECK_FALSE(RouterConfigSchema().Load(options).ok());
}

}  // namespace
}  // namespace p402::router
