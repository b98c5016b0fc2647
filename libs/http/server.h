// File: libs/http/server.h
// HttpServer: the asynchronous HTTP/1.1 (optionally TLS) server under the edge, the admin
// listeners and the mock provider. Sessions only do I/O (Beast advanced-server style): read and
// parse requests with explicit limits and timeouts, hand a Request to the Handler, and write the
// answers back in request order (bounded pipelining). Beast and Asio stay in the .cc files.
//
// Threading: `io_threads` threads, each running its own event loop; every connection lives on one
// of them, so a connection's state needs no locks. Handlers run on that thread and must not block.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/http/handler.h"
#include "libs/http/response.h"

namespace p402::http {

struct ServerTlsOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
};

struct ServerOptions {
  // "host:port"; port 0 picks a free port (see HttpServer::port()). IPv6 as "[::1]:0".
  std::string listen = "127.0.0.1:0";
  int io_threads = 2;  // clamped to [1, 64]
  // Largest accepted request body; larger ones get 413 (Beast's 1 MiB default never applies).
  uint64_t body_limit_bytes = 4 * 1024 * 1024;
  // Largest accepted request line + header block; larger ones get 431.
  uint32_t header_limit_bytes = 16 * 1024;
  // From the first byte of a request to its last; on expiry 408 and the connection closes.
  std::chrono::milliseconds read_timeout{30'000};
  // A keep-alive connection with no request in progress and no response pending is closed after
  // this long.
  std::chrono::milliseconds idle_timeout{60'000};
  // A socket write (one batch of queued response bytes) that does not complete within this is
  // treated as a dead client: the connection is aborted and OnClose callbacks fire.
  std::chrono::milliseconds write_timeout{30'000};
  // Requests parsed ahead of their responses on one connection; reading pauses beyond this.
  // Clamped to [1, 64].
  int max_pipelined_requests = 8;
  // Connections beyond this are answered 503 and closed.
  int max_connections = 10'000;
  // Per-response limit of queued, unwritten bytes (see ResponseWriter::Write).
  size_t max_stream_buffer_bytes = 8 * 1024 * 1024;
  // Shutdown() waits this long for in-flight responses before aborting them.
  std::chrono::milliseconds shutdown_timeout{5'000};
  // HTTPS when set.
  std::optional<ServerTlsOptions> tls;
  // Required.
  std::shared_ptr<Handler> handler;
  // Optional: builds the responses for errors the server answers itself (status 400, 408, 413,
  // 417, 431, 500, 503). `code` is a short machine code such as "body_too_large". When unset the
  // body is OpenAiErrorBody(message, "invalid_request_error" (or "server_error" for 5xx), code).
  std::function<Response(int status, std::string_view code, std::string_view message)>
      error_response;
};

// Counters since start (monotonic except connections_active).
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_active = 0;
  uint64_t connections_rejected = 0;  // shed with 503 (max_connections)
  uint64_t requests = 0;              // requests handed to the handler
  uint64_t protocol_errors = 0;       // requests answered by the server itself (400/408/413/...)
};

class HttpServer {
 public:
  // Binds, starts the io threads and begins accepting. Errors: InvalidArgument (bad listen
  // address, missing handler, unreadable TLS cert/key), Unavailable (bind/listen failed, e.g.
  // address in use).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(ServerOptions options);

  // Shuts down (see Shutdown).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the real one when listening on port 0).
  int port() const;
  // "host:port" actually bound, e.g. "127.0.0.1:41234".
  std::string address() const;
  ServerStats stats() const;

  // Stops accepting, closes idle connections, lets in-flight responses finish for up to
  // shutdown_timeout, aborts the rest (their OnClose callbacks fire), then joins the io threads.
  // Writers used after this are no-ops. Idempotent; blocks; must not be called from an io thread.
  void Shutdown();

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::http
