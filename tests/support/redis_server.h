// File: tests/support/redis_server.h
// A throwaway redis-server for tests of the Redis-backed CounterStore: started on a free loopback
// port with no persistence (--save "" --appendonly no) and a temp dir as its --dir, killed and
// restarted on the same port for fault tests.
//
//   auto redis = RedisServer::Start();                  // StatusOr<std::unique_ptr<RedisServer>>
//   RedisOptions o{.host = "127.0.0.1", .port = (*redis)->port()};
//   (*redis)->Kill();                                   // SIGKILL: the store must see Unavailable
//   REQUIRE_THAT((*redis)->Restart(), IsOk());          // same port, empty data
//
// Readiness is checked with a raw RESP "PING" over TCP (no hiredis here: test_support must stay
// free of it). The binary is /usr/bin/redis-server unless P402_REDIS_SERVER names another one
// (tools/install_deps.sh installs Debian's redis-server).
// Thread-safety: not thread-safe; use a RedisServer from one thread (the test's main thread,
// which must outlive the child: see tests/support/process.h).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace p402::testing {

struct RedisServerOptions {
  // When set, the server requires it (--requirepass).
  std::string password;
  // Bound for the server to answer PING after (re)start.
  std::chrono::milliseconds start_timeout{10'000};
};

class RedisServer {
 public:
  // Starts redis-server on 127.0.0.1:<free port> and waits until it answers PING. Errors:
  // NotFound (no redis-server binary), DeadlineExceeded (no PONG within start_timeout; the message
  // carries the server's log tail), Internal (temp dir or spawn failures).
  static absl::StatusOr<std::unique_ptr<RedisServer>> Start(RedisServerOptions options = {});

  // Kills the server (if running) and removes its temp dir.
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "redis://[:password@]127.0.0.1:<port>/0".
  std::string url() const;
  bool running() const;

  // SIGTERM and wait for exit (SIGKILL after a grace period). Returns OK when it exited.
  absl::Status Stop();
  // SIGKILL now (fault injection: connections are reset, nothing is flushed).
  void Kill();
  // SIGSTOP / SIGCONT: a server that accepts TCP but never answers (clients must time out).
  void Pause();
  void Resume();
  // Starts a stopped/killed server again on the same port (data is gone: no persistence) and
  // waits for PING. Errors: FailedPrecondition if still running; as Start otherwise.
  absl::Status Restart();

  // True when 127.0.0.1:port answers a RESP PING with +PONG within `timeout` (sends AUTH first
  // when a password is configured).
  bool Ping(std::chrono::milliseconds timeout = std::chrono::milliseconds(500)) const;

  // Last lines of the server's log, for INFO()/FAIL() messages.
  std::string LogTail(size_t lines = 30) const;

 private:
  RedisServer(RedisServerOptions options, std::string binary, std::string dir)
      : options_(std::move(options)), binary_(std::move(binary)), dir_(std::move(dir)) {}
  // Spawns the binary on port_ and waits for PING.
  absl::Status Launch();

  RedisServerOptions options_;
  bool paused_ = false;
  std::string binary_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace p402::testing
