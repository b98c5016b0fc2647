#include "services/edge/core/settler.h"

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/log.h"
#include "libs/common/status_util.h"

namespace p402::edge {
namespace {

// What policy said for certain; anything else (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL from the
// transport, ...) may succeed later and is retried.
bool Definitive(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kInvalidArgument:
      return true;
    default:
      return false;
  }
}

int64_t Millis(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// One Commit or Release until it settles: a copy of the request and the retry counters. Calls
// never overlap (the next one starts from the previous one's answer), so it needs no lock.
struct Attempt {
  std::variant<v1::CommitRequest, v1::ReleaseRequest> request;
  std::chrono::steady_clock::time_point first_call;
  std::chrono::milliseconds next_delay;
  int calls = 0;

  bool commit() const { return std::holds_alternative<v1::CommitRequest>(request); }
  std::string_view op() const { return commit() ? "commit" : "release"; }
  const v1::RequestMeta& meta() const {
    return std::visit([](const auto& r) -> const v1::RequestMeta& { return r.meta(); }, request);
  }
  const std::string& reservation_id() const {
    return std::visit([](const auto& r) -> const std::string& { return r.reservation_id(); },
                      request);
  }
  // The ids (never the key) and, for a commit, the amount an operator would have to charge.
  void Describe(log::Line& line) const {
    line.RequestId(meta().request_id())
        .Field("op", op())
        .Field("reservation_id", reservation_id())
        .Field("calls", calls);
    if (const auto* c = std::get_if<v1::CommitRequest>(&request)) {
      line.Field("tenant_id", c->meta().tenant_id())
          .Field("actual_micro_usd", c->actual_micro_usd());
    }
  }
};

}  // namespace

// Shared by the Settler and every pending callback, so an RPC answer arriving after the
// pipeline is gone finds `stopped` instead of freed memory.
struct Settler::Core : std::enable_shared_from_this<Core> {
  Core(PolicyClient& p, Scheduler& s, EdgeMetrics& m, const Clock& c, SettleRetryOptions o)
      : policy(p), scheduler(s), metrics(m), clock(c), options(o) {}

  void Start(std::variant<v1::CommitRequest, v1::ReleaseRequest> request);
  void Send(std::shared_ptr<Attempt> a);
  void OnAnswer(const std::shared_ptr<Attempt>& a, const absl::Status& status);
  void Retry(uint64_t key);
  void Stop();

  // Used only while !stopped (or by a Send counted in `sending`).
  PolicyClient& policy;
  Scheduler& scheduler;
  EdgeMetrics& metrics;
  const Clock& clock;
  const SettleRetryOptions options;

