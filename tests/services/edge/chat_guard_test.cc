// Edge billing guard (issue 3): denial mapping, approval holds, session-stream watch and cut,
// delivered-token billing, policy routing constraints. Time is virtual: a manual scheduler and a
// clock that share one "now", advanced by the test.
#include <deque>
#include <map>

#include "catch2/catch.hpp"
#include "libs/common/money.h"
#include "libs/json/value.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"
#include "libs/openai/token_estimate.h"
#include "services/edge/core/chat_pipeline.h"
#include "tests/services/edge/virtual_time.h"

namespace p402::edge {
namespace {

using testing::ManualScheduler;
using testing::VirtualClock;
using testing::VirtualTime;

class ScriptedPolicy final : public PolicyClient {
 public:
  // Answers to Authorize, in order; the last one repeats.
  std::deque<v1::AuthorizeResponse> answers;
  std::vector<v1::AuthorizeRequest> authorizes;
  std::vector<v1::CommitRequest> commits;
  std::vector<v1::ReleaseRequest> releases;
  absl::StatusOr<v1::GetApprovalResponse> approval = v1::GetApprovalResponse();
  std::vector<v1::GetApprovalRequest> approval_polls;
  absl::StatusOr<v1::CheckReservationResponse> reservation = v1::CheckReservationResponse();
  std::vector<v1::CheckReservationRequest> reservation_checks;

  ScriptedPolicy() {
    answers.push_back(Allow());
    v1::CheckReservationResponse active;
    active.set_active(true);
    reservation = active;
  }
  static v1::AuthorizeResponse Allow() {
    v1::AuthorizeResponse a;
    a.set_decision(v1::GUARD_DECISION_ALLOW);
    a.set_tenant_id("t1");
    a.mutable_reservation()->set_id("res_1");
    a.mutable_reservation()->set_amount_micro_usd(1'000'000);
    return a;
  }
  void SetApprovalStatus(v1::ApprovalStatus status, std::string reason = "") {
    v1::GetApprovalResponse r;
    r.mutable_approval()->set_id("apr_1");
    r.mutable_approval()->set_status(status);
    r.mutable_approval()->set_decision_reason(std::move(reason));
    approval = r;
  }

  void Authorize(const v1::AuthorizeRequest& r, Callback<v1::AuthorizeResponse> done) override {
    authorizes.push_back(r);
    v1::AuthorizeResponse a = answers.front();
    if (answers.size() > 1) answers.pop_front();
    done(a);
  }
  void Commit(const v1::CommitRequest& r, Callback<v1::CommitResponse> done) override {
    commits.push_back(r);
    done(v1::CommitResponse());
  }
  void Release(const v1::ReleaseRequest& r, Callback<v1::ReleaseResponse> done) override {
    releases.push_back(r);
    done(v1::ReleaseResponse());
  }
  void GetApproval(std::string_view, const v1::GetApprovalRequest& r,
                   Callback<v1::GetApprovalResponse> done) override {
    approval_polls.push_back(r);
    done(approval);
  }
  void CheckReservation(std::string_view, const v1::CheckReservationRequest& r,
                        Callback<v1::CheckReservationResponse> done) override {
    reservation_checks.push_back(r);
    done(reservation);
  }
};

class FakeStream final : public RouteStream {
 public:
  int cancels = 0;
  void Cancel() override { ++cancels; }
};

// Keeps the stream observer so the test delivers router events when it wants.
class ManualRouter final : public RouterClient {
 public:
  absl::StatusOr<v1::RouteResponse> route_answer = v1::RouteResponse();
  std::vector<v1::RouteRequest> requests;
  std::shared_ptr<RouteStreamObserver> observer;
  std::shared_ptr<FakeStream> stream = std::make_shared<FakeStream>();

