// Tests of the e2e machinery itself ([e2e][harness]): child processes and ready files
// (tests/support), the Prometheus text reader, the cost arithmetic, and sdk_client.mjs — the
// official openai SDK — against an in-process fake gateway and against the real mock provider.
#include "tests/e2e/harness.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/http/server.h"
#include "libs/json/value.h"
#include "tests/e2e/checks.h"
#include "tests/e2e/metrics_text.h"
#include "tests/e2e/sdk_runner.h"
#include "tests/support/catch_status.h"
#include "tests/support/process.h"
#include "tests/support/ready_file.h"

namespace p402::e2e {
namespace {

using testing::IsOk;
using testing::Process;
using testing::ProcessOptions;
using testing::StatusIs;

// A temp dir removed at scope exit.
struct TempDir {
  TempDir() {
    std::string pattern = "/tmp/p402-harness-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string path;
};

std::unique_ptr<Process> SpawnShell(const TempDir& dir, const std::string& script,
                                    std::vector<std::pair<std::string, std::string>> env = {},
                                    std::vector<std::string> unset_env = {}) {
  ProcessOptions o;
  o.name = "sh";
  o.path = "/bin/sh";
  o.args = {"-c", script};
  o.env = std::move(env);
  o.unset_env = std::move(unset_env);
  o.log_path = dir.path + "/sh.log";
  auto p = Process::Spawn(std::move(o));
  REQUIRE_THAT(p.status(), IsOk());
  return *std::move(p);
}

// Polls the log until it contains `text` (bounded).
bool LogEventuallyContains(const Process& p, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (p.ReadLog().find(text) != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_CASE("Process captures output, and SIGTERM stops it gracefully", "[e2e][harness]") {
  TempDir dir;
  auto p = SpawnShell(dir,
                      "echo started; echo to-stderr >&2; trap 'echo bye; exit 0' TERM; "
                      "while :; do sleep 0.02; done");
  REQUIRE(LogEventuallyContains(*p, "started"));
  CHECK(LogEventuallyContains(*p, "to-stderr"));
  CHECK(p->alive());
  CHECK(p->StateDescription() == "running");
  CHECK_THAT(p->Terminate(), IsOk());
  CHECK_FALSE(p->alive());
  CHECK(p->exit_code() == 0);
  CHECK(p->ReadLog().find("bye") != std::string::npos);
  // Idempotent: the verdict is remembered, nothing is signalled again.
  CHECK_THAT(p->Terminate(), IsOk());
  std::string tail = p->LogTail(2);
  CHECK(tail.find("exited with code 0") != std::string::npos);
  CHECK(tail.find("bye") != std::string::npos);
  CHECK(tail.find("started") == std::string::npos);  // only the last 2 lines
}

TEST_CASE("Process is SIGKILLed when it ignores SIGTERM past the grace period", "[e2e][harness]") {
  TempDir dir;
  auto p = SpawnShell(dir, "trap '' TERM; echo ready; while :; do sleep 0.02; done");
  REQUIRE(LogEventuallyContains(*p, "ready"));
  auto started = std::chrono::steady_clock::now();
  CHECK_THAT(p->Terminate(std::chrono::milliseconds(300)),
             StatusIs(absl::StatusCode::kDeadlineExceeded, "killed"));
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(300));
  CHECK(p->StateDescription().find("killed by signal 9") != std::string::npos);
  CHECK_FALSE(p->exit_code().has_value());
}

TEST_CASE("Process passes env, unsets inherited vars, reports exit codes and Kill",
          "[e2e][harness]") {
  TempDir dir;
  ::setenv("P402_HARNESS_INHERITED", "leak", 1);
  auto p = SpawnShell(dir, "echo \"foo=$FOO inherited=${P402_HARNESS_INHERITED:-none}\"; exit 3",
                      {{"FOO", "bar baz"}}, {"P402_HARNESS_INHERITED"});
  REQUIRE(p->WaitForExit(std::chrono::seconds(5)));
  CHECK(p->exit_code() == 3);
  CHECK(p->ReadLog().find("foo=bar baz inherited=none") != std::string::npos);
  CHECK_THAT(p->Terminate(), StatusIs(absl::StatusCode::kFailedPrecondition, "exited with code 3"));
  ::unsetenv("P402_HARNESS_INHERITED");

  auto k = SpawnShell(dir, "while :; do sleep 0.02; done");
  CHECK(k->alive());
  k->Kill();
  CHECK_FALSE(k->alive());
  CHECK(k->StateDescription().find("signal 9") != std::string::npos);
}

TEST_CASE("Process::Spawn reports what cannot be started", "[e2e][harness]") {
  TempDir dir;
  ProcessOptions o;
  o.name = "nothing";
  o.path = dir.path + "/does-not-exist";
  o.log_path = dir.path + "/x.log";
  CHECK_THAT(Process::Spawn(o).status(), StatusIs(absl::StatusCode::kNotFound, "does-not-exist"));
  o.path = "";
  CHECK_THAT(Process::Spawn(o).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  // Executable bit set but not a valid program: exec itself fails.
  o.path = dir.path + "/bad";
  {
    std::ofstream(o.path) << "\x7f"
                             "ELF garbage";
  }
  std::filesystem::permissions(o.path, std::filesystem::perms::owner_all);
  CHECK_THAT(Process::Spawn(o).status(), StatusIs(absl::StatusCode::kInternal, "cannot exec"));
}

TEST_CASE("ParseReadyFile reads ports and rejects bad files", "[e2e][harness]") {
  auto r = testing::ParseReadyFile(R"({"grpc_port":41001,"admin_port":41002,"pid":7})");
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->grpc_port() == 41001);
  CHECK(r->admin_port() == 41002);
  CHECK_FALSE(r->http_port().has_value());
  CHECK(r->ports.size() == 2);
  auto zero = testing::ParseReadyFile(R"({"http_port":8080,"grpc_port":0})");
  REQUIRE_THAT(zero.status(), IsOk());
  CHECK_FALSE(zero->grpc_port().has_value());
  using absl::StatusCode;
  CHECK_THAT(testing::ParseReadyFile("{\"grpc_port\":").status(),
             StatusIs(StatusCode::kInvalidArgument, "not JSON"));
  CHECK_THAT(testing::ParseReadyFile("[1]").status(), StatusIs(StatusCode::kInvalidArgument));
  CHECK_THAT(testing::ParseReadyFile(R"({"grpc_port":"1"})").status(),
             StatusIs(StatusCode::kInvalidArgument, "grpc_port"));
  CHECK_THAT(testing::ParseReadyFile(R"({"grpc_port":70000})").status(),
             StatusIs(StatusCode::kInvalidArgument, "grpc_port"));
  CHECK_THAT(testing::ParseReadyFile(R"({"pid":1})").status(),
             StatusIs(StatusCode::kInvalidArgument, "no non-zero"));
  CHECK_THAT(testing::ReadReadyFile("/nonexistent/ready.json").status(),
             StatusIs(StatusCode::kNotFound));
}

TEST_CASE("WaitForReadyFile waits for the file, and notices death and timeouts", "[e2e][harness]") {
  TempDir dir;
  std::string ready = dir.path + "/ready.json";
  // Written late and atomically, like libs/common WriteReadyFile.
  auto p = SpawnShell(dir, "sleep 0.3; printf '{\"http_port\":4321}' > " + ready + ".tmp; mv " +
                               ready + ".tmp " + ready + "; while :; do sleep 0.02; done");
  auto r = testing::WaitForReadyFile(ready, std::chrono::seconds(5), p.get());
  REQUIRE_THAT(r.status(), IsOk());
  CHECK(r->http_port() == 4321);

  auto dies = SpawnShell(dir, "echo 'fatal: bad flag' >&2; exit 2");
  auto d = testing::WaitForReadyFile(dir.path + "/never.json", std::chrono::seconds(5), dies.get());
  CHECK_THAT(d.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "exited with code 2"));
  CHECK_THAT(d.status(), StatusIs(absl::StatusCode::kFailedPrecondition, "fatal: bad flag"));

  auto t = testing::WaitForReadyFile(dir.path + "/never.json", std::chrono::milliseconds(100));
  CHECK_THAT(t.status(), StatusIs(absl::StatusCode::kDeadlineExceeded, "never.json"));
}

TEST_CASE("MetricValue sums matching series of Prometheus text", "[e2e][harness]") {
  const std::string text =
      "# HELP p402_edge_requests_total Requests.\n"
      "# TYPE p402_edge_requests_total counter\n"
      "p402_edge_requests_total{route=\"chat\",code=\"200\"} 3\n"
      "p402_edge_requests_total{route=\"chat\",code=\"400\"} 2\n"
      "p402_edge_requests_total{route=\"models\",code=\"200\"} 1\n"
      "p402_edge_up 1\n"
      "p402_edge_latency_seconds_bucket{le=\"+Inf\"} 6\n"
      "p402_weird{msg=\"a \\\"quoted\\\" value\"} 4.5\n";
  CHECK(MetricValue(text, "p402_edge_requests_total") == 6);
  CHECK(MetricValue(text, "p402_edge_requests_total", {{"code", "200"}}) == 4);
  CHECK(MetricValue(text, "p402_edge_requests_total", {{"route", "chat"}, {"code", "400"}}) == 2);
  CHECK_FALSE(MetricValue(text, "p402_edge_requests_total", {{"code", "500"}}).has_value());
  CHECK(MetricValueOr0(text, "p402_edge_requests_total", {{"code", "500"}}) == 0);
  CHECK(MetricValue(text, "p402_edge_up") == 1);
  CHECK(MetricValue(text, "p402_edge_latency_seconds_bucket", {{"le", "+Inf"}}) == 6);
  CHECK(MetricValue(text, "p402_weird", {{"msg", "a \"quoted\" value"}}) == 4.5);
}

TEST_CASE("ExpectedCostMicros rounds each term up to a micro-dollar", "[e2e][harness]") {
  ModelPrice mini = CatalogPrice("openai", "gpt-4o-mini");
  CHECK(mini.input_per_million == Approx(0.15));
  CHECK(mini.output_per_million == Approx(0.6));
  CHECK(ExpectedCostMicros(mini, 10, 5) == 2 + 3);  // 1.5 -> 2, 3.0 -> 3
  CHECK(ExpectedCostMicros(mini, 1'000'000, 0) == 150'000);
  CHECK(ExpectedCostMicros(mini, 0, 0) == 0);
}

}  // namespace
}  // namespace p402::e2e
