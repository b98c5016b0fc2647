// Edge core tests: x402 pay-per-call in the chat pipeline (chat_payment.cc) against fake policy,
// router (with Quote) and settlement clients and a recording sink. Payment headers are base64 of
// hand-written JSON: the fake settlement decides validity, DecodePaymentHeader only checks shapes.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/base64.h"
#include "libs/json/value.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"
#include "libs/x402/codec.h"
#include "services/edge/core/chat_pipeline.h"

namespace p402::edge {
namespace {

class FakePolicy final : public PolicyClient {
 public:
  int authorizes = 0;
  int commits = 0;
  int releases = 0;
  void Authorize(const v1::AuthorizeRequest&, Callback<v1::AuthorizeResponse> done) override {
    ++authorizes;
    done(absl::UnimplementedError("paid requests must not reach policy"));
  }
  void Commit(const v1::CommitRequest&, Callback<v1::CommitResponse> done) override {
    ++commits;
    done(v1::CommitResponse());
  }
  void Release(const v1::ReleaseRequest&, Callback<v1::ReleaseResponse> done) override {
    ++releases;
    done(v1::ReleaseResponse());
  }
  void GetApproval(std::string_view, const v1::GetApprovalRequest&,
                   Callback<v1::GetApprovalResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
  void CheckReservation(std::string_view, const v1::CheckReservationRequest&,
                        Callback<v1::CheckReservationResponse> done) override {
    done(absl::UnimplementedError("not used"));
  }
};

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

// Worst-case cost per mode, micro-USD.
int64_t WorstCase(v1::RoutingMode mode) {
  switch (mode) {
    case v1::ROUTING_MODE_COST:
      return 100;
    case v1::ROUTING_MODE_QUALITY:
      return 400;
    case v1::ROUTING_MODE_SPEED:
      return 200;
    default:
      return 250;
  }
}

class FakeRouter final : public RouterClient {
 public:
  std::optional<absl::Status> quote_error;
  std::vector<v1::QuoteRequest> quotes;
  absl::StatusOr<v1::RouteResponse> route_answer = v1::RouteResponse();
  std::vector<v1::StreamRouteResponse> events;
  absl::Status stream_status;
  int routes = 0;
  v1::RouteRequest last;
  std::shared_ptr<FakeStream> stream = std::make_shared<FakeStream>();
  // Keeps the observer so a test can deliver events later.
  std::shared_ptr<RouteStreamObserver> observer;

