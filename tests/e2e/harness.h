// File: tests/e2e/harness.h
// The end-to-end Suite (HOUSE_STYLE 3.11): starts the BUILT binaries as separate processes — mock
// providers, then policy, router, settlement and edge — each on port 0 with --ready_file, wiring each one's
// reported ports into the next one's flags and environment (tests/e2e/wiring.h holds every flag
// name), and gives tests the tools to drive and observe them:
//   RunSdk       the official `openai` npm SDK (tests/e2e/node/sdk_client.mjs), one JSON result
//   Http*        raw HTTP (libs/http HttpClient) for what an SDK cannot send (malformed JSON, ...)
//   Metrics      the edge admin /metrics text (MetricValue in metrics_text.h reads it)
//   MockStats    what a mock provider received (GET /__mock/stats)
// Scenario assertions (p402_metadata, error bodies, cost = tokens x price) live in checks.h.
//
//   TEST_CASE("chat completes", "[e2e]") {
//     e2e::Suite suite;       // or SharedSuite() (checks.h); FAILs with log tails if startup fails
//     json::Value r = suite.RunSdk("chat", R"({"model":"gpt-4o-mini","messages":[...]})");
//     CHECK(r.GetInt("status") == 200);
//   }
//
// Each Suite has its own temp dir (logs, ready files), a random tenant and API key (passed to the
// policy's bootstrap), and tears everything down in reverse order (SIGTERM, SIGKILL after 5 s).
// When an assertion fails while a Suite is alive, the tails of all its logs go to stderr and its
// temp dir is kept (also kept with P402_E2E_KEEP=1).
// Thread-safety: use a Suite from the test's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/http/client.h"
#include "libs/json/value.h"
#include "tests/e2e/wiring.h"
#include "tests/support/process.h"
#include "tests/support/ready_file.h"

namespace p402::e2e {

enum class Postgres {
  kRequired,     // FAIL when P402_TEST_PG_DSN is unset (tools/test.sh sets it)
  kIfAvailable,  // PostgreSQL when P402_TEST_PG_DSN is set, else in-memory stores
  kOff,          // in-memory stores
};

struct SuiteOptions {
  Wiring wiring = DefaultWiring();
  bool start_mocks = true;
  // Policy, router, settlement and edge (they need the mocks).
  bool start_services = true;
  // Issue 2 runs the e2e tests against PostgreSQL; like RequirePostgresDsn, a run without
  // P402_TEST_PG_DSN FAILS (tools/test.sh starts a throwaway one).
  Postgres postgres = Postgres::kRequired;
  // When non-empty (and `postgres` is not kOff): this suite's database instead of
  // P402_TEST_PG_DSN, which is then not needed. For fault tests that stop and restart their own
  // server (guard_faults_e2e_test.cc) while the other tests share the P402_TEST_PG_DSN one.
  std::string pg_dsn;
  std::chrono::milliseconds ready_timeout = testing::kReadyTimeout;
  // Service replicas: with 2, a second policy process ("policy-2", same database) and a second
  // edge ("edge-2", talking to policy-2) start after the first set; both share the router.
  // EdgeUrl(path, 1) reaches edge-2. Replicas only make sense with PostgreSQL.
  int replicas = 1;
  // Appended to a launch's args / env, by launch name ("edge", "router", "policy", "settlement",
  // "mock"). An extra_env entry replaces the wiring's entry of the same variable; one whose value
  // expands to "" removes it (e.g. {"P402_SETTLEMENT_PAY_TO", ""}).
  std::map<std::string, std::vector<std::string>> extra_args;
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> extra_env;
};

struct HttpResult {
  int status = 0;
  http::Headers headers;
  std::string body;
  // The body parsed as JSON; FAILs the test (showing the body) when it is not JSON.
  json::Value Json() const;
};

struct SdkOptions {
  std::string base_url;                // default: the edge's "/v1"
  std::optional<std::string> api_key;  // default: the suite's key
  std::string headers_json;            // extra request headers as a JSON object, e.g. x-request-id
  std::chrono::milliseconds timeout{30'000};  // the SDK's request timeout
};

class Suite {
 public:
  // Starts what `options` asks for. FAILs (never skips) when a binary is missing, a process
  // exits or reports no ready file within ready_timeout, or the edge never becomes ready.
  explicit Suite(SuiteOptions options = {});
  // Shutdown(), then removes the temp dir unless a failure (or an unclean shutdown) was seen or
  // P402_E2E_KEEP=1.
  ~Suite();
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  // "http://127.0.0.1:<port>" + path of edge replica `replica` (0 = "edge", 1 = "edge-2").
  std::string EdgeUrl(std::string_view path = "", int replica = 0) const;
  std::string EdgeBaseUrl() const { return EdgeUrl("/v1"); }
  std::string AdminUrl(std::string_view path = "") const;
  // "http://127.0.0.1:<admin port>" + path of policy replica `replica` (0 = "policy"), e.g.
  // PolicyAdminUrl("/metrics") for the p402_policy_* counters.
  std::string PolicyAdminUrl(std::string_view path = "", int replica = 0) const;
  // "http://127.0.0.1:<admin port>" + path of the settlement process, e.g.
  // SettlementAdminUrl("/metrics") for the p402_settlement_* counters.
  std::string SettlementAdminUrl(std::string_view path = "") const;
  std::string MockUrl(std::string_view name, std::string_view path = "") const;
  const std::string& api_key() const { return api_key_; }
  const std::string& tenant() const { return tenant_; }
  const std::string& work_dir() const { return work_dir_; }
  bool uses_postgres() const { return !pg_dsn_.empty(); }

