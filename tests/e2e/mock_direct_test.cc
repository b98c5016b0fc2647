// The e2e Suite with only the mock providers, driven DIRECTLY by the official openai SDK
// ([e2e][harness]): proves process spawning, ready files, port wiring, RunSdk and MockStats on
// the real mock binary, independently of the services.
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/e2e/harness.h"
#include "tests/support/catch_status.h"

namespace p402::e2e {
namespace {

using testing::IsOk;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

SuiteOptions MocksOnly() {
  SuiteOptions o;
  o.start_services = false;
  o.postgres = Postgres::kOff;
  return o;
}

constexpr const char* kChat = R"({"model":"gpt-4o-mini","messages":[{"role":"user",)"
                              R"("content":"Say hello in one short sentence."}]})";

TEST_CASE("The SDK gets a completion, a stream with usage and a tool call from the mock",
          "[e2e][harness]") {
  Suite suite(MocksOnly());
  SdkOptions direct;
  direct.base_url = suite.MockUrl("openai", "/v1");

  SECTION("chat") {
    json::Value r = suite.RunSdk("chat", kChat, direct);
    INFO(r.Serialize());
    CHECK(r.GetBool("ok") == true);
    CHECK(r.GetInt("status") == 200);
    const json::Value* response = r.Find("response");
    REQUIRE(response != nullptr);
    CHECK(response->GetString("object") == "chat.completion");
    // The mock's reply starts with its provider name (tools/mock_provider/synth.h).
    CHECK(r.GetString("content").value_or("").rfind("openai ", 0) == 0);
    CHECK(r.GetString("finish_reason") == "stop");
    const json::Value* usage = response->Find("usage");
    REQUIRE(usage != nullptr);
    // 4 per message + ceil(32 bytes / 4); 12 reply words by default.
    CHECK(usage->GetInt("prompt_tokens") == 12);
    CHECK(usage->GetInt("completion_tokens") == 12);
    json::Value stats = suite.MockStats("openai");
    INFO(stats.Serialize());
    CHECK(stats.GetString("name") == "openai");
    CHECK(stats.Find("by_path")->GetInt("/v1/chat/completions") == 1);
    const json::Value* last = stats.Find("last_request");
    REQUIRE(last != nullptr);
    CHECK(last->Find("headers")->GetString("user-agent").value_or("").rfind("OpenAI/JS", 0) == 0);
    // The other mock saw nothing.
    CHECK(suite.MockStats("anthropic").GetInt("requests_total") == 0);
  }

  SECTION("stream with usage") {
    json::Value r = suite.RunSdk("stream", kChat, direct);
    INFO(r.Serialize());
    CHECK(r.GetBool("ok") == true);
    CHECK(r.GetBool("ended_cleanly") == true);
    CHECK(r.GetString("content").value_or("").rfind("openai ", 0) == 0);
    CHECK(r.Find("chunks")->AsArray().size() >= 3);
    const json::Value* usage = r.Find("usage");
    REQUIRE(usage != nullptr);
    REQUIRE(usage->is_object());
    CHECK(usage->GetInt("prompt_tokens") == 12);
    CHECK(usage->GetInt("completion_tokens") == 12);
    CHECK(suite.MockStats("openai").GetInt("streams_total") == 1);
  }

  SECTION("tool call") {
    json::Value r = suite.RunSdk("tools", "", direct);
    INFO(r.Serialize());
    CHECK(r.GetString("finish_reason") == "tool_calls");
    const json::Value* calls = r.Find("tool_calls");
    REQUIRE(calls != nullptr);
    REQUIRE(calls->is_array());
    REQUIRE(calls->AsArray().size() == 1);
    const json::Value* fn = calls->AsArray()[0].Find("function");
    CHECK(fn->GetString("name") == "get_weather");
    CHECK(fn->GetString("arguments") == R"({"city":"mock"})");  // synthesised from the schema
  }

  SECTION("error directive reaches the SDK as an APIError") {
    json::Value r = suite.RunSdk("error",
                                 R"({"model":"gpt-4o-mini","messages":[{"role":"user",)"
                                 R"("content":"hi [[mock:openai:status=429,retry_after=2]]"}]})",
                                 direct);
    INFO(r.Serialize());
    CHECK(r.GetInt("status") == 429);
    CHECK(r.Find("error")->GetString("name") == "RateLimitError");
    CHECK(r.Find("error")->GetString("code") == "rate_limit_exceeded");
    CHECK(r.Find("headers")->GetString("retry-after") == "2");
  }

  CHECK_THAT(suite.Shutdown(), IsOk());  // the mocks exit 0 on SIGTERM
}

std::string ReadProcFile(int pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// NUL-separated /proc/<pid>/environ as a map.
std::map<std::string, std::string> ChildEnv(int pid) {
  std::map<std::string, std::string> out;
  std::string raw = ReadProcFile(pid, "environ");
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    std::string entry = raw.substr(start, end - start);
    size_t eq = entry.find('=');
    out[entry.substr(0, eq)] = eq == std::string::npos ? "" : entry.substr(eq + 1);
    start = end == std::string::npos ? raw.size() : end + 1;
  }
  return out;
}

TEST_CASE("The Suite wires each service's ports and identity into the next (stand-ins)",
          "[e2e][harness]") {
  // Mock binaries stand in for policy, router and edge, so the whole start sequence (ready
  // files, placeholders, env scrubbing, edge readiness) runs without the services.
  ::setenv("P402_EDGE_HARNESS_LEAK", "x", 1);
  ::setenv("HARNESS_PROVIDER_API_KEY", "real-secret", 1);
  SuiteOptions o = MocksOnly();
  o.start_services = true;
  Wiring& w = o.wiring;
  for (Launch* l : {&w.policy, &w.router, &w.edge}) {
    l->binary = w.mock.binary;
    l->args = {"--listen=127.0.0.1:0", "--name=" + l->name, "--ready_file=${READY_FILE}"};
    l->grpc_port_key = "http_port";
    l->admin_port_key = "http_port";
  }
  w.policy.env = {{"X_PG", "${PG_DSN}"}};  // empty without PostgreSQL: not set at all
  w.router.env = {{"X_POLICY", "${POLICY_ADDR}"}, {"X_OPENAI", "${MOCK_URL:openai}/v1"}};
  w.edge.env = {{"X_POLICY", "${POLICY_ADDR}"},
                {"X_ROUTER", "${ROUTER_ADDR}"},
                {"X_KEY", "${API_KEY}"},
                {"X_TENANT", "${TENANT}"},
                {"X_WORK", "${WORK_DIR}"}};
  w.edge_readyz_path = "/healthz";
  Suite suite(o);
  ::unsetenv("P402_EDGE_HARNESS_LEAK");
  ::unsetenv("HARNESS_PROVIDER_API_KEY");

  auto port = [&](const char* name) {
    return std::to_string(
        *testing::ReadReadyFile(suite.work_dir() + "/" + name + ".ready.json")->http_port());
  };
  std::map<std::string, std::string> edge_env = ChildEnv(suite.process("edge").pid());
  CHECK(edge_env["X_POLICY"] == "127.0.0.1:" + port("policy"));
  CHECK(edge_env["X_ROUTER"] == "127.0.0.1:" + port("router"));
  CHECK(edge_env["X_KEY"] == suite.api_key());
  CHECK(edge_env["X_TENANT"] == suite.tenant());
  CHECK(edge_env["X_WORK"] == suite.work_dir());
  CHECK(edge_env.count("P402_EDGE_HARNESS_LEAK") == 0);    // a developer's P402_* is scrubbed
  CHECK(edge_env.count("HARNESS_PROVIDER_API_KEY") == 0);  // and so is any real provider key
  std::map<std::string, std::string> router_env = ChildEnv(suite.process("router").pid());
  CHECK(router_env["X_OPENAI"] == suite.MockUrl("openai", "/v1"));
  CHECK(ChildEnv(suite.process("policy").pid()).count("X_PG") == 0);
  CHECK(StartsWith(suite.api_key(), "sk-p402-e2e-"));
  CHECK(suite.api_key().size() == 12 + 32);
  CHECK(StartsWith(suite.tenant(), "e2e-"));
  CHECK(suite.EdgeBaseUrl() == "http://127.0.0.1:" + port("edge") + "/v1");

  // RunSdk defaults to the edge with the suite's key.
  json::Value r = suite.RunSdk("chat", kChat);
  INFO(r.Serialize());
  CHECK(StartsWith(r.GetString("content").value_or(""), "edge "));
  CHECK_THAT(suite.Shutdown(), IsOk());
}

}  // namespace
}  // namespace p402::e2e
