// ConnectionPool: idle keep-alive connections of one client io thread, by origin.
#include <sys/socket.h>

#include <cerrno>

#include "libs/http/internal/client_call.h"

namespace p402::http::internal {

bool ConnectionPool::Usable(ClientConnection& conn, SteadyClock::time_point now) const {
  if (now - conn.idle_since > ttl_ || conn.buffer.size() > 0) {
    return false;
  }
  // An idle keep-alive connection the server has closed reads as EOF; anything readable at all
  // (EOF, stray bytes, a TLS alert) makes it unusable. EAGAIN means it is still quiet and open.
  char byte;
  ssize_t r = ::recv(conn.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::unique_ptr<ClientConnection> ConnectionPool::Take(const std::string& origin) {
  auto it = idle_.find(origin);
  if (it == idle_.end()) {
    return nullptr;
  }
  auto& list = it->second;
  auto now = SteadyClock::now();
  while (!list.empty()) {
    std::unique_ptr<ClientConnection> conn = std::move(list.back());  // most recently used
    list.pop_back();
    if (Usable(*conn, now)) {
      return conn;
    }
  }
  return nullptr;
}

void ConnectionPool::Put(const std::string& origin, std::unique_ptr<ClientConnection> conn) {
  auto& list = idle_[origin];
  auto now = SteadyClock::now();
  // Drop expired ones from the cold end so closed sockets do not pile up.
  while (!list.empty() && now - list.front()->idle_since > ttl_) {
    list.erase(list.begin());
  }
  if (list.size() >= max_idle_) {
    return;  // `conn` closes here
  }
  conn->idle_since = now;
  conn->reused = true;
  list.push_back(std::move(conn));
}

}  // namespace p402::http::internal
