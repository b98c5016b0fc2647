// Edge Commit/Release retries (services/edge/core/settler.h): a call policy could not answer is
// retried off the response path with bounded exponential backoff, on the JSON and stream paths;
// definitive answers are not retried; the budget ends the retries; shutdown never leaves a
// callback pointing at freed memory. Time is virtual (virtual_time.h) except in the last test,
// which drives the production TimerThread.
#include <atomic>
#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"
#include "services/edge/core/chat_pipeline.h"
#include "services/edge/timer_thread.h"
#include "tests/services/edge/virtual_time.h"

namespace p402::edge {
namespace {

using testing::kStartMs;
using testing::ManualScheduler;
using testing::VirtualClock;
using testing::VirtualTime;

constexpr int64_t kCost = 1234;

v1::AuthorizeResponse Allow() {
  v1::AuthorizeResponse a;
  a.set_decision(v1::GUARD_DECISION_ALLOW);
  a.set_tenant_id("t1");
  a.mutable_reservation()->set_id("res_1");
  a.mutable_reservation()->set_amount_micro_usd(1'000'000);
  return a;
}

// Commit and Release answer the scripted errors in order, then OK. Records when each call came.
class FlakyPolicy final : public PolicyClient {
 public:
  explicit FlakyPolicy(const VirtualTime& t) : t_(t) {}

  std::deque<absl::Status> commit_errors;
  std::deque<absl::Status> release_errors;
  // With `hold`, Commit keeps its callback in `held` instead of answering.
  bool hold = false;
  std::vector<Callback<v1::CommitResponse>> held;
  std::vector<v1::CommitRequest> commits;
  std::vector<int64_t> commit_at;  // ms since the test started
  std::vector<v1::ReleaseRequest> releases;
  std::vector<int64_t> release_at;

  void Authorize(const v1::AuthorizeRequest&, Callback<v1::AuthorizeResponse> done) override {
    done(Allow());
  }
  void Commit(const v1::CommitRequest& r, Callback<v1::CommitResponse> done) override {
    commits.push_back(r);
    commit_at.push_back(t_.now_ms - kStartMs);
    if (hold) {
      held.push_back(std::move(done));
      return;
    }
    done(Next(commit_errors, v1::CommitResponse()));
  }
  void Release(const v1::ReleaseRequest& r, Callback<v1::ReleaseResponse> done) override {
    releases.push_back(r);
    release_at.push_back(t_.now_ms - kStartMs);
    done(Next(release_errors, v1::ReleaseResponse()));
  }
  void GetApproval(std::string_view, const v1::GetApprovalRequest&,
                   Callback<v1::GetApprovalResponse> done) override {
    done(absl::UnimplementedError("not used here"));
  }
  void CheckReservation(std::string_view, const v1::CheckReservationRequest&,
                        Callback<v1::CheckReservationResponse> done) override {
    done(absl::UnimplementedError("not used here"));
  }

 private:
  template <typename T>
  static absl::StatusOr<T> Next(std::deque<absl::Status>& errors, T ok) {
    if (errors.empty()) return ok;
    absl::Status s = errors.front();
    errors.pop_front();
    return s;
  }
  const VirtualTime& t_;
};

class NoopStream final : public RouteStream {
 public:
  void Cancel() override {}
};

// Route answers `route_answer`; StreamRoute delivers `events` and `stream_status` inline.
class ScriptedRouter final : public RouterClient {
 public:
  absl::StatusOr<v1::RouteResponse> route_answer;
  std::vector<v1::StreamRouteResponse> events;
  absl::Status stream_status;