  void Quote(const v1::QuoteRequest& r, Callback<v1::QuoteResponse> done) override {
    quotes.push_back(r);
    if (quote_error) {
      done(*quote_error);
      return;
    }
    v1::QuoteResponse out;
    for (int mode : r.modes()) {
      v1::ModeQuote* q = out.add_quotes();
      q->set_mode(static_cast<v1::RoutingMode>(mode));
      q->mutable_model()->set_provider("openai");
      q->mutable_model()->set_model("model-" + std::to_string(mode));
      q->set_worst_case_micro_usd(WorstCase(q->mode()));
    }
    done(out);
  }
  void Route(const v1::RouteRequest& r, Callback<v1::RouteResponse> done) override {
    ++routes;
    last = r;
    done(route_answer);
  }
  std::shared_ptr<RouteStream> StreamRoute(const v1::RouteRequest& r,
                                           std::shared_ptr<RouteStreamObserver> obs) override {
    ++routes;
    last = r;
    observer = obs;
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
  bool gone = false;  // the client left before the answer

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
  void OnClientGone(std::function<void()> callback) override {
    if (gone) callback();
  }

  json::Value Json() const { return *json::Value::Parse(body); }
  std::optional<std::string> Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

constexpr char kAsset[] = "0x4444444444444444444444444444444444444444";
constexpr char kPayTo[] = "0x2222222222222222222222222222222222222222";
constexpr char kPayer[] = "0x1111111111111111111111111111111111111111";
constexpr int64_t kFee = 10;

class FakeSettlement final : public SettlementClient {
 public:
  std::optional<absl::Status> requirements_error;
  std::optional<absl::Status> verify_error;
  std::optional<absl::Status> settle_error;
  // Network of the offers in v2 form ("eip155:84532"); v1 requests get the legacy name.
  std::string network_v2 = "eip155:84532";
  std::vector<v1::GetPaymentRequirementsRequest> requirement_requests;
  std::vector<v1::VerifyPaymentRequest> verifies;
  std::vector<v1::SettlePaymentRequest> settles;
  std::vector<v1::ReleasePaymentRequest> releases;
  // Verify answer: valid with the offer at this index, unless invalid_reason is set.
  int matched_index = 1;
  std::string invalid_reason;
  // Settle answer: success unless error_reason is set.
  std::string settle_error_reason;
  std::string settle_tx = "0x" + std::string(64, 'a');
  // Hold SettlePayment's callback instead of answering (deliver with FinishSettle).
  bool defer_settle = false;
  Callback<v1::SettlePaymentResponse> deferred;
  std::function<void()> on_settle;

  void GetPaymentRequirements(const v1::GetPaymentRequirementsRequest& r,
                              Callback<v1::GetPaymentRequirementsResponse> done) override {
    requirement_requests.push_back(r);
    if (requirements_error) {
      done(*requirements_error);
      return;
    }
    v1::GetPaymentRequirementsResponse out;
    out.set_x402_version(r.x402_version());
    for (const v1::ModeCost& c : r.mode_costs()) {
      v1::PaymentRequirement* p = out.add_accepts();
      p->set_scheme("exact");
      p->set_network(r.x402_version() == 1 ? "base-sepolia" : network_v2);
      p->set_amount(std::to_string(c.worst_case_micro_usd() + kFee));
      p->set_asset(kAsset);
      p->set_pay_to(kPayTo);
      p->set_max_timeout_seconds(60);
      p->set_resource(r.resource());
      p->set_description("chat");
      p->set_mime_type("application/json");
      p->set_extra_json(R"({"name":"USDC","version":"2"})");
      p->set_mode(c.mode());
      *p->mutable_model() = c.model();
      p->set_model_cost_micro_usd(c.worst_case_micro_usd());
      p->set_platform_fee_micro_usd(kFee);
    }
    done(out);
  }
  void VerifyPayment(const v1::VerifyPaymentRequest& r,
                     Callback<v1::VerifyPaymentResponse> done) override {
    verifies.push_back(r);
    if (verify_error) {
      done(*verify_error);
      return;
    }
    v1::VerifyPaymentResponse out;
    out.set_payer(kPayer);
    if (!invalid_reason.empty()) {
      out.set_invalid_reason(invalid_reason);
      out.set_invalid_message("signature does not recover to the payer");
      out.set_matched_index(-1);
    } else {
      out.set_valid(true);
      out.set_matched_index(matched_index);
      *out.mutable_matched() = r.accepted(matched_index);
    }
    done(out);
  }
  void SettlePayment(const v1::SettlePaymentRequest& r,
                     Callback<v1::SettlePaymentResponse> done) override {
    settles.push_back(r);
    if (on_settle) on_settle();
    if (defer_settle) {
      deferred = std::move(done);
      return;
    }
    done(SettleAnswer(r));
  }
  absl::StatusOr<v1::SettlePaymentResponse> SettleAnswer(const v1::SettlePaymentRequest& r) {
    if (settle_error) return *settle_error;
    v1::SettlePaymentResponse out;
    out.set_network(r.requirement().network());
    out.set_payer(kPayer);
    out.set_amount(r.requirement().amount());
    if (settle_error_reason.empty()) {
      out.set_success(true);
      out.set_transaction(settle_tx);
      // As the engine books it: the provider cost plus the fee, capped at the amount paid.
      int64_t paid = std::stoll(r.requirement().amount());
      int64_t total = std::min(r.charged_micro_usd() + kFee, paid);
      out.set_charged_micro_usd(total);
      out.set_platform_fee_micro_usd(total - std::min(r.charged_micro_usd(), paid));
      out.set_credit_micro_usd(paid - total);
    } else {
      out.set_error_reason(settle_error_reason);
      if (settle_error_reason == "settlement_pending") out.set_transaction(settle_tx);
    }
    return out;
  }
  void FinishSettle() {
    auto done = std::move(deferred);
    done(SettleAnswer(settles.back()));
  }
  void ReleasePayment(const v1::ReleasePaymentRequest& r,
                      Callback<v1::ReleasePaymentResponse> done) override {
    releases.push_back(r);
    v1::ReleasePaymentResponse out;
    out.set_released(true);
    done(out);
  }
  // Prepaid holds: Unimplemented unless a test sets an answer; every request is recorded.
  std::optional<absl::StatusOr<v1::HoldBalanceResponse>> hold_answer;
  std::optional<absl::StatusOr<v1::CaptureHoldResponse>> capture_answer;
  std::optional<absl::StatusOr<v1::ReleaseHoldResponse>> release_hold_answer;
  std::vector<v1::HoldBalanceRequest> holds;
  std::vector<v1::CaptureHoldRequest> captures;
  std::vector<v1::ReleaseHoldRequest> hold_releases;
  void HoldBalance(const v1::HoldBalanceRequest& r,
                   Callback<v1::HoldBalanceResponse> done) override {
    holds.push_back(r);
    done(hold_answer ? *hold_answer : Unused());
  }
  void CaptureHold(const v1::CaptureHoldRequest& r,
                   Callback<v1::CaptureHoldResponse> done) override {
    captures.push_back(r);
    done(capture_answer ? *capture_answer : Unused());
  }
  void ReleaseHold(const v1::ReleaseHoldRequest& r,
                   Callback<v1::ReleaseHoldResponse> done) override {
    hold_releases.push_back(r);
    done(release_hold_answer ? *release_hold_answer : Unused());
  }
  void GetSupported(Callback<v1::GetSupportedResponse> done) override { done(Unused()); }
  void TopUp(const v1::TopUpRequest&, Callback<v1::TopUpResponse> done) override { done(Unused()); }
  void RecordUsage(const v1::RecordUsageRequest&, Callback<v1::RecordUsageResponse> done) override {
    done(Unused());
  }
  void GetBalance(const v1::GetBalanceRequest&, Callback<v1::GetBalanceResponse> done) override {
    done(Unused());
  }
  void ListUsage(const v1::ListUsageRequest&, Callback<v1::ListUsageResponse> done) override {
    done(Unused());
  }
  void CreateListing(const v1::CreateListingRequest&,
                     Callback<v1::CreateListingResponse> done) override {
    done(Unused());
  }
  void ListListings(const v1::ListListingsRequest&,
                    Callback<v1::ListListingsResponse> done) override {
    done(Unused());
  }
  void DiscoverListings(const v1::DiscoverListingsRequest&,
                        Callback<v1::DiscoverListingsResponse> done) override {
    done(Unused());
  }

 private:
  static absl::Status Unused() { return absl::UnimplementedError("not used by the chat path"); }
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

constexpr char kResource[] = "http://edge.test/v1/chat/completions";

struct Fixture {
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  FakePolicy policy;
  FakeRouter router;
  FakeSettlement settlement;
  IdleScheduler scheduler;
  std::shared_ptr<const CatalogView> catalog = std::make_shared<CatalogView>(Models());
  ChatPipeline pipeline{policy,
                        router,
                        [this] { return catalog; },
                        metrics,
                        SystemClock::Get(),
                        scheduler,
                        PipelineOptions{.settlement = &settlement}};

  std::shared_ptr<RecordingSink> Run(std::string body, std::string x_payment = "",
                                     std::string payment_signature = "", std::string key = "",
                                     bool gone = false) {
    auto sink = std::make_shared<RecordingSink>();
    sink->gone = gone;
    pipeline.Handle({.request_id = "req_1",
                     .api_key = std::move(key),
                     .body = std::move(body),
                     .received = std::chrono::steady_clock::now(),
                     .payment_v1 = std::move(x_payment),
                     .payment_v2 = std::move(payment_signature),
                     .resource_url = kResource},
                    sink);
    return sink;
  }
  double Metric(const std::string& sample) {
    return metrics::FindSample(registry.RenderPrometheusText(), sample).value_or(-1);
  }
};

constexpr char kChat[] =
    R"({"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]})";
constexpr char kStreamChat[] =
    R"({"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]})";

