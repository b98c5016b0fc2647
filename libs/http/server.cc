#include "libs/http/server.h"

#include <algorithm>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/http/internal/endpoint.h"
#include "libs/http/internal/io_thread.h"
#include "libs/http/internal/server_session.h"
#include "libs/http/internal/tls.h"
#include "libs/http/internal/wire.h"

namespace p402::http {

using internal::asio::io_context;
using internal::tcp;
namespace asio = internal::asio;

class HttpServer::Impl {
 public:
  ~Impl() { Shutdown(); }

  absl::Status Init(ServerOptions options);
  void Shutdown();

  // Destruction order matters: sessions (inside the io_contexts' queues) reference `shared` and
  // `tls_ctx`, so those are declared first and die last.
  internal::ServerShared shared;
  std::unique_ptr<asio::ssl::context> tls_ctx;
  std::vector<std::unique_ptr<io_context>> iocs;
  std::vector<asio::executor_work_guard<io_context::executor_type>> guards;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_retry;
  std::vector<std::thread> threads;
  size_t next_ioc = 0;  // acceptor thread only
  std::string reject_response;
  int port = 0;
  std::string address;
  std::mutex shutdown_mu;
  bool running = false;  // io threads started
  bool shut_down = false;

 private:
  void DoAccept();
  void OnAccept(const internal::beast_error_code& ec, tcp::socket socket, io_context& target);
  void Reject(tcp::socket socket);
  // Posts `fn(session)` to every live session; returns how many there were.
  size_t ForEachSession(void (internal::Session::*fn)());
};

absl::Status HttpServer::Impl::Init(ServerOptions options) {
  if (options.handler == nullptr) {
    return InvalidArgument("http server: handler is required");
  }
  options.io_threads = std::clamp(options.io_threads, 1, 64);
  options.max_pipelined_requests = std::clamp(options.max_pipelined_requests, 1, 64);
  options.max_connections = std::max(options.max_connections, 1);
  auto hp = internal::SplitHostPort(options.listen);
  if (!hp) {
    return InvalidArgument("http server: listen address must be host:port, got '" +
                           options.listen + "'");
  }
  internal::beast_error_code ec;
  std::string host = hp->host == "localhost" ? "127.0.0.1" : hp->host;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) {
    return InvalidArgument("http server: listen host must be an IP address, got '" + hp->host +
                           "'");
  }
  if (options.tls) {
    auto ctx = internal::MakeServerTlsContext(options.tls->cert_file, options.tls->key_file);
    if (!ctx.ok()) {
      return ctx.status();
    }
    tls_ctx = std::move(*ctx);
    shared.tls = tls_ctx.get();
  }
  shared.options = std::move(options);
  {
    Response r = shared.ErrorResponse(503, "too_many_connections", "server is at capacity");
    internal::AppendResponseHead(reject_response, r.status, r.headers, 11,
                                 internal::BodyFraming::kContentLength, r.body.size(), false);
    reject_response += r.body;
  }

  for (int i = 0; i < shared.options.io_threads; ++i) {
    iocs.push_back(std::make_unique<io_context>(1));
    guards.push_back(asio::make_work_guard(*iocs.back()));
  }
  acceptor = std::make_unique<tcp::acceptor>(*iocs[0]);
  tcp::endpoint endpoint(ip, static_cast<uint16_t>(hp->port));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    acceptor->bind(endpoint, ec);
  }
  if (!ec) {
    acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    std::string msg = "http server: cannot listen on " + shared.options.listen + ": " +
                      ec.message();
    acceptor.reset();
    return Unavailable(msg);
  }
  auto local = acceptor->local_endpoint(ec);
  port = local.port();
  address = (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" +
            std::to_string(port);
  accept_retry = std::make_unique<asio::steady_timer>(*iocs[0]);

  for (auto& ioc : iocs) {
    io_context* raw = ioc.get();
    threads.emplace_back([raw] {
      internal::current_io_context = raw;
      for (;;) {
        try {
          raw->run();
          return;
        } catch (const std::exception& e) {
          P402_LOG(kError, "http server io thread caught an exception").Field("error", e.what());
        } catch (...) {
          P402_LOG(kError, "http server io thread caught a non-exception");
        }
      }
    });
  }
  running = true;
  asio::post(*iocs[0], [this] { DoAccept(); });
  return absl::OkStatus();
}

void HttpServer::Impl::DoAccept() {
  io_context& target = *iocs[next_ioc++ % iocs.size()];
  acceptor->async_accept(target.get_executor(),
                         [this, &target](const internal::beast_error_code& ec, tcp::socket s) {
                           OnAccept(ec, std::move(s), target);
                         });
}