  ScriptedRouter() {
    v1::RouteResponse r;
    r.mutable_completion()->mutable_usage()->set_input_tokens(10);
    r.mutable_completion()->mutable_usage()->set_output_tokens(20);
    r.mutable_cost()->set_total_micro_usd(kCost);
    r.mutable_decision()->mutable_chosen()->set_provider("openai");
    r.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
    route_answer = r;
  }
  void Route(const v1::RouteRequest&, Callback<v1::RouteResponse> done) override {
    done(route_answer);
  }
  std::shared_ptr<RouteStream> StreamRoute(const v1::RouteRequest&,
                                           std::shared_ptr<RouteStreamObserver> obs) override {
    for (const auto& e : events) obs->OnEvent(e);
    obs->OnDone(stream_status);
    return std::make_shared<NoopStream>();
  }
  absl::StatusOr<v1::ListModelsResponse> ListModels() override { return v1::ListModelsResponse(); }
};

class RecordingSink final : public ResponseSink {
 public:
  int status = 0;
  bool finished = false;
  std::string events;

  void SendJson(int s, std::string, HeaderList) override { status = s; }
  void StartEventStream(HeaderList) override { status = 200; }
  void WriteEvent(std::string frame) override { events += frame; }
  void Finish() override { finished = true; }
  void OnClientGone(std::function<void()>) override {}
};

v1::ListModelsResponse Models() {
  v1::ListModelsResponse models;
  v1::ModelInfo* m = models.add_models();
  m->mutable_ref()->set_provider("openai");
  m->mutable_ref()->set_model("gpt-4o-mini");
  m->mutable_prices()->set_input_per_mtok_micro_usd(150'000);
  m->mutable_prices()->set_output_per_mtok_micro_usd(600'000);
  m->set_max_output_tokens(16384);
  m->set_tier("budget");
  m->set_available(true);
  return models;
}

constexpr char kChat[] =
    R"({"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";
constexpr char kStream[] =
    R"({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]})";

v1::StreamRouteResponse Decision() {
  v1::StreamRouteResponse e;
  e.mutable_decision()->mutable_chosen()->set_provider("openai");
  e.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  return e;
}

v1::StreamRouteResponse Delta(std::string text) {
  v1::StreamRouteResponse e;
  e.mutable_delta()->set_content(std::move(text));
  return e;
}

v1::StreamRouteResponse End() {
  v1::StreamRouteResponse e;
  e.mutable_end()->mutable_usage()->set_output_tokens(2);
  e.mutable_end()->mutable_cost()->set_total_micro_usd(kCost);
  *e.mutable_end()->mutable_decision() = Decision().decision();
  return e;
}

struct Fixture {
  explicit Fixture(PipelineOptions options = {})
      : pipeline(std::make_unique<ChatPipeline>(policy, router, [this] { return catalog; },
                                                metrics, clock, scheduler, options)) {}

  std::shared_ptr<RecordingSink> Run(std::string body) {
    auto sink = std::make_shared<RecordingSink>();
    pipeline->Handle({.request_id = "req_1",
                      .api_key = "sk-test",
                      .body = std::move(body),
                      .received = std::chrono::steady_clock::now()},
                     sink);
    return sink;
  }
  double Metric(const std::string& sample) {
    return metrics::FindSample(registry.RenderPrometheusText(), sample).value_or(-1);
  }
  double Retries(std::string_view op) {
    return Metric("p402_edge_settle_retries_total{op=\"" + std::string(op) + "\"}");
  }
  double GivenUp(std::string_view op) {
    return Metric("p402_edge_settle_failed_total{op=\"" + std::string(op) + "\"}");
  }
  double Refused() { return Metric("p402_edge_reservation_finalize_failed_total"); }

  VirtualTime time;
  VirtualClock clock{time};
  ManualScheduler scheduler{time};
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  FlakyPolicy policy{time};
  ScriptedRouter router;
  std::shared_ptr<const CatalogView> catalog = std::make_shared<CatalogView>(Models());
  std::unique_ptr<ChatPipeline> pipeline;
};

void CheckSameCommit(const v1::CommitRequest& c) {
  CHECK(c.reservation_id() == "res_1");
  CHECK(c.actual_micro_usd() == kCost);
  CHECK(c.meta().request_id() == "req_1");
  CHECK(c.meta().tenant_id() == "t1");
  CHECK(c.model().model() == "gpt-4o-mini");
}

TEST_CASE("a Commit policy cannot answer is retried with backoff until it lands",
          "[unit][settle]") {
  Fixture f;
  f.policy.commit_errors = {Unavailable("policy store down"), Unavailable("policy store down")};
  auto sink = f.Run(kChat);
  // The client has its answer before any retry, and nothing keeps the exchange (or its sink)
  // alive: the retry owns a copy of the request only.
  CHECK(sink->status == 200);
  CHECK(sink.use_count() == 1);
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.scheduler.pending() == 1);
  CHECK(f.Retries("commit") == 1);

  f.scheduler.Advance(499);
  CHECK(f.policy.commits.size() == 1);
  f.scheduler.Advance(1);
  CHECK(f.policy.commits.size() == 2);
  f.scheduler.Advance(999);
  CHECK(f.policy.commits.size() == 2);
  f.scheduler.Advance(1);
  REQUIRE(f.policy.commits.size() == 3);
  CHECK(f.policy.commit_at == std::vector<int64_t>{0, 500, 1500});
  for (const auto& c : f.policy.commits) CheckSameCommit(c);
  CHECK(f.policy.commits[2].usage().output_tokens() == 20);

  CHECK(f.scheduler.pending() == 0);
  f.scheduler.Advance(3'600'000);
  CHECK(f.policy.commits.size() == 3);
  CHECK(f.Retries("commit") == 2);
  CHECK(f.GivenUp("commit") == 0);
  CHECK(f.Refused() == 0);
  CHECK(f.Retries("release") == 0);
  CHECK(f.policy.releases.empty());
}

TEST_CASE("a definitive answer from policy is not retried", "[unit][settle]") {
  Fixture f;
  SECTION("unknown reservation") { f.policy.commit_errors = {NotFound("reservation not found")}; }
  SECTION("reservation released") {
    f.policy.commit_errors = {WithReason(FailedPrecondition("released"), "reservation_released")};
  }
  SECTION("invalid request") { f.policy.commit_errors = {InvalidArgument("bad reservation_id")}; }
  auto sink = f.Run(kChat);
  CHECK(sink->status == 200);
  CHECK(f.scheduler.pending() == 0);
  f.scheduler.Advance(3'600'000);
  CHECK(f.policy.commits.size() == 1);
  CHECK(f.Retries("commit") == 0);
  CHECK(f.GivenUp("commit") == 0);
  CHECK(f.Refused() == 1);
}

TEST_CASE("retries stop after the budget, past the reservation TTL, and are counted as given up",
          "[unit][settle]") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.policy.commit_errors.push_back(DeadlineExceeded("timeout"));
  f.Run(kChat);
  f.scheduler.Advance(3'600'000);
  // 0.5 s doubling to the 30 s cap; the last retry starts within 10 minutes of the first call.
  const std::vector<int64_t>& at = f.policy.commit_at;
  REQUIRE(at.size() == 25);
  CHECK(std::vector<int64_t>(at.begin(), at.begin() + 8) ==
        std::vector<int64_t>{0, 500, 1500, 3500, 7500, 15500, 31500, 61500});
  for (size_t i = 7; i < at.size(); ++i) CHECK(at[i] - at[i - 1] == 30'000);
  CHECK(at.back() == 571'500);  // the next one (601.5 s) would be past the budget
  CHECK(at.back() > 300'000);   // policy still charges a commit after the 5-minute TTL
  for (const auto& c : f.policy.commits) CheckSameCommit(c);
  CHECK(f.scheduler.pending() == 0);
  CHECK(f.Retries("commit") == 24);
  CHECK(f.GivenUp("commit") == 1);
  CHECK(f.GivenUp("release") == 0);
  CHECK(f.Refused() == 0);
}

TEST_CASE("a Release policy cannot answer is retried too", "[unit][settle]") {
  SECTION("until it lands") {
    Fixture f;
    f.router.route_answer = Unavailable("every provider failed");
    f.policy.release_errors = {DeadlineExceeded("policy slow")};
    auto sink = f.Run(kChat);
    CHECK(sink->status == 503);
    REQUIRE(f.policy.releases.size() == 1);
    f.scheduler.Advance(500);
    REQUIRE(f.policy.releases.size() == 2);
    CHECK(f.policy.release_at == std::vector<int64_t>{0, 500});
    for (const auto& r : f.policy.releases) {
      CHECK(r.reservation_id() == "res_1");
      CHECK(r.reason() == "provider_failed");
      CHECK(r.meta().request_id() == "req_1");
    }
    f.scheduler.Advance(3'600'000);
    CHECK(f.policy.releases.size() == 2);
    CHECK(f.policy.commits.empty());
    CHECK(f.Retries("release") == 1);
    CHECK(f.Retries("commit") == 0);
    CHECK(f.GivenUp("release") == 0);
  }
  SECTION("until the configured budget is spent") {
    PipelineOptions options;
    options.settle_retry = {.initial = std::chrono::milliseconds(100),
                            .max_delay = std::chrono::milliseconds(200),
                            .budget = std::chrono::seconds(1)};
    Fixture f(options);
    f.router.route_answer = Unavailable("every provider failed");
    for (int i = 0; i < 100; ++i) f.policy.release_errors.push_back(Unavailable("down"));
    f.Run(kChat);
    f.scheduler.Advance(60'000);
    CHECK(f.policy.release_at == std::vector<int64_t>{0, 100, 300, 500, 700, 900});
    CHECK(f.Retries("release") == 5);
    CHECK(f.GivenUp("release") == 1);
    CHECK(f.scheduler.pending() == 0);
  }
}

TEST_CASE("a stream's Commit is retried like a JSON one", "[unit][settle]") {
  Fixture f;
  f.router.events = {Decision(), Delta("hello"), End()};
  f.policy.commit_errors = {ResourceExhausted("policy overloaded"), Internal("transport")};
  auto sink = f.Run(kStream);
  CHECK(sink->finished);
  CHECK(sink->events.find("data: [DONE]") != std::string::npos);
  CHECK(sink.use_count() == 1);
  REQUIRE(f.policy.commits.size() == 1);
  f.scheduler.Advance(1500);
  REQUIRE(f.policy.commits.size() == 3);
  CHECK(f.policy.commit_at == std::vector<int64_t>{0, 500, 1500});
  for (const auto& c : f.policy.commits) CheckSameCommit(c);
  CHECK(f.Retries("commit") == 2);
  CHECK(f.GivenUp("commit") == 0);
}

TEST_CASE("a stream that fails before its first token retries its Release", "[unit][settle]") {
  Fixture f;
  f.router.stream_status = Unavailable("router down");
  f.policy.release_errors = {Unavailable("policy down"), Unavailable("policy down")};
  auto sink = f.Run(kStream);
  CHECK(sink->status == 503);
  f.scheduler.Advance(10'000);
  REQUIRE(f.policy.releases.size() == 3);
  CHECK(f.policy.release_at == std::vector<int64_t>{0, 500, 1500});
  CHECK(f.policy.releases[2].reservation_id() == "res_1");
  CHECK(f.policy.releases[2].reason() == "provider_failed");
  CHECK(f.Retries("release") == 2);
}

TEST_CASE("stopping the pipeline drops waiting retries safely", "[unit][settle]") {
  SECTION("a retry waiting on the scheduler is counted as given up and never runs") {
    Fixture f;
    f.policy.commit_errors = {Unavailable("down")};
    f.Run(kChat);
    REQUIRE(f.scheduler.pending() == 1);
    f.pipeline->StopSettleRetries();
    CHECK(f.GivenUp("commit") == 1);
    f.pipeline->StopSettleRetries();  // idempotent
    CHECK(f.GivenUp("commit") == 1);
    f.pipeline.reset();
    // The dropped retry's timer still fires here (TimerThread would destroy it): a no-op.
    f.scheduler.Advance(60'000);
    CHECK(f.policy.commits.size() == 1);
  }
  SECTION("an answer arriving after the pipeline is destroyed schedules nothing") {
    Fixture f;
    f.policy.hold = true;
    f.Run(kChat);
    REQUIRE(f.policy.held.size() == 1);
    f.pipeline.reset();
    f.policy.held[0](Unavailable("late"));
    CHECK(f.scheduler.pending() == 0);
    f.scheduler.Advance(60'000);
    CHECK(f.policy.commits.size() == 1);
    CHECK(f.GivenUp("commit") == 0);  // only logged: the metrics may be gone by then
  }
}

// ------------------------------------------------------------------------------------------
// The production scheduler: retries run on TimerThread's thread, and the edge server's shutdown
// order (StopSettleRetries, then the TimerThread, then the pipeline) is safe with retries
// pending.

class ThreadSafeFlakyPolicy final : public PolicyClient {
 public:
  explicit ThreadSafeFlakyPolicy(int failures) : failures_(failures) {}
  std::atomic<int> commits{0};

  void Authorize(const v1::AuthorizeRequest&, Callback<v1::AuthorizeResponse> done) override {
    done(Allow());
  }
  void Commit(const v1::CommitRequest& r, Callback<v1::CommitResponse> done) override {
    bool fail = false;
    {
      absl::MutexLock lock(&mu_);
      CHECK(r.reservation_id() == "res_1");
      fail = failures_ < 0 || commits.load() < failures_;
      ++commits;
    }
    if (fail) {
      done(Unavailable("down"));
    } else {
      done(v1::CommitResponse());
    }
  }
  void Release(const v1::ReleaseRequest&, Callback<v1::ReleaseResponse> done) override {
    done(v1::ReleaseResponse());
  }
  void GetApproval(std::string_view, const v1::GetApprovalRequest&,
                   Callback<v1::GetApprovalResponse> done) override {
    done(absl::UnimplementedError("not used here"));
  }
  void CheckReservation(std::string_view, const v1::CheckReservationRequest&,
                        Callback<v1::CheckReservationResponse> done) override {
    done(absl::UnimplementedError("not used here"));
  }

 private:
  absl::Mutex mu_;
  int failures_;  // < 0: always
};

bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_CASE("settle retries run on the TimerThread and survive the edge's shutdown order",
          "[unit][settle]") {
  PipelineOptions options;
  options.settle_retry = {.initial = std::chrono::milliseconds(2),
                          .max_delay = std::chrono::milliseconds(5),
                          .budget = std::chrono::seconds(30)};
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  ScriptedRouter router;
  auto catalog = std::make_shared<const CatalogView>(Models());
  auto run = [](ChatPipeline& pipeline) {
    pipeline.Handle({.request_id = "req_1",
                     .api_key = "sk-test",
                     .body = kChat,
                     .received = std::chrono::steady_clock::now()},
                    std::make_shared<RecordingSink>());
  };

  SECTION("failing twice, then landing") {
    ThreadSafeFlakyPolicy policy(2);
    auto timers = std::make_unique<TimerThread>();
    auto pipeline = std::make_unique<ChatPipeline>(
        policy, router, [&] { return catalog; }, metrics, SystemClock::Get(), *timers, options);
    run(*pipeline);
    CHECK(WaitFor([&] { return policy.commits.load() == 3; }));
    CHECK(WaitFor([&] { return timers->pending() == 0; }));
    CHECK(policy.commits.load() == 3);
    pipeline->StopSettleRetries();
    timers.reset();
    pipeline.reset();
  }
  SECTION("torn down while retries are running") {
    ThreadSafeFlakyPolicy policy(-1);
    auto timers = std::make_unique<TimerThread>();
    auto pipeline = std::make_unique<ChatPipeline>(
        policy, router, [&] { return catalog; }, metrics, SystemClock::Get(), *timers, options);
    for (int i = 0; i < 20; ++i) run(*pipeline);
    CHECK(WaitFor([&] { return policy.commits.load() >= 100; }));
    pipeline->StopSettleRetries();
    int after_stop = policy.commits.load();
    timers.reset();
    pipeline.reset();
    CHECK(policy.commits.load() == after_stop);
  }
}

}  // namespace
}  // namespace p402::edge
