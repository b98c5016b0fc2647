// File: tests/libs/metrics/death.h
// A minimal death-test helper for Catch2 v2: runs `fn` in a forked child and
// reports whether it aborted. Used to check that programming errors (bad metric
// names, arity mismatches) fail loudly.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace p402::testing {

// True when `fn` terminated the child with SIGABRT. Call only while the test is
// single-threaded.
template <typename Fn>
bool AbortsInChild(Fn&& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    // Catch2 installs its own SIGABRT handler that reports a failure; the child
    // must die plainly.
    signal(SIGABRT, SIG_DFL);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
    }
    fn();
    _exit(0);
  }
  if (pid < 0) {
    return false;
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    return false;
  }
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

}  // namespace p402::testing