std::string Hex(char digit, size_t n) { return "0x" + std::string(n, digit); }

std::string PayloadPart(std::string_view value) {
  return R"("payload":{"signature":")" + Hex('a', 130) + R"(","authorization":{"from":")" + kPayer +
         R"(","to":")" + kPayTo + R"(","value":")" + std::string(value) +
         R"(","validAfter":"0","validBefore":"9999999999","nonce":")" + Hex('3', 64) + R"("}})";
}

// X-PAYMENT value paying the v1 offer of `value` micro-USD.
std::string V1Header(std::string_view value = "110") {
  return crypto::Base64Encode(R"({"x402Version":1,"scheme":"exact","network":"base-sepolia",)" +
                              PayloadPart(value) + "}");
}

// PAYMENT-SIGNATURE value answering the v2 offer of `value` micro-USD.
std::string V2Header(std::string_view value = "110") {
  return crypto::Base64Encode(
      R"({"x402Version":2,)" + PayloadPart(value) + R"(,"resource":{"url":")" + kResource +
      R"("},"accepted":{"scheme":"exact","network":"eip155:84532","amount":")" +
      std::string(value) + R"(","asset":")" + kAsset + R"(","payTo":")" + kPayTo +
      R"(","maxTimeoutSeconds":60,"extra":{"name":"USDC","version":"2"}}})");
}

