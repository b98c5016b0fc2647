// HealthTracker (services/router/core/health_tracker.h): pure, driven by a fake clock.
#include <atomic>

#include "catch2/catch.hpp"
#include "services/router/core/health_tracker.h"

namespace p402::router {
namespace {

using std::chrono::milliseconds;

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::time_point(milliseconds(kEpochMs + offset_ms_.load()));
  }
  std::chrono::steady_clock::time_point MonotonicNow() const override {
    return std::chrono::steady_clock::time_point(milliseconds(1'000'000 + offset_ms_.load()));
  }
  void Advance(milliseconds d) { offset_ms_ += d.count(); }
  int64_t UnixMs() const { return kEpochMs + offset_ms_.load(); }

 private:
  static constexpr int64_t kEpochMs = 1'735'689'600'000;  // 2025-01-01
  std::atomic<int64_t> offset_ms_{0};
};

AttemptObservation Obs(v1::AttemptOutcome outcome, int64_t latency_ms = 100,
                       int64_t retry_after_ms = 0) {
  return {.provider = "openai",
          .model = "gpt-4o",
          .outcome = outcome,
          .latency_ms = latency_ms,
          .retry_after_ms = retry_after_ms};
}

TEST_CASE("health: nothing known means healthy", "[unit][health]") {
  FakeClock clock;
  HealthTracker health(clock);
  ModelHealth h = health.Get("openai", "gpt-4o");
  CHECK_FALSE(h.latency_p95_ms.has_value());
  CHECK(h.error_rate == 0.0);
  CHECK_FALSE(h.circuit_open);
  CHECK(h.rate_limited_until_unix_ms == 0);
  CHECK(health.AdmitCall("openai"));
  CHECK(health.Circuit("openai") == CircuitState::kClosed);
}

TEST_CASE("health: latency p95 over a ring buffer and an EWMA", "[unit][health]") {
  FakeClock clock;
  HealthTracker health(clock, {.latency_samples = 20, .latency_ewma_alpha = 0.5});
  for (int i = 1; i <= 20; ++i) health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS, i * 10));
  // Nearest rank: ceil(0.95 * 20) = 19th smallest = 190.
  CHECK(health.Get("openai", "gpt-4o").latency_p95_ms == 190);
  // Failures carry no latency sample.
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SERVER_ERROR, 100'000));
  CHECK(health.Get("openai", "gpt-4o").latency_p95_ms == 190);
  // The ring keeps the last 20: twenty fast samples replace every slow one.
  for (int i = 0; i < 20; ++i) health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS, 5));
  CHECK(health.Get("openai", "gpt-4o").latency_p95_ms == 5);
  REQUIRE(health.LatencyEwmaMs("openai", "gpt-4o").has_value());
  CHECK(*health.LatencyEwmaMs("openai", "gpt-4o") == Approx(5.0).margin(0.01));
  CHECK_FALSE(health.Get("openai", "gpt-4o-mini").latency_p95_ms.has_value());
}

