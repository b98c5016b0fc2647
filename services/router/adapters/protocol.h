// File: services/router/adapters/protocol.h
// Provider wire-protocol translation, shared part: the HTTP request an adapter produces, parsed
// answers and errors, the stream-decoder interface, and dispatch by catalog protocol
// ("openai", "anthropic"). Pure translation with libs/json: no sockets, no clocks. The HTTP
// executor (server side) sends ProviderHttpRequest, feeds SSE events (libs/http SseParser) to a
// StreamDecoder, and turns non-2xx bodies into ProviderError.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/json/value.h"
#include "p402/v1/chat.pb.h"
#include "services/router/core/catalog.h"

namespace p402::router {

struct ProviderHttpRequest {
  std::string method = "POST";
  // Full URL: provider base_url + path (+ "?key=..." for query-key auth).
  std::string url;
  // The path appended to base_url, e.g. "/chat/completions".
  std::string path;
  // Lower-case names; includes content-type, accept, auth and the provider's default headers.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // True when the body asks for an SSE stream.
  bool stream = false;

  // Value of header `name` (lower-case), nullptr when absent.
  const std::string* Header(std::string_view name) const;
};

// A provider's error answer, reduced to what may be logged and shown.
struct ProviderError {
  // Provider error type or code ("rate_limit_error", "invalid_request_error", ...), or
  // "http_<status>" when the body has none.
  std::string type;
  // Short human-readable message (<= kMaxErrorMessage bytes, whitespace collapsed).
  std::string message;
};
inline constexpr size_t kMaxErrorMessage = 300;

struct ParsedCompletion {
  v1::ChatCompletion completion;
  // False when the provider sent no usage: counts are 0 and the executor must estimate them
  // (and set usage.estimated).
  bool usage_reported = false;
};

// What a stream decoder learned; complete once done().
struct StreamSummary {
  std::string id;
  std::string model;
  std::string system_fingerprint;
  int64_t created = 0;   // Unix seconds; 0 when the provider sent none (Anthropic)
  v1::TokenUsage usage;  // normalised (see core/cost.h); valid when usage_reported
  bool usage_reported = false;
  std::string finish_reason;  // of choice 0, OpenAI vocabulary
  // Bytes of content, refusal and tool-call arguments delivered so far (for token estimates
  // while metering, before usage arrives).
  int64_t delivered_chars = 0;
  // True once a delta with content, refusal or a tool call was produced ("first token").
  bool first_token = false;
};

// Decodes one provider stream. Not thread-safe (one per stream).
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Feeds one SSE event (`event` = the "event:" field, may be empty) and appends the deltas it
  // produces to `out`. Events after done() are ignored. Errors: Unavailable with reason
  // "provider_error" for an in-stream error event (details in error()); InvalidArgument with
  // reason "invalid_response" for data that is not the protocol's JSON.
  virtual absl::Status OnEvent(std::string_view event, std::string_view data,
                               std::vector<v1::ChatDelta>& out) = 0;
  // True after the protocol's end marker ([DONE] / message_stop).
  virtual bool done() const = 0;
  virtual const StreamSummary& summary() const = 0;
  // The in-stream provider error, if one arrived.
  virtual const std::optional<ProviderError>& error() const = 0;
};

// Builds the provider request for `chat` on `model` (served by `provider`), authenticated with
// `api_key` (may be empty for keyless local servers). Errors: InvalidArgument when the request
// cannot be expressed in the protocol (bad embedded JSON, unsupported part); Unimplemented for a
// protocol or auth style without an adapter.
absl::StatusOr<ProviderHttpRequest> BuildProviderRequest(const v1::ChatRequest& chat,
                                                         const ModelEntry& model,
                                                         const ProviderInfo& provider,
                                                         std::string_view api_key);
// Parses a 2xx non-stream body. Errors: InvalidArgument reason "invalid_response"; Unimplemented.
absl::StatusOr<ParsedCompletion> ParseProviderResponse(std::string_view protocol,
                                                       std::string_view body);
// Parses a non-2xx body (any bytes; never fails).
ProviderError ParseProviderError(std::string_view protocol, int http_status, std::string_view body);
// nullptr for a protocol without an adapter.
std::unique_ptr<StreamDecoder> MakeStreamDecoder(std::string_view protocol);

// Helpers shared by the adapters.
namespace protocol_internal {
// Parses a JSON value embedded in a proto string field; InvalidArgument naming `field`.
absl::StatusOr<json::Value> ParseEmbedded(std::string_view text, std::string_view field);
// Adds the auth header (or query key) for `provider` to `req`. Unimplemented for sigv4.
absl::Status AddAuth(const ProviderInfo& provider, std::string_view api_key,
                     ProviderHttpRequest& req);
// Collapses whitespace and cuts to kMaxErrorMessage bytes (not inside a UTF-8 sequence).
std::string ShortMessage(std::string_view text);
// Error reported when a body is not what the protocol promises.
absl::Status InvalidResponse(std::string_view what);
// Number member as int64 (integral doubles accepted); 0 when absent, negative-double, too large
// or of another type.
int64_t IntOr0(const json::Value* obj, std::string_view key);
// A JSON integer (or integral double in [0, 9e18)) as int64; nullopt otherwise. Never aborts.
std::optional<int64_t> SafeInt(const json::Value& v);
}  // namespace protocol_internal

}  // namespace p402::router
