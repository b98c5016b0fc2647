// File: tests/support/ready_file.h
// Reads the ready file a P402 binary writes after binding when started with --ready_file=path
// (HOUSE_STYLE 3.8; writer: libs/common/process.h WriteReadyFile), e.g.
//   {"grpc_port":41001,"admin_port":41002,"http_port":41003}   (any subset of keys)
// so end-to-end tests can start services on port 0 and wire the real ports into the next one.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace p402::testing {

// Default bound for a service to come up (HOUSE_STYLE 3.11: "bounded to about 10 s").
inline constexpr std::chrono::milliseconds kReadyTimeout{10'000};

struct ReadyFile {
  // Every non-zero "<x>_port" member, by key ("grpc_port" -> 41001). Values are 1..65535.
  std::map<std::string, int> ports;

  // The port named `key`, or nullopt when absent.
  std::optional<int> Port(std::string_view key) const;
  std::optional<int> grpc_port() const { return Port("grpc_port"); }
  std::optional<int> admin_port() const { return Port("admin_port"); }
  std::optional<int> http_port() const { return Port("http_port"); }
  // "{grpc_port=1, admin_port=2}" for messages.
  std::string DebugString() const;
};

// Parses a ready file's text. Members whose key ends in "_port" must be integers 0..65535; 0
// means "that listener is off" and is left out of `ports`. Other members are ignored so writers
// may add facts. Errors: InvalidArgument (not JSON, not an object, bad port value, no non-zero
// "_port" member).
absl::StatusOr<ReadyFile> ParseReadyFile(std::string_view text);

// Reads and parses `path`. Errors: NotFound when the file does not exist; as ParseReadyFile.
absl::StatusOr<ReadyFile> ReadReadyFile(const std::string& path);

// Polls `path` (every ~10 ms) until it exists and parses, for at most `timeout`. When `process`
// is given, returns early once that process has exited. Errors:
//   DeadlineExceeded   no valid file within `timeout` (message names the file and last problem);
//   FailedPrecondition `process` exited first (message says how, e.g. "exited with code 2").
// Messages include process->LogTail() when a process is given.
absl::StatusOr<ReadyFile> WaitForReadyFile(const std::string& path,
                                           std::chrono::milliseconds timeout = kReadyTimeout,
                                           Process* process = nullptr);

}  // namespace p402::testing