TEST_CASE("health: error rate over a sliding window", "[unit][health]") {
  FakeClock clock;
  HealthTracker health(clock, {.error_window = milliseconds(60'000), .error_buckets = 6});
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_TIMEOUT));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_CONNECT_ERROR));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS));
  CHECK(health.Get("openai", "gpt-4o").error_rate == Approx(0.5));
  // 429 and cancellations are not counted as calls.
  health.Record(Obs(v1::ATTEMPT_OUTCOME_RATE_LIMITED));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_CANCELLED));
  CHECK(health.Get("openai", "gpt-4o").error_rate == Approx(0.5));
  clock.Advance(milliseconds(30'000));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS));
  CHECK(health.Get("openai", "gpt-4o").error_rate == Approx(2.0 / 5.0));
  // The first four leave the window; the last success stays.
  clock.Advance(milliseconds(40'000));
  CHECK(health.Get("openai", "gpt-4o").error_rate == 0.0);
  health.Record(Obs(v1::ATTEMPT_OUTCOME_INVALID_RESPONSE));
  CHECK(health.Get("openai", "gpt-4o").error_rate == Approx(0.5));
  clock.Advance(milliseconds(61'000));
  CHECK(health.Get("openai", "gpt-4o").error_rate == 0.0);
}

TEST_CASE("health: 429 sets rate-limited-until from Retry-After", "[unit][health]") {
  FakeClock clock;
  HealthTracker health(clock);
  health.Record(Obs(v1::ATTEMPT_OUTCOME_RATE_LIMITED, 50, 30'000));
  CHECK(health.Get("openai", "gpt-4o").rate_limited_until_unix_ms == clock.UnixMs() + 30'000);
  CHECK(health.Get("openai", "gpt-4o-mini").rate_limited_until_unix_ms == 0);
  clock.Advance(milliseconds(30'001));
  CHECK(health.Get("openai", "gpt-4o").rate_limited_until_unix_ms == 0);
  // Without Retry-After: the default period.
  health.Record(Obs(v1::ATTEMPT_OUTCOME_RATE_LIMITED, 50, 0));
  CHECK(health.Get("openai", "gpt-4o").rate_limited_until_unix_ms == clock.UnixMs() + 1'000);
  // A 429 is no failure for the circuit.
  CHECK(health.Circuit("openai") == CircuitState::kClosed);
}

TEST_CASE("health: circuit breaker opens, half-opens with one trial, closes", "[unit][health]") {
  FakeClock clock;
  HealthTracker health(clock,
                       {.circuit_failure_threshold = 3, .circuit_cooldown = milliseconds(10'000)});
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SERVER_ERROR));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SERVER_ERROR));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS));  // resets the run
  health.Record(Obs(v1::ATTEMPT_OUTCOME_SERVER_ERROR));
  health.Record(Obs(v1::ATTEMPT_OUTCOME_TIMEOUT));
  CHECK(health.Circuit("openai") == CircuitState::kClosed);
  health.Record({.provider = "openai",
                 .model = "gpt-4o-mini",
                 .outcome = v1::ATTEMPT_OUTCOME_CONNECT_ERROR});  // any model of the provider
  CHECK(health.Circuit("openai") == CircuitState::kOpen);
  CHECK(health.Get("openai", "gpt-4o").circuit_open);
  CHECK(health.Get("openai", "o3").circuit_open);
  CHECK_FALSE(health.Get("anthropic", "claude-haiku-4-5").circuit_open);
  CHECK_FALSE(health.AdmitCall("openai"));
  CHECK(health.AdmitCall("anthropic"));

  clock.Advance(milliseconds(10'000));
  CHECK(health.Circuit("openai") == CircuitState::kHalfOpen);
  CHECK_FALSE(health.Get("openai", "gpt-4o").circuit_open);  // the trial is available
  REQUIRE(health.AdmitCall("openai"));                       // ... and taken
  CHECK_FALSE(health.AdmitCall("openai"));                   // only one
  CHECK(health.Get("openai", "gpt-4o").circuit_open);

  SECTION("a failed trial re-opens for another cool-down") {
    health.Record(Obs(v1::ATTEMPT_OUTCOME_SERVER_ERROR));
    CHECK(health.Circuit("openai") == CircuitState::kOpen);
    clock.Advance(milliseconds(9'999));
    CHECK_FALSE(health.AdmitCall("openai"));
    clock.Advance(milliseconds(1));
    CHECK(health.AdmitCall("openai"));
  }
  SECTION("a successful trial closes") {
    health.Record(Obs(v1::ATTEMPT_OUTCOME_SUCCESS));
    CHECK(health.Circuit("openai") == CircuitState::kClosed);
    CHECK(health.AdmitCall("openai"));
    CHECK(health.AdmitCall("openai"));
    CHECK_FALSE(health.Get("openai", "gpt-4o").circuit_open);
  }
  SECTION("a cancelled trial admits another") {
    health.Record(Obs(v1::ATTEMPT_OUTCOME_CANCELLED));
    CHECK(health.Circuit("openai") == CircuitState::kHalfOpen);
    CHECK(health.AdmitCall("openai"));
    CHECK_FALSE(health.AdmitCall("openai"));
  }
  SECTION("a trial that never reports back is forgotten after the cool-down") {
    clock.Advance(milliseconds(10'000));
    CHECK(health.AdmitCall("openai"));
  }
  auto circuits = health.Circuits();
  REQUIRE(circuits.size() == 1);
  CHECK(circuits[0].first == "openai");
}

}  // namespace
}  // namespace p402::router
