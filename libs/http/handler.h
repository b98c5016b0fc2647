// File: libs/http/handler.h
// The boundary between the HTTP server (I/O only) and the application: the server parses one
// request, calls Handler::Handle on an io thread, and the handler answers through the
// ResponseWriter, now or later, from any thread. Both are interfaces so handlers can be tested with
// a fake writer and no socket.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "libs/http/headers.h"
#include "libs/http/request.h"
#include "libs/http/response.h"

namespace p402::http {

// How a handler answers one request. Every method is thread-safe and non-blocking: the server's
// implementation hands the work to the connection's io thread. Exactly one of Send() or
// StartStream()+Write()*+Finish() should be used; calls out of that order are ignored. Responses
// on a keep-alive connection leave in request order (pipelining), whatever order handlers finish
// in.
//
// If the last reference to a writer is dropped before the response is complete, the server
// answers 500 (or, mid-stream, ends the connection) so the client never hangs.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;

  // Sends a complete response. Content-Length is set from `response.body`; hop-by-hop headers
  // (Content-Length, Transfer-Encoding, Connection) given by the caller are replaced.
  virtual void Send(Response response) = 0;

  // Starts a streamed response (chunked transfer-encoding on HTTP/1.1; on HTTP/1.0 the body is
  // delimited by closing the connection). Typical headers: Content-Type: text/event-stream.
  virtual void StartStream(int status, Headers headers) = 0;
  // Queues one piece of a streamed body (empty chunks are ignored). Flow-control policy: bytes
  // queued but not yet accepted by the client's socket count in buffered_bytes(); when they
  // exceed ServerOptions::max_stream_buffer_bytes the client is considered stuck, the connection
  // is aborted and the OnClose callback fires. Producers that can slow down should watch
  // buffered_bytes().
  virtual void Write(std::string chunk) = 0;
  // Ends a streamed response.
  virtual void Finish() = 0;
  // Gives up on the response: bytes already queued are still written, then the connection closes
  // without completing the message (a stream loses its terminating chunk; a response not yet
  // started gets no bytes at all), so the client sees a truncated response. Used to relay an
  // upstream failure mid-stream. OnClose callbacks do not fire for this.
  virtual void Abort() = 0;

  // Registers `callback`, called at most once, on an io thread, if the response can no longer be
  // delivered (client disconnected, write timeout, stream buffer overflow, server shutdown)
  // before it completed. If that already happened, the callback runs immediately on the calling
  // thread. A later registration replaces an earlier one. It must not block.
  virtual void OnClose(std::function<void()> callback) = 0;
  // True once the response can no longer be delivered (see OnClose); further writes are dropped.
  virtual bool closed() const = 0;
  // Response bytes queued and not yet written to the socket.
  virtual size_t buffered_bytes() const = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on an io thread for each complete request. Must not block; may answer through
  // `writer` later, from any thread. Exceptions escaping Handle are caught and answered with 500.
  virtual void Handle(Request request, std::shared_ptr<ResponseWriter> writer) = 0;
};

// Adapts a callable to a Handler.
using HandlerFunction = std::function<void(Request, std::shared_ptr<ResponseWriter>)>;
std::shared_ptr<Handler> MakeHandler(HandlerFunction fn);

}  // namespace p402::http
