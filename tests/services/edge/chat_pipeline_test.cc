// Edge core tests: the chat pipeline against fake policy and router clients and a recording sink.
#include "services/edge/core/chat_pipeline.h"

#include <optional>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"

namespace p402::edge {
namespace {

class FakePolicy final : public PolicyClient {
 public:
  std::optional<absl::Status> fail;
  v1::AuthorizeResponse answer;
  v1::AuthorizeRequest last_authorize;
  std::vector<v1::CommitRequest> commits;
  std::vector<v1::ReleaseRequest> releases;

  FakePolicy() {
    answer.set_decision(v1::GUARD_DECISION_ALLOW);
    answer.set_tenant_id("t1");
    answer.mutable_reservation()->set_id("res_1");
    answer.mutable_reservation()->set_amount_micro_usd(1'000'000);
  }
  void Authorize(const v1::AuthorizeRequest& r, Callback<v1::AuthorizeResponse> done) override {
    last_authorize = r;
    if (fail) {
      done(*fail);
    } else {
      done(answer);
    }
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

// Keeps what is scheduled and never runs it (chat_guard_test drives time).
class IdleScheduler final : public Scheduler {
 public:
  TimerId RunAfter(std::chrono::milliseconds, std::function<void()>) override { return ++next; }
  void Cancel(TimerId) override {}
  TimerId next = 0;
};

class FakeStream final : public RouteStream {
 public:
  bool cancelled = false;
  void Cancel() override { cancelled = true; }
};

class FakeRouter final : public RouterClient {
 public:
  absl::StatusOr<v1::RouteResponse> route_answer = v1::RouteResponse();
  std::vector<v1::StreamRouteResponse> events;
  absl::Status stream_status;
  v1::RouteRequest last;
  std::shared_ptr<FakeStream> stream = std::make_shared<FakeStream>();

  void Route(const v1::RouteRequest& r, Callback<v1::RouteResponse> done) override {
    last = r;
    done(route_answer);
  }
  std::shared_ptr<RouteStream> StreamRoute(const v1::RouteRequest& r,
                                           std::shared_ptr<RouteStreamObserver> obs) override {
    last = r;
    for (const auto& e : events) obs->OnEvent(e);
    obs->OnDone(stream_status);
    return stream;
  }
  absl::StatusOr<v1::ListModelsResponse> ListModels() override { return v1::ListModelsResponse(); }
};

class RecordingSink final : public ResponseSink {
 public:
  int status = 0;
  std::string body;
  HeaderList headers;
  bool streaming = false;
  bool finished = false;
  std::string events;

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
  void Finish() override { finished = true; }
  void OnClientGone(std::function<void()>) override {}

  json::Value Json() const { return *json::Value::Parse(body); }
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
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  FakePolicy policy;
  FakeRouter router;
  IdleScheduler scheduler;
  std::shared_ptr<const CatalogView> catalog = std::make_shared<CatalogView>(Models());
  ChatPipeline pipeline{policy, router, [this] { return catalog; }, metrics, SystemClock::Get(),
                        scheduler};

  std::shared_ptr<RecordingSink> Run(std::string body, std::string key = "sk-test") {
    auto sink = std::make_shared<RecordingSink>();
    pipeline.Handle({.request_id = "req_1", .api_key = std::move(key), .body = std::move(body),
                     .received = std::chrono::steady_clock::now()},
                    sink);
    return sink;
  }
  double Metric(const std::string& sample) {
    return metrics::FindSample(registry.RenderPrometheusText(), sample).value_or(-1);
  }
};

constexpr char kChat[] =
    R"({"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";

TEST_CASE("bad JSON is a 400 and reaches neither policy nor router", "[unit]") {
  Fixture f;
  auto sink = f.Run("{not json");
  CHECK(sink->status == 400);
  CHECK(sink->Json().Find("error")->GetString("type") == "invalid_request_error");
  CHECK(f.policy.last_authorize.meta().request_id().empty());
}

TEST_CASE("a missing key is a 401 without a policy call", "[unit]") {
  Fixture f;
  auto sink = f.Run(kChat, "");
  CHECK(sink->status == 401);
  CHECK(sink->Json().Find("error")->GetString("code") == "missing_api_key");
}

TEST_CASE("policy unreachable fails closed with 503 and is counted", "[unit]") {
  Fixture f;
  f.policy.fail = absl::UnavailableError("down");
  auto sink = f.Run(kChat);
  CHECK(sink->status == 503);
  CHECK(f.Metric("p402_edge_policy_failure_mode_denied_total") == 1);
  CHECK(f.router.last.meta().request_id().empty());
}

TEST_CASE("guard denials map to HTTP statuses", "[unit]") {
  struct Row {
    v1::GuardDecision decision;
    int status;
  };
  for (Row row : {Row{v1::GUARD_DECISION_DENY_UNAUTHENTICATED, 401},
                  Row{v1::GUARD_DECISION_DENY_RATE_LIMIT, 429},
                  Row{v1::GUARD_DECISION_DENY_REQUEST_CAP, 402},
                  Row{v1::GUARD_DECISION_DENY_BUDGET, 402},
                  Row{v1::GUARD_DECISION_DENY_POLICY, 403}}) {
    Fixture f;
    f.policy.answer.set_decision(row.decision);
    f.policy.answer.set_reason("some_reason");
    f.policy.answer.set_retry_after_ms(1500);
    auto sink = f.Run(kChat);
    CHECK(sink->status == row.status);
    CHECK(sink->Json().Find("error")->GetString("code") == "some_reason");
    if (row.status == 429) {
      CHECK(std::find(sink->headers.begin(), sink->headers.end(),
                      std::pair<std::string, std::string>("retry-after", "2")) !=
            sink->headers.end());
    }
  }
}

TEST_CASE("the reservation estimate is the worst case of the model", "[unit]") {
  Fixture f;
  f.Run(R"({"model":"gpt-4o-mini","max_tokens":100,"p402":{"failover":false},)"
        R"("messages":[{"role":"user","content":"hi"}]})");
  const v1::AuthorizeRequest& a = f.policy.last_authorize;
  CHECK(a.credential().api_key() == "sk-test");
  CHECK(a.model().model() == "gpt-4o-mini");
  CHECK(a.max_output_tokens() == 100);
  int64_t input = a.estimated_input_tokens();
  REQUIRE(input > 0);
  // ceil(input * 0.15) + ceil(100 * 0.60) micro-USD.
  CHECK(a.worst_case_micro_usd() == (input * 150'000 + 999'999) / 1'000'000 + 60);
}

TEST_CASE("with failover the reservation covers every same-tier fallback", "[unit]") {
  Fixture f;
  v1::ListModelsResponse models = Models();
  v1::ModelInfo* pricier = models.add_models();
  *pricier = models.models(0);
  pricier->mutable_ref()->set_provider("other");
  pricier->mutable_prices()->set_output_per_mtok_micro_usd(900'000);
  v1::ModelInfo* premium = models.add_models();
  *premium = models.models(0);
  premium->mutable_ref()->set_model("big");
  premium->set_tier("premium");
  premium->mutable_prices()->set_output_per_mtok_micro_usd(90'000'000);
  f.catalog = std::make_shared<CatalogView>(models);
  f.Run(kChat);
  int64_t input = f.policy.last_authorize.estimated_input_tokens();
  // The budget-tier ceiling: 100 output tokens at $0.90/1M, not the premium model's price.
  CHECK(f.policy.last_authorize.worst_case_micro_usd() ==
        (input * 150'000 + 999'999) / 1'000'000 + 90);
}

TEST_CASE("an unknown model is a 404 after authentication, and the hold is released", "[unit]") {
  Fixture f;
  auto sink = f.Run(R"({"model":"nope","messages":[{"role":"user","content":"hi"}]})");
  CHECK(sink->status == 404);
  CHECK(sink->Json().Find("error")->GetString("code") == "model_not_found");
  REQUIRE(f.policy.releases.size() == 1);
  CHECK(f.policy.releases[0].reservation_id() == "res_1");
}

TEST_CASE("a completion carries p402_metadata and commits the actual cost", "[unit]") {
  Fixture f;
  v1::RouteResponse r;
  r.mutable_completion()->set_id("chatcmpl-1");
  r.mutable_completion()->set_model("gpt-4o-mini");
  auto* choice = r.mutable_completion()->add_choices();
  choice->mutable_message()->set_role("assistant");
  choice->mutable_message()->set_content("hello");
  choice->set_finish_reason("stop");
  r.mutable_completion()->mutable_usage()->set_input_tokens(10);
  r.mutable_completion()->mutable_usage()->set_output_tokens(5);
  r.mutable_cost()->set_total_micro_usd(5);
  r.mutable_cost()->set_direct_micro_usd(5);
  r.mutable_decision()->mutable_chosen()->set_provider("openai");
  r.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  f.router.route_answer = r;
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 200);
  json::Value body = sink->Json();
  const json::Value* meta = body.Find("p402_metadata");
  REQUIRE(meta != nullptr);
  CHECK(meta->GetString("provider") == "openai");
  CHECK(meta->GetInt("cost_micro_usd") == 5);
  CHECK(meta->GetInt("input_tokens") == 10);
  CHECK(meta->GetString("request_id") == "req_1");
  CHECK(f.router.last.spend_limit_micro_usd() == 1'000'000);
  CHECK(f.router.last.options().provider().empty());  // the router resolves the model
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == 5);
  CHECK(f.Metric(R"(p402_edge_requests_total{route="chat",code="200"})") == 1);
}

TEST_CASE("router failure before any token is an HTTP error and releases", "[unit]") {
  Fixture f;
  f.router.route_answer = absl::UnavailableError("all providers failed");
  auto sink = f.Run(kChat);
  CHECK(sink->status == 503);
  CHECK(f.policy.releases.size() == 1);
  CHECK(f.policy.commits.empty());
}

v1::StreamRouteResponse Delta(std::string text) {
  v1::StreamRouteResponse e;
  e.mutable_delta()->set_content(std::move(text));
  return e;
}

TEST_CASE("a stream sends chunks, a metadata chunk and [DONE], then commits", "[unit]") {
  Fixture f;
  v1::StreamRouteResponse decision;
  decision.mutable_decision()->mutable_chosen()->set_model("gpt-4o-mini");
  v1::StreamRouteResponse end;
  end.mutable_end()->mutable_usage()->set_output_tokens(2);
  end.mutable_end()->mutable_cost()->set_total_micro_usd(3);
  f.router.events = {decision, Delta("he"), Delta("llo"), end};
  auto sink = f.Run(
      R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"user","content":"hi"}]})");
  CHECK(sink->streaming);
  CHECK(sink->finished);
  CHECK(sink->events.find(R"("content":"he")") != std::string::npos);
  CHECK(sink->events.find("p402_metadata") != std::string::npos);
  CHECK(sink->events.rfind("data: [DONE]\n\n") == sink->events.size() - 14);
  REQUIRE(f.policy.commits.size() == 1);
  CHECK(f.policy.commits[0].actual_micro_usd() == 3);
}

TEST_CASE("a stream cut after the first token ends with an explicit error event", "[unit]") {
  Fixture f;
  f.router.events = {Delta("partial")};
  f.router.stream_status = absl::UnavailableError("connection reset");
  auto sink = f.Run(R"({"model":"gpt-4o-mini","stream":true,)"
                    R"("messages":[{"role":"user","content":"hi"}]})");
  CHECK(sink->streaming);
  CHECK(sink->events.find("stream_interrupted") != std::string::npos);
  CHECK(sink->finished);
}

}  // namespace
}  // namespace p402::edge
