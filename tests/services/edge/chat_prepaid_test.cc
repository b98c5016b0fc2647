// Edge core tests: prepaid balances in the keyed chat pipeline (chat_guard.cc, "Prepaid"):
// HoldBalance before dispatch, CaptureHold at the commit, ReleaseHold at the release, with their
// retries, against fake policy, router and settlement clients and a recording sink.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"
#include "services/edge/core/chat_pipeline.h"

namespace p402::edge {
namespace {

constexpr int64_t kReserved = 1'000'000;

class FakePolicy final : public PolicyClient {
 public:
  v1::AuthorizeResponse answer;
  std::vector<v1::CommitRequest> commits;
  std::vector<v1::ReleaseRequest> releases;

  FakePolicy() {
    answer.set_decision(v1::GUARD_DECISION_ALLOW);
    answer.set_tenant_id("t1");
    answer.set_session_id("ses_1");
    answer.mutable_reservation()->set_id("res_1");
    answer.mutable_reservation()->set_amount_micro_usd(kReserved);
  }
  void Authorize(const v1::AuthorizeRequest&, Callback<v1::AuthorizeResponse> done) override {
    done(answer);
  }
  void Commit(const v1::CommitRequest& r, Callback<v1::CommitResponse> done) override {
    commits.push_back(r);
    done(v1::CommitResponse());
  }
  void Release(const v1::ReleaseRequest& r, Callback<v1::ReleaseResponse> done) override {
    releases.push_back(r);
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
};

// Keeps scheduled callbacks; RunAll runs those pending now (the retries), in order.
class ManualScheduler final : public Scheduler {
 public:
  std::deque<std::pair<std::chrono::milliseconds, std::function<void()>>> pending;
  TimerId RunAfter(std::chrono::milliseconds delay, std::function<void()> fn) override {
    pending.emplace_back(delay, std::move(fn));
    return ++next;
  }
  void Cancel(TimerId) override {}
  // Runs what is pending, including callbacks scheduled meanwhile; bounded.
  void RunAll() {
    for (int i = 0; i < 100 && !pending.empty(); ++i) {
      auto fn = std::move(pending.front().second);
      pending.pop_front();
      fn();
    }
  }
  TimerId next = 0;
};

class FakeStream final : public RouteStream {
 public:
  void Cancel() override {}
};

class FakeRouter final : public RouterClient {
 public:
  absl::StatusOr<v1::RouteResponse> route_answer = v1::RouteResponse();
  std::vector<v1::StreamRouteResponse> events;
  int routes = 0;
  v1::RouteRequest last;

  void Route(const v1::RouteRequest& r, Callback<v1::RouteResponse> done) override {
    ++routes;
    last = r;
    done(route_answer);
  }
  std::shared_ptr<RouteStream> StreamRoute(const v1::RouteRequest& r,
                                           std::shared_ptr<RouteStreamObserver> obs) override {
    ++routes;
    last = r;
    for (const auto& e : events) obs->OnEvent(e);
    obs->OnDone(absl::OkStatus());
    return std::make_shared<FakeStream>();
  }
  absl::StatusOr<v1::ListModelsResponse> ListModels() override { return v1::ListModelsResponse(); }
};

class RecordingSink final : public ResponseSink {
 public:
  int status = 0;
  std::string body;
  bool finished = false;
  std::string events;

  void SendJson(int s, std::string b, HeaderList) override {
    status = s;
    body = std::move(b);
  }
  void StartEventStream(HeaderList) override { status = 200; }
  void WriteEvent(std::string frame) override { events += frame; }
  void Finish() override { finished = true; }
  void OnClientGone(std::function<void()>) override {}

  json::Value Json() const { return *json::Value::Parse(body); }
};

// Scriptable HoldBalance answers; Capture/Release calls are recorded (and may fail a few times).
class FakeSettlement final : public SettlementClient {
 public:
  absl::StatusOr<v1::HoldBalanceResponse> hold_answer = v1::HoldBalanceResponse();
  std::vector<v1::HoldBalanceRequest> holds;
  std::vector<v1::CaptureHoldRequest> captures;
  std::vector<v1::ReleaseHoldRequest> hold_releases;
  // The first N CaptureHold / ReleaseHold calls fail with Unavailable.
  int capture_failures = 0;
  int release_failures = 0;

