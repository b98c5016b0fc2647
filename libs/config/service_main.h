// File: libs/config/service_main.h
// The body of every P402 binary's Main(): load the layered config (HOUSE_STYLE 3.8), configure
// logging, start the service, write the ready file, wait for SIGTERM/SIGINT, drain (readiness
// 503 for P402_DRAIN_SECONDS), shut down. Startup errors print one clear line and exit 2.
//
// Server must provide: `std::map<std::string,int> ports() const`, `void SetReady(bool)`,
// `void Shutdown()`.
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "libs/common/log.h"
#include "libs/common/process.h"
#include "libs/common/status_util.h"
#include "libs/config/config.h"

namespace p402::config {

template <typename Config, typename Server>
int RunServiceMain(int argc, char** argv, const Schema<Config>& schema, std::string_view service,
                   std::function<absl::StatusOr<std::unique_ptr<Server>>(const Config&)> start,
                   std::string Config::*ready_file) {
  BlockShutdownSignals();
  log::Configure(log::OptionsFromEnv(service));
  auto loaded = schema.LoadFromProcess(argc, argv);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%.*s: invalid configuration: %s\n", static_cast<int>(service.size()),
                 service.data(), MessageOf(loaded.status()).c_str());
    return 2;
  }
  if (loaded->help_requested) {
    std::fputs(schema.HelpText().c_str(), stdout);
    return 0;
  }
  for (const std::string& w : loaded->warnings) {
    P402_LOG(kWarn, "configuration warning").Field("warning", w);
  }
  P402_LOG(kInfo, "configuration").Field("config", schema.RedactedDump(loaded->config));
  auto server = start(loaded->config);
  if (!server.ok()) {
    std::fprintf(stderr, "%.*s: cannot start: %s\n", static_cast<int>(service.size()),
                 service.data(), MessageOf(server.status()).c_str());
    return 2;
  }
  auto ports = (*server)->ports();
  {
    auto line = P402_LOG(kInfo, "started");
    for (const auto& [name, port] : ports) {
      line.Field(name, port);
    }
  }
  const std::string& ready_path = loaded->config.*ready_file;
  if (!ready_path.empty()) {
    if (absl::Status s = WriteReadyFile(ready_path, ports); !s.ok()) {
      std::fprintf(stderr, "%s\n", MessageOf(s).c_str());
      return 2;
    }
  }
  (*server)->SetReady(true);
  int sig = WaitForShutdownSignal();
  P402_LOG(kInfo, "shutting down").Field("signal", sig);
  (*server)->SetReady(false);
  std::this_thread::sleep_for(DrainTimeFromEnv());
  (*server)->Shutdown();
  P402_LOG(kInfo, "stopped");
  return 0;
}

}  // namespace p402::config
