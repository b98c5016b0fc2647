// File: tests/e2e/sdk_runner.h
// Runs tests/e2e/node/sdk_client.mjs — the official `openai` npm SDK — as a child process and
// returns the one JSON line it prints (the keys are documented at the top of the script).
// Used by Suite::RunSdk; usable on its own against any OpenAI-compatible base URL.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/json/value.h"

namespace p402::e2e {

struct SdkCall {
  std::string base_url;  // e.g. "http://127.0.0.1:41000/v1"
  std::string api_key;
  std::string scenario;      // chat | stream | tools | error | models
  std::string body_json;     // request body; empty = the script's default for the scenario
  std::string headers_json;  // extra request headers (JSON object); empty = none
  std::chrono::milliseconds timeout{30'000};  // the SDK's timeout; the process gets +15 s
  std::string work_dir;                       // where stdout/stderr files go (must exist)
};

// Path of node: $P402_NODE, else the first `node` on PATH. Errors: NotFound.
absl::StatusOr<std::string> FindNode();

// Path of sdk_client.mjs in the source tree. Errors: FailedPrecondition when the script or its
// node_modules/openai is missing (the message says to run tools/e2e_deps.sh).
absl::StatusOr<std::string> SdkClientScript();

// Path of tests/e2e/node/<name>; FailedPrecondition as SdkClientScript.
absl::StatusOr<std::string> NodeScript(std::string_view name);

// Runs tests/e2e/node/<name> with `args` under node and parses the one JSON line it prints last.
// A "--body" value too long for argv is passed as "--body-file". The process gets timeout + 15 s.
// Errors as RunSdkClient.
absl::StatusOr<json::Value> RunNodeScript(std::string_view name, std::vector<std::string> args,
                                          const std::string& work_dir,
                                          std::chrono::milliseconds timeout);

// Runs the script and parses its result line. Errors: NotFound / FailedPrecondition (above);
// DeadlineExceeded when the script outlives its budget (it is killed); Internal when it exits
// without a result line, prints invalid JSON, or reports a harness_error. Messages carry the
// script's stderr tail and the exact command.
absl::StatusOr<json::Value> RunSdkClient(const SdkCall& call);

}  // namespace p402::e2e