v1::RouteResponse Completion(int64_t cost) {
  v1::RouteResponse r;
  r.mutable_completion()->set_id("chatcmpl-1");
  r.mutable_completion()->set_model("model-1");
  auto* choice = r.mutable_completion()->add_choices();
  choice->mutable_message()->set_role("assistant");
  choice->mutable_message()->set_content("hello");
  choice->set_finish_reason("stop");
  r.mutable_completion()->mutable_usage()->set_input_tokens(10);
  r.mutable_completion()->mutable_usage()->set_output_tokens(5);
  r.mutable_cost()->set_total_micro_usd(cost);
  r.mutable_cost()->set_direct_micro_usd(cost);
  r.mutable_decision()->mutable_chosen()->set_provider("openai");
  r.mutable_decision()->mutable_chosen()->set_model("model-1");
  r.mutable_decision()->set_mode(v1::ROUTING_MODE_COST);
  return r;
}

v1::StreamRouteResponse Decision() {
  v1::StreamRouteResponse e;
  e.mutable_decision()->mutable_chosen()->set_provider("openai");
  e.mutable_decision()->mutable_chosen()->set_model("model-1");
  return e;
}

v1::StreamRouteResponse Delta(std::string text) {
  v1::StreamRouteResponse e;
  e.mutable_delta()->set_content(std::move(text));
  return e;
}

v1::StreamRouteResponse End(int64_t cost) {
  v1::StreamRouteResponse e;
  e.mutable_end()->mutable_usage()->set_output_tokens(2);
  e.mutable_end()->mutable_cost()->set_total_micro_usd(cost);
  e.mutable_end()->mutable_decision()->mutable_chosen()->set_model("model-1");
  return e;
}

const json::Value& ErrorOf(const json::Value& body) { return *body.Find("error"); }

TEST_CASE("no key and no payment: 402 with the v1 body and the v2 header", "[unit]") {
  Fixture f;
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 402);
  json::Value body = sink->Json();
  CHECK(body.GetInt("x402Version") == 1);
  CHECK(ErrorOf(body).GetString("code") == "payment_required");
  CHECK(ErrorOf(body).GetString("type") == "payment_required");
  CHECK(ErrorOf(body).GetString("message")->find("PAYMENT-SIGNATURE") != std::string_view::npos);
  const json::Array& accepts = body.Find("accepts")->AsArray();
  REQUIRE(accepts.size() == 4);
  CHECK(accepts[0].GetString("network") == "base-sepolia");   // v1 name of eip155:84532
  CHECK(accepts[0].GetString("maxAmountRequired") == "260");  // balanced first: 250 + fee
  CHECK(accepts[0].GetString("resource") == kResource);

  auto header = sink->Header("payment-required");
  REQUIRE(header);
  auto offers = x402::DecodePaymentRequiredHeaderV2(*header);
  REQUIRE(offers.ok());
  REQUIRE(offers->size() == 4);
  std::vector<std::string> amounts;
  for (const auto& o : *offers) amounts.push_back(o.amount());
  // balanced, cost, quality, speed
  CHECK(amounts == std::vector<std::string>{"260", "110", "410", "210"});
  CHECK((*offers)[0].network() == "eip155:84532");
  CHECK(sink->Header("cache-control") == "no-store");
  CHECK(sink->Header("x-request-id") == "req_1");

  REQUIRE(f.router.quotes.size() == 1);
  CHECK(f.router.quotes[0].modes_size() == 4);
  REQUIRE(f.settlement.requirement_requests.size() == 1);
  const auto& req = f.settlement.requirement_requests[0];
  CHECK(req.x402_version() == 2);
  CHECK(req.resource() == kResource);
  REQUIRE(req.mode_costs_size() == 4);
  CHECK(req.mode_costs(0).mode() == v1::ROUTING_MODE_BALANCED);
  CHECK(req.mode_costs(1).worst_case_micro_usd() == 100);
  CHECK(f.policy.authorizes == 0);
  CHECK(f.router.routes == 0);
  CHECK(f.Metric(R"(p402_edge_chat_completions_total{outcome="payment_required"})") == 1);
  CHECK(f.Metric(R"(p402_edge_requests_total{route="chat",code="402"})") == 1);
}

