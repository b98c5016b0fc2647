// File: libs/http/internal/response_writer_impl.h
// Internal to libs/http. The ResponseWriter handed to handlers by a Session: serialises on the
// calling thread (so heavy formatting does not load the io thread), then applies the result on the
// session's io thread — inline when already there and nothing is queued ahead, otherwise by
// posting, which keeps operations in call order. Holds the session weakly: once the connection is
// gone every call is a cheap no-op, and the gate stops posts once the server is torn down.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "libs/http/handler.h"
#include "libs/http/internal/io_thread.h"
#include "libs/http/internal/server_session.h"

namespace p402::http::internal {

class SessionResponseWriter final : public ResponseWriter {
 public:
  SessionResponseWriter(std::weak_ptr<Session> session, asio::io_context::executor_type executor,
                        std::shared_ptr<IoGate> gate, std::shared_ptr<ResponseSlot> slot)
      : session_(std::move(session)),
        executor_(executor),
        io_context_id_(&executor.context()),
        gate_(std::move(gate)),
        slot_(std::move(slot)) {}
  ~SessionResponseWriter() override;

  void Send(Response response) override;
  void StartStream(int status, Headers headers) override;
  void Write(std::string chunk) override;
  void Finish() override;
  void Abort() override;
  void OnClose(std::function<void()> callback) override { slot_->SetOnClose(std::move(callback)); }
  bool closed() const override { return slot_->closed(); }
  size_t buffered_bytes() const override {
    return slot_->buffered.load(std::memory_order_relaxed);
  }

 private:
  enum class State { kNew, kStreaming, kDone };
  // Hands one operation to the session. Called with `lock` held; may release it.
  void Submit(std::unique_lock<std::mutex>& lock, WriterOp op, std::string a, std::string b);

  const std::weak_ptr<Session> session_;
  const asio::io_context::executor_type executor_;  // used only while gate_ says alive
  const void* const io_context_id_;
  const std::shared_ptr<IoGate> gate_;
  const std::shared_ptr<ResponseSlot> slot_;

  std::mutex mu_;
  State state_ = State::kNew;
  bool wrote_chunk_ = false;
};

}  // namespace p402::http::internal