  void HoldBalance(const v1::HoldBalanceRequest& r,
                   Callback<v1::HoldBalanceResponse> done) override {
    holds.push_back(r);
    done(hold_answer);
  }
  void CaptureHold(const v1::CaptureHoldRequest& r,
                   Callback<v1::CaptureHoldResponse> done) override {
    captures.push_back(r);
    if (capture_failures > 0) {
      --capture_failures;
      done(absl::UnavailableError("settlement down"));
      return;
    }
    v1::CaptureHoldResponse out;
    out.set_captured(true);
    done(out);
  }
  void ReleaseHold(const v1::ReleaseHoldRequest& r,
                   Callback<v1::ReleaseHoldResponse> done) override {
    hold_releases.push_back(r);
    if (release_failures > 0) {
      --release_failures;
      done(absl::UnavailableError("settlement down"));
      return;
    }
    v1::ReleaseHoldResponse out;
    out.set_released(true);
    done(out);
  }
  // Not used by keyed requests.
  void GetPaymentRequirements(const v1::GetPaymentRequirementsRequest&,
                              Callback<v1::GetPaymentRequirementsResponse> done) override {
    done(absl::UnimplementedError("keyed requests never ask for offers"));
  }
  void VerifyPayment(const v1::VerifyPaymentRequest&,
                     Callback<v1::VerifyPaymentResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void SettlePayment(const v1::SettlePaymentRequest&,
                     Callback<v1::SettlePaymentResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void ReleasePayment(const v1::ReleasePaymentRequest&,
                      Callback<v1::ReleasePaymentResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void GetSupported(Callback<v1::GetSupportedResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void TopUp(const v1::TopUpRequest&, Callback<v1::TopUpResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void RecordUsage(const v1::RecordUsageRequest&,
                   Callback<v1::RecordUsageResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void GetBalance(const v1::GetBalanceRequest&, Callback<v1::GetBalanceResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void ListUsage(const v1::ListUsageRequest&, Callback<v1::ListUsageResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void CreateListing(const v1::CreateListingRequest&,
                     Callback<v1::CreateListingResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void ListListings(const v1::ListListingsRequest&,
                    Callback<v1::ListListingsResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void DiscoverListings(const v1::DiscoverListingsRequest&,
                        Callback<v1::DiscoverListingsResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
};

v1::HoldBalanceResponse Held() {
  v1::HoldBalanceResponse r;
  r.set_held(true);
  r.set_held_micro_usd(kReserved + 10'000);
  r.set_balance_micro_usd(5'000'000);
  return r;
}

v1::HoldBalanceResponse NotHeld(std::string reason, int64_t balance) {
  v1::HoldBalanceResponse r;
  r.set_reason(std::move(reason));
  r.set_balance_micro_usd(balance);
  return r;
}

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

v1::RouteResponse Completion(int64_t cost) {
  v1::RouteResponse r;
  r.mutable_completion()->set_id("chatcmpl-1");
  r.mutable_completion()->set_model("gpt-4o-mini");
  auto* choice = r.mutable_completion()->add_choices();
  choice->mutable_message()->set_role("assistant");
  choice->mutable_message()->set_content("hello");
  choice->set_finish_reason("stop");
  r.mutable_completion()->mutable_usage()->set_input_tokens(10);
  r.mutable_completion()->mutable_usage()->set_output_tokens(5);
  r.mutable_cost()->set_total_micro_usd(cost);
  r.mutable_cost()->set_direct_micro_usd(cost);
  r.mutable_decision()->mutable_chosen()->set_provider("openai");
  r.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  return r;
}

struct Fixture {
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  FakePolicy policy;
  FakeRouter router;
  FakeSettlement settlement;
  ManualScheduler scheduler;
  std::shared_ptr<const CatalogView> catalog = std::make_shared<CatalogView>(Models());
  ChatPipeline pipeline{policy,  router, [this] { return catalog; }, metrics, SystemClock::Get(),
                        scheduler, PipelineOptions{.settlement = &settlement}};

  std::shared_ptr<RecordingSink> Run(std::string body) {
    auto sink = std::make_shared<RecordingSink>();
    pipeline.Handle({.request_id = "req_1", .api_key = "sk-test", .body = std::move(body),
                     .received = std::chrono::steady_clock::now()},
                    sink);
    return sink;
  }
  double Prepaid(const std::string& outcome) {
    return metrics::FindSample(registry.RenderPrometheusText(),
                               "p402_edge_prepaid_total{outcome=\"" + outcome + "\"}")
        .value_or(0);
  }
};

constexpr char kChat[] =
    R"({"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";
constexpr char kStreamChat[] =
    R"({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]})";

TEST_CASE("prepaid: no prepaid account is served postpaid, without capture", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = NotHeld("no_prepaid_account", 0);
  f.router.route_answer = Completion(5);
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 200);
  REQUIRE(f.settlement.holds.size() == 1);
  CHECK(f.router.routes == 1);
  CHECK(f.policy.commits.size() == 1);
  CHECK(f.settlement.captures.empty());
  CHECK(f.settlement.hold_releases.empty());
  CHECK(sink->Json().Find("p402_metadata")->Find("prepaid") == nullptr);
  CHECK(f.Prepaid("postpaid") == 1);
}

TEST_CASE("prepaid: a held request captures its cost on the hold", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = Held();
  f.router.route_answer = Completion(7);
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 200);
  REQUIRE(f.settlement.holds.size() == 1);
  const v1::HoldBalanceRequest& hold = f.settlement.holds[0];
  CHECK(hold.hold_id() == "res_1");
  CHECK(hold.amount_micro_usd() == kReserved);
  CHECK(hold.meta().request_id() == "req_1");
  CHECK(hold.meta().tenant_id() == "t1");
  CHECK(hold.meta().session_id() == "ses_1");
  REQUIRE(f.settlement.captures.size() == 1);
  const v1::CaptureHoldRequest& c = f.settlement.captures[0];
  CHECK(c.hold_id() == "res_1");
  CHECK(c.cost_micro_usd() == 7);
  CHECK(c.model().model() == "gpt-4o-mini");
  CHECK(c.usage().output_tokens() == 5);
  CHECK(f.settlement.hold_releases.empty());
  REQUIRE(f.policy.commits.size() == 1);  // policy is still committed
  json::Value body = sink->Json();
  const json::Value* meta = body.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  REQUIRE(meta->Find("prepaid") != nullptr);
  CHECK(meta->Find("prepaid")->AsBool() == true);
  CHECK(f.Prepaid("held") == 1);
  CHECK(f.Prepaid("captured") == 1);
}

TEST_CASE("prepaid: insufficient balance is a 402 and the reservation is released", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = NotHeld("insufficient_balance", 250'000);
  auto sink = f.Run(kChat);
  INFO(sink->body);
  REQUIRE(sink->status == 402);
  json::Value body = sink->Json();
  const json::Value* error = body.Find("error");
  REQUIRE(error != nullptr);
  CHECK(error->GetString("type") == "insufficient_quota");
  CHECK(error->GetString("code") == "insufficient_balance");
  std::string message(error->GetString("message").value_or(""));
  CHECK(message.find("POST /v2/topup") != std::string::npos);
  CHECK(message.find("$0.250000") != std::string::npos);
  CHECK(f.router.routes == 0);
  REQUIRE(f.policy.releases.size() == 1);
  CHECK(f.policy.releases[0].reservation_id() == "res_1");
  CHECK(f.policy.releases[0].reason() == "insufficient_balance");
  CHECK(f.policy.commits.empty());
  CHECK(f.settlement.hold_releases.empty());  // nothing was held
  CHECK(f.Prepaid("insufficient") == 1);
}

TEST_CASE("prepaid: a failed HoldBalance fails closed with 503", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = absl::UnavailableError("settlement down");
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 503);
  CHECK(sink->Json().Find("error")->GetString("code") == "payment_unavailable");
  CHECK(f.router.routes == 0);
  REQUIRE(f.policy.releases.size() == 1);
  CHECK(f.policy.releases[0].reservation_id() == "res_1");
  CHECK(f.Prepaid("unavailable") == 1);
}

TEST_CASE("prepaid: a router failure after a hold releases it, no capture", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = Held();
  f.router.route_answer = absl::UnavailableError("all providers failed");
  auto sink = f.Run(kChat);
  CHECK(sink->status == 503);
  CHECK(f.policy.releases.size() == 1);
  REQUIRE(f.settlement.hold_releases.size() == 1);
  CHECK(f.settlement.hold_releases[0].hold_id() == "res_1");
  CHECK(f.settlement.hold_releases[0].reason() == "provider_failed");
  CHECK(f.settlement.captures.empty());
  CHECK(f.Prepaid("released") == 1);
}

TEST_CASE("prepaid: a stream captures the stream's cost at its end", "[unit]") {
  Fixture f;
  f.settlement.hold_answer = Held();
  v1::StreamRouteResponse decision;
  decision.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  v1::StreamRouteResponse delta;
  delta.mutable_delta()->set_content("hello");
  v1::StreamRouteResponse end;
  end.mutable_end()->mutable_usage()->set_output_tokens(2);
  end.mutable_end()->mutable_cost()->set_total_micro_usd(3);
  end.mutable_end()->mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  f.router.events = {decision, delta, end};
  auto sink = f.Run(kStreamChat);
  CHECK(sink->finished);
  CHECK(sink->events.find(R"("prepaid":true)") != std::string::npos);
  REQUIRE(f.settlement.captures.size() == 1);
  CHECK(f.settlement.captures[0].hold_id() == "res_1");
  CHECK(f.settlement.captures[0].cost_micro_usd() == 3);
  CHECK(f.settlement.hold_releases.empty());
}

TEST_CASE("prepaid: a failed capture is retried 0.5 s apart, then given up", "[unit]") {
  SECTION("succeeds on the third try") {
    Fixture f;
    f.settlement.hold_answer = Held();
    f.settlement.capture_failures = 2;
    f.router.route_answer = Completion(7);
    REQUIRE(f.Run(kChat)->status == 200);
    REQUIRE(f.scheduler.pending.size() == 1);
    CHECK(f.scheduler.pending.front().first == std::chrono::milliseconds(500));
    f.scheduler.RunAll();
    CHECK(f.settlement.captures.size() == 3);
    CHECK(f.Prepaid("captured") == 1);
    CHECK(f.Prepaid("capture_failed") == 0);
  }
  SECTION("all four calls fail") {
    Fixture f;
    f.settlement.hold_answer = Held();
    f.settlement.capture_failures = 100;
    f.router.route_answer = Completion(7);
    REQUIRE(f.Run(kChat)->status == 200);
    f.scheduler.RunAll();
    CHECK(f.settlement.captures.size() == 4);
    CHECK(f.scheduler.pending.empty());
    CHECK(f.Prepaid("capture_failed") == 1);
  }
  SECTION("a release is retried too") {
    Fixture f;
    f.settlement.hold_answer = Held();
    f.settlement.release_failures = 1;
    f.router.route_answer = absl::UnavailableError("all providers failed");
    f.Run(kChat);
    f.scheduler.RunAll();
    CHECK(f.settlement.hold_releases.size() == 2);
    CHECK(f.Prepaid("released") == 1);
  }
  SECTION("no retry after StopSettleRetries") {
    Fixture f;
    f.settlement.hold_answer = Held();
    f.settlement.capture_failures = 100;
    f.router.route_answer = Completion(7);
    f.Run(kChat);
    f.pipeline.StopSettleRetries();
    f.scheduler.RunAll();
    CHECK(f.settlement.captures.size() == 1);
    CHECK(f.Prepaid("capture_failed") == 0);
  }
}

}  // namespace
}  // namespace p402::edge
