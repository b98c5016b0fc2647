#include "tools/mock_provider/controls.h"

#include <charconv>

#include "libs/common/status_util.h"

namespace p402::mock_provider {
namespace {

constexpr int kMaxDelayMs = 10 * 60 * 1000;
constexpr int kMaxTokens = 1'000'000;

absl::StatusOr<int> ParseInt(std::string_view key, std::string_view v, int lo, int hi) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  int out = 0;
  auto res = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || res.ec != std::errc() || res.ptr != v.data() + v.size() || out < lo ||
      out > hi) {
    return InvalidArgument("mock control " + std::string(key) + ": expected an integer in [" +
                           std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                           std::string(v) + "'");
  }
  return out;
}

absl::StatusOr<bool> ParseBool(std::string_view key, std::string_view v) {
  if (v.empty() || v == "1" || v == "true" || v == "yes") return true;
  if (v == "0" || v == "false" || v == "no") return false;
  return InvalidArgument("mock control " + std::string(key) + ": expected true/false, got '" +
                         std::string(v) + "'");
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return http::EqualsIgnoreCase(a, b); }

}  // namespace

void Controls::FillFrom(const Controls& lower) {
  if (!status) status = lower.status;
  if (!retry_after) retry_after = lower.retry_after;
  if (!latency_ms) latency_ms = lower.latency_ms;
  if (!ttft_ms) ttft_ms = lower.ttft_ms;
  if (!token_delay_ms) token_delay_ms = lower.token_delay_ms;
  if (!tokens) tokens = lower.tokens;
  if (!cut_after) cut_after = lower.cut_after;
  if (!hang) hang = lower.hang;
  if (!cached_tokens) cached_tokens = lower.cached_tokens;
}

bool Controls::empty() const {
  return !status && !retry_after && !latency_ms && !ttft_ms && !token_delay_ms && !tokens &&
         !cut_after && !hang && !cached_tokens;
}

absl::Status SetControl(Controls& c, std::string_view key, std::string_view value) {
  auto set_int = [&](std::optional<int>& field, int lo, int hi) -> absl::Status {
    auto v = ParseInt(key, value, lo, hi);
    if (!v.ok()) return v.status();
    field = *v;
    return absl::OkStatus();
  };
  if (key == "status") return set_int(c.status, 100, 599);
  if (key == "retry_after") return set_int(c.retry_after, 0, 86400);
  if (key == "latency_ms") return set_int(c.latency_ms, 0, kMaxDelayMs);
  if (key == "ttft_ms") return set_int(c.ttft_ms, 0, kMaxDelayMs);
  if (key == "token_delay_ms") return set_int(c.token_delay_ms, 0, kMaxDelayMs);
  if (key == "tokens") return set_int(c.tokens, 0, kMaxTokens);
  if (key == "cut_after") return set_int(c.cut_after, 0, kMaxTokens);
  if (key == "cached_tokens") return set_int(c.cached_tokens, 0, 1'000'000'000);
  if (key == "hang") {
    auto v = ParseBool(key, value);
    if (!v.ok()) return v.status();
    c.hang = *v;
    return absl::OkStatus();
  }
  return InvalidArgument("unknown mock control '" + std::string(key) + "'");
}

absl::StatusOr<Controls> ControlsFromHeaders(const http::Headers& headers) {
  static constexpr struct {
    std::string_view header;
    std::string_view key;
  } kMap[] = {{"x-mock-status", "status"},
              {"x-mock-retry-after", "retry_after"},
              {"x-mock-latency-ms", "latency_ms"},
              {"x-mock-ttft-ms", "ttft_ms"},
              {"x-mock-token-delay-ms", "token_delay_ms"},
              {"x-mock-tokens", "tokens"},
              {"x-mock-cut-after", "cut_after"},
              {"x-mock-hang", "hang"},
              {"x-mock-cached-tokens", "cached_tokens"}};
  Controls c;
  for (const auto& [name, value] : headers) {
    if (name.size() < 7 || !EqualsNoCase(name.substr(0, 7), "x-mock-")) {
      continue;
    }
    bool known = false;
    for (const auto& m : kMap) {
      if (EqualsNoCase(name, m.header)) {
        known = true;
        absl::Status s = SetControl(c, m.key, value);
        if (!s.ok()) {
          return InvalidArgument("header " + name + ": " + std::string(s.message()));
        }
      }
    }
    if (!known) {
      return InvalidArgument("unknown mock header " + name);
    }
  }
  return c;
}

absl::StatusOr<Controls> ControlsFromDirectives(std::string_view text,
                                                std::string_view provider) {
  Controls out;
  size_t pos = 0;
  while ((pos = text.find("[[mock:", pos)) != std::string_view::npos) {
    size_t end = text.find("]]", pos);
    if (end == std::string_view::npos) {
      return InvalidArgument("unterminated mock directive");
    }
    std::string_view body = text.substr(pos + 7, end - pos - 7);
    std::string_view directive = text.substr(pos, end + 2 - pos);
    pos = end + 2;
    // An optional "provider:" prefix: a first segment without '='.
    size_t colon = body.find(':');
    size_t eq = body.find('=');
    if (colon != std::string_view::npos && (eq == std::string_view::npos || colon < eq)) {
      std::string_view target = body.substr(0, colon);
      body = body.substr(colon + 1);
      if (!EqualsNoCase(target, provider)) {
        continue;
      }
    }
    Controls c;
    while (!body.empty()) {
      size_t comma = body.find(',');
      std::string_view item = body.substr(0, comma);
      body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      if (item.empty()) continue;
      size_t ieq = item.find('=');
      std::string_view key = item.substr(0, ieq);
      while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
      std::string_view value =
          ieq == std::string_view::npos ? std::string_view() : item.substr(ieq + 1);
      absl::Status s = SetControl(c, key, value);
      if (!s.ok()) {
        return InvalidArgument("directive " + std::string(directive) + ": " +
                               std::string(s.message()));
      }
    }
    c.FillFrom(out);  // later directives win
    out = c;
  }
  return out;
}

absl::StatusOr<QueuedControls> QueuedControlsFromJson(const json::Value& body) {
  if (!body.is_object()) {
    return InvalidArgument("behavior must be a JSON object");
  }
  QueuedControls q;
  for (const auto& [key, value] : body.AsObject()) {
    if (key == "count") {
      if (!value.is_integer() || value.AsInt() < 0 || value.AsInt() > 1'000'000'000) {
        return InvalidArgument("count must be a non-negative integer");
      }
      q.count = static_cast<int>(value.AsInt());
      continue;
    }
    std::string text;
    if (value.is_bool()) {
      text = value.AsBool() ? "true" : "false";
    } else if (value.is_integer()) {
      text = std::to_string(value.AsInt());
    } else {
      return InvalidArgument("behavior field " + key + " must be an integer or boolean");
    }
    absl::Status s = SetControl(q.controls, key, text);
    if (!s.ok()) return s;
  }
  return q;
}

void ControlQueue::Push(QueuedControls q) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.push_back(std::move(q));
}

Controls ControlQueue::Pop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (queue_.empty()) {
    return {};
  }
  QueuedControls& front = queue_.front();
  Controls c = front.controls;
  if (front.count > 0 && --front.count == 0) {
    queue_.pop_front();
  }
  return c;
}

void ControlQueue::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
}

size_t ControlQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace p402::mock_provider