TEST_CASE("the client's mode is offered first", "[unit]") {
  Fixture f;
  f.Run(R"({"p402":{"mode":"speed"},"messages":[{"role":"user","content":"hi"}]})");
  REQUIRE(f.router.quotes.size() == 1);
  const auto& modes = f.router.quotes[0].modes();
  REQUIRE(modes.size() == 4);
  CHECK(modes[0] == v1::ROUTING_MODE_SPEED);
  CHECK(modes[1] == v1::ROUTING_MODE_COST);
  CHECK(modes[2] == v1::ROUTING_MODE_QUALITY);
  CHECK(modes[3] == v1::ROUTING_MODE_BALANCED);
}

TEST_CASE("a chain without a v1 name gives an empty v1 accepts list", "[unit]") {
  Fixture f;
  f.settlement.network_v2 = "eip155:999999";
  auto sink = f.Run(kChat);
  REQUIRE(sink->status == 402);
  CHECK(sink->Json().Find("accepts")->AsArray().empty());
  auto offers = x402::DecodePaymentRequiredHeaderV2(*sink->Header("payment-required"));
  REQUIRE(offers.ok());
  CHECK(offers->size() == 4);
}

TEST_CASE("bad JSON is still a 400 before any quote", "[unit]") {
  Fixture f;
  auto sink = f.Run("{nope");
  CHECK(sink->status == 400);
  CHECK(f.router.quotes.empty());
  CHECK(f.settlement.requirement_requests.empty());
}

TEST_CASE("a request with a key ignores payment headers and goes to policy", "[unit]") {
  Fixture f;
  f.Run(kChat, V1Header(), "", "sk-test");
  CHECK(f.policy.authorizes == 1);
  CHECK(f.router.quotes.empty());
  CHECK(f.settlement.verifies.empty());
}

TEST_CASE("without a settlement client a missing key is still a 401", "[unit]") {
  metrics::Registry registry;
  EdgeMetrics metrics{registry};
  FakePolicy policy;
  FakeRouter router;
  IdleScheduler scheduler;
  auto catalog = std::make_shared<const CatalogView>(Models());
  ChatPipeline pipeline{
      policy, router, [catalog] { return catalog; }, metrics, SystemClock::Get(), scheduler};
  auto sink = std::make_shared<RecordingSink>();
  pipeline.Handle({.request_id = "r", .body = kChat, .payment_v1 = V1Header()}, sink);
  CHECK(sink->status == 401);
  CHECK(router.quotes.empty());
}

TEST_CASE("a malformed payment header is a 402 invalid_payload without Verify", "[unit]") {
  const std::string cases[] = {
      "not base64!",
      crypto::Base64Encode("{not json"),
      crypto::Base64Encode(R"({"x402Version":1,"scheme":"exact"})"),
      std::string(20000, 'A'),
      crypto::Base64Encode(std::string("\0\xff\xfe", 3)),
  };
  for (const std::string& header : cases) {
    Fixture f;
    auto sink = f.Run(kChat, header);
    REQUIRE(sink->status == 402);
    json::Value body = sink->Json();
    CHECK(ErrorOf(body).GetString("code") == "invalid_payload");
    CHECK(body.Find("accepts")->AsArray().size() == 4);  // fresh offers
    CHECK(sink->Header("payment-required").has_value());
    CHECK(f.settlement.verifies.empty());
    CHECK(f.router.routes == 0);
  }
}

TEST_CASE("a payload whose version does not match its header is invalid_payload", "[unit]") {
  Fixture f;
  auto sink = f.Run(kChat, "", V1Header());  // a v1 payload in PAYMENT-SIGNATURE
  REQUIRE(sink->status == 402);
  CHECK(ErrorOf(sink->Json()).GetString("code") == "invalid_payload");
  CHECK(f.settlement.verifies.empty());
}

