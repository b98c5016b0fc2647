// The read side of Session: start (TLS handshake), reading and parsing requests, dispatching
// them, server-answered protocol errors, timers and shutdown. Write side and closing:
// server_session_write.cc.
#include "libs/http/internal/server_session.h"

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>

#include "libs/common/log.h"
#include "libs/http/internal/response_writer_impl.h"
#include "libs/http/internal/wire.h"

namespace p402::http::internal {
namespace {

constexpr size_t kHeaderReadSize = 16 * 1024;
constexpr size_t kBodyReadSize = 64 * 1024;
SteadyTime Now() { return std::chrono::steady_clock::now(); }

std::string FormatEndpoint(const tcp::endpoint& ep) {
  const auto addr = ep.address();
  std::string out = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  out.push_back(':');
  out.append(std::to_string(ep.port()));
  return out;
}

}  // namespace

Session::Session(ServerShared& shared, asio::io_context& ioc, tcp::socket socket)
    : shared_(shared),
      executor_(ioc.get_executor()),
      stream_(std::move(socket), shared.tls),
      timer_(ioc) {
  beast_error_code ec;
  auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    remote_ = FormatEndpoint(ep);
  }
}

Session::~Session() { Detach(); }

void Session::Start() {
  {
    absl::MutexLock lock(&shared_.mu);
    if (shared_.shutting_down) {
      closed_ = true;
      beast_error_code ec;
      stream_.socket().close(ec);
      return;
    }
    shared_.sessions.insert(this);
    started_ = true;
  }
  if (stream_.is_tls()) {
    request_deadline_ = Now() + shared_.options.read_timeout;
    read_deadline_ = request_deadline_;
    ArmTimer();
    handshaking_ = true;
    stream_.tls().async_handshake(
        ssl::stream_base::server,
        [self = shared_from_this()](const beast_error_code& ec) { self->OnHandshake(ec); });
    return;
  }
  StartRead();
}

void Session::OnHandshake(const beast_error_code& ec) {
  handshaking_ = false;
  if (closed_) {
    return;
  }
  if (ec) {
    Abort("tls handshake failed");
    return;
  }
  request_deadline_ = SteadyTime::max();
  read_deadline_ = SteadyTime::max();
  StartRead();
}

bool Session::RequestInProgress() const {
  return buffer_.size() > 0 || (parser_ && parser_->got_some());
}

void Session::StartRead() {
  if ((closed_ && !lingering_) || reading_ || (read_paused_ && !stop_parsing_)) {
    return;
  }
  if (!lingering_) {
    if (stop_parsing_) {
      read_deadline_ = SteadyTime::max();  // only watching for the peer going away
    } else if (RequestInProgress()) {
      read_deadline_ = request_deadline_;
    } else if (slots_.empty()) {
      read_deadline_ = Now() + shared_.options.idle_timeout;
    } else {
      read_deadline_ = SteadyTime::max();
    }
    ArmTimer();
  }
  reading_ = true;
  size_t want = (parser_ && parser_->is_header_done()) ? kBodyReadSize : kHeaderReadSize;
  stream_.AsyncReadSome(buffer_.prepare(want),
                        [self = shared_from_this()](const beast_error_code& ec, size_t n) {
                          self->OnRead(ec, n);
                        });
}

void Session::OnRead(const beast_error_code& ec, size_t n) {
  reading_ = false;
  if (lingering_) {
    if (ec) {
      lingering_ = false;
      beast_error_code ignored;
      stream_.socket().close(ignored);
      timer_.cancel();
      return;
    }
    buffer_.consume(buffer_.size());
    StartRead();
    return;
  }
  if (closed_) {
    return;
  }
  if (ec) {
    if (read_timed_out_) {
      read_timed_out_ = false;
      OnReadTimeout();
      return;
    }
    bool peer_closed = ec == asio::error::eof || ec == ssl::error::stream_truncated;
    bool unanswered = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) {
      return s->state != ResponseSlot::State::kComplete;
    });
    if (peer_closed && !unanswered) {
      // The peer half-closed after its last request: deliver what is ready, then close.
      stop_parsing_ = true;
      close_after_write_ = true;
      parser_.reset();
      FlushWrites();
      MaybeFinishClose();
      return;
    }
    Abort(peer_closed ? "client closed the connection" : "read failed");
    return;
  }
  buffer_.commit(n);
  if (stop_parsing_) {
    buffer_.consume(buffer_.size());
    StartRead();
    return;
  }
  ParseBuffered();
}

void Session::ParseBuffered() {
  in_parse_loop_ = true;
  const auto& opts = shared_.options;
  while (!closed_ && !stop_parsing_) {
    if (!parser_) {
      if (buffer_.size() == 0) {
        break;
      }
      if (slots_.size() >= static_cast<size_t>(opts.max_pipelined_requests)) {
        read_paused_ = true;
        break;
      }
      parser_.emplace(opts.body_limit_bytes, opts.header_limit_bytes);
      request_deadline_ = Now() + opts.read_timeout;
    }
    if (buffer_.size() == 0) {
      break;
    }
    beast_error_code ec;
    size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec && ec != beast_http::error::need_more) {
      if (ec == beast_http::error::body_limit) {
        RespondError(413, "body_too_large",
                     "request body exceeds " + std::to_string(opts.body_limit_bytes) + " bytes");
      } else if (ec == beast_http::error::header_limit) {
        RespondError(431, "headers_too_large", "request headers too large");
      } else {
        RespondError(400, "bad_request", "malformed HTTP request: " + ec.message());
      }
      break;
    }
    if (parser_->is_header_done() && !parser_->expect_checked && !CheckExpect()) {
      break;
    }
    if (parser_->is_done()) {
      Dispatch();
      continue;
    }
    if (ec || used == 0) {
      break;
    }
  }
  in_parse_loop_ = false;
  if (closed_) {
    return;
  }
  FlushWrites();
  StartRead();
}

