#include "services/router/core/health_tracker.h"

#include <algorithm>
#include <cmath>

namespace p402::router {
namespace {

enum class Kind { kFailure, kSuccess, kRateLimited, kNeutral };

Kind KindOf(v1::AttemptOutcome outcome) {
  switch (outcome) {
    case v1::ATTEMPT_OUTCOME_SUCCESS:
    case v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED:
    case v1::ATTEMPT_OUTCOME_CLIENT_ERROR:
      return Kind::kSuccess;
    case v1::ATTEMPT_OUTCOME_RATE_LIMITED:
      return Kind::kRateLimited;
    case v1::ATTEMPT_OUTCOME_CANCELLED:
      return Kind::kNeutral;
    default:
      return Kind::kFailure;
  }
}

bool HasLatencySample(v1::AttemptOutcome outcome) {
  return outcome == v1::ATTEMPT_OUTCOME_SUCCESS ||
         outcome == v1::ATTEMPT_OUTCOME_BUDGET_EXHAUSTED ||
         outcome == v1::ATTEMPT_OUTCOME_STREAM_INTERRUPTED;
}

}  // namespace

std::string_view CircuitStateName(CircuitState state) {
  switch (state) {
    case CircuitState::kClosed:
      return "closed";
    case CircuitState::kHalfOpen:
      return "half_open";
    case CircuitState::kOpen:
      return "open";
  }
  return "closed";
}

HealthTracker::HealthTracker(const Clock& clock, HealthConfig config)
    : clock_(clock), config_([&] {
        // Keep the arithmetic below well defined whatever the caller passed.
        config.latency_samples = std::max<size_t>(config.latency_samples, 1);
        if (!(config.latency_ewma_alpha > 0 && config.latency_ewma_alpha <= 1)) {
          config.latency_ewma_alpha = 0.2;
        }
        config.error_buckets = std::max(config.error_buckets, 1);
        if (config.error_window.count() < config.error_buckets) {
          config.error_window = std::chrono::milliseconds(config.error_buckets);
        }
        config.circuit_failure_threshold = std::max(config.circuit_failure_threshold, 1);
        return config;
      }()) {}

int64_t HealthTracker::MonotonicMs(SteadyTime t) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

CircuitState HealthTracker::StateOf(const ProviderState& p, SteadyTime now) const {
  if (!p.open) return CircuitState::kClosed;
  if (now - p.opened_at < config_.circuit_cooldown) return CircuitState::kOpen;
  return CircuitState::kHalfOpen;
}

bool HealthTracker::TrialLive(const ProviderState& p, SteadyTime now) const {
  return p.trial && now - p.trial_at < config_.circuit_cooldown;
}

void HealthTracker::CountCall(ModelState& m, SteadyTime now, bool failed) {
  const int64_t width = config_.error_window.count() / config_.error_buckets;
  if (m.buckets.empty()) m.buckets.resize(static_cast<size_t>(config_.error_buckets));
  const int64_t now_ms = MonotonicMs(now);
  const int64_t slot = now_ms >= 0 ? now_ms / width : (now_ms - width + 1) / width;
  const int64_t start = slot * width;
  const int64_t n = static_cast<int64_t>(m.buckets.size());
  Bucket& b = m.buckets[static_cast<size_t>((slot % n + n) % n)];
  if (b.start_ms != start) b = Bucket{start, 0, 0};
  ++b.calls;
  if (failed) ++b.failures;
}

double HealthTracker::ErrorRate(const ModelState& m, SteadyTime now) const {
  const int64_t now_ms = MonotonicMs(now);
  const int64_t oldest = now_ms - config_.error_window.count();
  int64_t calls = 0;
  int64_t failures = 0;
  for (const Bucket& b : m.buckets) {
    if (b.start_ms < 0 || b.start_ms <= oldest) continue;
    calls += b.calls;
    failures += b.failures;
  }
  return calls == 0 ? 0.0 : static_cast<double>(failures) / static_cast<double>(calls);
}

ModelHealth HealthTracker::Get(std::string_view provider, std::string_view model) const {
  ModelHealth h;
  const SteadyTime now = clock_.MonotonicNow();
  absl::MutexLock lock(&mu_);
  auto p = providers_.find(provider);
  if (p == providers_.end()) return h;
  CircuitState state = StateOf(p->second, now);
  h.circuit_open = state == CircuitState::kOpen ||
                   (state == CircuitState::kHalfOpen && TrialLive(p->second, now));
  auto m = p->second.models.find(model);
  if (m == p->second.models.end()) return h;
  const ModelState& ms = m->second;
  if (!ms.latencies.empty()) {
    std::vector<int64_t> sorted = ms.latencies;
    // Nearest-rank p95: the smallest sample with at least 95% of the samples at or below it.
    size_t rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(sorted.size())));
    rank = std::clamp<size_t>(rank, 1, sorted.size());
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<ptrdiff_t>(rank - 1),
                     sorted.end());
    h.latency_p95_ms = sorted[rank - 1];
  }
  h.error_rate = ErrorRate(ms, now);
  if (ms.rate_limited_until_unix_ms > UnixMillis(clock_.Now())) {
    h.rate_limited_until_unix_ms = ms.rate_limited_until_unix_ms;
  }
  return h;
}

