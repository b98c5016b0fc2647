#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace p402::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kPollInterval{10};

std::string ErrnoText(int err) { return std::string(std::strerror(err)); }

// Builds "K=V" strings: the inherited environment minus overridden/unset names, plus `env`.
std::vector<std::string> BuildEnvironment(const ProcessOptions& options) {
  std::set<std::string> drop(options.unset_env.begin(), options.unset_env.end());
  for (const auto& [name, value] : options.env) {
    drop.insert(name);
  }
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    if (drop.count(name) == 0) {
      out.emplace_back(entry);
    }
  }
  for (const auto& [name, value] : options.env) {
    out.push_back(name + "=" + value);
  }
  return out;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) {
    out.push_back(s.data());
  }
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls until execve.
[[noreturn]] void ExecChild(pid_t parent, int devnull_fd, int out_fd, int err_fd, int report_fd,
                            const char* path, char* const* argv, char* const* envp) {
  // Die with the spawning thread, so a killed test binary leaves no services behind.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) {
    ::_exit(127);
  }
  // Own process group: a terminal's Ctrl-C reaches the test binary, which stops its children.
  ::setpgid(0, 0);
  // The test binary may block or ignore signals; both would survive exec.
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &dfl, nullptr);
    }
  }
  if (::dup2(devnull_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    int err = errno;
    (void)!::write(report_fd, &err, sizeof(err));
    ::_exit(127);
  }
  ::execve(path, argv, envp);
  int err = errno;
  (void)!::write(report_fd, &err, sizeof(err));
  ::_exit(127);
}

// Opens `path` for the child's output; O_CLOEXEC so other children spawned meanwhile do not
// inherit it (dup2 in the child clears the flag on 1 and 2).
absl::StatusOr<int> OpenOutput(const std::string& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) {
    return absl::InternalError("cannot open " + path + ": " + ErrnoText(errno));
  }
  return fd;
}

std::string ShellQuote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;!#~") == std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::unique_ptr<Process>> Process::Spawn(ProcessOptions options) {
  if (options.path.empty() || options.log_path.empty()) {
    return absl::InvalidArgumentError("ProcessOptions needs path and log_path");
  }
  if (::access(options.path.c_str(), X_OK) != 0) {
    return absl::NotFoundError("not an executable file: " + options.path + " (" + ErrnoText(errno) +
                               ")");
  }
  // Everything the child needs is prepared before fork (no allocation after it).
  std::vector<std::string> argv_strings{options.path};
  argv_strings.insert(argv_strings.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env_strings = BuildEnvironment(options);
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<char*> envp = CStrings(env_strings);

  auto err_fd = OpenOutput(options.log_path, /*truncate=*/false);
  if (!err_fd.ok()) {
    return err_fd.status();
  }
  int out_fd = *err_fd;
  if (!options.stdout_path.empty()) {
    auto fd = OpenOutput(options.stdout_path, /*truncate=*/true);
    if (!fd.ok()) {
      ::close(*err_fd);
      return fd.status();
    }
    out_fd = *fd;
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int report[2] = {-1, -1};
  auto close_all = [&] {
    std::set<int> fds{*err_fd, out_fd, devnull, report[0], report[1]};
    for (int fd : fds) {
      if (fd >= 0) {
        ::close(fd);
      }
    }
  };
  if (devnull < 0 || ::pipe2(report, O_CLOEXEC) != 0) {
    int err = errno;
    close_all();
    return absl::InternalError("cannot prepare spawn of " + options.path + ": " + ErrnoText(err));
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    close_all();
    return absl::InternalError("fork failed: " + ErrnoText(err));
  }
  if (pid == 0) {
    ExecChild(parent, devnull, out_fd, *err_fd, report[1], argv[0], argv.data(), envp.data());
  }
  ::close(report[1]);
  report[1] = -1;
  // The pipe closes on a successful exec (CLOEXEC); on failure it carries errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close_all();
  auto process = std::unique_ptr<Process>(new Process(std::move(options), pid));
  if (n == sizeof(child_errno)) {
    process->Reap(0);
    return absl::InternalError("cannot exec " + process->options_.path + ": " +
                               ErrnoText(child_errno));
  }
  return process;
}

Process::~Process() { (void)Terminate(); }

bool Process::Reap(int flags) {
  if (reaped_) {
    return true;
  }
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, flags);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    reaped_ = true;
    wait_status_ = status;
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    // Someone else reaped it (should not happen); never signal this PID again.
    reaped_ = true;
    wait_status_ = 0;
    return true;
  }
  return false;
}

bool Process::alive() { return !Reap(WNOHANG); }

bool Process::WaitForExit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!Reap(WNOHANG)) {
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

absl::Status Process::Terminate(std::chrono::milliseconds grace) {
  // A zombie keeps its PID, so signalling before Reap() succeeds can never hit another process.
  if (!Reap(WNOHANG)) {
    ::kill(pid_, SIGTERM);
    if (!WaitForExit(grace)) {
      ::kill(pid_, SIGKILL);
      Reap(0);
      needed_sigkill_ = true;
    }
  }
  std::string who = options_.name + " (pid " + std::to_string(pid_) + ")";
  if (needed_sigkill_) {
    return absl::DeadlineExceededError(who + " did not exit within " +
                                       std::to_string(grace.count()) + " ms of SIGTERM; killed");
  }
  if (exit_code() == 0) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(who + " " + StateDescription());
}

void Process::Kill() {
  if (!Reap(WNOHANG)) {
    ::kill(pid_, SIGKILL);
    Reap(0);
  }
}

std::optional<int> Process::exit_code() const {
  if (reaped_ && WIFEXITED(wait_status_)) {
    return WEXITSTATUS(wait_status_);
  }
  return std::nullopt;
}

std::string Process::StateDescription() const {
  if (!reaped_) {
    return "running";
  }
  if (WIFEXITED(wait_status_)) {
    return "exited with code " + std::to_string(WEXITSTATUS(wait_status_));
  }
  if (WIFSIGNALED(wait_status_)) {
    return "killed by signal " + std::to_string(WTERMSIG(wait_status_)) + " (" +
           strsignal(WTERMSIG(wait_status_)) + ")";
  }
  return "stopped";
}

std::string Process::CommandLine() const {
  std::string out = ShellQuote(options_.path);
  for (const std::string& a : options_.args) {
    out += " " + ShellQuote(a);
  }
  return out;
}

std::string Process::ReadLog() const {
  std::ifstream in(options_.log_path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Process::LogTail(size_t lines) const {
  std::string header = "---- " + options_.name + " (pid " + std::to_string(pid_) + ", " +
                       StateDescription() + "), last " + std::to_string(lines) + " lines of " +
                       options_.log_path + " ----\n";
  std::ifstream in(options_.log_path, std::ios::binary);
  if (!in) {
    return header + "(log unreadable)\n";
  }
  // Only the end of a long log matters.
  constexpr std::streamoff kMaxRead = 256 * 1024;
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = size > kMaxRead ? size - kMaxRead : 0;
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  // Walk back over `lines` newlines.
  size_t pos = text.size();
  size_t count = 0;
  while (pos > 0 && lines > 0) {
    size_t nl = text.rfind('\n', pos - 1);
    if (nl == std::string::npos) {
      pos = 0;
      break;
    }
    pos = nl;
    if (++count == lines) {
      ++pos;
      break;
    }
  }
  std::string tail = lines == 0 ? std::string() : text.substr(pos);
  return header + (tail.empty() ? "(empty log)" : tail) + "\n";
}

}  // namespace p402::testing
