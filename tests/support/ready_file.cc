#include "tests/support/ready_file.h"

#include <fstream>
#include <sstream>
#include <thread>

#include "libs/json/value.h"

namespace p402::testing {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::optional<int> ReadyFile::Port(std::string_view key) const {
  auto it = ports.find(std::string(key));
  if (it == ports.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::string ReadyFile::DebugString() const {
  std::string out = "{";
  for (const auto& [key, port] : ports) {
    if (out.size() > 1) {
      out += ", ";
    }
    out += key + "=" + std::to_string(port);
  }
  return out + "}";
}

absl::StatusOr<ReadyFile> ParseReadyFile(std::string_view text) {
  auto parsed = json::Value::Parse(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError("ready file is not JSON: " +
                                      std::string(parsed.status().message()));
  }
  if (!parsed->is_object()) {
    return absl::InvalidArgumentError("ready file is not a JSON object");
  }
  ReadyFile out;
  for (const auto& [key, value] : parsed->AsObject()) {
    if (!EndsWith(key, "_port")) {
      continue;
    }
    if (!value.is_integer() || value.AsDouble() < 0 || value.AsDouble() > 65535) {
      return absl::InvalidArgumentError("ready file member \"" + key +
                                        "\" is not a port 0..65535: " + value.Serialize());
    }
    if (value.AsInt() != 0) {  // 0: that listener is not in use
      out.ports[key] = static_cast<int>(value.AsInt());
    }
  }
  if (out.ports.empty()) {
    return absl::InvalidArgumentError("ready file has no non-zero \"*_port\" member: " +
                                      std::string(text));
  }
  return out;
}

absl::StatusOr<ReadyFile> ReadReadyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError("no ready file at " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParseReadyFile(ss.str());
}

absl::StatusOr<ReadyFile> WaitForReadyFile(const std::string& path,
                                           std::chrono::milliseconds timeout, Process* process) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto tail = [&] { return process == nullptr ? std::string() : "\n" + process->LogTail(40); };
  absl::Status last;
  while (true) {
    auto ready = ReadReadyFile(path);
    if (ready.ok()) {
      return ready;
    }
    last = ready.status();
    if (process != nullptr && !process->alive()) {
      // It may have written the file just before exiting (e.g. crashed after start): still an
      // error, the service is gone.
      return absl::FailedPreconditionError(process->name() + " (" + process->CommandLine() + ") " +
                                           process->StateDescription() + " before it was ready" +
                                           tail());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(
          "no valid ready file " + path + " after " + std::to_string(timeout.count()) +
          " ms (last: " + std::string(last.message()) + ")" + tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace p402::testing