  void Route(const v1::RouteRequest& r, Callback<v1::RouteResponse> done) override {
    requests.push_back(r);
    done(route_answer);
  }
  std::shared_ptr<RouteStream> StreamRoute(const v1::RouteRequest& r,
                                           std::shared_ptr<RouteStreamObserver> obs) override {
    requests.push_back(r);
    observer = std::move(obs);
    return stream;
  }
  absl::StatusOr<v1::ListModelsResponse> ListModels() override { return v1::ListModelsResponse(); }
  // The router's OnDone (after which it drops the observer, as the gRPC client does).
  void Done(absl::Status status) {
    auto obs = std::move(observer);
    obs->OnDone(std::move(status));
  }
};

class RecordingSink final : public ResponseSink {
 public:
  int status = 0;
  std::string body;
  HeaderList headers;
  bool streaming = false;
  int finishes = 0;
  std::string events;
  std::function<void()> on_gone;

  void SendJson(int s, std::string b, HeaderList h) override {
    status = s;
    body = std::move(b);
    headers = std::move(h);
  }
  void StartEventStream(HeaderList h) override {
    status = 200;
    streaming = true;
    headers = std::move(h);
  }
  void WriteEvent(std::string frame) override { events += frame; }
  void Finish() override { ++finishes; }
  void OnClientGone(std::function<void()> callback) override { on_gone = std::move(callback); }

