// File: services/router/adapters/stream_relay.h
// StreamRelay: the pure middle of a streamed provider call. Raw body bytes go in (SseParser ->
// the protocol's StreamDecoder); client-ready ChatDeltas come out, metered against the request's
// spend limit (core/cost.h SpendMeter). Deltas before the first token (role, empty content) are
// held back so the executor can send the routing decision first and can still fail over
// invisibly. Output tokens delivered so far are estimated from the delivered text with the
// shared estimator (libs/openai EstimateTextTokens), so a stream whose provider sends usage only
// at the end can still be stopped before it passes the limit. No I/O, no clock; not thread-safe
// (one per provider attempt).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/common/money.h"
#include "libs/http/sse.h"
#include "p402/v1/chat.pb.h"
#include "services/router/adapters/protocol.h"
#include "services/router/core/cost.h"

namespace p402::router {

// Estimated tokens of text delivered piece by piece. EstimateTextTokens rounds up per call, so
// summing per-piece estimates would count a one-word delta as two tokens; instead the text is
// estimated in blocks of up to kBlockBytes (the open block is re-estimated on each Add), which
// bounds the over-count to one token per block. Value type.
class DeliveredTokenCounter {
 public:
  static constexpr size_t kBlockBytes = 256;
  // Adds `text` (any UTF-8 split).
  void Add(std::string_view text);
  // Tokens of everything added so far.
  int64_t total() const { return closed_tokens_ + open_tokens_; }
  // total() after Add(text), without adding it.
  int64_t TotalWith(std::string_view text) const;

 private:
  int64_t closed_tokens_ = 0;
  int64_t open_tokens_ = 0;
  std::string open_;  // the last, not yet closed block
};

// The text a delta delivers (content, refusal, tool-call names and arguments), for metering.
std::string DeltaText(const v1::ChatDelta& delta);

class StreamRelay {
 public:
  // `estimated_input_tokens` prices the input until the provider reports it; `spend_limit` 0 =
  // unlimited. `max_output_tokens` is the output limit the provider was sent (max_tokens), 0 =
  // none: the provider cannot generate more, so the delivered-output estimate (biased upwards,
  // libs/openai token_estimate.h) is capped at it, for metering and for billing a cut stream. A
  // request whose max_tokens already fits the spend limit is therefore never cut on an estimate;
  // the provider stops it and reports the exact usage.
  // Errors: Unimplemented for a protocol without a stream decoder.
  static absl::StatusOr<std::unique_ptr<StreamRelay>> Create(std::string_view protocol,
                                                             const Prices& prices,
                                                             int64_t estimated_input_tokens,
                                                             MicroUsd spend_limit,
                                                             int64_t max_output_tokens = 0);

  // Consumes body bytes and appends the deltas that may go to the client now to `out`: none
  // before the first token; at the first token the held deltas, then that delta; after it every
  // delta. Errors (the relay then ignores further input):
  //   ResourceExhausted reason "budget_exhausted": the next delta would pass the spend limit
  //     (that delta is not delivered; the deltas before it in `out` are);
  //   Unavailable reason "provider_error": an in-stream error event;
  //   InvalidArgument reason "invalid_response": data that is not the protocol's SSE/JSON.
  absl::Status Feed(std::string_view bytes, std::vector<v1::ChatDelta>& out);

  // True once a delta carrying text or a tool call was released to `out`.
  bool first_token() const { return first_token_; }
  // True after the protocol's end marker ([DONE] / message_stop).
  bool done() const { return decoder_->done(); }
  // True when the stream may be treated as complete at end of body: the end marker arrived, or
  // a finish_reason did (some OpenAI-compatible servers omit [DONE]).
  bool complete() const { return done() || !decoder_->summary().finish_reason.empty(); }
  // Deltas held back before the first token (for a stream that ends without one); empties them.
  std::vector<v1::ChatDelta> TakeHeld();

  const StreamSummary& summary() const { return decoder_->summary(); }
  int64_t delivered_output_tokens() const { return CapOutput(delivered_.total()); }
  // Usage to bill: the provider's report when `complete` and reported; otherwise input from the
  // provider (Anthropic message_start) or the estimate, output = delivered estimate, and
  // estimated = true.
  v1::TokenUsage Usage(bool complete) const;

 private:
  StreamRelay(std::unique_ptr<StreamDecoder> decoder, const Prices& prices,
              int64_t estimated_input_tokens, MicroUsd spend_limit, int64_t max_output_tokens);
  int64_t CapOutput(int64_t estimate) const {
    return max_output_tokens_ > 0 ? std::min(estimate, max_output_tokens_) : estimate;
  }
  absl::Status Release(v1::ChatDelta delta, std::vector<v1::ChatDelta>& out);
  void ApplyProviderInput();

  std::unique_ptr<StreamDecoder> decoder_;
  http::SseParser parser_;
  SpendMeter meter_;
  int64_t estimated_input_tokens_;
  int64_t max_output_tokens_;
  int64_t applied_input_tokens_ = -1;
  DeliveredTokenCounter delivered_;
  std::vector<v1::ChatDelta> held_;
  std::vector<http::SseEvent> events_;  // scratch
  bool first_token_ = false;
  bool stopped_ = false;
};

}  // namespace p402::router
