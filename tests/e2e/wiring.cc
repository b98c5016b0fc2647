#include "tests/e2e/wiring.h"

namespace p402::e2e {

Wiring DefaultWiring() {
  Wiring w;

  // Mock provider (tools/mock_provider/README.md): OpenAI at /v1/chat/completions, Anthropic at
  // /v1/messages; writes {"http_port":N}. Checked by mock_direct_test.cc.
  w.mock.name = "mock";
  w.mock.binary = "tools/mock_provider/p402-mock-provider";
  w.mock.cmake_target = "p402-mock-provider";
  w.mock.args = {"--listen=127.0.0.1:0", "--name=${MOCK_NAME}", "--ready_file=${READY_FILE}"};
  w.mock.http_port_key = "http_port";
  w.mock_names = {"openai", "anthropic"};
  w.mock_stats_path = "/__mock/stats";

  // Policy: flags from services/policy/policy_config.cc. Secrets (DSN, bootstrap key) by env.
  w.policy.name = "policy";
  w.policy.binary = "services/policy/p402-policy";
  w.policy.cmake_target = "p402-policy";
  w.policy.args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                   "--ready_file=${READY_FILE}", "--bootstrap_tenant=${TENANT}"};
  w.policy.env = {
      {"P402_POLICY_BOOTSTRAP_API_KEY", "${API_KEY}"},
      // Empty (in-memory stores) unless the suite runs with PostgreSQL; the policy applies its
      // migrations at startup (checked: 3 concurrent starts on a fresh database are fine).
      {"P402_POLICY_DATABASE_URL", "${PG_DSN}"},
  };

  // Router: flags from services/router/router_config.cc. Only the two mock-backed providers are
  // enabled; the header timeout is short so the "provider hangs" failover case is quick.
  w.router.name = "router";
  w.router.binary = "services/router/p402-router";
  w.router.cmake_target = "p402-router";
  w.router.args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                   "--ready_file=${READY_FILE}",
                   "--catalog=${SOURCE_DIR}/services/router/data/catalog.json",
                   "--providers=openai,anthropic",
                   "--provider_base_urls=openai=${MOCK_URL:openai}/v1,"
                   "anthropic=${MOCK_URL:anthropic}/v1",
                   "--header_timeout=2s", "--first_token_timeout=2s"};
  w.router.env = {
      {"OPENAI_API_KEY", "sk-mock-openai"},
      {"ANTHROPIC_API_KEY", "sk-mock-anthropic"},
  };

  // Settlement: flags from services/settlement/settlement_config.cc. Secrets (DSN, chain RPC URL,
  // facilitator key) by env. No chain by default; P402's offers are paid to ganache account #2
  // (the "seller" of tests/support/local_chain.h, a public test key) so 402 answers work out of
  // the box. Chain tests override through SuiteOptions::extra_env["settlement"] (an entry there
  // replaces the same variable here; an empty value removes it).
  w.settlement.name = "settlement";
  w.settlement.binary = "services/settlement/p402-settlement";
  w.settlement.cmake_target = "p402-settlement";
  w.settlement.args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                       "--ready_file=${READY_FILE}", "--reconcile_interval=1s"};
  w.settlement.env = {
      {"P402_SETTLEMENT_DATABASE_URL", "${PG_DSN}"},
      {"P402_SETTLEMENT_PAY_TO", "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b"},
  };

  // Edge: flags from services/edge/edge_config.cc (checked by hand against the built binary).
  // The settlement address goes by env (P402_EDGE_SETTLEMENT_ADDR = --settlement_addr).
  w.edge.name = "edge";
  w.edge.binary = "services/edge/p402-edge";
  w.edge.cmake_target = "p402-edge";
  w.edge.args = {"--http_listen=127.0.0.1:0",    "--admin_listen=127.0.0.1:0",
                 "--policy_addr=${POLICY_ADDR}", "--router_addr=${ROUTER_ADDR}",
                 "--ready_file=${READY_FILE}",   "--catalog_refresh=1s"};
  w.edge.env = {{"P402_EDGE_SETTLEMENT_ADDR", "${SETTLEMENT_ADDR}"}};
  w.edge_readyz_path = "/readyz";
  w.edge_metrics_path = "/metrics";

  w.tenant_prefix = "e2e-";
  w.api_key_prefix = "sk-p402-e2e-";
  w.scrub_env_suffixes = {"_API_KEY", "_BASE_URL", "_API_BASE", "_DATABASE_URL"};
  w.scrub_env_prefixes = {"P402_"};
  w.keep_env_prefixes = {"P402_LOG_"};
  return w;
}

}  // namespace p402::e2e
