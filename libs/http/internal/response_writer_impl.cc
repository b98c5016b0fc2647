#include "libs/http/internal/response_writer_impl.h"

#include <boost/asio/post.hpp>

#include "libs/http/internal/wire.h"

namespace p402::http::internal {

SessionResponseWriter::~SessionResponseWriter() {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ == State::kDone) {
    return;
  }
  state_ = State::kDone;
  Submit(lock, WriterOp::kAbandon, std::string(), std::string());
}

void SessionResponseWriter::Send(Response response) {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kNew) {
    return;
  }
  state_ = State::kDone;
  std::string head;
  head.reserve(160);
  AppendResponseHead(head, response.status, response.headers, slot_->version,
                     BodyFraming::kContentLength, response.body.size(), slot_->keep_alive);
  if (slot_->head_only) {
    response.body.clear();
  }
  Submit(lock, WriterOp::kSend, std::move(head), std::move(response.body));
}

void SessionResponseWriter::StartStream(int status, Headers headers) {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kNew) {
    return;
  }
  state_ = State::kStreaming;
  const bool chunked = slot_->version >= 11;
  std::string head;
  AppendResponseHead(head, status, headers, slot_->version,
                     chunked ? BodyFraming::kChunked : BodyFraming::kCloseDelimited, 0,
                     chunked && slot_->keep_alive);
  Submit(lock, WriterOp::kStartStream, std::move(head), std::string());
}

void SessionResponseWriter::Write(std::string chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kStreaming || chunk.empty() || slot_->head_only) {
    return;
  }
  std::string prefix;
  if (slot_->version >= 11) {
    prefix = ChunkPrefix(chunk.size(), !wrote_chunk_);
  }
  wrote_chunk_ = true;
  Submit(lock, WriterOp::kWrite, std::move(prefix), std::move(chunk));
}

void SessionResponseWriter::Finish() {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ != State::kStreaming) {
    return;
  }
  state_ = State::kDone;
  std::string trailer;
  if (slot_->version >= 11 && !slot_->head_only) {
    trailer = std::string(ChunkTrailer(wrote_chunk_));
  }
  Submit(lock, WriterOp::kFinish, std::move(trailer), std::string());
}

void SessionResponseWriter::Abort() {
  std::unique_lock<std::mutex> lock(mu_);
  if (state_ == State::kDone) {
    return;
  }
  state_ = State::kDone;
  Submit(lock, WriterOp::kAbort, std::string(), std::string());
}

void SessionResponseWriter::Submit(std::unique_lock<std::mutex>& lock, WriterOp op,
                                   std::string a, std::string b) {
  const size_t bytes = a.size() + b.size();
  slot_->buffered.fetch_add(bytes, std::memory_order_relaxed);
  if (current_io_context == io_context_id_ &&
      slot_->posted_pending.load(std::memory_order_acquire) == 0) {
    // Already on the connection's thread with nothing queued ahead: apply now. The lock is
    // released first because applying can run OnClose callbacks that call back into us.
    lock.unlock();
    if (auto session = session_.lock()) {
      session->Apply(slot_, op, std::move(a), std::move(b));
    } else {
      slot_->buffered.fetch_sub(bytes, std::memory_order_relaxed);
    }
    return;
  }
  slot_->posted_pending.fetch_add(1, std::memory_order_acq_rel);
  absl::ReaderMutexLock gate_lock(&gate_->mu);
  if (!gate_->alive) {
    slot_->posted_pending.fetch_sub(1, std::memory_order_acq_rel);
    slot_->buffered.fetch_sub(bytes, std::memory_order_relaxed);
    return;
  }
  asio::post(executor_, [session = session_, slot = slot_, op, a = std::move(a),
                         b = std::move(b)]() mutable {
    const size_t n = a.size() + b.size();
    if (auto s = session.lock()) {
      s->Apply(slot, op, std::move(a), std::move(b));
    } else {
      slot->buffered.fetch_sub(n, std::memory_order_relaxed);
    }
    slot->posted_pending.fetch_sub(1, std::memory_order_acq_rel);
  });
}

}  // namespace p402::http::internal
