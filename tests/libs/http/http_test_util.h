// File: tests/libs/http/http_test_util.h
// Test helpers shared by the libs/http and mock-provider tests (header-only, POSIX sockets only):
// a raw TCP connection for byte-exact protocol tests, a listener that accepts nothing (for
// timeout tests), polling with a deadline, a temp dir, and a self-signed certificate made with the
// openssl command-line tool.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace p402::http::testing {

// Polls `cond` every 2 ms until it holds or `timeout` passes; returns the final value.
inline bool WaitFor(const std::function<bool()>& cond,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return cond();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A blocking client socket on 127.0.0.1 with deadline-bounded reads.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) {
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
  }
  ~RawConnection() { Close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // Sets a tiny receive buffer (call before the peer sends much) to make the kernel hold less.
  void SetReceiveBuffer(int bytes) { ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)); }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads until `pred(received)` holds, the peer closes, or the timeout passes. Returns all bytes
  // received so far (across calls). `closed()` tells whether EOF was seen.
  const std::string& ReadUntil(const std::function<bool(const std::string&)>& pred,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred(received_) && !eof_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r <= 0) {
        continue;
      }
      char buf[16384];
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof_ = true;
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }
  // Reads until `needle` appears (or close / timeout).
  const std::string& ReadUntilContains(std::string_view needle,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return ReadUntil([&](const std::string& s) { return s.find(needle) != std::string::npos; },
                     timeout);
  }
  // Reads until the peer closes (or timeout).
  const std::string& ReadToEof(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return ReadUntil([](const std::string&) { return false; }, timeout);
  }
  bool closed() const { return eof_; }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
  bool eof_ = false;
};

// Counts non-overlapping occurrences of `needle` in `hay`.
inline size_t CountOf(std::string_view hay, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string_view::npos;
       pos = hay.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// A listening socket on 127.0.0.1:0 that never accepts: the kernel completes handshakes from
// its backlog, so clients connect and send, and never hear anything back.
class SilentListener {
 public:
  // `backlog` 0 with a few connections already queued makes the kernel drop further SYNs, so
  // new connects hang (for connect-timeout tests).
  explicit SilentListener(int backlog = 16) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, backlog);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    for (int fd : fillers_) {
      ::close(fd);
    }
    ::close(fd_);
  }
  int port() const { return port_; }

  // Opens `n` non-blocking connections that nobody accepts, filling the accept queue.
  void Saturate(int n) {
    for (int i = 0; i < n; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS is fine
      fillers_.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the handshakes settle
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::vector<int> fillers_;
};

// A port on 127.0.0.1 with nothing listening (bound then released).
inline int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "p402_http_XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CertFiles {
  std::string cert;
  std::string key;
  bool ok = false;
};

// Self-signed certificate for CN=localhost with SANs localhost and 127.0.0.1, made with the
// openssl tool into `dir`.
inline CertFiles MakeSelfSignedCert(const std::string& dir) {
  CertFiles out{dir + "/cert.pem", dir + "/key.pem", false};
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
                    " -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
                    out.key + " -out " + out.cert + " >/dev/null 2>&1";
  out.ok = std::system(cmd.c_str()) == 0 && std::filesystem::exists(out.cert) &&
           std::filesystem::exists(out.key);
  return out;
}

}  // namespace p402::http::testing