TEST_CASE("a payment verify rejects is a 402 with its reason and no route", "[unit]") {
  Fixture f;
  f.settlement.invalid_reason = "invalid_exact_evm_signature";
  auto sink = f.Run(kChat, "", V2Header());
  REQUIRE(sink->status == 402);
  json::Value body = sink->Json();
  CHECK(ErrorOf(body).GetString("code") == "invalid_exact_evm_signature");
  CHECK(ErrorOf(body).GetString("message")->find("does not recover") != std::string_view::npos);
  CHECK(body.Find("accepts")->AsArray().size() == 4);
  // The v2 header's `error` is the reason.
  auto raw = crypto::Base64Decode(*sink->Header("payment-required"));
  REQUIRE(raw);
  CHECK(json::Value::Parse(*raw)->GetString("error") == "invalid_exact_evm_signature");
  REQUIRE(f.settlement.verifies.size() == 1);
  const auto& v = f.settlement.verifies[0];
  CHECK(v.claim());
  CHECK(v.meta().request_id() == "req_1");
  CHECK(v.accepted_size() == 4);
  CHECK(json::Value::Parse(v.payment_payload_json())->GetInt("x402Version") == 2);
  CHECK(f.router.routes == 0);
  CHECK(f.settlement.settles.empty());
  CHECK(f.Metric(R"(p402_edge_x402_payments_total{outcome="invalid"})") == 1);
}

TEST_CASE("a v1 payment is verified against v1 offers, routed, settled and answered", "[unit]") {
  Fixture f;
  f.router.route_answer = Completion(40);
  auto sink = f.Run(kChat, V1Header());
  REQUIRE(f.settlement.requirement_requests.size() == 1);
  CHECK(f.settlement.requirement_requests[0].x402_version() == 1);
  REQUIRE(f.settlement.verifies.size() == 1);
  CHECK(f.settlement.verifies[0].accepted(0).network() == "base-sepolia");
  // matched_index 1 = the cost offer (balanced, cost, quality, speed).
  REQUIRE(f.router.routes == 1);
  CHECK(f.router.last.options().mode() == v1::ROUTING_MODE_COST);
  CHECK(f.router.last.spend_limit_micro_usd() == 100);
  CHECK(f.router.last.chat().model() == "gpt-4o-mini");  // the client's model field is kept
  REQUIRE(f.settlement.settles.size() == 1);
  const auto& s = f.settlement.settles[0];
  CHECK(s.charged_micro_usd() == 40);  // the provider cost; settlement adds the fee
  CHECK(s.requirement().amount() == "110");
  CHECK(s.payment_payload_json() == f.settlement.verifies[0].payment_payload_json());

  REQUIRE(sink->status == 200);
  json::Value body = sink->Json();
  CHECK(body.Find("choices") != nullptr);
  const json::Value* payment = body.Find("p402_metadata")->Find("payment");
  REQUIRE(payment != nullptr);
  CHECK(payment->GetString("transaction") == f.settlement.settle_tx);
  CHECK(payment->GetString("network") == "base-sepolia");
  CHECK(payment->GetString("payer") == kPayer);
  CHECK(payment->GetInt("amount_micro_usd") == 110);
  CHECK(payment->GetInt("charged_micro_usd") == 50);
  CHECK(payment->GetInt("fee_micro_usd") == kFee);
  CHECK(payment->GetInt("credit_micro_usd") == 60);

  auto header = sink->Header("x-payment-response");
  REQUIRE(header);
  CHECK_FALSE(sink->Header("payment-response").has_value());
  auto settle = x402::DecodePaymentResponseHeader(*header);
  REQUIRE(settle.ok());
  CHECK(settle->success());
  CHECK(settle->transaction() == f.settlement.settle_tx);
  CHECK(sink->Header("access-control-expose-headers") == "x-payment-response");
  CHECK(f.policy.authorizes == 0);
  CHECK(f.policy.commits == 0);
  CHECK(f.settlement.releases.empty());
  CHECK(f.Metric(R"(p402_edge_x402_payments_total{outcome="settled"})") == 1);
}

TEST_CASE("a v2 payment is answered with PAYMENT-RESPONSE", "[unit]") {
  Fixture f;
  f.settlement.matched_index = 2;           // quality
  f.router.route_answer = Completion(500);  // above the paid model cost: charged is capped
  auto sink = f.Run(kChat, "", V2Header("410"));
  CHECK(f.settlement.requirement_requests[0].x402_version() == 2);
  CHECK(f.router.last.options().mode() == v1::ROUTING_MODE_QUALITY);
  CHECK(f.router.last.spend_limit_micro_usd() == 400);
  REQUIRE(f.settlement.settles.size() == 1);
  CHECK(f.settlement.settles[0].charged_micro_usd() == 400);  // capped at the model cost
  REQUIRE(sink->status == 200);
  auto header = sink->Header("payment-response");
  REQUIRE(header);
  CHECK_FALSE(sink->Header("x-payment-response").has_value());
  CHECK(x402::DecodePaymentResponseHeader(*header)->network() == "eip155:84532");
  json::Value body = sink->Json();
  const json::Value* payment = body.Find("p402_metadata")->Find("payment");
  REQUIRE(payment != nullptr);
  CHECK(payment->Find("credit_micro_usd") == nullptr);  // nothing left over
}

