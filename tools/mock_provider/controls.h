// File: tools/mock_provider/controls.h
// Per-request behaviour controls of the mock provider and their three sources, highest first:
//   (a) request headers    x-mock-status: 500, x-mock-latency-ms: 200, ...
//   (b) directives in the last user message text
//                          [[mock:status=500]]  [[mock:openai:status=429,retry_after=1]]
//   (c) the control endpoint queue (POST /__mock/behavior {"status":500,"count":3}).
// See tools/mock_provider/README.md for the reference table.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/http/headers.h"
#include "libs/json/value.h"

namespace p402::mock_provider {

struct Controls {
  std::optional<int> status;          // answer with this HTTP status (errors in the API's shape)
  std::optional<int> retry_after;     // seconds, for Retry-After (429 defaults to 1)
  std::optional<int> latency_ms;      // delay before the response headers
  std::optional<int> ttft_ms;         // stream: delay before the first event
  std::optional<int> token_delay_ms;  // stream: delay between content chunks
  std::optional<int> tokens;          // completion length in tokens (words)
  std::optional<int> cut_after;       // stream: close abruptly after K content chunks
  std::optional<bool> hang;           // never answer
  std::optional<int> cached_tokens;   // prompt tokens reported as served from cache

  // Fills every unset field from `lower` (a lower-priority source).
  void FillFrom(const Controls& lower);
  bool empty() const;
};

// Sets one control by its canonical key (status, retry_after, latency_ms, ttft_ms,
// token_delay_ms, tokens, cut_after, hang, cached_tokens). Errors: InvalidArgument for an unknown
// key or an out-of-range / non-integer value.
absl::Status SetControl(Controls& c, std::string_view key, std::string_view value);

// Controls from x-mock-* headers. Errors: InvalidArgument naming the bad header.
absl::StatusOr<Controls> ControlsFromHeaders(const http::Headers& headers);

// Controls from every [[mock:...]] directive in `text` that applies to `provider` (no provider
// named, or the same name, case-insensitive). Later directives override earlier ones.
// Errors: InvalidArgument naming the bad directive.
absl::StatusOr<Controls> ControlsFromDirectives(std::string_view text, std::string_view provider);

// Controls from a control-endpoint JSON object (same keys, plus "count"). Errors:
// InvalidArgument.
struct QueuedControls {
  Controls controls;
  int count = 1;  // requests left; 0 = until cleared
};
absl::StatusOr<QueuedControls> QueuedControlsFromJson(const json::Value& body);

// FIFO of queued controls. Thread-safe.
class ControlQueue {
 public:
  void Push(QueuedControls q);
  // Takes one use of the front entry (Controls{} when empty).
  Controls Pop();
  void Clear();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::deque<QueuedControls> queue_;
};

}  // namespace p402::mock_provider