  absl::Mutex mu;
  bool stopped ABSL_GUARDED_BY(mu) = false;
  // Retry calls being sent from a scheduler callback (Stop waits for them).
  int sending ABSL_GUARDED_BY(mu) = 0;
  // Retries waiting on the scheduler, by a key of ours (what Stop reports as dropped).
  uint64_t next_key ABSL_GUARDED_BY(mu) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Attempt>> waiting ABSL_GUARDED_BY(mu);
};

void Settler::Core::Start(std::variant<v1::CommitRequest, v1::ReleaseRequest> request) {
  auto a = std::make_shared<Attempt>();
  a->request = std::move(request);
  a->first_call = clock.MonotonicNow();
  a->next_delay = options.initial;
  Send(std::move(a));
}

void Settler::Core::Send(std::shared_ptr<Attempt> a) {
  ++a->calls;
  // The callback owns the attempt and the core: the exchange that started it may be gone.
  auto done = [self = shared_from_this(), a](const absl::Status& status) {
    self->OnAnswer(a, status);
  };
  if (const auto* c = std::get_if<v1::CommitRequest>(&a->request)) {
    policy.Commit(*c, [done](absl::StatusOr<v1::CommitResponse> r) { done(r.status()); });
  } else {
    policy.Release(std::get<v1::ReleaseRequest>(a->request),
                   [done](absl::StatusOr<v1::ReleaseResponse> r) { done(r.status()); });
  }
}

void Settler::Core::OnAnswer(const std::shared_ptr<Attempt>& a, const absl::Status& status) {
  if (status.ok()) {
    if (a->calls > 1) {
      log::Line line = P402_LOG(kInfo, "settled after retries");
      a->Describe(line);
    }
    return;
  }
  absl::MutexLock lock(&mu);
  if (stopped) {
    // The pipeline may be gone: log only. The reservation expires by its TTL; a commit is lost.
    log::Line line = P402_LOG(kWarn, "settle call failed after shutdown; not retried");
    a->Describe(line);
    line.Field("error", MessageOf(status));
    return;
  }
  if (Definitive(status)) {
    metrics.FinalizeFailed();
    log::Line line = P402_LOG(kWarn, "settle call refused by policy");
    a->Describe(line);
    line.Field("error", MessageOf(status));
    return;
  }
  auto elapsed = clock.MonotonicNow() - a->first_call;
  std::chrono::milliseconds delay = a->next_delay;
  if (elapsed + delay > options.budget) {
    metrics.CountSettleFailed(a->op());
    log::Line line = P402_LOG(kWarn, "settle call given up after retries");
    a->Describe(line);
    line.Field("elapsed_ms", Millis(elapsed)).Field("error", MessageOf(status));
    return;
  }
  a->next_delay = std::min(delay * 2, options.max_delay);
  metrics.CountSettleRetry(a->op());
  if (a->calls == 1) {
    // Once per request at warn; an outage would otherwise log every retry of every request.
    log::Line line = P402_LOG(kWarn, "settle call failed; retrying");
    a->Describe(line);
    line.Field("retry_in_ms", static_cast<int64_t>(delay.count()))
        .Field("error", MessageOf(status));
  } else {
    log::Line line = P402_LOG(kDebug, "settle call failed again; retrying");
    a->Describe(line);
    line.Field("retry_in_ms", static_cast<int64_t>(delay.count()))
        .Field("error", MessageOf(status));
  }
  uint64_t key = next_key++;
  waiting.emplace(key, a);
  // Under `mu`: Stop cannot return while a retry is being scheduled, so the scheduler is never
  // used after Stop. RunAfter never runs the callback inline.
  scheduler.RunAfter(delay, [weak = weak_from_this(), key] {
    if (auto self = weak.lock()) self->Retry(key);
  });
}

void Settler::Core::Retry(uint64_t key) {
  std::shared_ptr<Attempt> a;
  {
    absl::MutexLock lock(&mu);
    auto it = waiting.find(key);
    if (stopped || it == waiting.end()) {
      return;
    }
    a = std::move(it->second);
    waiting.erase(it);
    ++sending;
  }
  // Not under `mu`: a client may answer inline, and OnAnswer takes `mu`.
  Send(std::move(a));
  absl::MutexLock lock(&mu);
  --sending;
}

void Settler::Core::Stop() {
  absl::flat_hash_map<uint64_t, std::shared_ptr<Attempt>> dropped;
  {
    absl::MutexLock lock(&mu);
    if (stopped) {
      return;
    }
    stopped = true;
    dropped.swap(waiting);
    // A retry being sent uses the policy client; it must be done before the caller tears down.
    mu.Await(absl::Condition(
        +[](Core* c) ABSL_NO_THREAD_SAFETY_ANALYSIS { return c->sending == 0; }, this));
  }
  for (const auto& [key, a] : dropped) {
    metrics.CountSettleFailed(a->op());
    log::Line line = P402_LOG(kWarn, "settle retry dropped at shutdown");
    a->Describe(line);
  }
}

Settler::Settler(PolicyClient& policy, Scheduler& scheduler, EdgeMetrics& metrics,
                 const Clock& clock, SettleRetryOptions options)
    : core_(std::make_shared<Core>(policy, scheduler, metrics, clock, options)) {}

Settler::~Settler() { Stop(); }

void Settler::Commit(v1::CommitRequest request) { core_->Start(std::move(request)); }

void Settler::Release(v1::ReleaseRequest request) { core_->Start(std::move(request)); }

void Settler::Stop() { core_->Stop(); }

}  // namespace p402::edge
