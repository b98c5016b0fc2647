// File: libs/http/internal/server_session.h
// Internal to libs/http (includes Asio/Beast). One accepted connection of an HttpServer: reads and
// parses requests (RequestParser, explicit limits), dispatches them to the Handler, and writes the
// responses queued in ResponseSlots in request order. All members are touched only on the
// connection's io thread; SessionResponseWriter is the thread-safe door into it.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "libs/http/handler.h"
#include "libs/http/internal/io_gate.h"
#include "libs/http/internal/parsers.h"
#include "libs/http/internal/stream.h"
#include "libs/http/server.h"

namespace p402::http::internal {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

class Session;

// Per-server state shared by all sessions; owned by HttpServer::Impl and outlives every session.
struct ServerShared {
  ServerOptions options;
  ssl::context* tls = nullptr;  // null for plain HTTP
  std::shared_ptr<IoGate> gate = std::make_shared<IoGate>();

  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_rejected{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> protocol_errors{0};

  absl::Mutex mu;
  std::unordered_set<Session*> sessions ABSL_GUARDED_BY(mu);
  bool shutting_down ABSL_GUARDED_BY(mu) = false;

  // The response for an error the server answers itself.
  Response ErrorResponse(int status, std::string_view code, std::string_view message) const;
};

enum class WriterOp { kSend, kStartStream, kWrite, kFinish, kAbort, kAbandon };

// One response's queue, in request order inside its session. `pieces`, `state`, `keep_alive` are
// touched only on the session thread; the rest is thread-safe.
class ResponseSlot {
 public:
  enum class State { kPending, kStreaming, kComplete };

  ResponseSlot(bool keep_alive, bool head_only, int version)
      : keep_alive(keep_alive), head_only(head_only), version(version),
        close_connection(!keep_alive) {}

  // Marks the response undeliverable and runs the OnClose callback once. Session thread.
  void MarkClosed();
  void SetOnClose(std::function<void()> callback);
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  const bool keep_alive;  // what the head says (immutable: writers read it on any thread)
  const bool head_only;   // HEAD request: heads only, no body bytes
  const int version;      // 10 or 11
  // Session thread only.
  std::vector<std::string> pieces;
  State state = State::kPending;
  bool close_connection;  // close after this response (may become true later, e.g. abandon)
  std::atomic<size_t> buffered{0};     // queued, unwritten bytes
  std::atomic<int> posted_pending{0};  // writer ops posted and not yet applied

 private:
  std::mutex mu_;
  std::function<void()> on_close_;
  std::atomic<bool> closed_{false};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerShared& shared, asio::io_context& ioc, tcp::socket socket);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::io_context::executor_type executor() const { return executor_; }

  // All of the following run on the session's io thread.
  void Start();
  // Server shutdown: stop reading, close when the pending responses are written.
  void BeginShutdown();
  // Server shutdown deadline passed: abort now.
  void ForceClose() { Abort("server shutdown"); }
  // Applies one writer operation (pieces `a` and `b` are already serialised).
  void Apply(const std::shared_ptr<ResponseSlot>& slot, WriterOp op, std::string a,
             std::string b);

 private:
  void OnHandshake(const beast_error_code& ec);
  void StartRead();
  void OnRead(const beast_error_code& ec, size_t n);
  void ParseBuffered();
  bool CheckExpect();  // false when the request was refused (417)
  void Dispatch();
  void RespondError(int status, std::string_view code, std::string_view message);
  void FlushWrites();
  void OnWrite(const beast_error_code& ec);
  void ArmTimer();
  void OnTimer(uint64_t generation, const beast_error_code& ec);
  void OnReadTimeout();
  void Abort(std::string_view why);
  void CloseGracefully();
  void Linger();
  void MaybeFinishClose();
  void Detach();
  bool RequestInProgress() const;

  ServerShared& shared_;
  asio::io_context::executor_type executor_;
  Stream stream_;
  asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string remote_;

  std::deque<std::shared_ptr<ResponseSlot>> slots_;  // request order; front = oldest
  std::vector<std::string> inflight_;                 // pieces being written
  std::vector<std::pair<std::shared_ptr<ResponseSlot>, size_t>> inflight_bytes_;
  std::vector<asio::const_buffer> iov_;
  std::string interim_;  // "100 Continue", written before the next response

  SteadyTime read_deadline_ = SteadyTime::max();
  SteadyTime write_deadline_ = SteadyTime::max();
  SteadyTime request_deadline_ = SteadyTime::max();
  SteadyTime timer_expiry_ = SteadyTime::max();
  uint64_t timer_generation_ = 0;
  bool timer_armed_ = false;

  bool started_ = false;
  bool handshaking_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool read_paused_ = false;    // pipeline full
  bool stop_parsing_ = false;   // no more requests on this connection (reads only watch for EOF)
  bool close_after_write_ = false;
  bool shutting_down_ = false;
  bool in_parse_loop_ = false;
  bool read_timed_out_ = false;
  bool closed_ = false;         // no more application I/O (maybe lingering)
  bool lingering_ = false;
  bool detached_ = false;
};

}  // namespace p402::http::internal
