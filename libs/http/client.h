// File: libs/http/client.h
// HttpClient: asynchronous HTTP/1.1 client for upstream calls (LLM providers, x402 facilitators,
// tests). TLS through OpenSSL with peer verification against the system CAs by default (SNI and
// host-name checks on), keep-alive connection reuse (bounded idle pool per origin), streaming of
// response bodies as they arrive (chunked decoding included), and four independent timeouts that
// always fire — including the wait for response headers.
//
// Threading: the client owns `io_threads` event-loop threads (default 1); calls are spread over
// them round-robin and each call's callbacks run on its thread, one at a time, never inline inside
// Send(). Callbacks must not block. Every method of HttpClient and ClientCall is thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/http/headers.h"

namespace p402::http {

// A zero duration disables that timeout.
struct ClientTimeouts {
  // DNS + TCP connect + TLS handshake.
  std::chrono::milliseconds connect{10'000};
  // From starting to send the request until the response headers are complete.
  std::chrono::milliseconds headers{60'000};
  // Longest silence between body bytes once the headers arrived.
  std::chrono::milliseconds idle{60'000};
  // The whole call.
  std::chrono::milliseconds total{0};
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // absolute http:// or https:// URL
  // Host and Content-Length are set by the client, User-Agent defaults to "p402", hop-by-hop
  // fields are dropped. Bodies are not decompressed: do not send Accept-Encoding.
  Headers headers;
  std::string body;
  ClientTimeouts timeouts;
  // Larger response bodies fail the call with ResourceExhausted. Unlimited when unset.
  std::optional<uint64_t> max_response_body_bytes;
};

struct ClientCallbacks {
  // Once, when the final (non-1xx) response head is complete.
  std::function<void(int status, Headers headers)> on_headers;
  // For each piece of the (de-chunked) body, as it arrives. The view is valid during the call.
  std::function<void(std::string_view chunk)> on_body;
  // Exactly once, last. OK when the whole response was received. Otherwise:
  //   InvalidArgument   bad URL or request;
  //   DeadlineExceeded  a timeout fired; the message names it ("connect timeout", "headers
  //                     timeout", "idle timeout", "total timeout") and its duration;
  //   Unavailable       DNS/connect/TLS failure, connection reset or closed early, malformed
  //                     response;
  //   ResourceExhausted the body exceeded max_response_body_bytes;
  //   Cancelled         ClientCall::Cancel() or the client was destroyed.
  std::function<void(absl::Status status)> on_complete;
};

// Handle of one call in flight.
class ClientCall {
 public:
  virtual ~ClientCall() = default;
  // Aborts the call: the connection is closed (never returned to the pool) and on_complete
  // receives Cancelled unless it already ran. After Cancel() returns no further on_headers or
  // on_body callbacks start. Thread-safe, idempotent, safe after the client is destroyed.
  virtual void Cancel() = 0;
};

struct ClientOptions {
  int io_threads = 1;  // clamped to [1, 16]
  // Idle keep-alive connections kept per origin (scheme://host:port) per io thread.
  size_t max_idle_per_origin = 64;
  // Idle connections older than this are not reused.
  std::chrono::milliseconds idle_connection_ttl{30'000};
  // Verify server certificates (system CA store + ca_files). Turn off only in tests.
  bool verify_peer = true;
  std::vector<std::string> ca_files;  // extra PEM CA files, e.g. a test's self-signed cert
};

// A fully buffered response (Fetch).
struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

struct ClientStats {
  uint64_t requests = 0;
  uint64_t connections_opened = 0;
  uint64_t connections_reused = 0;
};

class HttpClient {
 public:
  // Errors: InvalidArgument when a CA file cannot be loaded.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(ClientOptions options = {});
  // Cancels calls still in flight (on_complete(Cancelled)), then joins the io threads. Must not
  // be called from one of this client's callbacks.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a call. Callbacks run on an io thread; the returned handle may be dropped without
  // cancelling the call.
  std::shared_ptr<ClientCall> Send(ClientRequest request, ClientCallbacks callbacks);

  // Buffers the whole response; `done` runs once on an io thread. Non-2xx statuses are not
  // errors here (the status is in the response).
  std::shared_ptr<ClientCall> Fetch(ClientRequest request,
                                    std::function<void(absl::StatusOr<ClientResponse>)> done);
  // Blocking Fetch for tests and tools. FailedPrecondition when called on this client's io thread.
  absl::StatusOr<ClientResponse> FetchBlocking(ClientRequest request);

  ClientStats stats() const;

 private:
  class Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace p402::http