  void GoAway() {
    REQUIRE(on_gone);
    on_gone();
  }
  json::Value Json() const { return *json::Value::Parse(body); }
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "<none>";
  }
  size_t Count(std::string_view needle) const {
    size_t n = 0;
    for (size_t at = events.find(needle); at != std::string::npos;
         at = events.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }
  // The `data:` payload of the first SSE event containing "error", parsed.
  json::Value ErrorEvent() const {
    size_t at = events.find("data: {\"error\"");
    REQUIRE(at != std::string::npos);
    size_t end = events.find("\n\n", at);
    return *json::Value::Parse(events.substr(at + 6, end - at - 6));
  }
};

v1::ListModelsResponse Models() {
  v1::ListModelsResponse models;
  v1::ModelInfo* m = models.add_models();
  m->mutable_ref()->set_provider("openai");
  m->mutable_ref()->set_model("gpt-4o-mini");
  m->mutable_prices()->set_input_per_mtok_micro_usd(150'000);   // $0.15 / 1M
  m->mutable_prices()->set_output_per_mtok_micro_usd(600'000);  // $0.60 / 1M
  m->set_max_output_tokens(16384);
  m->set_tier("budget");
  m->set_available(true);
  return models;
}

struct Fixture {
  VirtualTime time;
  VirtualClock clock{time};
  ManualScheduler scheduler{time};
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  ScriptedPolicy policy;
  ManualRouter router;
  std::shared_ptr<const CatalogView> catalog = std::make_shared<CatalogView>(Models());
  ChatPipeline pipeline{policy, router, [this] { return catalog; }, metrics, clock, scheduler};

  std::shared_ptr<RecordingSink> Run(std::string body) {
    auto sink = std::make_shared<RecordingSink>();
    pipeline.Handle({.request_id = "req_1",
                     .api_key = "sk-test",
                     .body = std::move(body),
                     .received = std::chrono::steady_clock::now()},
                    sink);
    return sink;
  }
  double Metric(const std::string& sample) {
    return metrics::FindSample(registry.RenderPrometheusText(), sample).value_or(0);
  }
  // The next Authorize answers HOLD_FOR_APPROVAL (approval apr_1, expiring in `expires_in_ms`),
  // the one after it `then`.
  void HoldThen(v1::AuthorizeResponse then, int64_t expires_in_ms = 60'000) {
    v1::AuthorizeResponse hold;
    hold.set_decision(v1::GUARD_DECISION_HOLD_FOR_APPROVAL);
    hold.set_reason("approval_required");
    hold.set_tenant_id("t1");
    hold.mutable_approval()->set_id("apr_1");
    hold.mutable_approval()->set_status(v1::APPROVAL_STATUS_PENDING);
    hold.mutable_approval()->set_expires_unix_ms(time.now_ms + expires_in_ms);
    policy.answers = {hold, then};
    policy.SetApprovalStatus(v1::APPROVAL_STATUS_PENDING);
  }
  // Authorize admits the request as spending from session sess_1.
  void Session(int64_t expires_in_ms = 3'600'000, int64_t reserved = 1'000'000) {
    v1::AuthorizeResponse a = ScriptedPolicy::Allow();
    a.set_session_id("sess_1");
    a.set_session_expires_unix_ms(time.now_ms + expires_in_ms);
    a.mutable_reservation()->set_amount_micro_usd(reserved);
    policy.answers = {a};
  }
};

constexpr char kChat[] =
    R"({"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";
constexpr char kStream[] = R"({"model":"gpt-4o-mini","stream":true,"p402":{"session_id":"sess_1"},)"
                           R"("messages":[{"role":"user","content":"hi"}]})";

v1::StreamRouteResponse Decision() {
  v1::StreamRouteResponse e;
  e.mutable_decision()->mutable_chosen()->set_provider("openai");
  e.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  e.mutable_decision()->set_decision_id("dec_1");
  return e;
}

v1::StreamRouteResponse Delta(std::string text) {
  v1::StreamRouteResponse e;
  e.mutable_delta()->set_content(std::move(text));
  return e;
}

v1::StreamRouteResponse ToolDelta(std::string name, std::string arguments) {
  v1::StreamRouteResponse e;
  v1::ToolCall* call = e.mutable_delta()->add_tool_calls();
  call->set_name(std::move(name));
  call->set_arguments(std::move(arguments));
  return e;
}

v1::StreamRouteResponse End(int64_t cost) {
  v1::StreamRouteResponse e;
  e.mutable_end()->mutable_usage()->set_output_tokens(2);
  e.mutable_end()->mutable_cost()->set_total_micro_usd(cost);
  *e.mutable_end()->mutable_decision() = Decision().decision();
  return e;
}

// ------------------------------------------------------------------------------------------
// Denials.

TEST_CASE("every guard denial is an OpenAI-shaped error with the guard's reason", "[unit][guard]") {
  struct Row {
    v1::GuardDecision decision;
    std::string reason;
    int status;
    std::string type;
    std::string code;  // expected error.code
  };
  std::vector<Row> rows = {
      {v1::GUARD_DECISION_DENY_UNAUTHENTICATED, "revoked_api_key", 401, "authentication_error",
       "revoked_api_key"},
      {v1::GUARD_DECISION_DENY_RATE_LIMIT, "rate_limited", 429, "rate_limit_error", "rate_limited"},
      {v1::GUARD_DECISION_DENY_DAILY_LIMIT, "daily_limit_exceeded", 429, "rate_limit_error",
       "daily_limit_exceeded"},
      {v1::GUARD_DECISION_DENY_CONCURRENCY, "", 429, "rate_limit_error", "concurrency_limit"},
      {v1::GUARD_DECISION_DENY_REQUEST_CAP, "request_cap_exceeded", 402, "insufficient_quota",
       "request_cap_exceeded"},
      {v1::GUARD_DECISION_DENY_BUDGET, "session_budget_exhausted", 402, "insufficient_quota",
       "session_budget_exhausted"},
      {v1::GUARD_DECISION_DENY_SPEND_LIMIT, "spend_limit_exceeded", 402, "insufficient_quota",
       "spend_limit_exceeded"},
      {v1::GUARD_DECISION_DENY_SPEND_LIMIT, "", 402, "insufficient_quota", "spend_limit_exceeded"},
      {v1::GUARD_DECISION_DENY_POLICY, "provider_denied", 403, "permission_error",
       "provider_denied"},
      {v1::GUARD_DECISION_DENY_POLICY, "", 403, "permission_error", "policy_denied"},
  };
  for (const Row& row : rows) {
    INFO("decision " << v1::GuardDecision_Name(row.decision) << " reason '" << row.reason << "'");
    Fixture f;
    v1::AuthorizeResponse deny;
    deny.set_decision(row.decision);
    deny.set_reason(row.reason);
    deny.set_retry_after_ms(row.status == 429 ? 1500 : 0);
    f.policy.answers = {deny};
    auto sink = f.Run(kChat);
    CHECK(sink->status == row.status);
    json::Value body = sink->Json();
    const json::Value* error = body.Find("error");
    REQUIRE(error != nullptr);
    CHECK(error->GetString("type") == row.type);
    CHECK(error->GetString("code") == row.code);
    CHECK_FALSE(error->GetString("message").value_or("").empty());
    CHECK(error->Find("param") != nullptr);  // null, as in OpenAI's shape
    CHECK(f.router.requests.empty());
    if (row.status == 429) {
      CHECK(sink->Header("retry-after") == "2");  // 1.5 s rounded up
      CHECK(sink->Header("retry-after-ms") == "1500");
    } else {
      CHECK(sink->Header("retry-after") == "<none>");
      CHECK(sink->Header("retry-after-ms") == "<none>");
    }
    CHECK(f.Metric(R"(p402_edge_requests_total{route="chat",code=")" + std::to_string(row.status) +
                   "\"}") == 1);
  }
}

TEST_CASE("a 429 without a retry hint has no Retry-After headers", "[unit][guard]") {
  Fixture f;
  v1::AuthorizeResponse deny;
  deny.set_decision(v1::GUARD_DECISION_DENY_RATE_LIMIT);
  deny.set_reason("spend_limit_throttled");
  f.policy.answers = {deny};
  auto sink = f.Run(kChat);
  CHECK(sink->status == 429);
  CHECK(sink->Json().Find("error")->GetString("code") == "spend_limit_throttled");
  CHECK(sink->Header("retry-after") == "<none>");
}

// ------------------------------------------------------------------------------------------
// What goes to Authorize and to the router.

TEST_CASE("Authorize carries the session, the task and the chat capability", "[unit][guard]") {
  Fixture f;
  f.Run(R"({"model":"gpt-4o-mini","p402":{"session_id":"sess_42","task":"summarization"},)"
        R"("messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(f.policy.authorizes.size() == 1);
  const v1::AuthorizeRequest& a = f.policy.authorizes[0];
  CHECK(a.session_id() == "sess_42");
  CHECK(a.meta().session_id() == "sess_42");
  CHECK(a.task() == "summarization");
  CHECK(a.capability() == "chat");
  CHECK(a.approval_id().empty());
}

TEST_CASE("policy routing restrictions reach the router's constraints", "[unit][guard]") {
  Fixture f;
  v1::AuthorizeResponse a = ScriptedPolicy::Allow();
  v1::PolicyRouting* r = a.mutable_routing();
  r->add_allowed_providers("openai");
  r->add_denied_providers("groq");
  r->set_max_tier("mid");
  r->add_allowed_models("gpt-4o-mini");
  r->add_denied_models("openai/gpt-4o");
  r->add_denied_models("o4-mini");
  r->set_max_model("openai/gpt-4o-mini");
  r->set_preferred_model("anthropic/claude-haiku-4-5");
  f.policy.answers = {a};
  auto sink = f.Run(kChat);
  CHECK(sink->status == 200);
  REQUIRE(f.router.requests.size() == 1);
  const v1::RoutingConstraints& c = f.router.requests[0].constraints();
  CHECK(c.allowed_providers(0) == "openai");
  CHECK(c.denied_providers(0) == "groq");
  CHECK(c.max_tier() == "mid");
  CHECK(c.allowed_models(0) == "gpt-4o-mini");
  REQUIRE(c.denied_models_size() == 2);
  CHECK(c.denied_models(0) == "openai/gpt-4o");
  CHECK(c.denied_models(1) == "o4-mini");
  CHECK(c.max_model() == "openai/gpt-4o-mini");
  CHECK(c.preferred_model() == "anthropic/claude-haiku-4-5");
}

// ------------------------------------------------------------------------------------------
// Approval holds.

TEST_CASE("a held JSON request waits, then runs once approved", "[unit][guard]") {
  Fixture f;
  f.HoldThen(ScriptedPolicy::Allow());
  auto sink = f.Run(kChat);
  CHECK(sink->status == 0);  // still open
  CHECK(f.policy.approval_polls.empty());
  f.scheduler.Advance(499);
  CHECK(f.policy.approval_polls.empty());
  f.scheduler.Advance(1);
  REQUIRE(f.policy.approval_polls.size() == 1);
  CHECK(f.policy.approval_polls[0].approval_id() == "apr_1");
  CHECK(f.policy.approval_polls[0].tenant_id() == "t1");
  f.scheduler.Advance(1000);
  CHECK(f.policy.approval_polls.size() == 3);  // every 500 ms
  CHECK(sink->status == 0);
  CHECK(f.router.requests.empty());

  f.policy.SetApprovalStatus(v1::APPROVAL_STATUS_APPROVED);
  f.scheduler.Advance(500);
  REQUIRE(f.policy.authorizes.size() == 2);
  CHECK(f.policy.authorizes[1].approval_id() == "apr_1");
  // The same request is authorized again.
  CHECK(f.policy.authorizes[1].meta().request_id() == f.policy.authorizes[0].meta().request_id());
  CHECK(f.policy.authorizes[1].worst_case_micro_usd() ==
        f.policy.authorizes[0].worst_case_micro_usd());
  CHECK(f.router.requests.size() == 1);
  CHECK(sink->status == 200);
  CHECK(f.policy.commits.size() == 1);
  CHECK(f.Metric(R"(p402_edge_approval_waits_total{outcome="approved"})") == 1);
  CHECK(f.scheduler.pending() == 0);  // polling stopped
}

TEST_CASE("a held stream starts at once, shows progress and streams once approved",
          "[unit][guard]") {
  Fixture f;
  f.HoldThen(ScriptedPolicy::Allow());
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  CHECK(sink->streaming);
  CHECK(sink->status == 200);
  CHECK(sink->events == ": awaiting approval apr_1\n\n");
  f.scheduler.Advance(500);
  f.scheduler.Advance(500);
  CHECK(sink->Count(": awaiting approval apr_1\n\n") == 3);
  CHECK(f.router.requests.empty());

  f.policy.SetApprovalStatus(v1::APPROVAL_STATUS_APPROVED);
  f.scheduler.Advance(500);
  REQUIRE(f.router.observer != nullptr);
  CHECK(f.policy.authorizes.back().approval_id() == "apr_1");
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(Delta("hello"));
  f.router.observer->OnEvent(End(7));
  f.router.Done(absl::OkStatus());
  CHECK(sink->events.find(R"("content":"hello")") != std::string::npos);
  CHECK(sink->events.rfind("data: [DONE]\n\n") == sink->events.size() - 14);
  CHECK(sink->finishes == 1);
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == 7);
}

TEST_CASE("a denied approval is a 403 approval_denied; nothing runs", "[unit][guard]") {
  Fixture f;
  f.HoldThen(ScriptedPolicy::Allow());
  auto sink = f.Run(kChat);
  f.policy.SetApprovalStatus(v1::APPROVAL_STATUS_DENIED, "too expensive");
  f.scheduler.Advance(500);
  CHECK(sink->status == 403);
  json::Value body = sink->Json();
  const json::Value* error = body.Find("error");
  REQUIRE(error != nullptr);
  CHECK(error->GetString("type") == "permission_error");
  CHECK(error->GetString("code") == "approval_denied");
  CHECK(error->GetString("message").value_or("").find("too expensive") != std::string::npos);
  CHECK(f.router.requests.empty());
  CHECK(f.policy.authorizes.size() == 1);
  CHECK(f.policy.commits.empty());
  CHECK(f.Metric(R"(p402_edge_approval_waits_total{outcome="denied"})") == 1);
  CHECK(f.scheduler.pending() == 0);
}

TEST_CASE("a denied approval ends a held stream with an SSE error event", "[unit][guard]") {
  Fixture f;
  f.HoldThen(ScriptedPolicy::Allow());
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  f.policy.SetApprovalStatus(v1::APPROVAL_STATUS_DENIED);
  f.scheduler.Advance(500);
  json::Value error = sink->ErrorEvent();
  CHECK(error.Find("error")->GetString("code") == "approval_denied");
  CHECK(error.Find("error")->GetString("type") == "permission_error");
  CHECK(sink->events.rfind("data: [DONE]\n\n") == sink->events.size() - 14);
  CHECK(sink->finishes == 1);
  CHECK(f.router.requests.empty());
}

TEST_CASE("an approval that is never decided times out with 403 approval_timeout",
          "[unit][guard]") {
  SECTION("the approval's own expiry bounds the wait") {
    Fixture f;
    f.HoldThen(ScriptedPolicy::Allow(), /*expires_in_ms=*/1200);
    auto sink = f.Run(kChat);
    f.scheduler.Advance(1000);
    CHECK(sink->status == 0);
    CHECK(f.policy.approval_polls.size() == 2);
    f.scheduler.Advance(500);  // the 1500 ms poll is past the expiry
    CHECK(sink->status == 403);
    CHECK(sink->Json().Find("error")->GetString("code") == "approval_timeout");
    CHECK(f.policy.approval_polls.size() == 2);
    CHECK(f.Metric(R"(p402_edge_approval_waits_total{outcome="timeout"})") == 1);
    CHECK(f.scheduler.pending() == 0);
  }
  SECTION("policy reports it expired") {
    Fixture f;
    f.HoldThen(ScriptedPolicy::Allow());
    auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                      R"("messages":[{"role":"user","content":"hi"}]})");
    f.policy.SetApprovalStatus(v1::APPROVAL_STATUS_EXPIRED);
    f.scheduler.Advance(500);
    CHECK(sink->ErrorEvent().Find("error")->GetString("code") == "approval_timeout");
    CHECK(sink->finishes == 1);
  }
  SECTION("poll failures keep waiting until the deadline") {
    Fixture f;
    f.HoldThen(ScriptedPolicy::Allow(), /*expires_in_ms=*/1200);
    f.policy.approval = absl::UnavailableError("policy down");
    auto sink = f.Run(kChat);
    f.scheduler.Advance(1000);
    CHECK(sink->status == 0);
    CHECK(f.policy.approval_polls.size() == 2);
    f.scheduler.Advance(500);
    CHECK(sink->Json().Find("error")->GetString("code") == "approval_timeout");
  }
}

TEST_CASE("a client that leaves while held stops the polling", "[unit][guard]") {
  Fixture f;
  f.HoldThen(ScriptedPolicy::Allow());
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  f.scheduler.Advance(500);
  CHECK(f.policy.approval_polls.size() == 1);
  sink->GoAway();
  f.scheduler.Advance(5000);
  CHECK(f.policy.approval_polls.size() == 1);
  CHECK(f.scheduler.pending() == 0);
  CHECK(f.policy.authorizes.size() == 1);
  CHECK(f.router.requests.empty());
  CHECK(f.Metric(R"(p402_edge_approval_waits_total{outcome="client_gone"})") == 1);
}

// ------------------------------------------------------------------------------------------
// Session streams.

// What the edge bills for a cut stream: prompt estimate + estimated delivered output at
// gpt-4o-mini's prices.
MicroUsd Estimate(int64_t input_tokens, std::string_view delivered) {
  return TokenCost(input_tokens, 150'000) +
         TokenCost(openai::EstimateTextTokens(delivered), 600'000);
}

TEST_CASE("a revoked session stops its stream and bills what was delivered", "[unit][guard]") {
  Fixture f;
  f.Session();
  auto sink = f.Run(kStream);
  REQUIRE(f.router.observer != nullptr);
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(Delta("Once upon a time, "));
  f.router.observer->OnEvent(ToolDelta("lookup", R"({"q":"dragons"})"));
  f.scheduler.Advance(1000);
  REQUIRE(f.policy.reservation_checks.size() == 1);
  CHECK(f.policy.reservation_checks[0].reservation_id() == "res_1");
  CHECK(sink->Count("error") == 0);
  f.router.observer->OnEvent(Delta("there was a dragon"));

  v1::CheckReservationResponse revoked;
  revoked.set_active(false);
  revoked.set_reason("session_revoked");
  f.policy.reservation = revoked;
  f.scheduler.Advance(1000);

  json::Value error = sink->ErrorEvent();
  CHECK(error.Find("error")->GetString("code") == "session_revoked");
  const json::Value* meta = error.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CHECK(meta->GetBool("cost_estimated") == true);
  CHECK(meta->GetString("session_id") == "sess_1");
  CHECK(sink->events.rfind("data: [DONE]\n\n") == sink->events.size() - 14);
  CHECK(sink->finishes == 1);
  CHECK(f.router.stream->cancels == 1);

  int64_t input = f.policy.authorizes[0].estimated_input_tokens();
  MicroUsd expected = Estimate(input, std::string("Once upon a time, ") + "lookup" +
                                          R"({"q":"dragons"})" + "there was a dragon");
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == expected);
  CHECK(f.policy.commits[0].actual_micro_usd() <= 1'000'000);
  CHECK(f.policy.commits[0].usage().estimated());
  CHECK(f.policy.commits[0].model().model() == "gpt-4o-mini");
  CHECK(meta->GetInt("cost_micro_usd") == expected);
  CHECK(f.policy.releases.empty());
  CHECK(f.Metric(R"(p402_edge_streams_cut_total{reason="session_revoked"})") == 1);
  CHECK(f.scheduler.pending() == 0);

  // The router's late events and its OnDone change nothing.
  std::string before = sink->events;
  f.router.observer->OnEvent(Delta("late"));
  f.router.Done(absl::CancelledError("cancelled"));
  CHECK(sink->events == before);
  CHECK(sink->finishes == 1);
  CHECK(f.policy.commits.size() == 1);
  CHECK(f.policy.releases.empty());
}

TEST_CASE("the delivered estimate never exceeds the reservation", "[unit][guard]") {
  Fixture f;
  f.Session(/*expires_in_ms=*/3'600'000, /*reserved=*/40);
  auto sink = f.Run(kStream);
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(Delta(std::string(3000, 'x')));  // 1000 tokens = 600 micro-USD
  v1::CheckReservationResponse paused;
  paused.set_reason("tenant_paused");
  f.policy.reservation = paused;
  f.scheduler.Advance(1000);
  CHECK(sink->ErrorEvent().Find("error")->GetString("code") == "tenant_paused");
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == 40);
}

TEST_CASE("a session stream is cut at the session's expiry without waiting for a poll",
          "[unit][guard]") {
  Fixture f;
  f.Session(/*expires_in_ms=*/2500);
  auto sink = f.Run(kStream);
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(Delta("partial answer"));
  f.scheduler.Advance(2499);
  CHECK(f.policy.reservation_checks.size() == 2);  // both said active
  CHECK(sink->finishes == 0);
  f.scheduler.Advance(1);
  CHECK(sink->ErrorEvent().Find("error")->GetString("code") == "session_expired");
  CHECK(f.router.stream->cancels == 1);
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() ==
        Estimate(f.policy.authorizes[0].estimated_input_tokens(), "partial answer"));
  CHECK(f.Metric(R"(p402_edge_streams_cut_total{reason="session_expired"})") == 1);
  CHECK(f.scheduler.pending() == 0);
}

TEST_CASE("a cut before the provider answered is a plain 403 and releases the hold",
          "[unit][guard]") {
  Fixture f;
  f.Session();
  v1::CheckReservationResponse revoked;
  revoked.set_reason("session_revoked");
  f.policy.reservation = revoked;
  auto sink = f.Run(kStream);
  f.scheduler.Advance(1000);
  CHECK_FALSE(sink->streaming);
  CHECK(sink->status == 403);
  CHECK(sink->Json().Find("error")->GetString("code") == "session_revoked");
  CHECK(f.router.stream->cancels == 1);
  REQUIRE(f.policy.releases.size() == 1);
  CHECK(f.policy.releases[0].reason() == "session_revoked");
  CHECK(f.policy.commits.empty());
  // The router's first event, already in flight, is dropped.
  f.router.observer->OnEvent(Decision());
  CHECK_FALSE(sink->streaming);
}

TEST_CASE("a failed reservation check keeps the stream going", "[unit][guard]") {
  Fixture f;
  f.Session();
  f.policy.reservation = absl::UnavailableError("policy down");
  auto sink = f.Run(kStream);
  f.router.observer->OnEvent(Decision());
  f.scheduler.Advance(3000);
  CHECK(f.policy.reservation_checks.size() == 3);
  CHECK(f.Metric("p402_edge_reservation_check_failed_total") == 3);
  f.router.observer->OnEvent(Delta("ok"));
  f.router.observer->OnEvent(End(5));
  f.router.Done(absl::OkStatus());
  CHECK(sink->Count("error") == 0);
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == 5);
  CHECK(f.scheduler.pending() == 0);  // the watch stopped with the stream
}

