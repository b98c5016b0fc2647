// File: services/settlement/adapters/json_rpc_client.h
// JsonRpcClient: blocking JSON-RPC 2.0 calls to an EVM node (eth_call, eth_sendRawTransaction, ...)
// over libs/http HttpClient::FetchBlocking, one POST per call. Used by EvmChainGateway only; the
// settlement core never sees JSON-RPC. Also the hex "quantity" helpers of the Ethereum JSON-RPC
// API ("0x1a", no leading zeros).
//
// Error model:
//   - transport failure (connect refused, timeout, reset), HTTP 429 or 5xx, another non-2xx
//     answer without a JSON-RPC error body, or a malformed response -> Unavailable ("unknown
//     whether it arrived");
//   - a JSON-RPC error object -> FailedPrecondition whose message is "<method>: <error.message>",
//     followed by ": <reason>" when error.data carries Error(string) revert bytes whose reason the
//     message does not already contain (geth/anvil put the bytes in data, ganache in data.result).
// Thread-safety: Call/CallRaw are thread-safe (the HttpClient is); they block the calling thread
// and must not run on the HttpClient's own io threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/evm/eip712.h"
#include "libs/http/client.h"
#include "libs/json/value.h"

namespace p402::settlement {

struct JsonRpcOptions {
  std::string url;  // http:// or https:// endpoint
  // Whole call (connect + request + response); connect has its own, shorter bound.
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds connect_timeout{3'000};
  uint64_t max_response_bytes = 16u << 20;
};

// A JSON-RPC error object, as the node sent it.
struct JsonRpcError {
  int64_t code = 0;
  std::string message;
  // Decoded Error(string) from error.data, when present.
  std::optional<std::string> revert_reason;
};

// The answer of one call: exactly one of result / error is meaningful.
struct JsonRpcOutcome {
  json::Value result;  // "result" member (may be JSON null, e.g. an unknown receipt)
  std::optional<JsonRpcError> error;
};

class JsonRpcClient {
 public:
  // `http` must outlive this client.
  JsonRpcClient(http::HttpClient& http, JsonRpcOptions options)
      : http_(http), options_(std::move(options)) {}
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  // Calls `method` with `params` (a JSON array). Returns the result; a JSON-RPC error becomes
  // FailedPrecondition (see the file comment); transport problems are Unavailable.
  absl::StatusOr<json::Value> Call(std::string_view method, json::Value params);

  // Like Call, but a JSON-RPC error is returned as data (outcome.error) instead of a status, for
  // callers that treat it as an answer (a revert in eth_call, "already known" on a broadcast).
  // Only transport / protocol problems are errors (Unavailable).
  absl::StatusOr<JsonRpcOutcome> CallRaw(std::string_view method, json::Value params);

  // The status Call returns for `error` of `method`.
  static absl::Status ErrorStatus(std::string_view method, const JsonRpcError& error);

  const std::string& url() const { return options_.url; }

 private:
  http::HttpClient& http_;
  const JsonRpcOptions options_;
  std::atomic<uint64_t> next_id_{1};
};

// JSON-RPC hex quantities. ParseQuantity: "0x" + 1..16 hex digits (leading zeros tolerated) ->
// uint64; ParseQuantity256: up to 64 digits. InvalidArgument otherwise (empty "0x" included).
absl::StatusOr<uint64_t> ParseQuantity(const json::Value& value);
absl::StatusOr<evm::Uint256> ParseQuantity256(const json::Value& value);
// "0x" + minimal lowercase hex ("0x0" for zero).
std::string ToQuantity(uint64_t value);
std::string ToQuantity(const evm::Uint256& value);

}  // namespace p402::settlement