void HttpServer::Impl::OnAccept(const internal::beast_error_code& ec, tcp::socket socket,
                                io_context& target) {
  if (!acceptor->is_open() || ec == asio::error::operation_aborted) {
    return;
  }
  if (ec) {
    // Typically EMFILE/ENFILE: back off briefly instead of spinning on the error.
    P402_LOG(kWarn, "http accept failed").Field("error", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(50));
    accept_retry->async_wait([this](const internal::beast_error_code& e) {
      if (!e && acceptor->is_open()) {
        DoAccept();
      }
    });
    return;
  }
  shared.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  internal::beast_error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  uint64_t active = shared.connections_active.fetch_add(1, std::memory_order_relaxed);
  if (active >= static_cast<uint64_t>(shared.options.max_connections)) {
    shared.connections_active.fetch_sub(1, std::memory_order_relaxed);
    shared.connections_rejected.fetch_add(1, std::memory_order_relaxed);
    Reject(std::move(socket));
  } else {
    auto session = std::make_shared<internal::Session>(shared, target, std::move(socket));
    asio::post(target, [session] { session->Start(); });
  }
  DoAccept();
}

void HttpServer::Impl::Reject(tcp::socket socket) {
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  if (tls_ctx) {
    internal::beast_error_code ignored;
    sock->close(ignored);  // a plaintext 503 would be noise to a TLS client
    return;
  }
  asio::async_write(*sock, asio::buffer(reject_response),
                    [sock](const internal::beast_error_code&, size_t) {
                      internal::beast_error_code ignored;
                      sock->shutdown(tcp::socket::shutdown_send, ignored);
                      sock->close(ignored);
                    });
}

size_t HttpServer::Impl::ForEachSession(void (internal::Session::*fn)()) {
  std::vector<std::shared_ptr<internal::Session>> live;
  {
    absl::MutexLock lock(&shared.mu);
    shared.shutting_down = true;
    for (internal::Session* s : shared.sessions) {
      if (auto sp = s->weak_from_this().lock()) {
        live.push_back(std::move(sp));
      }
    }
  }
  for (auto& s : live) {
    asio::post(s->executor(), [s, fn] { ((*s).*fn)(); });
  }
  return live.size();
}

void HttpServer::Impl::Shutdown() {
  std::lock_guard<std::mutex> once(shutdown_mu);
  if (shut_down || !running) {
    shut_down = true;
    return;
  }
  shut_down = true;
  if (acceptor) {
    std::promise<void> closed;
    asio::post(*iocs[0], [this, &closed] {
      internal::beast_error_code ignored;
      acceptor->close(ignored);
      accept_retry->cancel();
      closed.set_value();
    });
    closed.get_future().wait_for(std::chrono::seconds(5));
  }
  auto wait_idle = [this](std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline) {
      {
        absl::MutexLock lock(&shared.mu);
        if (shared.sessions.empty()) {
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  ForEachSession(&internal::Session::BeginShutdown);
  wait_idle(std::chrono::steady_clock::now() + shared.options.shutdown_timeout);
  if (ForEachSession(&internal::Session::ForceClose) > 0) {
    wait_idle(std::chrono::steady_clock::now() + std::chrono::seconds(1));
  }
  {
    absl::WriterMutexLock lock(&shared.gate->mu);
    shared.gate->alive = false;
  }
  for (auto& guard : guards) {
    guard.reset();
  }
  for (auto& ioc : iocs) {
    ioc->stop();
  }
  for (auto& t : threads) {
    if (t.joinable()) {
      t.join();
    }
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_) {
    impl_->Shutdown();
  }
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options) {
  auto impl = std::make_unique<Impl>();
  try {
    absl::Status status = impl->Init(std::move(options));
    if (!status.ok()) {
      return status;
    }
  } catch (const std::exception& e) {
    return Internal(std::string("http server: start failed: ") + e.what());
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }
std::string HttpServer::address() const { return impl_->address; }

ServerStats HttpServer::stats() const {
  const auto& s = impl_->shared;
  ServerStats out;
  out.connections_accepted = s.connections_accepted.load(std::memory_order_relaxed);
  out.connections_active = s.connections_active.load(std::memory_order_relaxed);
  out.connections_rejected = s.connections_rejected.load(std::memory_order_relaxed);
  out.requests = s.requests.load(std::memory_order_relaxed);
  out.protocol_errors = s.protocol_errors.load(std::memory_order_relaxed);
  return out;
}

void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace p402::http
