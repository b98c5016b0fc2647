// File: tests/e2e/wiring.h
// THE ONE PLACE that knows how the end-to-end suite launches the built binaries: their paths in
// the build tree, their flags, their environment, and the ready-file keys that carry their ports.
// The harness (harness.h) only expands placeholders and wires ports; when a service's flags
// change, edit DefaultWiring() in wiring.cc and nothing else.
//
// Placeholders, expanded in args and env values (an unknown one fails the test):
//   ${BUILD_DIR} ${SOURCE_DIR}   the trees (tests/support/test_env.h)
//   ${WORK_DIR}                  the suite's temp dir (logs, ready files)
//   ${READY_FILE}                this process's ready file
//   ${MOCK_NAME}                 mock launches only: the provider name ("openai")
//   ${MOCK_URL:<name>}           "http://127.0.0.1:<port>" of that mock (no trailing slash)
//   ${POLICY_ADDR} ${ROUTER_ADDR} ${SETTLEMENT_ADDR}  "127.0.0.1:<grpc port>"
//   ${TENANT} ${API_KEY}         the suite's random demo tenant and API key
//   ${PG_DSN}                    SuiteOptions::pg_dsn, else P402_TEST_PG_DSN, or "" when the suite
//                                runs without PostgreSQL
// An env entry whose value expands to "" is not set at all.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace p402::e2e {

struct Launch {
  std::string name;          // label in logs and messages: "policy"
  std::string binary;        // path relative to p402::testing::BuildDir()
  std::string cmake_target;  // what to build when the binary is missing
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  // Ready-file keys (tests/support/ready_file.h) of the ports the suite needs.
  std::string grpc_port_key = "grpc_port";
  std::string http_port_key = "http_port";
  std::string admin_port_key = "admin_port";
};

struct Wiring {
  // Mock providers: one process per name, started first.
  Launch mock;
  std::vector<std::string> mock_names;
  // Mock provider endpoints.
  std::string mock_stats_path;  // GET, JSON counters of the requests it received
  // Services, started in this order.
  Launch policy;
  Launch router;
  // x402 payments, ledger, Bazaar. Without a chain by default (verify only; SettlePayment answers
  // settlement_not_configured); tests add P402_SETTLEMENT_CHAIN_RPC_URL / _FACILITATOR_KEY /
  // _ASSET ... through SuiteOptions::extra_env["settlement"] (tests/support/local_chain.h).
  Launch settlement;
  Launch edge;
  // Edge admin endpoints. The suite waits for readyz to say 200 before a test runs.
  std::string edge_readyz_path;
  std::string edge_metrics_path;
  // Prefixes of the random identities each suite creates (policy: tenant [a-z0-9_-]{1,64}).
  std::string tenant_prefix;
  std::string api_key_prefix;
  // Inherited environment variables with these suffixes are removed from every child, so an
  // e2e run can never reach a real provider with a developer's real key.
  std::vector<std::string> scrub_env_suffixes;
  // Inherited variables with these prefixes are removed too (a developer's P402_EDGE_* must not
  // change the run), except names starting with one of keep_env_prefixes.
  std::vector<std::string> scrub_env_prefixes;
  std::vector<std::string> keep_env_prefixes;
};

// The wiring of the current services. See wiring.cc; TODO(lead) marks every guess.
Wiring DefaultWiring();

}  // namespace p402::e2e
