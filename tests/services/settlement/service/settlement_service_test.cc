// The p402.v1.Settlement gRPC service over real gRPC against the SettlementServer composition root
// (port 0, in-memory stores, no chain): the configuration rules, x402 offers, verification of
// payments signed like an x402 client (EIP-712 over EIP-3009 with ganache key #1), the claim /
// release cycle, the "no chain" answers, the ledger (idempotent usage records, balances, paging),
// the Bazaar, INVALID_ARGUMENT mapping with reasons, and the metrics counted per outcome.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "libs/metrics/registry.h"
#include "libs/metrics/text_lookup.h"
#include "libs/rpc/channel.h"
#include "libs/rpc/status_convert.h"
#include "libs/x402/codec.h"
#include "grpcpp/server_builder.h"
#include "p402/v1/settlement.grpc.pb.h"
#include "services/settlement/adapters/memory_bazaar_store.h"
#include "services/settlement/adapters/memory_ledger.h"
#include "services/settlement/adapters/memory_payment_store.h"
#include "services/settlement/rpc/settlement_service.h"
#include "services/settlement/settlement_config.h"
#include "services/settlement/settlement_server.h"
#include "tests/services/settlement/core/payment_fixture.h"

namespace p402::settlement {
namespace {

// Ganache's public deterministic test keys (never anything real).
constexpr char kBuyerKey[] = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";
constexpr char kBuyer[] = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";
constexpr char kPoorKey[] = "0x646f1ce2fdad0e6deeeb5c7e8e5543bdde65e86029e2fd9fc169899c440a7913";
constexpr char kSeller[] = "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b";
constexpr char kResource[] = "http://127.0.0.1:8080/v1/chat/completions";
constexpr char kReplayedSeries[] =
    "p402_settlement_verify_total{result=\"invalid\","
    "reason=\"invalid_exact_evm_nonce_already_used\"}";

absl::StatusOr<config::Loaded<SettlementConfig>> Load(std::vector<std::string> args,
                                                      std::map<std::string, std::string> env = {}) {
  return SettlementConfigSchema().Load({.args = std::move(args), .env = std::move(env)});
}

SettlementConfig TestConfig(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                                   "--worker_threads=2", "--fee_schedule=0:100"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto loaded = Load(args);
  INFO((loaded.ok() ? "" : std::string(loaded.status().message())));
  REQUIRE(loaded.ok());
  return loaded->config;
}

template <typename Req, typename Resp, typename Method>
grpc::Status Call(v1::Settlement::Stub& stub, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return (stub.*method)(&ctx, req, resp);
}
#define RPC(Method, req, resp) Call(*stub, &v1::Settlement::Stub::Method, req, resp)

std::string ReasonOf(const grpc::Status& status) { return rpc::ErrorInfoOf(status).reason(); }

struct Fixture {
  explicit Fixture(std::vector<std::string> extra = {"--pay_to=" + std::string(kSeller)}) {
    auto started = SettlementServer::Start(TestConfig(std::move(extra)));
    INFO((started.ok() ? "" : std::string(started.status().message())));
    REQUIRE(started.ok());
    server = std::move(*started);
    stub = v1::Settlement::NewStub(
        rpc::MakeChannel("127.0.0.1:" + std::to_string(server->ports().at("grpc_port"))));
  }
  std::unique_ptr<SettlementServer> server;
  std::unique_ptr<v1::Settlement::Stub> stub;
};

double Metric(std::string_view series) {
  return metrics::FindSample(metrics::Registry::Default().RenderPrometheusText(), series)
      .value_or(0);
}

std::array<uint8_t, 32> Key(std::string_view hex) {
  auto key = ParseFacilitatorKey(hex);  // the same 32-byte parsing
  REQUIRE(key.ok());
  return *key;
}

std::string RandomNonce() { return "0x" + crypto::HexEncode(crypto::RandomBytes(32)); }

// An x402 v2 payment for `offer`, signed like @x402/evm does.
std::string SignedPayment(const v1::PaymentRequirement& offer, std::string_view key_hex,
                          const std::string& nonce, int64_t valid_for_seconds = 120) {
  std::array<uint8_t, 32> key = Key(key_hex);
  auto from = crypto::AddressOf(key);
  REQUIRE(from.ok());
  auto extra = json::Value::Parse(offer.extra_json());
  REQUIRE(extra.ok());
  evm::Eip712Domain domain;
  domain.name = std::string(extra->GetString("name").value_or(""));
  domain.version = std::string(extra->GetString("version").value_or(""));
  domain.chain_id = 84532;
  domain.verifying_contract = *evm::ParseAddress(offer.asset());
  int64_t valid_before = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() +
                         valid_for_seconds;
  evm::TransferAuthorization auth;
  auth.from = *from;
  auth.to = *evm::ParseAddress(offer.pay_to());
  auth.value = *evm::ParseUint256Decimal(offer.amount());
  auth.valid_after = evm::Uint256FromU64(0);
  auth.valid_before = evm::Uint256FromU64(static_cast<uint64_t>(valid_before));
  auth.nonce = *evm::ParseBytes32Hex(nonce);
  auto signature = crypto::SignDigest(evm::TypedDataDigest(domain, auth), key);
  REQUIRE(signature.ok());

  json::Value root = json::Value::EmptyObject();
  root.Set("x402Version", 2);
  json::Value& resource = root.Set("resource", json::Value::EmptyObject());
  resource.Set("url", offer.resource());
  root.Set("accepted", x402::RequirementToJson(offer, 2));
  json::Value& payload = root.Set("payload", json::Value::EmptyObject());
  payload.Set("signature", "0x" + crypto::HexEncode(*signature));
  json::Value& a = payload.Set("authorization", json::Value::EmptyObject());
  a.Set("from", evm::ToChecksum(*from));
  a.Set("to", offer.pay_to());
  a.Set("value", offer.amount());
  a.Set("validAfter", "0");
  a.Set("validBefore", std::to_string(valid_before));
  a.Set("nonce", nonce);
  return root.Serialize();
}

v1::GetPaymentRequirementsRequest OffersRequest() {
  v1::GetPaymentRequirementsRequest req;
  req.mutable_meta()->set_request_id("req_offers");
  req.set_resource(kResource);
  req.set_x402_version(2);
  v1::ModeCost* cost = req.add_mode_costs();
  cost->set_mode(v1::ROUTING_MODE_COST);
  cost->mutable_model()->set_provider("openai");
  cost->mutable_model()->set_model("gpt-4o-mini");
  cost->set_worst_case_micro_usd(10'000);
  v1::ModeCost* quality = req.add_mode_costs();
  quality->set_mode(v1::ROUTING_MODE_QUALITY);
  quality->mutable_model()->set_provider("anthropic");
  quality->mutable_model()->set_model("claude-sonnet-4");
  quality->set_worst_case_micro_usd(50'000);
  return req;
}

v1::VerifyPaymentRequest VerifyRequest(const std::string& request_id, const std::string& payment,
                                       const v1::GetPaymentRequirementsResponse& offers) {
  v1::VerifyPaymentRequest req;
  req.mutable_meta()->set_request_id(request_id);
  req.set_payment_payload_json(payment);
  *req.mutable_accepted() = offers.accepts();
  req.set_claim(true);
  return req;
}

}  // namespace

TEST_CASE("settlement config: defaults and the rules checked at start", "[service]") {
  auto defaults = Load({});
  REQUIRE(defaults.ok());
  CHECK(defaults->config.grpc_listen == "127.0.0.1:50054");
  CHECK(defaults->config.admin_listen == "127.0.0.1:9084");
  CHECK(defaults->config.chain_id == 84532);
  CHECK(defaults->config.asset == kBaseSepoliaUsdc);
  CHECK(defaults->config.fee_schedule == kDefaultFeeSchedule);

  auto no_key = Load({}, {{"P402_SETTLEMENT_CHAIN_RPC_URL", "http://127.0.0.1:8545"}});
  REQUIRE_FALSE(no_key.ok());
  CHECK_THAT(std::string(no_key.status().message()),
             Catch::Contains("P402_SETTLEMENT_FACILITATOR_KEY"));

  // A malformed key is refused without echoing it.
  std::string bad_key(64, 'z');
  auto bad = Load({}, {{"P402_SETTLEMENT_CHAIN_RPC_URL", "http://127.0.0.1:8545"},
                       {"P402_SETTLEMENT_FACILITATOR_KEY", bad_key}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("facilitator"));
  CHECK_THAT(std::string(bad.status().message()), !Catch::Contains(bad_key));
  // Secrets are refused as flags.
  CHECK_FALSE(Load({"--facilitator_key=" + std::string(kBuyerKey)}).ok());

  auto rpc_scheme = Load({}, {{"P402_SETTLEMENT_CHAIN_RPC_URL", "ftp://node"},
                              {"P402_SETTLEMENT_FACILITATOR_KEY", kBuyerKey}});
  CHECK_FALSE(rpc_scheme.ok());
  auto fees = Load({"--fee_schedule=100:200"});
  REQUIRE_FALSE(fees.ok());
  CHECK_THAT(std::string(fees.status().message()), Catch::Contains("fee_schedule"));
  auto pay_to = Load({"--pay_to=0x1234"});
  REQUIRE_FALSE(pay_to.ok());
  CHECK_THAT(std::string(pay_to.status().message()), Catch::Contains("pay_to"));
  CHECK_FALSE(Load({"--pay_to=0x0000000000000000000000000000000000000000"}).ok());

  auto key = ParseFacilitatorKey(kBuyerKey);
  REQUIRE(key.ok());
  CHECK(evm::ToChecksum(*crypto::AddressOf(*key)) == kBuyer);
  CHECK(ParseFacilitatorKey(std::string(kBuyerKey).substr(2)).ok());
  CHECK_FALSE(ParseFacilitatorKey(std::string(64, '0')).ok());
}

TEST_CASE("settlement service: x402 offers, verification, claims, no chain", "[service]") {
  Fixture f;
  auto& stub = f.stub;
  double valid_before = Metric(R"(p402_settlement_verify_total{result="valid",reason="none"})");
  double reused_before = Metric(kReplayedSeries);
  double settle_before =
      Metric(R"(p402_settlement_settle_total{result="error",reason="settlement_not_configured"})");
  double failed_precondition_before =
      Metric(R"(p402_settlement_requests_total{rpc="SettlePayment",code="FAILED_PRECONDITION"})");

  // Without a chain nothing can be settled, so nothing is advertised.
  v1::GetSupportedResponse supported;
  REQUIRE(RPC(GetSupported, v1::GetSupportedRequest(), &supported).ok());
  CHECK(supported.kinds_size() == 0);

  // Offers: one per mode, worst case + the 1% fee, paid to the configured wallet.
  v1::GetPaymentRequirementsResponse offers;
  REQUIRE(RPC(GetPaymentRequirements, OffersRequest(), &offers).ok());
  REQUIRE(offers.accepts_size() == 2);
  CHECK(offers.x402_version() == 2);
  const v1::PaymentRequirement& cheap = offers.accepts(0);
  CHECK(cheap.scheme() == "exact");
  CHECK(cheap.network() == "eip155:84532");
  CHECK(cheap.amount() == "10100");
  CHECK(cheap.platform_fee_micro_usd() == 100);
  CHECK(cheap.model_cost_micro_usd() == 10'000);
  CHECK(cheap.mode() == v1::ROUTING_MODE_COST);
  CHECK(*evm::ParseAddress(cheap.pay_to()) == *evm::ParseAddress(kSeller));
  CHECK(*evm::ParseAddress(cheap.asset()) == *evm::ParseAddress(kBaseSepoliaUsdc));
  CHECK(offers.accepts(1).amount() == "50500");

  v1::GetPaymentRequirementsRequest empty = OffersRequest();
  empty.clear_mode_costs();
  v1::GetPaymentRequirementsResponse none;
  CHECK(RPC(GetPaymentRequirements, empty, &none).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  // A correctly signed payment verifies and is claimed for req_1.
  std::string nonce = RandomNonce();
  std::string payment = SignedPayment(cheap, kBuyerKey, nonce);
  v1::VerifyPaymentResponse verified;
  REQUIRE(RPC(VerifyPayment, VerifyRequest("req_1", payment, offers), &verified).ok());
  INFO(verified.invalid_reason() << ": " << verified.invalid_message());
  REQUIRE(verified.valid());
  CHECK(verified.payer() == kBuyer);
  CHECK(verified.matched_index() == 0);
  CHECK(verified.matched().amount() == "10100");
  CHECK(verified.nonce() == nonce);
  CHECK(verified.x402_version() == 2);

  // The same payment for another request is a replay while claimed.
  v1::VerifyPaymentResponse replay;
  REQUIRE(RPC(VerifyPayment, VerifyRequest("req_2", payment, offers), &replay).ok());
  CHECK_FALSE(replay.valid());
  CHECK(replay.invalid_reason() == "invalid_exact_evm_nonce_already_used");

  // Signed by someone else than authorization.from: invalid signature. Not JSON: invalid payload.
  // Both are answers, not errors.
  std::string forged = SignedPayment(cheap, kPoorKey, RandomNonce());
  auto forged_json = json::Value::Parse(forged);
  REQUIRE(forged_json.ok());
  std::string forged_text = forged;
  // authorization.from says the buyer, the signature is the poor account's.
  std::string poor_from = evm::ToChecksum(*crypto::AddressOf(Key(kPoorKey)));
  forged_text.replace(forged_text.find(poor_from), poor_from.size(), kBuyer);
  v1::VerifyPaymentResponse bad_sig;
  REQUIRE(RPC(VerifyPayment, VerifyRequest("req_3", forged_text, offers), &bad_sig).ok());
  CHECK_FALSE(bad_sig.valid());
  CHECK(bad_sig.invalid_reason() == "invalid_exact_evm_signature");
  v1::VerifyPaymentResponse garbage;
  REQUIRE(RPC(VerifyPayment, VerifyRequest("req_4", "not json", offers), &garbage).ok());
  CHECK_FALSE(garbage.valid());
  CHECK(garbage.invalid_reason() == "invalid_payload");

  // Release the claim of req_1: the payment may be presented again (req_2 now gets it).
  v1::ReleasePaymentRequest release;
  release.mutable_meta()->set_request_id("req_1");
  release.set_payment_payload_json(payment);
  release.set_reason("providers_unavailable");
  v1::ReleasePaymentResponse released;
  REQUIRE(RPC(ReleasePayment, release, &released).ok());
  CHECK(released.released());
  REQUIRE(RPC(ReleasePayment, release, &released).ok());
  CHECK_FALSE(released.released());  // idempotent: nothing left to release
  REQUIRE(RPC(VerifyPayment, VerifyRequest("req_2", payment, offers), &replay).ok());
  CHECK(replay.valid());

  // No chain: settling and top-ups are not configured (and say so with a reason).
  v1::SettlePaymentRequest settle;
  settle.mutable_meta()->set_request_id("req_2");
  settle.set_payment_payload_json(payment);
  *settle.mutable_requirement() = cheap;
  settle.set_charged_micro_usd(4000);
  v1::SettlePaymentResponse settled;
  grpc::Status s = RPC(SettlePayment, settle, &settled);
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(s) == "settlement_not_configured");
  v1::TopUpRequest topup;
  topup.mutable_meta()->set_request_id("req_topup");
  topup.mutable_meta()->set_tenant_id("t_topup");
  topup.set_payment_payload_json(payment);
  *topup.mutable_requirement() = cheap;
  v1::TopUpResponse topped;
  grpc::Status t = RPC(TopUp, topup, &topped);
  CHECK(t.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(t) == "settlement_not_configured");
  topup.mutable_meta()->clear_tenant_id();
  CHECK(RPC(TopUp, topup, &topped).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A claim needs a request id (else it could never be released).
  v1::VerifyPaymentRequest anonymous = VerifyRequest("", payment, offers);
  CHECK(RPC(VerifyPayment, anonymous, &verified).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  CHECK(Metric(R"(p402_settlement_verify_total{result="valid",reason="none"})") ==
        valid_before + 2);
  CHECK(Metric(kReplayedSeries) == reused_before + 1);
  CHECK(Metric(
            R"(p402_settlement_settle_total{result="error",reason="settlement_not_configured"})") ==
        settle_before + 1);
  CHECK(
      Metric(R"(p402_settlement_requests_total{rpc="SettlePayment",code="FAILED_PRECONDITION"})") ==
      failed_precondition_before + 1);
  CHECK(
      metrics::FindSample(metrics::Registry::Default().RenderPrometheusText(),
                          R"(p402_settlement_request_duration_seconds_count{rpc="VerifyPayment"})")
          .value_or(0) >= 6);
}

TEST_CASE("settlement service: without pay_to nothing is offered", "[service]") {
  Fixture f(std::vector<std::string>{});
  auto& stub = f.stub;
  v1::GetPaymentRequirementsResponse offers;
  grpc::Status s = RPC(GetPaymentRequirements, OffersRequest(), &offers);
  CHECK(s.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(s) == "settlement_not_configured");
  CHECK_THAT(s.error_message(), Catch::Contains("P402_SETTLEMENT_PAY_TO"));
  // The ledger works regardless.
  v1::GetBalanceRequest balance;
  balance.set_tenant_id("t_nopay");
  v1::GetBalanceResponse got;
  CHECK(RPC(GetBalance, balance, &got).ok());
}

TEST_CASE("settlement service: a chain node that is down fails closed, URL kept secret",
          "[service]") {
  // Nothing listens on port 1: every chain call is refused at once.
  const std::string url = "http://127.0.0.1:1/v2/secret-api-key";
  auto loaded = Load({"--grpc_listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
                      "--worker_threads=2", "--chain_rpc_timeout=2s"},
                     {{"P402_SETTLEMENT_CHAIN_RPC_URL", url},
                      {"P402_SETTLEMENT_FACILITATOR_KEY",
                       "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"}});
  REQUIRE(loaded.ok());
  auto started = SettlementServer::Start(loaded->config);  // starts although the node is down
  REQUIRE(started.ok());
  auto stub = v1::Settlement::NewStub(
      rpc::MakeChannel("127.0.0.1:" + std::to_string((*started)->ports().at("grpc_port"))));
  double failures = Metric(R"(p402_settlement_chain_failures_total{op="has_code"})");

  // With a key and no pay_to, payments go to the facilitator (ganache #0); it is advertised.
  v1::GetSupportedResponse supported;
  REQUIRE(RPC(GetSupported, v1::GetSupportedRequest(), &supported).ok());
  REQUIRE(supported.signers_size() == 1);
  CHECK(supported.signers(0) == "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1");
  v1::GetPaymentRequirementsResponse offers;
  REQUIRE(RPC(GetPaymentRequirements, OffersRequest(), &offers).ok());
  CHECK(*evm::ParseAddress(offers.accepts(0).pay_to()) == *evm::ParseAddress(supported.signers(0)));

  v1::VerifyPaymentResponse verified;
  std::string payment = SignedPayment(offers.accepts(0), kBuyerKey, RandomNonce());
  grpc::Status s = RPC(VerifyPayment, VerifyRequest("req_down", payment, offers), &verified);
  CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(s.error_message(), !Catch::Contains("secret-api-key"));
  CHECK(Metric(R"(p402_settlement_chain_failures_total{op="has_code"})") == failures + 1);
}

TEST_CASE("settlement service: ledger records, balances and pages", "[service]") {
  Fixture f;
  auto& stub = f.stub;
  const std::string tenant = "t_" + crypto::HexEncode(crypto::RandomBytes(4));
  auto usage = [&](const std::string& key, int64_t deduct) {
    v1::RecordUsageRequest req;
    req.mutable_meta()->set_request_id("req_" + key);
    req.mutable_meta()->set_tenant_id(tenant);
    req.set_idempotency_key(key);
    req.mutable_model()->set_provider("openai");
    req.mutable_model()->set_model("gpt-4o-mini");
    req.mutable_usage()->set_input_tokens(100);
    req.mutable_usage()->set_output_tokens(20);
    req.mutable_cost()->set_total_micro_usd(30);
    req.set_deduct_micro_usd(deduct);
    return req;
  };

  v1::RecordUsageResponse first;
  REQUIRE(RPC(RecordUsage, usage("k1", 0), &first).ok());
  CHECK_FALSE(first.entry_id().empty());
  CHECK_FALSE(first.duplicate());
  v1::RecordUsageResponse again;
  REQUIRE(RPC(RecordUsage, usage("k1", 0), &again).ok());
  CHECK(again.duplicate());
  CHECK(again.entry_id() == first.entry_id());
  // Nothing prepaid: a deduction cannot take the balance below zero.
  v1::RecordUsageResponse overdraft;
  grpc::Status over = RPC(RecordUsage, usage("k_over", 5), &overdraft);
  CHECK(over.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ReasonOf(over) == "insufficient_balance");

  for (int i = 2; i <= 5; ++i) {
    v1::RecordUsageResponse r;
    REQUIRE(RPC(RecordUsage, usage("k" + std::to_string(i), 0), &r).ok());
  }
  v1::GetBalanceRequest balance_req;
  balance_req.set_tenant_id(tenant);
  v1::GetBalanceResponse balance;
  REQUIRE(RPC(GetBalance, balance_req, &balance).ok());
  CHECK(balance.balance_micro_usd() == 0);
  CHECK(balance.total_spent_micro_usd() == 0);

  // Five entries in pages of two, oldest first, each once.
  std::vector<std::string> seen;
  v1::ListUsageRequest list;
  list.set_tenant_id(tenant);
  list.set_page_size(2);
  int pages = 0;
  do {
    v1::ListUsageResponse page;
    REQUIRE(RPC(ListUsage, list, &page).ok());
    CHECK(page.entries_size() <= 2);
    for (const auto& e : page.entries()) seen.push_back(e.request_id());
    list.set_page_token(page.next_page_token());
    REQUIRE(++pages <= 5);
  } while (!list.page_token().empty());
  CHECK(pages == 3);
  CHECK(seen == std::vector<std::string>{"req_k1", "req_k2", "req_k3", "req_k4", "req_k5"});

  // INVALID_ARGUMENT: the required fields, a malformed cursor.
  v1::GetBalanceRequest no_tenant;
  CHECK(RPC(GetBalance, no_tenant, &balance).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListUsageRequest no_tenant_list;
  v1::ListUsageResponse page;
  CHECK(RPC(ListUsage, no_tenant_list, &page).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  list.set_page_token("not-a-cursor!");
  CHECK(RPC(ListUsage, list, &page).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  v1::RecordUsageRequest no_key = usage("", 0);
  CHECK(RPC(RecordUsage, no_key, &first).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Metric(R"(p402_settlement_requests_total{rpc="RecordUsage",code="INVALID_ARGUMENT"})") >=
        1);
}

TEST_CASE("settlement service: Bazaar listings", "[service]") {
  Fixture f;
  auto& stub = f.stub;
  auto listing = [](const std::string& name, int64_t price, const std::string& capability) {
    v1::CreateListingRequest req;
    req.set_tenant_id("t_seller");
    v1::Listing* l = req.mutable_listing();
    l->set_provider("acme");
    l->set_name(name);
    l->set_description("a paid service");
    l->add_capabilities(capability);
    l->set_price_micro_usd(price);
    l->set_endpoint("https://acme.example/api");
    l->set_network("eip155:84532");
    l->set_asset(kBaseSepoliaUsdc);
    l->set_pay_to(kSeller);
    return req;
  };
  v1::CreateListingResponse created;
  REQUIRE(RPC(CreateListing, listing("search", 2000, "search"), &created).ok());
  v1::Listing search = created.listing();
  CHECK(search.id().rfind("lst_", 0) == 0);
  CHECK(search.reliability_bps() == 10000);
  CHECK(search.tenant_id() == "t_seller");
  REQUIRE(RPC(CreateListing, listing("chat", 500, "chat"), &created).ok());
  v1::Listing chat = created.listing();
  REQUIRE(RPC(CreateListing, listing("chat-pro", 9000, "chat"), &created).ok());

  v1::CreateListingRequest nameless = listing("", 1, "chat");
  v1::CreateListingResponse out;
  grpc::Status bad = RPC(CreateListing, nameless, &out);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad.error_message(), Catch::Contains("name"));

  v1::ListListingsRequest list;
  list.set_page_size(500);
  v1::ListListingsResponse all;
  REQUIRE(RPC(ListListings, list, &all).ok());
  CHECK(all.listings_size() == 3);

  v1::DiscoverListingsRequest discover;
  discover.set_capability("chat");
  discover.set_max_price_micro_usd(1000);
  v1::DiscoverListingsResponse found;
  REQUIRE(RPC(DiscoverListings, discover, &found).ok());
  REQUIRE(found.listings_size() == 1);
  CHECK(found.listings(0).id() == chat.id());
}

}  // namespace p402::settlement

namespace p402::settlement {
namespace {

TEST_CASE("settlement service: prepaid hold, capture and release over gRPC", "[service]") {
  // The service over in-memory adapters the test can credit (a top-up needs a chain).
  const Clock& clock = SystemClock::Get();
  InMemoryLedger ledger(clock);
  InMemoryPaymentStore payments;
  InMemoryBazaarStore listings;
  EngineDeps deps;
  deps.terms = testing::SepoliaTerms();
  deps.fees = *FeeSchedule::Parse("0:100");  // 1%
  deps.payments = &payments;
  deps.ledger = &ledger;
  deps.clock = &clock;
  auto engine = SettlementEngine::Create(deps);
  REQUIRE(engine.ok());
  Bazaar bazaar(listings, clock);
  metrics::Registry registry;
  SettlementService service(**engine, bazaar, nullptr, registry, {});
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);
  REQUIRE(port > 0);
  auto stub = v1::Settlement::NewStub(rpc::MakeChannel("127.0.0.1:" + std::to_string(port)));

  v1::HoldBalanceRequest hold;
  hold.mutable_meta()->set_tenant_id("t1");
  hold.mutable_meta()->set_request_id("req_1");
  hold.set_hold_id("res_1");
  hold.set_amount_micro_usd(10'000);
  v1::HoldBalanceResponse held;
  REQUIRE(RPC(HoldBalance, hold, &held).ok());
  CHECK_FALSE(held.held());
  CHECK(held.reason() == "no_prepaid_account");

  LedgerEntry credit;
  credit.tenant_id = "t1";
  credit.kind = kEntryTopUp;
  credit.amount_micro_usd = 50'000;
  credit.idempotency_key = "topup-1";
  REQUIRE(ledger.Append(credit).ok());
  REQUIRE(RPC(HoldBalance, hold, &held).ok());
  CHECK(held.held());
  CHECK(held.held_micro_usd() == 10'100);
  CHECK(held.balance_micro_usd() == 39'900);

  v1::CaptureHoldRequest capture;
  capture.mutable_meta()->set_tenant_id("t1");
  capture.set_hold_id("res_1");
  capture.set_cost_micro_usd(2'000);
  v1::CaptureHoldResponse captured;
  REQUIRE(RPC(CaptureHold, capture, &captured).ok());
  CHECK(captured.captured());
  CHECK(captured.charged_micro_usd() == 2'020);
  CHECK(captured.platform_fee_micro_usd() == 20);
  CHECK(captured.balance_micro_usd() == 47'980);

  v1::ReleaseHoldRequest release;
  release.set_hold_id("res_1");
  v1::ReleaseHoldResponse released;
  REQUIRE(RPC(ReleaseHold, release, &released).ok());
  CHECK_FALSE(released.released());  // captured already

  hold.set_hold_id("");
  grpc::Status bad = RPC(HoldBalance, hold, &held);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  const std::string text = registry.RenderPrometheusText();
  CHECK(metrics::FindSample(text, R"(p402_settlement_requests_total{rpc="HoldBalance",code="OK"})")
            .value_or(0) == 2);
  CHECK(metrics::FindSample(
            text, R"(p402_settlement_requests_total{rpc="HoldBalance",code="INVALID_ARGUMENT"})")
            .value_or(0) == 1);
  CHECK(metrics::FindSample(text, R"(p402_settlement_requests_total{rpc="CaptureHold",code="OK"})")
            .value_or(0) == 1);
  CHECK(metrics::FindSample(text, R"(p402_settlement_requests_total{rpc="ReleaseHold",code="OK"})")
            .value_or(0) == 1);
  server->Shutdown();
}

}  // namespace
}  // namespace p402::settlement
