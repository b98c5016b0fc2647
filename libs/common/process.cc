#include "libs/common/process.h"

#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "libs/common/status_util.h"

namespace p402 {
namespace {
sigset_t ShutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A peer closing a socket must never kill the process.
  signal(SIGPIPE, SIG_IGN);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSet();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) == 0 && sig != SIGHUP) {
      return sig;
    }
  }
}

absl::Status WriteReadyFile(const std::string& path, const std::map<std::string, int>& ports) {
  std::string json = "{";
  for (const auto& [name, port] : ports) {
    if (json.size() > 1) json += ",";
    json += "\"" + name + "\":" + std::to_string(port);
  }
  json += "}\n";
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) {
    return Internal("cannot write ready file " + tmp);
  }
  bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Internal("cannot write ready file " + path);
  }
  return absl::OkStatus();
}

std::chrono::milliseconds DrainTimeFromEnv() {
  const char* v = std::getenv("P402_DRAIN_SECONDS");
  if (v == nullptr) {
    return std::chrono::milliseconds(0);
  }
  char* end = nullptr;
  double seconds = std::strtod(v, &end);
  if (end == v || seconds < 0 || seconds > 600) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

}  // namespace p402