bool HealthTracker::AdmitCall(std::string_view provider) {
  const SteadyTime now = clock_.MonotonicNow();
  absl::MutexLock lock(&mu_);
  auto p = providers_.find(provider);
  if (p == providers_.end()) return true;
  switch (StateOf(p->second, now)) {
    case CircuitState::kClosed:
      return true;
    case CircuitState::kOpen:
      return false;
    case CircuitState::kHalfOpen:
      if (TrialLive(p->second, now)) return false;
      p->second.trial = true;
      p->second.trial_at = now;
      return true;
  }
  return true;
}

void HealthTracker::Record(const AttemptObservation& a) {
  const SteadyTime now = clock_.MonotonicNow();
  const int64_t now_unix_ms = UnixMillis(clock_.Now());
  absl::MutexLock lock(&mu_);
  auto p = providers_.find(a.provider);
  if (p == providers_.end()) {
    p = providers_.emplace(std::string(a.provider), ProviderState{}).first;
  }
  ProviderState& ps = p->second;
  auto m = ps.models.find(a.model);
  if (m == ps.models.end()) m = ps.models.emplace(std::string(a.model), ModelState{}).first;
  ModelState& ms = m->second;

  if (HasLatencySample(a.outcome) && a.latency_ms >= 0) {
    if (ms.latencies.size() < config_.latency_samples) {
      ms.latencies.push_back(a.latency_ms);
    } else {
      ms.latencies[ms.next_latency] = a.latency_ms;
    }
    ms.next_latency = (ms.next_latency + 1) % config_.latency_samples;
    const double sample = static_cast<double>(a.latency_ms);
    ms.ewma = ms.ewma ? *ms.ewma + config_.latency_ewma_alpha * (sample - *ms.ewma) : sample;
  }

  switch (KindOf(a.outcome)) {
    case Kind::kFailure: {
      CountCall(ms, now, /*failed=*/true);
      ++ps.consecutive_failures;
      CircuitState state = StateOf(ps, now);
      if (state == CircuitState::kHalfOpen ||
          (state == CircuitState::kClosed &&
           ps.consecutive_failures >= config_.circuit_failure_threshold)) {
        ps.open = true;  // (re)open: the trial failed, or too many failures in a row
        ps.opened_at = now;
        ps.trial = false;
      }
      break;
    }
    case Kind::kRateLimited: {
      int64_t wait = a.retry_after_ms > 0 ? a.retry_after_ms : config_.default_rate_limit_ms;
      ms.rate_limited_until_unix_ms = std::max(ms.rate_limited_until_unix_ms, now_unix_ms + wait);
      ps.consecutive_failures = 0;
      ps.open = false;
      ps.trial = false;
      break;
    }
    case Kind::kSuccess:
      CountCall(ms, now, /*failed=*/false);
      ps.consecutive_failures = 0;
      ps.open = false;
      ps.trial = false;
      break;
    case Kind::kNeutral:
      ps.trial = false;  // a cancelled trial proves nothing: admit another one
      break;
  }
}

CircuitState HealthTracker::Circuit(std::string_view provider) const {
  const SteadyTime now = clock_.MonotonicNow();
  absl::MutexLock lock(&mu_);
  auto p = providers_.find(provider);
  return p == providers_.end() ? CircuitState::kClosed : StateOf(p->second, now);
}

std::optional<double> HealthTracker::LatencyEwmaMs(std::string_view provider,
                                                   std::string_view model) const {
  absl::MutexLock lock(&mu_);
  auto p = providers_.find(provider);
  if (p == providers_.end()) return std::nullopt;
  auto m = p->second.models.find(model);
  if (m == p->second.models.end()) return std::nullopt;
  return m->second.ewma;
}

std::vector<std::pair<std::string, CircuitState>> HealthTracker::Circuits() const {
  const SteadyTime now = clock_.MonotonicNow();
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, CircuitState>> out;
  out.reserve(providers_.size());
  for (const auto& [id, p] : providers_) out.emplace_back(id, StateOf(p, now));
  return out;
}

}  // namespace p402::router
