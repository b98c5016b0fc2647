#include "tests/support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace p402::testing {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr char kDefaultBinary[] = "/usr/bin/redis-server";
constexpr std::chrono::milliseconds kPollInterval{10};
// Attempts at finding a free port (another process may take the port between our probe and
// redis-server's bind).
constexpr int kLaunchAttempts = 3;

std::string RedisBinary() {
  const char* env = std::getenv("P402_REDIS_SERVER");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string(kDefaultBinary);
}

// A port the kernel just handed out for 127.0.0.1 (0 on failure).
int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// One RESP PING (after AUTH when `password` is set) over a fresh TCP connection.
bool RawPing(int port, const std::string& password, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    std::string request;
    if (!password.empty()) {
      request += "*2\r\n" + Bulk("AUTH") + Bulk(password);
    }
    request += "*1\r\n" + Bulk("PING");
    // MSG_NOSIGNAL: a server dying mid-write must not SIGPIPE the test binary.
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string received;
      char buf[256];
      auto deadline = SteadyClock::now() + timeout;
      while (SteadyClock::now() < deadline) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) {
          break;
        }
        received.append(buf, static_cast<size_t>(n));
        if (received.find("+PONG\r\n") != std::string::npos) {
          ok = true;
          break;
        }
        if (!received.empty() && received[0] == '-') {
          break;  // -NOAUTH / -WRONGPASS / -LOADING: not usable yet (or misconfigured)
        }
      }
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RedisServer>> RedisServer::Start(RedisServerOptions options) {
  std::string binary = RedisBinary();
  if (::access(binary.c_str(), X_OK) != 0) {
    return absl::NotFoundError("redis-server not found at " + binary +
                               " (run tools/install_deps.sh, or set P402_REDIS_SERVER)");
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "p402-redis-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return absl::InternalError("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  auto server = std::unique_ptr<RedisServer>(
      new RedisServer(std::move(options), std::move(binary), std::string(buf.data())));
  absl::Status last = absl::InternalError("no free loopback port");
  for (int attempt = 0; attempt < kLaunchAttempts; ++attempt) {
    server->port_ = FreeLoopbackPort();
    if (server->port_ == 0) {
      continue;
    }
    last = server->Launch();
    if (last.ok()) {
      return server;
    }
  }
  return last;
}

RedisServer::~RedisServer() {
  Resume();
  if (process_ != nullptr) {
    process_->Kill();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status RedisServer::Launch() {
  ProcessOptions o;
  o.name = "redis-server";
  o.path = binary_;
  o.args = {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
            "no",     "--daemonize",         "no",     "--dir",     dir_};
  if (!options_.password.empty()) {
    // Visible in `ps` of the test machine only: a throwaway password for a throwaway server.
    o.args.push_back("--requirepass");
    o.args.push_back(options_.password);
  }
  o.log_path = dir_ + "/redis.log";
  auto spawned = Process::Spawn(std::move(o));
  if (!spawned.ok()) {
    return spawned.status();
  }
  process_ = std::move(*spawned);
  auto deadline = SteadyClock::now() + options_.start_timeout;
  while (SteadyClock::now() < deadline) {
    if (!process_->alive()) {
      return absl::FailedPreconditionError("redis-server " + process_->StateDescription() + "\n" +
                                           process_->LogTail(30));
    }
    if (Ping(std::chrono::milliseconds(200))) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  std::string tail = process_->LogTail(30);
  process_->Kill();
  return absl::DeadlineExceededError("redis-server on port " + std::to_string(port_) +
                                     " did not answer PING\n" + tail);
}

std::string RedisServer::url() const {
  std::string auth = options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/0";
}

bool RedisServer::running() const { return process_ != nullptr && process_->alive(); }

absl::Status RedisServer::Stop() {
  if (process_ == nullptr) {
    return absl::OkStatus();
  }
  Resume();  // a stopped process cannot handle SIGTERM
  absl::Status s = process_->Terminate(std::chrono::milliseconds(5'000));
  // redis-server exits 0 on SIGTERM; a SIGKILL fallback still leaves it stopped.
  return process_->alive() ? absl::InternalError("redis-server still running") : s;
}

void RedisServer::Kill() {
  paused_ = false;  // SIGKILL works on a stopped process too
  if (process_ != nullptr) {
    process_->Kill();
  }
}

void RedisServer::Pause() {
  if (running() && !paused_) {
    ::kill(process_->pid(), SIGSTOP);
    paused_ = true;
  }
}

void RedisServer::Resume() {
  if (process_ != nullptr && paused_) {
    ::kill(process_->pid(), SIGCONT);
    paused_ = false;
  }
}

absl::Status RedisServer::Restart() {
  if (running()) {
    return absl::FailedPreconditionError("redis-server is still running");
  }
  // Same port: clients configured with it must find the server again. Bounded retries cover a
  // port still held by the dying process for a moment.
  absl::Status last;
  auto deadline = SteadyClock::now() + options_.start_timeout;
  do {
    last = Launch();
    if (last.ok()) {
      return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (SteadyClock::now() < deadline);
  return last;
}

bool RedisServer::Ping(std::chrono::milliseconds timeout) const {
  return RawPing(port_, options_.password, timeout);
}

std::string RedisServer::LogTail(size_t lines) const {
  return process_ != nullptr ? process_->LogTail(lines) : "redis-server: never started";
}

}  // namespace p402::testing
