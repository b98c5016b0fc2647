// File: libs/common/process.h
// Process plumbing shared by every binary's *_main.cc: signal-driven shutdown and the ready file
// (HOUSE_STYLE 3.8: after binding, write {"grpc_port":..,"admin_port":..,"http_port":..}
// atomically so tests can use port 0).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "absl/status/status.h"

namespace p402 {

// Blocks SIGTERM/SIGINT/SIGHUP in the calling thread; call first thing in main(), before any
// thread starts, so every thread inherits the mask and WaitForShutdownSignal can sigwait.
void BlockShutdownSignals();
// Waits for SIGTERM or SIGINT (SIGHUP is ignored); returns the signal number.
int WaitForShutdownSignal();
// Writes `ports` as a JSON object to `path` via a temp file + rename. Errors: Internal.
absl::Status WriteReadyFile(const std::string& path, const std::map<std::string, int>& ports);
// P402_DRAIN_SECONDS (default 0 for local runs; Kubernetes sets it): how long to keep serving
// with readiness 503 before stopping, so endpoint removal can spread.
std::chrono::milliseconds DrainTimeFromEnv();

}  // namespace p402
