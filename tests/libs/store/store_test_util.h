// File: tests/libs/store/store_test_util.h
// Helpers for the libs/store tests: the test DSN, names that do not collide with concurrent test
// processes sharing the same database, and a loopback port nobody listens on.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <thread>

#include "catch2/catch.hpp"
#include "libs/store/pg_pool.h"
#include "tests/support/test_env.h"

namespace p402::store::testing {

// "prefix_<pid>_<random>_<n>": lower-case, safe as an unquoted SQL identifier.
inline std::string UniqueName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  static const unsigned salt = std::random_device{}();
  return std::string(prefix) + "_" + std::to_string(::getpid()) + "_" +
         std::to_string(salt % 100000) + "_" + std::to_string(counter.fetch_add(1));
}

inline PgPoolOptions TestPoolOptions(int max_size = 4) {
  PgPoolOptions options;
  options.dsn = p402::testing::RequirePostgresDsn();
  options.min_size = 0;
  options.max_size = max_size;
  options.acquire_timeout = std::chrono::milliseconds(2000);
  options.connect.application_name = "p402_store_test";
  return options;
}

inline std::unique_ptr<PgPool> MakeTestPool(int max_size = 4) {
  absl::StatusOr<std::unique_ptr<PgPool>> pool = PgPool::Create(TestPoolOptions(max_size));
  REQUIRE(pool.ok());
  return *std::move(pool);
}

// A loopback TCP port that was free a moment ago (bound to port 0, then closed): connecting to it
// is refused at once.
inline int ClosedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls `cond` until it holds or `timeout` passes; returns its last value.
template <typename Cond>
bool WaitFor(Cond cond, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return cond();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace p402::store::testing
