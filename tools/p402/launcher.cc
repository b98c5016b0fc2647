// File: tools/p402/launcher.cc
// `p402`: the all-in-one launcher (HOUSE_STYLE 3.5). Hosts the services in one process by calling
// the same Start() functions the separate binaries, service tests and e2e tests use, leaf first
// (policy, router, settlement, edge), with embedded defaults and in-memory stores; optionally
// starts mock providers in-process and points the router at them. One SIGTERM/SIGINT stops
// everything in reverse order.
//
//   p402                          # mocks + policy + router + settlement + edge on loopback
//   p402 --only=edge,router       # a subset (point the rest at services running elsewhere)
//   p402 --no_mock                # real providers (keys from OPENAI_API_KEY, ...)
// Per-service settings use each service's own env variables (P402_EDGE_*, P402_ROUTER_*,
// P402_POLICY_*, P402_SETTLEMENT_*), validated by the same key tables. Settlement runs without a
// chain unless P402_SETTLEMENT_CHAIN_RPC_URL and _FACILITATOR_KEY are set, and offers x402
// payments only with P402_SETTLEMENT_PAY_TO (or a facilitator key).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "libs/common/log.h"
#include "libs/common/process.h"
#include "libs/common/status_util.h"
#include "libs/config/config.h"
#include "libs/crypto/random.h"
#include "services/edge/edge_server.h"
#include "services/policy/policy_server.h"
#include "services/router/router_server.h"
#include "services/settlement/settlement_server.h"
#include "tools/mock_provider/mock_provider.h"

