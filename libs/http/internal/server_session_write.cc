// The write side of Session: applying writer operations to response slots, flushing them in
// request order as gather writes, and the ways a connection ends (graceful close with lingering
// drain, or abort). Read side and timers: server_session.cc.
#include <boost/asio/write.hpp>

#include "libs/common/log.h"
#include "libs/http/internal/server_session.h"
#include "libs/http/internal/wire.h"

namespace p402::http::internal {
namespace {

// How long a closing connection keeps draining unread request bytes so the peer reads our final
// response instead of a reset (lingering close).
constexpr auto kLingerTime = std::chrono::seconds(2);

SteadyTime Now() { return std::chrono::steady_clock::now(); }

}  // namespace

Response ServerShared::ErrorResponse(int status, std::string_view code,
                                     std::string_view message) const {
  if (options.error_response) {
    try {
      return options.error_response(status, code, message);
    } catch (...) {
      // Fall through to the default shape: an error hook must not take the connection down.
    }
  }
  std::string_view type = status >= 500 ? "server_error" : "invalid_request_error";
  return Response::Json(status, OpenAiErrorBody(message, type, code));
}

void ResponseSlot::MarkClosed() {
  std::function<void()> callback;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_.exchange(true, std::memory_order_acq_rel)) {
      return;
    }
    callback = std::move(on_close_);
  }
  if (callback) {
    try {
      callback();
    } catch (...) {
      P402_LOG(kError, "http OnClose callback threw");
    }
  }
}

void ResponseSlot::SetOnClose(std::function<void()> callback) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_.load(std::memory_order_acquire)) {
      on_close_ = std::move(callback);
      return;
    }
  }
  if (callback) {
    callback();
  }
}

void Session::Apply(const std::shared_ptr<ResponseSlot>& slot, WriterOp op, std::string a,
                    std::string b) {
  const size_t bytes = a.size() + b.size();
  using State = ResponseSlot::State;
  auto drop = [&] { slot->buffered.fetch_sub(bytes, std::memory_order_relaxed); };
  if (closed_ || slot->closed()) {
    drop();
    return;
  }
  auto push = [&](std::string& s) {
    if (!s.empty()) {
      slot->pieces.push_back(std::move(s));
    }
  };
  switch (op) {
    case WriterOp::kSend:
      if (slot->state != State::kPending) {
        return drop();
      }
      push(a);
      push(b);
      slot->state = State::kComplete;
      break;
    case WriterOp::kStartStream:
      if (slot->state != State::kPending) {
        return drop();
      }
      push(a);
      slot->state = State::kStreaming;
      if (slot->version < 11) {
        slot->close_connection = true;  // HTTP/1.0 stream: the close delimits the body
      }
      break;
    case WriterOp::kWrite:
      if (slot->state != State::kStreaming) {
        return drop();
      }
      push(a);
      push(b);
      if (slot->buffered.load(std::memory_order_relaxed) > shared_.options.max_stream_buffer_bytes) {
        P402_LOG(kWarn, "http stream buffer overflow; aborting slow client")
            .Field("remote", remote_);
        Abort("stream buffer overflow");
        return;
      }
      break;
    case WriterOp::kFinish:
      if (slot->state != State::kStreaming) {
        return drop();
      }
      push(a);
      slot->state = State::kComplete;
      break;
    case WriterOp::kAbort:
      if (slot->state == State::kComplete) {
        return drop();
      }
      slot->close_connection = true;
      slot->state = State::kComplete;
      break;
    case WriterOp::kAbandon:
      if (slot->state == State::kPending) {
        P402_LOG(kError, "http handler dropped a request without answering");
        Response r = shared_.ErrorResponse(500, "internal_error", "internal server error");
        std::string head;
        AppendResponseHead(head, r.status, r.headers, slot->version, BodyFraming::kContentLength,
                           r.body.size(), slot->keep_alive);
        slot->pieces.push_back(std::move(head));
        if (!slot->head_only) {
          slot->pieces.push_back(std::move(r.body));
        }
      } else if (slot->state == State::kStreaming) {
        // An unterminated chunked body tells the client the stream broke.
        slot->close_connection = true;
      }
      slot->state = State::kComplete;
      break;
  }
  FlushWrites();
}