bool Session::CheckExpect() {
  parser_->expect_checked = true;
  auto expect = parser_->request().headers.Get("expect");
  if (!expect) {
    return true;
  }
  if (EqualsIgnoreCase(*expect, "100-continue")) {
    // A 1xx may only precede this request's own response, so skip it when earlier responses
    // are still queued (the client then sends the body after its own short wait).
    if (parser_->request().version >= 11 && !parser_->is_done() && slots_.empty()) {
      interim_ = "HTTP/1.1 100 Continue\r\n\r\n";
    }
    return true;
  }
  RespondError(417, "expectation_failed", "unsupported Expect header");
  return false;
}

void Session::Dispatch() {
  Request request = std::move(parser_->request());
  request.keep_alive = parser_->keep_alive() && !shutting_down_;
  parser_.reset();
  request_deadline_ = SteadyTime::max();
  request.remote_address = remote_;
  bool head_only = request.method == "HEAD";
  auto slot = std::make_shared<ResponseSlot>(request.keep_alive, head_only, request.version);
  slots_.push_back(slot);
  if (!request.keep_alive) {
    stop_parsing_ = true;
  }
  shared_.requests.fetch_add(1, std::memory_order_relaxed);
  auto writer = std::make_shared<SessionResponseWriter>(weak_from_this(), executor_,
                                                        shared_.gate, slot);
  try {
    shared_.options.handler->Handle(std::move(request), writer);
  } catch (const std::exception& e) {
    P402_LOG(kError, "http handler threw").Field("error", e.what());
    writer->Send(shared_.ErrorResponse(500, "internal_error", "internal server error"));
  } catch (...) {
    P402_LOG(kError, "http handler threw a non-exception");
    writer->Send(shared_.ErrorResponse(500, "internal_error", "internal server error"));
  }
}

void Session::RespondError(int status, std::string_view code, std::string_view message) {
  shared_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
  parser_.reset();
  stop_parsing_ = true;
  request_deadline_ = SteadyTime::max();
  Response response = shared_.ErrorResponse(status, code, message);
  auto slot = std::make_shared<ResponseSlot>(false, false, 11);
  std::string head;
  AppendResponseHead(head, response.status, response.headers, 11, BodyFraming::kContentLength,
                     response.body.size(), false);
  slot->pieces.push_back(std::move(head));
  slot->pieces.push_back(std::move(response.body));
  slot->state = ResponseSlot::State::kComplete;
  slots_.push_back(std::move(slot));
  FlushWrites();
}

void Session::ArmTimer() {
  SteadyTime next = std::min(read_deadline_, write_deadline_);
  if (next == SteadyTime::max() || (timer_armed_ && timer_expiry_ <= next)) {
    return;  // nothing to time, or an earlier wake-up is already set (it re-arms itself)
  }
  timer_armed_ = true;
  timer_expiry_ = next;
  uint64_t generation = ++timer_generation_;
  timer_.expires_at(next);
  timer_.async_wait([self = shared_from_this(), generation](const beast_error_code& ec) {
    self->OnTimer(generation, ec);
  });
}

void Session::OnTimer(uint64_t generation, const beast_error_code&) {
  if (generation != timer_generation_) {
    return;  // superseded by a re-arm
  }
  timer_armed_ = false;
  if (closed_ && !lingering_) {
    return;
  }
  SteadyTime now = Now();
  if (lingering_) {
    if (read_deadline_ <= now) {
      lingering_ = false;
      beast_error_code ignored;
      stream_.socket().close(ignored);
    } else {
      ArmTimer();
    }
    return;
  }
  if (write_deadline_ <= now) {
    Abort("write timeout");
    return;
  }
  if (read_deadline_ <= now) {
    read_deadline_ = SteadyTime::max();
    if (handshaking_) {
      Abort("tls handshake timeout");
      return;
    }
    if (reading_) {
      read_timed_out_ = true;
      beast_error_code ignored;
      stream_.socket().cancel(ignored);
      return;
    }
  }
  ArmTimer();
}

void Session::OnReadTimeout() {
  if (stream_.is_tls()) {
    // A cancelled TLS read leaves the record layer in an unknown state: no 408, just close.
    Abort("read timeout");
    return;
  }
  if (RequestInProgress()) {
    RespondError(408, "request_timeout", "timed out reading the request");
    StartRead();
    return;
  }
  CloseGracefully();  // idle keep-alive connection
}

void Session::BeginShutdown() {
  if (closed_) {
    return;
  }
  shutting_down_ = true;
  stop_parsing_ = true;
  parser_.reset();
  if (slots_.empty() && !writing_) {
    CloseGracefully();
  }
}

void Session::Detach() {
  if (detached_) {
    return;
  }
  detached_ = true;
  if (started_) {
    absl::MutexLock lock(&shared_.mu);
    shared_.sessions.erase(this);
  }
  shared_.connections_active.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace p402::http::internal