TEST_CASE("a settlement that does not succeed is a 402 without the completion", "[unit]") {
  for (std::string reason : {"invalid_exact_evm_transaction_failed", "settlement_pending"}) {
    Fixture f;
    f.settlement.settle_error_reason = reason;
    f.router.route_answer = Completion(40);
    auto sink = f.Run(kChat, "", V2Header());
    REQUIRE(sink->status == 402);
    json::Value body = sink->Json();
    CHECK(body.Find("choices") == nullptr);
    CHECK(ErrorOf(body).GetString("code") == reason);
    auto header = sink->Header("payment-response");
    REQUIRE(header);
    auto settle = x402::DecodePaymentResponseHeader(*header);
    REQUIRE(settle.ok());
    CHECK_FALSE(settle->success());
    CHECK(settle->error_reason() == reason);
    if (reason == "settlement_pending") {
      CHECK(settle->transaction() == f.settlement.settle_tx);
      CHECK(ErrorOf(body).GetString("message")->find("Do not pay again") != std::string_view::npos);
    }
    CHECK(f.settlement.releases.empty());
    CHECK(f.Metric(R"(p402_edge_chat_completions_total{outcome="payment_failed"})") == 1);
  }
}

TEST_CASE("every provider failing releases the payment and charges nothing", "[unit]") {
  Fixture f;
  f.router.route_answer = absl::UnavailableError("all providers failed");
  auto sink = f.Run(kChat, V1Header());
  CHECK(sink->status == 503);
  CHECK(f.settlement.settles.empty());
  REQUIRE(f.settlement.releases.size() == 1);
  CHECK(f.settlement.releases[0].reason() == "provider_failed");
  CHECK(f.settlement.releases[0].meta().request_id() == "req_1");
  CHECK(f.settlement.releases[0].payment_payload_json() ==
        f.settlement.verifies[0].payment_payload_json());
  CHECK(f.policy.releases == 0);
}

TEST_CASE("a paid stream settles before the first SSE bytes", "[unit]") {
  Fixture f;
  f.router.events = {Decision(), Delta("he"), Delta("llo"), End(30)};
  std::shared_ptr<RecordingSink> sink;
  bool streaming_at_settle = true;
  std::string events_at_settle = "unset";
  f.settlement.on_settle = [&] {
    // The sink is created before Handle runs, so it is observable here.
    streaming_at_settle = sink->streaming;
    events_at_settle = sink->events;
  };
  sink = std::make_shared<RecordingSink>();
  f.pipeline.Handle({.request_id = "req_1",
                     .body = kStreamChat,
                     .received = std::chrono::steady_clock::now(),
                     .payment_v2 = V2Header(),
                     .resource_url = kResource},
                    sink);
  REQUIRE(f.settlement.settles.size() == 1);
  CHECK_FALSE(streaming_at_settle);
  CHECK(events_at_settle.empty());
  // The whole model cost: the cost is not known when a stream settles.
  CHECK(f.settlement.settles[0].charged_micro_usd() == 100);
  CHECK(sink->streaming);
  CHECK(sink->finished);
  CHECK(sink->Header("payment-response").has_value());
  CHECK(sink->events.find(R"("content":"he")") != std::string::npos);
  CHECK(sink->events.find(R"("payment":{"transaction")") != std::string::npos);
  CHECK(f.policy.commits == 0);
  CHECK(f.settlement.releases.empty());
}

TEST_CASE("a stream's events wait for a slow settlement and keep their order", "[unit]") {
  Fixture f;
  f.settlement.defer_settle = true;
  f.router.events = {Decision(), Delta("one"), Delta("two"), End(30)};
  auto sink = f.Run(kStreamChat, "", V2Header());
  // The router finished (events and OnDone) while the settlement is still running.
  REQUIRE(f.settlement.settles.size() == 1);
  CHECK_FALSE(sink->streaming);
  CHECK(sink->events.empty());
  f.settlement.FinishSettle();
  CHECK(sink->streaming);
  CHECK(sink->finished);
  size_t one = sink->events.find(R"("content":"one")");
  size_t two = sink->events.find(R"("content":"two")");
  REQUIRE(one != std::string::npos);
  REQUIRE(two != std::string::npos);
  CHECK(one < two);
  CHECK(sink->events.rfind("data: [DONE]\n\n") == sink->events.size() - 14);
}