void Session::FlushWrites() {
  if (writing_ || closed_ || in_parse_loop_) {
    return;
  }
  inflight_.clear();
  inflight_bytes_.clear();
  if (!interim_.empty()) {
    inflight_.push_back(std::move(interim_));
    interim_.clear();
  }
  while (!slots_.empty()) {
    std::shared_ptr<ResponseSlot>& slot = slots_.front();
    size_t bytes = 0;
    for (std::string& piece : slot->pieces) {
      bytes += piece.size();
      inflight_.push_back(std::move(piece));
    }
    slot->pieces.clear();
    if (bytes > 0) {
      inflight_bytes_.emplace_back(slot, bytes);
    }
    if (slot->state != ResponseSlot::State::kComplete) {
      break;
    }
    bool close = slot->close_connection;
    slots_.pop_front();
    if (close) {
      close_after_write_ = true;
      stop_parsing_ = true;
      auto rest = std::move(slots_);
      slots_.clear();
      for (auto& s : rest) {
        s->MarkClosed();
      }
      break;
    }
  }
  if (inflight_.empty()) {
    MaybeFinishClose();
    return;
  }
  iov_.clear();
  for (const std::string& piece : inflight_) {
    iov_.emplace_back(piece.data(), piece.size());
  }
  writing_ = true;
  write_deadline_ = Now() + shared_.options.write_timeout;
  ArmTimer();
  stream_.AsyncWrite(iov_, [self = shared_from_this()](const beast_error_code& ec, size_t) {
    self->OnWrite(ec);
  });
}

void Session::OnWrite(const beast_error_code& ec) {
  writing_ = false;
  write_deadline_ = SteadyTime::max();
  for (auto& [slot, bytes] : inflight_bytes_) {
    slot->buffered.fetch_sub(bytes, std::memory_order_relaxed);
  }
  inflight_bytes_.clear();
  inflight_.clear();
  if (closed_) {
    return;
  }
  if (ec) {
    Abort("write failed");
    return;
  }
  if (read_paused_ && slots_.size() < static_cast<size_t>(shared_.options.max_pipelined_requests)) {
    read_paused_ = false;
    ParseBuffered();  // also flushes and restarts reading
    if (closed_) {
      return;
    }
  }
  FlushWrites();
  MaybeFinishClose();
}

void Session::MaybeFinishClose() {
  if (closed_ || writing_ || !slots_.empty() || !inflight_.empty() || !interim_.empty()) {
    return;
  }
  if (close_after_write_ || shutting_down_) {
    CloseGracefully();
  }
}

void Session::Abort(std::string_view why) {
  if (closed_) {
    if (lingering_) {
      lingering_ = false;
      beast_error_code ignored;
      stream_.socket().close(ignored);
    }
    return;
  }
  closed_ = true;
  beast_error_code ignored;
  stream_.socket().close(ignored);
  timer_.cancel();
  auto slots = std::move(slots_);
  slots_.clear();
  if (!slots.empty()) {
    P402_LOG(kDebug, "http connection aborted").Field("remote", remote_).Field("why", why);
  }
  for (auto& slot : slots) {
    slot->MarkClosed();
  }
  Detach();
}

void Session::CloseGracefully() {
  if (closed_) {
    return;
  }
  closed_ = true;
  Detach();
  beast_error_code ec;
  if (stream_.is_tls()) {
    stream_.socket().close(ec);
    timer_.cancel();
    return;
  }
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    stream_.socket().close(ec);
    timer_.cancel();
    return;
  }
  Linger();
}

void Session::Linger() {
  lingering_ = true;
  stop_parsing_ = true;
  buffer_.consume(buffer_.size());
  read_deadline_ = Now() + kLingerTime;
  write_deadline_ = SteadyTime::max();
  ArmTimer();
  StartRead();
}

}  // namespace p402::http::internal
