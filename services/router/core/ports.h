// File: services/router/core/ports.h
// Interfaces the router core needs from the outside world. The core never measures anything
// itself: the server's health tracker (fed by every provider response and by probes) implements
// HealthView; time comes from libs/common/clock.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace p402::router {

// Live health of one provider/model, as seen by the server's tracker.
struct ModelHealth {
  // Recent p95 time to first token (or full response for non-streamed calls), ms; nullopt when
  // there is no live data yet (the planner then uses the catalog's typical latency).
  std::optional<int64_t> latency_p95_ms;
  // Recent share of failed calls, in [0, 1] (values outside are clamped by the planner).
  double error_rate = 0.0;
  // Circuit breaker open: the candidate is disqualified (CIRCUIT_OPEN).
  bool circuit_open = false;
  // The provider answered 429 with Retry-After: rate limited until this time (Unix ms); 0 = not.
  int64_t rate_limited_until_unix_ms = 0;
};

// Read-only health snapshot source. Implementations must be thread-safe and cheap (called once per
// candidate per request, on the request path, without I/O).
class HealthView {
 public:
  virtual ~HealthView() = default;
  // Health of `model` on `provider`; a default ModelHealth when nothing is known.
  virtual ModelHealth Get(std::string_view provider, std::string_view model) const = 0;
};

// A HealthView that knows nothing (every candidate healthy, catalog latency). Stateless.
class NoHealthData final : public HealthView {
 public:
  ModelHealth Get(std::string_view, std::string_view) const override { return {}; }
};

// The view price quotes are planned with (Quote, the x402 offers): only whether a candidate can
// be called at all (circuit open) passes through; live latency, error rates and 429 windows do
// not. A quote must not move between a client's 402 and its paid retry just because the last
// few calls were a little faster somewhere (a moved price matches no offer and the payment is
// refused). The request itself is still routed with the live view, within the paid spend limit.
class PricingHealthView final : public HealthView {
 public:
  explicit PricingHealthView(const HealthView& live) : live_(live) {}
  ModelHealth Get(std::string_view provider, std::string_view model) const override {
    ModelHealth h;
    h.circuit_open = live_.Get(provider, model).circuit_open;
    return h;
  }

 private:
  const HealthView& live_;
};

}  // namespace p402::router