TEST_CASE("a normal session stream ends with session_id in p402_metadata", "[unit][guard]") {
  Fixture f;
  f.Session();
  auto sink = f.Run(kStream);
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(End(3));
  f.router.Done(absl::OkStatus());
  CHECK(sink->events.find(R"("session_id":"sess_1")") != std::string::npos);
  CHECK(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].meta().session_id() == "sess_1");
}

TEST_CASE("streams outside a session are not watched", "[unit][guard]") {
  Fixture f;
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  f.router.observer->OnEvent(Decision());
  CHECK(f.scheduler.pending() == 0);
  f.scheduler.Advance(10'000);
  CHECK(f.policy.reservation_checks.empty());
}

TEST_CASE("a client that leaves mid-stream is billed the delivered estimate", "[unit][guard]") {
  Fixture f;
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  f.router.observer->OnEvent(Decision());
  f.router.observer->OnEvent(Delta("half of the answer"));
  sink->GoAway();
  f.scheduler.Advance(0);  // the cancel runs on the scheduler, never inside a sink call
  CHECK(f.router.stream->cancels == 1);
  f.router.Done(absl::CancelledError("cancelled"));
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() ==
        Estimate(f.policy.authorizes[0].estimated_input_tokens(), "half of the answer"));
  CHECK(f.policy.releases.empty());
  CHECK(f.Metric(R"(p402_edge_chat_completions_total{outcome="client_gone"})") == 1);
}

TEST_CASE("a client that leaves before the first token releases the hold quietly",
          "[unit][guard]") {
  Fixture f;
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  sink->GoAway();
  f.scheduler.Advance(0);
  CHECK(f.router.stream->cancels == 1);
  f.router.Done(absl::CancelledError("cancelled"));
  CHECK(sink->status == 0);  // nobody to answer; not counted as a 500
  REQUIRE(f.policy.releases.size() == 1);
  CHECK(f.policy.releases[0].reason() == "client_gone");
  CHECK(f.policy.commits.empty());
  CHECK(f.Metric(R"(p402_edge_requests_total{route="chat",code="500"})") == 0);
  CHECK(f.Metric(R"(p402_edge_chat_completions_total{outcome="client_gone"})") == 1);
}

}  // namespace
}  // namespace p402::edge