  // Runs sdk_client.mjs (see its header for the result keys) and returns its JSON line; FAILs
  // when node or the SDK is missing, the script times out or prints no result.
  json::Value RunSdk(std::string_view scenario, std::string_view body_json = "",
                     const SdkOptions& options = {});

  // Raw HTTP; FAILs only on transport errors (any HTTP status is a result).
  HttpResult Http(std::string method, std::string url, std::string body = "",
                  http::Headers headers = {});
  HttpResult HttpGet(std::string url, http::Headers headers = {});
  HttpResult HttpPost(std::string url, std::string body, http::Headers headers = {});
  // Authorization: Bearer <api key>, Content-Type: application/json.
  http::Headers AuthHeaders() const;
  // POST EdgeUrl(path) with AuthHeaders().
  HttpResult EdgePost(std::string_view path, std::string body);

  // The edge's admin /metrics text (REQUIREs 200).
  std::string Metrics();
  // GET <mock>/__mock/stats as JSON (REQUIREs 200).
  json::Value MockStats(std::string_view name);

  // SIGTERM to every process in reverse start order, SIGKILL after 5 s. OK when every process
  // exited with code 0 (graceful shutdown is part of what the suite tests); otherwise the first
  // problem with that process's log tail. Idempotent.
  absl::Status Shutdown();

  // Fault injection: SIGKILLs the named process now; Shutdown() then does not count it as
  // unclean. FAILs if the name is unknown.
  void Kill(std::string_view name);

  // A started process by name: "policy", "router", "settlement", "edge", "mock-openai", ... FAILs
  // if unknown.
  testing::Process& process(std::string_view name);
  // FAILs, with log tails, when any started process has exited (a crash caused by an earlier
  // request shows up here rather than as a confusing connection error later).
  void RequireAllAlive();
  // Last `lines` lines of every process log, in start order.
  std::string LogTails(size_t lines = 30) const;
  // Called by the failure listener (harness_listener.cc): keep the temp dir.
  void MarkFailedForTest() { failed_ = true; }

 private:
  struct Started {
    std::unique_ptr<testing::Process> process;
    testing::ReadyFile ready;
    bool killed_by_test = false;
  };
  void RequireBinariesBuilt() const;
  void CreateWorkDir();
  void ResolveIdentity();
  Started& StartLaunch(const Launch& launch, const std::string& label,
                       const std::string& mock_name);
  // Waits until edge replica `replica` (0 = "edge") is ready and has the catalog.
  void WaitForEdge(int replica = 0);
  std::string Expand(const std::string& text, const std::string& label,
                     const std::string& mock_name) const;
  int PortOf(std::string_view label, const std::string& key) const;

  SuiteOptions options_;
  std::string work_dir_;
  std::string tenant_;
  std::string api_key_;
  std::string pg_dsn_;
  // While a replica launch is being started: "-2", so ${POLICY_ADDR} names policy-2.
  std::string replica_suffix_;
  std::vector<std::pair<std::string, Started>> started_;  // in start order
  std::unique_ptr<http::HttpClient> http_;
  bool failed_ = false;
};

}  // namespace p402::e2e
