// File: tests/support/process.h
// Child processes for end-to-end tests (HOUSE_STYLE 3.11): spawn a built binary with argv and
// extra environment, its stdout+stderr appended to a log file; stop it with SIGTERM then SIGKILL
// after a grace period, or SIGKILL it at once for fault tests; show the log tail when a test fails.
//
//   ProcessOptions o{.name = "edge", .path = bin, .args = {"--ready_file=" + rf}, .log_path = log};
//   auto p = Process::Spawn(std::move(o));            // StatusOr<std::unique_ptr<Process>>
//   auto ready = WaitForReadyFile(rf, kReadyTimeout, p->get());   (tests/support/ready_file.h)
//   ... INFO(p->LogTail(40)); ...
//   REQUIRE_THAT(p->Terminate(), IsOk());             // exited 0 after SIGTERM
//
// Only the process's own children are ever signalled, always by PID. Children get
// PR_SET_PDEATHSIG(SIGKILL), so they die with the spawning thread even if the test binary is
// killed (ctest timeout): spawn from a thread that outlives the child (the test's main thread).
// Thread-safety: a Process is not thread-safe; use it from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace p402::testing {

struct ProcessOptions {
  // Short label for messages ("edge", "mock-openai").
  std::string name;
  // Executable path (absolute, or relative to the current directory; PATH is not searched).
  std::string path;
  // argv[1..]; argv[0] is `path`.
  std::vector<std::string> args;
  // Set on top of the parent's environment (same name replaces the inherited value).
  std::vector<std::pair<std::string, std::string>> env;
  // Names removed from the inherited environment before `env` is applied.
  std::vector<std::string> unset_env;
  // stdout and stderr are appended here (created if missing). Required. stdin is /dev/null.
  std::string log_path;
  // When set, stdout goes to this file instead (truncated first); stderr still goes to log_path.
  // For tools whose stdout is a result (tests/e2e RunSdk).
  std::string stdout_path;
};

class Process {
 public:
  // Default grace period between SIGTERM and SIGKILL.
  static constexpr std::chrono::milliseconds kDefaultGrace{5'000};

  // Starts the child. Errors: InvalidArgument (empty path or log_path), NotFound (path is not an
  // executable file), Internal (fork/pipe failed, or exec failed: the message carries errno text).
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(ProcessOptions options);

  // Terminate()s the child if it is still running.
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // True while the child runs. Reaps it (non-blocking) once it has exited.
  bool alive();

  // SIGTERM, waits up to `grace` for exit (polling), then SIGKILL and reap. Returns OK when the
  // child exited with code 0 (now or earlier); DeadlineExceeded when SIGKILL was needed;
  // FailedPrecondition when it exited otherwise (message: "<name> (pid N) exited with code 2").
  // Idempotent: later calls return the same verdict without signalling anything.
  absl::Status Terminate(std::chrono::milliseconds grace = kDefaultGrace);

  // SIGKILL now and reap (fault injection). No-op if the child already exited.
  void Kill();

  // Blocks up to `timeout` for the child to exit on its own. True if it has exited.
  bool WaitForExit(std::chrono::milliseconds timeout);

  // Last `lines` lines of the child's log, prefixed with a header naming the process and its
  // state; never fails (unreadable logs say so). Use in INFO()/FAIL() messages.
  std::string LogTail(size_t lines = 40) const;
  // Whole log file (empty if unreadable).
  std::string ReadLog() const;

  // "running", "exited with code N" or "killed by signal N".
  std::string StateDescription() const;
  // The exit code once exited normally; nullopt while running or when killed by a signal.
  std::optional<int> exit_code() const;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return options_.name; }
  const std::string& log_path() const { return options_.log_path; }
  // The command line, shell-quoted for messages ("path --a=b ...").
  std::string CommandLine() const;

 private:
  Process(ProcessOptions options, pid_t pid) : options_(std::move(options)), pid_(pid) {}
  // waitpid with `flags`; records the status when reaped. Returns true if reaped.
  bool Reap(int flags);

  ProcessOptions options_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  bool needed_sigkill_ = false;
};

}  // namespace p402::testing
