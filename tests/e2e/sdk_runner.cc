#include "tests/e2e/sdk_runner.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "tests/support/local_chain.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace p402::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The last non-empty line of `text` (the script prints exactly one; node warnings go to stderr).
std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) {
    return "";
  }
  size_t start = text.rfind('\n', end);
  start = (start == std::string::npos) ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

}  // namespace

absl::StatusOr<std::string> FindNode() { return testing::FindNodeBinary(); }

absl::StatusOr<std::string> SdkClientScript() { return NodeScript("sdk_client.mjs"); }

absl::StatusOr<std::string> NodeScript(std::string_view name) {
  std::string dir = testing::SourceDir() + "/tests/e2e/node";
  std::string script = dir + "/" + std::string(name);
  if (::access(script.c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError("missing " + script);
  }
  if (::access((dir + "/node_modules/openai/package.json").c_str(), R_OK) != 0) {
    return absl::FailedPreconditionError("the openai SDK is not installed in " + dir +
                                         "/node_modules: run tools/e2e_deps.sh");
  }
  return script;
}

absl::StatusOr<json::Value> RunNodeScript(std::string_view name, std::vector<std::string> args,
                                          const std::string& work_dir,
                                          std::chrono::milliseconds timeout) {
  auto node = FindNode();
  if (!node.ok()) {
    return node.status();
  }
  auto script = NodeScript(name);
  if (!script.ok()) {
    return script.status();
  }
  static std::atomic<int> counter{0};
  std::string stem = work_dir + "/node-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1)) + "-" + std::string(name);
  testing::ProcessOptions o;
  o.name = std::string(name);
  o.path = *node;
  o.args = {*script};
  // Linux caps one argv string at 128 KiB; larger values (request bodies) go through a file.
  constexpr size_t kMaxArg = 16 * 1024;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--body" && i + 1 < args.size() && args[i + 1].size() > kMaxArg) {
      std::string body_file = stem + ".body.json";
      std::ofstream(body_file, std::ios::binary) << args[i + 1];
      o.args.insert(o.args.end(), {"--body-file", body_file});
      ++i;
      continue;
    }
    o.args.push_back(args[i]);
  }
  o.log_path = stem + ".stderr";
  o.stdout_path = stem + ".stdout";
  // No proxy may sit between the SDK and a loopback gateway.
  o.unset_env = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NODE_OPTIONS"};
  auto process = testing::Process::Spawn(std::move(o));
  if (!process.ok()) {
    return process.status();
  }
  testing::Process& p = **process;
  const std::string label(name);
  auto describe = [&] { return "\ncommand: " + p.CommandLine() + "\n" + p.LogTail(20); };
  if (!p.WaitForExit(timeout + std::chrono::seconds(15))) {
    p.Kill();
    return absl::DeadlineExceededError(label + " did not finish in time" + describe());
  }
  std::string line = LastLine(ReadFile(stem + ".stdout"));
  if (line.empty()) {
    return absl::InternalError(label + " printed no result (" + p.StateDescription() + ")" +
                               describe());
  }
  auto parsed = json::Value::Parse(line);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InternalError(label + " printed a non-JSON line: " + line + describe());
  }
  if (const json::Value* err = parsed->Find("harness_error")) {
    return absl::InternalError(label + " failed: " + err->Serialize() + describe());
  }
  if (p.exit_code() != 0) {
    return absl::InternalError(label + " " + p.StateDescription() + describe());
  }
  return *std::move(parsed);
}

absl::StatusOr<json::Value> RunSdkClient(const SdkCall& call) {
  std::vector<std::string> args = {"--base-url", call.base_url,  "--api-key",
                                   call.api_key,  "--scenario",   call.scenario,
                                   "--timeout-ms", std::to_string(call.timeout.count())};
  if (!call.body_json.empty()) {
    args.insert(args.end(), {"--body", call.body_json});
  }
  if (!call.headers_json.empty()) {
    args.insert(args.end(), {"--headers", call.headers_json});
  }
  return RunNodeScript("sdk_client.mjs", std::move(args), call.work_dir, call.timeout);
}

}  // namespace p402::e2e