namespace p402::launcher {
namespace {

struct LauncherConfig {
  std::vector<std::string> only;
  bool no_mock = false;
  std::string http_listen;
  std::string admin_listen;
  std::string demo_api_key;
  std::string ready_file;
};

const config::Schema<LauncherConfig>& Schema() {
  static const auto* const schema = [] {
    auto* s = new config::Schema<LauncherConfig>("p402");
    s->StringList("only", "P402_ONLY", &LauncherConfig::only, {},
                  "Services to host: edge,router,policy,settlement (empty = all)");
    s->Bool("no_mock", "P402_NO_MOCK", &LauncherConfig::no_mock, false,
            "Do not start mock providers; the router calls the real provider APIs");
    s->String("http_listen", "P402_HTTP_LISTEN", &LauncherConfig::http_listen, "127.0.0.1:8080",
              "Edge HTTP listen address")
        .Validate(config::ListenAddress());
    s->String("admin_listen", "P402_ADMIN_LISTEN", &LauncherConfig::admin_listen,
              "127.0.0.1:9080", "Edge admin listener (/metrics, /healthz, /readyz)")
        .Validate(config::ListenAddress());
    s->String("demo_api_key", "P402_DEMO_API_KEY", &LauncherConfig::demo_api_key, "",
              "API key of the demo tenant (secret; generated and printed when empty)")
        .Secret();
    s->String("ready_file", "P402_READY_FILE", &LauncherConfig::ready_file, "",
              "After start, write the bound ports as JSON here");
    s->IgnoreEnvPrefix("P402_EDGE_");
    s->IgnoreEnvPrefix("P402_ROUTER_");
    s->IgnoreEnvPrefix("P402_POLICY_");
    s->IgnoreEnvPrefix("P402_SETTLEMENT_");
    s->IgnoreEnvPrefix("P402_TEST_");
    return s;
  }();
  return *schema;
}

// Loads a service config from the process env plus the launcher's wiring flags.
template <typename Config>
absl::StatusOr<Config> LoadService(const config::Schema<Config>& schema,
                                   std::vector<std::string> args,
                                   std::map<std::string, std::string> extra_env = {}) {
  auto env = config::ProcessEnv();
  for (auto& [k, v] : extra_env) {
    env[k] = v;
  }
  auto loaded = schema.Load({.args = std::move(args), .env = std::move(env)});
  if (!loaded.ok()) {
    return loaded.status();
  }
  return std::move(loaded->config);
}

int Fail(std::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "p402: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               MessageOf(s).c_str());
  return 2;
}

int Run(int argc, char** argv) {
  BlockShutdownSignals();
  log::Configure(log::OptionsFromEnv("p402"));
  auto loaded = Schema().LoadFromProcess(argc, argv);
  if (!loaded.ok()) return Fail("invalid configuration", loaded.status());
  if (loaded->help_requested) {
    std::fputs(Schema().HelpText().c_str(), stdout);
    return 0;
  }
  LauncherConfig cfg = loaded->config;
  std::set<std::string> only(cfg.only.begin(), cfg.only.end());
  auto wanted = [&](const char* svc) { return only.empty() || only.count(svc) > 0; };
  std::string api_key =
      cfg.demo_api_key.empty() ? crypto::RandomToken("sk-p402-demo-") : cfg.demo_api_key;

  std::map<std::string, int> ports;
  std::vector<std::unique_ptr<mock_provider::MockProvider>> mocks;
  std::string base_urls;
  if (!cfg.no_mock && wanted("router")) {
    for (const char* name : {"openai", "anthropic"}) {
      auto mock = mock_provider::MockProvider::Start({.name = name});
      if (!mock.ok()) return Fail("mock provider", mock.status());
      if (!base_urls.empty()) base_urls += ",";
      base_urls += std::string(name) + "=" + (*mock)->base_url() + "/v1";
      ports[std::string("mock_") + name + "_port"] = (*mock)->port();
      mocks.push_back(std::move(*mock));
    }
    // The mocks accept any key; the router needs one to consider a provider available.
    setenv("OPENAI_API_KEY", "sk-mock", 0);
    setenv("ANTHROPIC_API_KEY", "sk-ant-mock", 0);
  }

  std::unique_ptr<policy::PolicyServer> policy_server;
  std::string policy_addr = "127.0.0.1:50052";
  if (wanted("policy")) {
    // In-process services talk over loopback gRPC on ports the kernel picks.
    auto c = LoadService(policy::PolicyConfigSchema(),
                         {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"},
                         {{"P402_POLICY_BOOTSTRAP_API_KEY", api_key}});
    if (!c.ok()) return Fail("policy config", c.status());
    auto s = policy::PolicyServer::Start(*c);
    if (!s.ok()) return Fail("policy", s.status());
    policy_server = std::move(*s);
    policy_addr = "127.0.0.1:" + std::to_string(policy_server->ports().at("grpc_port"));
    ports["policy_grpc_port"] = policy_server->ports().at("grpc_port");
  }

  std::unique_ptr<router::RouterServer> router_server;
  std::string router_addr = "127.0.0.1:50051";
  if (wanted("router")) {
    std::vector<std::string> args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"};
    if (!base_urls.empty()) {
      args.push_back("--provider_base_urls=" + base_urls);
      args.push_back("--providers=openai,anthropic");
    }
    auto c = LoadService(router::RouterConfigSchema(), args);
    if (!c.ok()) return Fail("router config", c.status());
    auto s = router::RouterServer::Start(*c);
    if (!s.ok()) return Fail("router", s.status());
    router_server = std::move(*s);
    router_addr = "127.0.0.1:" + std::to_string(router_server->ports().at("grpc_port"));
    ports["router_grpc_port"] = router_server->ports().at("grpc_port");
  }

  std::unique_ptr<settlement::SettlementServer> settlement_server;
  std::map<std::string, std::string> edge_env;
  if (wanted("settlement")) {
    auto c = LoadService(settlement::SettlementConfigSchema(),
                         {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0"});
    if (!c.ok()) return Fail("settlement config", c.status());
    auto s = settlement::SettlementServer::Start(*c);
    if (!s.ok()) return Fail("settlement", s.status());
    settlement_server = std::move(*s);
    int port = settlement_server->ports().at("grpc_port");
    // As the edge's env variable (it wins over an inherited one, like a flag would).
    edge_env["P402_EDGE_SETTLEMENT_ADDR"] = "127.0.0.1:" + std::to_string(port);
    ports["settlement_grpc_port"] = port;
  }

  std::unique_ptr<edge::EdgeServer> edge_server;
  if (wanted("edge")) {
    auto c = LoadService(edge::EdgeConfigSchema(),
                         {"--http_listen=" + cfg.http_listen, "--admin_listen=" + cfg.admin_listen,
                          "--policy_addr=" + policy_addr,
                          "--router_addr=" + router_addr},
                         edge_env);
    if (!c.ok()) return Fail("edge config", c.status());
    auto s = edge::EdgeServer::Start(*c);
    if (!s.ok()) return Fail("edge", s.status());
    edge_server = std::move(*s);
    ports["http_port"] = edge_server->ports().at("http_port");
    ports["admin_port"] = edge_server->ports().at("admin_port");
  }

  if (!cfg.ready_file.empty()) {
    if (absl::Status s = WriteReadyFile(cfg.ready_file, ports); !s.ok()) {
      return Fail("ready file", s);
    }
  }
  if (policy_server) policy_server->SetReady(true);
  if (router_server) router_server->SetReady(true);
  if (settlement_server) settlement_server->SetReady(true);
  if (edge_server) edge_server->SetReady(true);

  std::ostringstream banner;
  banner << "\nP402 is running.\n";
  for (const auto& [name, port] : ports) {
    banner << "  " << name << " = " << port << "\n";
  }
  if (edge_server) {
    std::string base = "http://127.0.0.1:" + std::to_string(ports["http_port"]);
    banner << "\nOpenAI SDK base URL: " << base << "/v1\nDemo API key: " << api_key
           << "\n\ncurl " << base << "/v1/chat/completions \\\n  -H 'Authorization: Bearer "
           << api_key
           << "' -H 'Content-Type: application/json' \\\n  -d '{\"model\":\"gpt-4o-mini\","
              "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n"
           << "\nMetrics: http://127.0.0.1:" << ports["admin_port"]
           << "/metrics   Stop: Ctrl-C\n\n";
  }
  std::fputs(banner.str().c_str(), stdout);
  std::fflush(stdout);

  WaitForShutdownSignal();
  if (edge_server) edge_server->Shutdown();
  if (settlement_server) settlement_server->Shutdown();
  if (router_server) router_server->Shutdown();
  if (policy_server) policy_server->Shutdown();
  for (auto& m : mocks) m->Shutdown();
  return 0;
}

}  // namespace
}  // namespace p402::launcher

int main(int argc, char** argv) { return p402::launcher::Run(argc, argv); }