TEST_CASE("a paid stream whose settlement fails is cancelled and answered 402", "[unit]") {
  Fixture f;
  f.settlement.defer_settle = true;
  f.settlement.settle_error_reason = "invalid_exact_evm_insufficient_balance";
  f.router.events = {Decision(), Delta("secret")};
  f.router.stream_status = absl::OkStatus();
  auto sink = f.Run(kStreamChat, "", V2Header());
  f.settlement.FinishSettle();
  CHECK(sink->status == 402);
  CHECK_FALSE(sink->streaming);
  CHECK(sink->events.empty());
  CHECK(sink->body.find("secret") == std::string::npos);
  CHECK(ErrorOf(sink->Json()).GetString("code") == "invalid_exact_evm_insufficient_balance");
  CHECK(f.router.stream->cancelled);
  CHECK(x402::DecodePaymentResponseHeader(*sink->Header("payment-response"))->success() == false);
}

TEST_CASE("a paid stream whose client left before the first event is released", "[unit]") {
  Fixture f;
  f.router.events = {Decision(), Delta("x"), End(30)};
  f.Run(kStreamChat, "", V2Header(), "", /*gone=*/true);
  CHECK(f.settlement.settles.empty());
  REQUIRE(f.settlement.releases.size() == 1);
  CHECK(f.settlement.releases[0].reason() == "client_gone");
  CHECK(f.router.stream->cancelled);
}

TEST_CASE("a paid stream failing before its first event releases the payment", "[unit]") {
  Fixture f;
  f.router.stream_status = absl::UnavailableError("all providers failed");
  auto sink = f.Run(kStreamChat, V1Header());
  CHECK(sink->status == 503);
  CHECK(f.settlement.settles.empty());
  REQUIRE(f.settlement.releases.size() == 1);
}

TEST_CASE("a settlement service without a recipient means x402 off: 401 without a key",
          "[unit]") {
  Fixture f;
  f.settlement.requirements_error =
      WithReason(absl::FailedPreconditionError("no pay_to"), "settlement_not_configured");
  auto sink = f.Run(kChat);
  CHECK(sink->status == 401);
  CHECK(ErrorOf(sink->Json()).GetString("code") == "missing_api_key");
  CHECK_FALSE(sink->Header("payment-required").has_value());
  CHECK(f.router.routes == 0);
}

TEST_CASE("settlement unavailable fails closed with 503 payment_unavailable", "[unit]") {
  SECTION("offers") {
    Fixture f;
    f.settlement.requirements_error = absl::UnavailableError("down");
    auto sink = f.Run(kChat);
    CHECK(sink->status == 503);
    CHECK(ErrorOf(sink->Json()).GetString("code") == "payment_unavailable");
  }
  SECTION("verify") {
    Fixture f;
    f.settlement.verify_error = absl::UnavailableError("down");
    auto sink = f.Run(kChat, V1Header());
    CHECK(sink->status == 503);
    CHECK(ErrorOf(sink->Json()).GetString("code") == "payment_unavailable");
    CHECK(f.router.routes == 0);
  }
  SECTION("settle") {
    Fixture f;
    f.settlement.settle_error = absl::UnavailableError("down");
    f.router.route_answer = Completion(40);
    auto sink = f.Run(kChat, V1Header());
    CHECK(sink->status == 503);
    CHECK(ErrorOf(sink->Json()).GetString("code") == "payment_unavailable");
    CHECK(sink->body.find("choices") == std::string::npos);
    CHECK(f.Metric(R"(p402_edge_x402_payments_total{outcome="unavailable"})") == 1);
  }
}

TEST_CASE("a quote without candidates is the router's error, no settlement call", "[unit]") {
  Fixture f;
  f.router.quote_error = WithReason(FailedPrecondition("no model fits"), "no_candidate");
  auto sink = f.Run(kChat);
  CHECK(sink->status == 400);
  CHECK(ErrorOf(sink->Json()).GetString("code") == "no_candidate");
  CHECK(f.settlement.requirement_requests.empty());
}

}  // namespace
}  // namespace p402::edge
