#include "libs/http/internal/client_call.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/http/error.hpp>

#include "libs/common/log.h"
#include "libs/common/status_util.h"
#include "libs/http/internal/wire.h"

namespace p402::http::internal {
namespace {

constexpr size_t kReadSize = 16 * 1024;

SteadyClock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  return d.count() > 0 ? SteadyClock::now() + d : SteadyClock::time_point::max();
}

bool IsIpLiteral(const std::string& host) {
  beast_error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

ClientCallImpl::ClientCallImpl(ClientShared& shared, ClientWorker& worker, ClientRequest request,
                               ClientCallbacks callbacks)
    : shared_(shared),
      worker_(worker),
      executor_(worker.ioc.get_executor()),
      gate_(shared.gate),
      request_(std::move(request)),
      callbacks_(std::move(callbacks)) {}

ClientCallImpl::~ClientCallImpl() {
  if (!done_) {
    absl::MutexLock lock(&shared_.mu);
    shared_.calls.erase(this);
  }
}

void ClientCallImpl::Cancel() {
  cancel_requested_.store(true, std::memory_order_release);
  absl::ReaderMutexLock lock(&gate_->mu);
  if (!gate_->alive) {
    return;
  }
  asio::post(executor_, [self = shared_from_this()] {
    self->Fail(absl::CancelledError("call cancelled"));
  });
}

void ClientCallImpl::Start() {
  if (done_) {
    return;
  }
  if (cancel_requested_.load(std::memory_order_acquire)) {
    Fail(absl::CancelledError("call cancelled"));
    return;
  }
  auto url = ParseUrl(request_.url);
  if (!url.ok()) {
    Complete(url.status(), false);
    return;
  }
  url_ = std::move(*url);
  origin_ = url_.Origin();
  if (!request_.headers.Has("user-agent")) {
    request_.headers.Add("User-Agent", "p402");  // some CDNs in front of providers demand one
  }
  timer_.emplace(worker_.ioc);
  total_deadline_ = DeadlineAfter(request_.timeouts.total);
  conn_ = worker_.pool.Take(origin_);
  if (conn_) {
    shared_.connections_reused.fetch_add(1, std::memory_order_relaxed);
    WriteRequest();
  } else {
    Connect();
  }
}

void ClientCallImpl::Connect() {
  connect_deadline_ = DeadlineAfter(request_.timeouts.connect);
  ArmTimer();
  const bool tls = url_.tls();
  conn_ = std::make_unique<ClientConnection>(worker_.ioc, tls ? shared_.tls.get() : nullptr);
  if (tls) {
    auto& stream = conn_->stream.tls();
    if (!IsIpLiteral(url_.host)) {
      SSL_set_tlsext_host_name(stream.native_handle(), url_.host.c_str());  // SNI
    }
    if (shared_.options.verify_peer) {
      stream.set_verify_callback(ssl::host_name_verification(url_.host));
    }
  }
  resolver_.emplace(worker_.ioc);
  ++ops_in_flight_;
  resolver_->async_resolve(
      url_.host, std::to_string(url_.port),
      [self = shared_from_this()](const beast_error_code& ec,
                                  const tcp::resolver::results_type& results) {
        self->OpDone();
        self->OnResolve(ec, results);
      });
}

void ClientCallImpl::OnResolve(const beast_error_code& ec,
                               const tcp::resolver::results_type& results) {
  if (done_) {
    return;
  }
  if (ec) {
    Fail(Unavailable("cannot resolve " + url_.host + ": " + ec.message()));
    return;
  }
  ++ops_in_flight_;
  asio::async_connect(conn_->stream.socket(), results,
                      [self = shared_from_this()](const beast_error_code& e, const tcp::endpoint&) {
                        self->OpDone();
                        self->OnConnect(e);
                      });
}

void ClientCallImpl::OnConnect(const beast_error_code& ec) {
  if (done_) {
    return;
  }
  if (ec) {
    Fail(Unavailable("cannot connect to " + origin_ + ": " + ec.message()));
    return;
  }
  shared_.connections_opened.fetch_add(1, std::memory_order_relaxed);
  beast_error_code ignored;
  conn_->stream.socket().set_option(tcp::no_delay(true), ignored);
  if (!conn_->stream.is_tls()) {
    WriteRequest();
    return;
  }
  ++ops_in_flight_;
  conn_->stream.tls().async_handshake(
      ssl::stream_base::client, [self = shared_from_this()](const beast_error_code& e) {
        self->OpDone();
        self->OnHandshake(e);
      });
}

void ClientCallImpl::OnHandshake(const beast_error_code& ec) {
  if (done_) {
    return;
  }
  if (ec) {
    Fail(Unavailable("TLS handshake with " + origin_ + " failed: " + ec.message()));
    return;
  }
  WriteRequest();
}

void ClientCallImpl::ResetParser() {
  parser_.reset();
  parser_.emplace(*this, request_.max_response_body_bytes);
  if (request_.method == "HEAD") {
    parser_->skip(true);
  }
  status_ = 0;
  headers_.Clear();
}

void ClientCallImpl::WriteRequest() {
  connect_deadline_ = SteadyClock::time_point::max();
  headers_deadline_ = DeadlineAfter(request_.timeouts.headers);
  ArmTimer();
  shared_.requests.fetch_add(1, std::memory_order_relaxed);
  head_.clear();
  const std::string& m = request_.method;
  bool send_length = !request_.body.empty() || m == "POST" || m == "PUT" || m == "PATCH";
  AppendRequestHead(head_, m, url_.target, url_.HostHeader(), request_.headers,
                    request_.body.size(), send_length);
  iov_.clear();
  iov_.emplace_back(head_.data(), head_.size());
  if (!request_.body.empty()) {
    iov_.emplace_back(request_.body.data(), request_.body.size());
  }
  ResetParser();
  ++ops_in_flight_;
  conn_->stream.AsyncWrite(iov_, [self = shared_from_this()](const beast_error_code& ec, size_t) {
    self->OpDone();
    self->OnWritten(ec);
  });
}

void ClientCallImpl::OnWritten(const beast_error_code& ec) {
  if (done_) {
    return;
  }
  if (ec) {
    if (CanRetry(ec)) {
      Retry();
      return;
    }
    Fail(Unavailable("cannot send request to " + origin_ + ": " + ec.message()));
    return;
  }
  ReadSome();
}

void ClientCallImpl::ReadSome() {
  ++ops_in_flight_;
  conn_->stream.AsyncReadSome(
      conn_->buffer.prepare(kReadSize),
      [self = shared_from_this()](const beast_error_code& ec, size_t n) {
        self->OpDone();
        self->OnRead(ec, n);
      });
}

void ClientCallImpl::OnRead(const beast_error_code& ec, size_t n) {
  if (done_) {
    return;
  }
  if (ec) {
    bool eof = ec == asio::error::eof || ec == ssl::error::stream_truncated;
    if (eof && parser_->got_some() && parser_->need_eof()) {
      beast_error_code put_ec;
      parser_->put_eof(put_ec);
      if (!put_ec && parser_->is_done()) {
        Complete(absl::OkStatus(), false);  // close-delimited body
        return;
      }
    }
    if (CanRetry(ec)) {
      Retry();
      return;
    }
    Fail(Unavailable((eof ? "connection closed by " + origin_ + " before the response completed"
                          : "read from " + origin_ + " failed: " + ec.message())));
    return;
  }
  conn_->buffer.commit(n);
  received_any_ = true;
  if (headers_delivered_) {
    idle_deadline_ = DeadlineAfter(request_.timeouts.idle);
  }
  while (conn_->buffer.size() > 0) {
    beast_error_code pec;
    size_t used = parser_->put(conn_->buffer.data(), pec);
    conn_->buffer.consume(used);
    if (done_) {
      return;
    }
    if (pec && pec != beast_http::error::need_more) {
      if (pec == beast_http::error::body_limit) {
        Fail(absl::ResourceExhaustedError("response body from " + origin_ +
                                          " exceeds the configured limit"));
      } else {
        Fail(Unavailable("malformed response from " + origin_ + ": " + pec.message()));
      }
      return;
    }
    bool interim = status_ >= 100 && status_ < 200 && status_ != 101;
    if (parser_->is_done()) {
      if (interim) {
        ResetParser();  // 100 Continue and friends: the real response follows
        continue;
      }
      bool reusable = parser_->keep_alive() && conn_->buffer.size() == 0;
      Complete(absl::OkStatus(), reusable);
      return;
    }
    if (pec || used == 0) {
      break;
    }
  }
  ArmTimer();
  ReadSome();
}

void ClientCallImpl::OnStatus(int status) { status_ = status; }

void ClientCallImpl::OnField(std::string_view name, std::string_view value) {
  headers_.Add(std::string(name), std::string(value));
}

void ClientCallImpl::OnHeaderDone() {
  // Runs inside the parser, before the body bytes that arrived with the head are delivered.
  bool interim = status_ >= 100 && status_ < 200 && status_ != 101;
  if (interim || headers_delivered_) {
    return;
  }
  headers_delivered_ = true;
  headers_deadline_ = SteadyClock::time_point::max();
  idle_deadline_ = DeadlineAfter(request_.timeouts.idle);
  if (callbacks_.on_headers && !cancel_requested_.load(std::memory_order_acquire)) {
    callbacks_.on_headers(status_, std::move(headers_));
  }
}

void ClientCallImpl::OnBody(std::string_view piece) {
  if (callbacks_.on_body && !cancel_requested_.load(std::memory_order_acquire)) {
    callbacks_.on_body(piece);
  }
}

bool ClientCallImpl::CanRetry(const beast_error_code& ec) const {
  // Like Go's transport: a reused keep-alive connection that the server closed before sending
  // a single response byte is retried once on a fresh connection.
  if (!conn_ || !conn_->reused || retried_ || received_any_ ||
      cancel_requested_.load(std::memory_order_acquire)) {
    return false;
  }
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == ssl::error::stream_truncated;
}

void ClientCallImpl::Retry() {
  retried_ = true;
  beast_error_code ignored;
  conn_->stream.socket().close(ignored);
  if (ops_in_flight_ == 0) {
    conn_.reset();
  } else {
    // Another operation still references the old stream: keep it alive until its handler runs.
    auto old = std::shared_ptr<ClientConnection>(std::move(conn_));
    asio::post(executor_, [old] {});
  }
  parser_.reset();
  Connect();
}

void ClientCallImpl::Fail(absl::Status status) { Complete(std::move(status), false); }

void ClientCallImpl::Complete(absl::Status status, bool reusable) {
  if (done_) {
    return;
  }
  done_ = true;
  if (conn_) {
    if (status.ok() && reusable && ops_in_flight_ == 0 &&
        !cancel_requested_.load(std::memory_order_acquire)) {
      worker_.pool.Put(origin_, std::move(conn_));
    } else {
      beast_error_code ignored;
      conn_->stream.socket().close(ignored);
      if (ops_in_flight_ == 0) {
        conn_.reset();
      }  // else OpDone() releases it once the aborted operation has returned
    }
  }
  timer_.reset();
  resolver_.reset();
  {
    absl::MutexLock lock(&shared_.mu);
    shared_.calls.erase(this);
  }
  auto on_complete = std::move(callbacks_.on_complete);
  callbacks_ = ClientCallbacks{};
  if (on_complete) {
    try {
      on_complete(std::move(status));
    } catch (const std::exception& e) {
      P402_LOG(kError, "http client on_complete threw").Field("error", e.what());
    } catch (...) {
      P402_LOG(kError, "http client on_complete threw a non-exception");
    }
  }
}

void ClientCallImpl::OpDone() {
  --ops_in_flight_;
  if (done_ && ops_in_flight_ == 0) {
    parser_.reset();
    conn_.reset();
  }
}

void ClientCallImpl::ArmTimer() {
  auto next = std::min({connect_deadline_, headers_deadline_, idle_deadline_, total_deadline_});
  if (!timer_ || next == SteadyClock::time_point::max() ||
      (timer_armed_ && timer_expiry_ <= next)) {
    return;
  }
  timer_armed_ = true;
  timer_expiry_ = next;
  uint64_t generation = ++timer_generation_;
  timer_->expires_at(next);
  timer_->async_wait([self = shared_from_this(), generation](const beast_error_code&) {
    self->OnTimer(generation);
  });
}

void ClientCallImpl::OnTimer(uint64_t generation) {
  if (done_ || generation != timer_generation_) {
    return;
  }
  timer_armed_ = false;
  auto now = SteadyClock::now();
  auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; };
  const auto& t = request_.timeouts;
  if (connect_deadline_ <= now) {
    Fail(DeadlineExceeded("connect timeout (" + ms(t.connect) + ") to " + origin_));
  } else if (headers_deadline_ <= now) {
    Fail(DeadlineExceeded("headers timeout (" + ms(t.headers) + ") waiting for " + origin_));
  } else if (idle_deadline_ <= now) {
    Fail(DeadlineExceeded("idle timeout (" + ms(t.idle) + "): no body bytes from " + origin_));
  } else if (total_deadline_ <= now) {
    Fail(DeadlineExceeded("total timeout (" + ms(t.total) + ") for " + origin_));
  } else {
    ArmTimer();
  }
}

}  // namespace p402::http::internal
