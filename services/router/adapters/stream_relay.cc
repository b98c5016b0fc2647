#include "services/router/adapters/stream_relay.h"

#include <utility>

#include "libs/common/status_util.h"
#include "libs/openai/token_estimate.h"

namespace p402::router {
namespace {

v1::TokenUsage InputUsage(int64_t tokens) {
  v1::TokenUsage u;
  u.set_input_tokens(tokens);
  return u;
}

// Largest cut <= `at` that does not split a UTF-8 sequence (0 when there is none).
size_t Utf8Cut(std::string_view s, size_t at) {
  size_t cut = std::min(at, s.size());
  while (cut > 0 && cut < s.size() && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return cut;
}

}  // namespace

void DeliveredTokenCounter::Add(std::string_view text) {
  open_.append(text.data(), text.size());
  while (open_.size() >= kBlockBytes) {
    size_t cut = Utf8Cut(open_, kBlockBytes);
    if (cut == 0) cut = open_.size();  // a pathological run of continuation bytes
    closed_tokens_ += openai::EstimateTextTokens(std::string_view(open_).substr(0, cut));
    open_.erase(0, cut);
  }
  open_tokens_ = open_.empty() ? 0 : openai::EstimateTextTokens(open_);
}

int64_t DeliveredTokenCounter::TotalWith(std::string_view text) const {
  if (open_.size() + text.size() < kBlockBytes) {
    std::string joined;
    joined.reserve(open_.size() + text.size());
    joined.append(open_).append(text.data(), text.size());
    return closed_tokens_ + openai::EstimateTextTokens(joined);
  }
  DeliveredTokenCounter copy = *this;
  copy.Add(text);
  return copy.total();
}

std::string DeltaText(const v1::ChatDelta& delta) {
  std::string text = delta.content();
  text += delta.refusal();
  for (const v1::ToolCall& tc : delta.tool_calls()) {
    text += tc.name();
    text += tc.arguments();
  }
  return text;
}

absl::StatusOr<std::unique_ptr<StreamRelay>> StreamRelay::Create(std::string_view protocol,
                                                                 const Prices& prices,
                                                                 int64_t estimated_input_tokens,
                                                                 MicroUsd spend_limit,
                                                                 int64_t max_output_tokens) {
  std::unique_ptr<StreamDecoder> decoder = MakeStreamDecoder(protocol);
  if (decoder == nullptr) {
    return absl::UnimplementedError("no stream decoder for protocol \"" + std::string(protocol) +
                                    "\"");
  }
  return std::unique_ptr<StreamRelay>(
      new StreamRelay(std::move(decoder), prices, estimated_input_tokens, spend_limit,
                      std::max<int64_t>(max_output_tokens, 0)));
}

StreamRelay::StreamRelay(std::unique_ptr<StreamDecoder> decoder, const Prices& prices,
                         int64_t estimated_input_tokens, MicroUsd spend_limit,
                         int64_t max_output_tokens)
    : decoder_(std::move(decoder)),
      meter_(prices, InputUsage(std::max<int64_t>(estimated_input_tokens, 0)), spend_limit),
      estimated_input_tokens_(std::max<int64_t>(estimated_input_tokens, 0)),
      max_output_tokens_(max_output_tokens) {}

void StreamRelay::ApplyProviderInput() {
  const v1::TokenUsage& u = decoder_->summary().usage;
  if (u.input_tokens() <= 0 || u.input_tokens() == applied_input_tokens_) return;
  // The provider's own input count (Anthropic message_start) replaces the estimate, so the
  // output the client may still receive is priced against the real input cost.
  v1::TokenUsage input;
  input.set_input_tokens(u.input_tokens());
  input.set_cached_input_tokens(u.cached_input_tokens());
  input.set_cache_write_input_tokens(u.cache_write_input_tokens());
  meter_.SetInputUsage(input);
  applied_input_tokens_ = u.input_tokens();
}

absl::Status StreamRelay::Release(v1::ChatDelta delta, std::vector<v1::ChatDelta>& out) {
  const std::string text = DeltaText(delta);
  const bool token = !text.empty() || delta.tool_calls_size() > 0;
  if (!token) {
    if (first_token_) {
      out.push_back(std::move(delta));
    } else {
      held_.push_back(std::move(delta));
    }
    return absl::OkStatus();
  }
  if (!text.empty()) {
    const int64_t after = CapOutput(delivered_.TotalWith(text));
    if (meter_.WouldExceed(after)) {
      return WithReason(ResourceExhausted("the spend limit of the request was reached after " +
                                          std::to_string(delivered_output_tokens()) +
                                          " output tokens (estimated)"),
                        "budget_exhausted");
    }
    delivered_.Add(text);
  }
  if (!first_token_) {
    first_token_ = true;
    for (v1::ChatDelta& h : held_) out.push_back(std::move(h));
    held_.clear();
  }
  out.push_back(std::move(delta));
  return absl::OkStatus();
}

absl::Status StreamRelay::Feed(std::string_view bytes, std::vector<v1::ChatDelta>& out) {
  if (stopped_) return absl::OkStatus();
  events_.clear();
  absl::Status parsed = parser_.Feed(bytes, events_);
  if (!parsed.ok()) {
    stopped_ = true;
    return protocol_internal::InvalidResponse(MessageOf(parsed));
  }
  std::vector<v1::ChatDelta> produced;
  for (const http::SseEvent& ev : events_) {
    if (decoder_->done()) break;
    produced.clear();
    absl::Status s = decoder_->OnEvent(ev.event, ev.data, produced);
    ApplyProviderInput();
    for (v1::ChatDelta& d : produced) {
      absl::Status released = Release(std::move(d), out);
      if (!released.ok()) {
        stopped_ = true;
        return released;
      }
    }
    if (!s.ok()) {
      stopped_ = true;
      return s;
    }
  }
  return absl::OkStatus();
}

std::vector<v1::ChatDelta> StreamRelay::TakeHeld() {
  std::vector<v1::ChatDelta> held = std::move(held_);
  held_.clear();
  return held;
}

v1::TokenUsage StreamRelay::Usage(bool complete) const {
  const StreamSummary& s = decoder_->summary();
  if (complete && s.usage_reported) return s.usage;
  v1::TokenUsage u;
  if (s.usage.input_tokens() > 0) {
    u.set_input_tokens(s.usage.input_tokens());
    u.set_cached_input_tokens(s.usage.cached_input_tokens());
    u.set_cache_write_input_tokens(s.usage.cache_write_input_tokens());
  } else {
    u.set_input_tokens(estimated_input_tokens_);
  }
  u.set_output_tokens(delivered_output_tokens());
  u.set_estimated(true);
  return u;
}

}  // namespace p402::router
