// File: libs/http/internal/client_call.h
// Internal to libs/http (includes Asio/Beast). The state machine of one HttpClient call:
// resolve -> connect -> TLS handshake -> write request -> read/parse response, on one io thread,
// plus the per-thread pool of idle keep-alive connections it draws from and returns to.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "absl/synchronization/mutex.h"
#include "libs/http/client.h"
#include "libs/http/internal/io_gate.h"
#include "libs/http/internal/parsers.h"
#include "libs/http/internal/stream.h"
#include "libs/http/url.h"

namespace p402::http::internal {

using SteadyClock = std::chrono::steady_clock;

struct ClientConnection {
  ClientConnection(asio::io_context& ioc, ssl::context* tls) : stream(ioc, tls) {}
  Stream stream;
  boost::beast::flat_buffer buffer;
  SteadyClock::time_point idle_since;
  bool reused = false;
};

// Idle connections of one io thread, by origin. Io-thread only.
class ConnectionPool {
 public:
  ConnectionPool(size_t max_idle_per_origin, std::chrono::milliseconds ttl)
      : max_idle_(max_idle_per_origin), ttl_(ttl) {}
  // A live idle connection to `origin`, or null. Drops expired or peer-closed ones on the way.
  std::unique_ptr<ClientConnection> Take(const std::string& origin);
  void Put(const std::string& origin, std::unique_ptr<ClientConnection> conn);
  void Clear() { idle_.clear(); }

 private:
  bool Usable(ClientConnection& conn, SteadyClock::time_point now) const;
  size_t max_idle_;
  std::chrono::milliseconds ttl_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<ClientConnection>>> idle_;
};

class ClientCallImpl;

// State shared by the client's threads and calls; owned by HttpClient::Impl.
struct ClientShared {
  ClientOptions options;
  std::unique_ptr<ssl::context> tls;
  std::shared_ptr<IoGate> gate = std::make_shared<IoGate>();
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<uint64_t> connections_reused{0};
  absl::Mutex mu;
  std::unordered_set<ClientCallImpl*> calls ABSL_GUARDED_BY(mu);  // not yet completed
};

struct ClientWorker {
  explicit ClientWorker(const ClientOptions& o)
      : pool(o.max_idle_per_origin, o.idle_connection_ttl) {}
  asio::io_context ioc{1};
  ConnectionPool pool;  // declared after ioc: its sockets die first
};

class ClientCallImpl final : public ClientCall,
                             public ResponseSink,
                             public std::enable_shared_from_this<ClientCallImpl> {
 public:
  ClientCallImpl(ClientShared& shared, ClientWorker& worker, ClientRequest request,
                 ClientCallbacks callbacks);
  ~ClientCallImpl() override;

  void Cancel() override;
  // Io thread.
  void Start();
  void Fail(absl::Status status);

 private:
  // ResponseSink.
  void OnStatus(int status) override;
  void OnField(std::string_view name, std::string_view value) override;
  void OnHeaderDone() override;
  void OnBody(std::string_view piece) override;

  void Connect();
  void OnResolve(const beast_error_code& ec, const tcp::resolver::results_type& results);
  void OnConnect(const beast_error_code& ec);
  void OnHandshake(const beast_error_code& ec);
  void WriteRequest();
  void OnWritten(const beast_error_code& ec);
  void ReadSome();
  void OnRead(const beast_error_code& ec, size_t n);
  bool CanRetry(const beast_error_code& ec) const;
  void Retry();
  void Complete(absl::Status status, bool reusable);
  void OpDone();
  void ArmTimer();
  void OnTimer(uint64_t generation);
  void ResetParser();

  ClientShared& shared_;
  ClientWorker& worker_;
  const asio::io_context::executor_type executor_;
  const std::shared_ptr<IoGate> gate_;
  ClientRequest request_;
  ClientCallbacks callbacks_;
  Url url_;
  std::string origin_;

  std::unique_ptr<ClientConnection> conn_;
  std::optional<tcp::resolver> resolver_;
  std::optional<asio::steady_timer> timer_;
  std::optional<ResponseParser> parser_;
  std::string head_;
  std::vector<asio::const_buffer> iov_;
  int status_ = 0;
  Headers headers_;

  SteadyClock::time_point connect_deadline_ = SteadyClock::time_point::max();
  SteadyClock::time_point headers_deadline_ = SteadyClock::time_point::max();
  SteadyClock::time_point idle_deadline_ = SteadyClock::time_point::max();
  SteadyClock::time_point total_deadline_ = SteadyClock::time_point::max();
  SteadyClock::time_point timer_expiry_ = SteadyClock::time_point::max();
  uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;

  int ops_in_flight_ = 0;  // async socket operations not yet completed
  bool headers_delivered_ = false;
  bool received_any_ = false;
  bool retried_ = false;
  bool done_ = false;
  std::atomic<bool> cancel_requested_{false};
};

}  // namespace p402::http::internal
