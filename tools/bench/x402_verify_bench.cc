// p402-x402-verify-bench: the cost of verifying one x402 payment, in process (no gRPC, no chain):
//   header   DecodePaymentHeader (strict base64 + JSON + shape checks) and VerifyPayload
//            (requirement match, EIP-712 digest, secp256k1 recovery, window, amount) against the
//            four per-mode offers of a chat request;
//   engine   SettlementEngine::VerifyPayment with claim=true over the in-memory payment store:
//            the above plus the nonce claim (what the settlement service does per paid request,
//            before any chain check);
//   engine-pg  the same over PostgreSQL when P402_BENCH_PG_DSN is set (one INSERT per claim).
// Every payment is distinct (its own nonce, signed before the clock starts), so the store never
// answers from a cache and the nonce check is real.
//
//   p402-x402-verify-bench [--payments N] [--threads T]
//
// Prints one TSV row per configuration: what, threads, payments, seconds, ops_per_s,
// us_per_op (wall time per verification x threads: the latency one payment sees),
// cpu_us_per_op (process CPU per verification). Target (BRIEF): <= 500 us per verification per
// core, i.e. >= 2,000/s/core.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "libs/common/clock.h"
#include "libs/common/log.h"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/json/value.h"
#include "libs/store/pg_pool.h"
#include "libs/x402/codec.h"
#include "libs/x402/payload.h"
#include "services/settlement/adapters/memory_ledger.h"
#include "services/settlement/adapters/memory_payment_store.h"
#include "services/settlement/adapters/pg_ledger.h"
#include "services/settlement/adapters/pg_payment_store.h"
#include "services/settlement/core/requirements.h"
#include "services/settlement/core/settlement_engine.h"
#include "services/settlement/core/verifier.h"

namespace p402::settlement {
namespace {

// ganache deterministic test key #1 (public, test-only) and a fixed recipient/token.
constexpr char kBuyerKey[] = "6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";
constexpr char kToken[] = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
constexpr char kPayTo[] = "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b";

struct Args {
  int payments = 20000;
  int threads = 1;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

PaymentTerms Terms() {
  PaymentTerms terms;
  terms.chain_id = 84532;
  terms.asset = *evm::ParseAddress(kToken);
  terms.pay_to = *evm::ParseAddress(kPayTo);
  return terms;
}

// The four offers of a chat request (cost, quality, speed, balanced), v2 shape.
std::vector<v1::PaymentRequirement> Offers(const PaymentTerms& terms) {
  v1::GetPaymentRequirementsRequest request;
  request.set_resource("http://127.0.0.1:8080/v1/chat/completions");
  request.set_x402_version(2);
  int64_t cost = 1200;
  for (v1::RoutingMode mode : {v1::ROUTING_MODE_BALANCED, v1::ROUTING_MODE_COST,
                               v1::ROUTING_MODE_QUALITY, v1::ROUTING_MODE_SPEED}) {
    v1::ModeCost* m = request.add_mode_costs();
    m->set_mode(mode);
    m->mutable_model()->set_provider("openai");
    m->mutable_model()->set_model("gpt-4o-mini");
    m->set_worst_case_micro_usd(cost);
    cost += 700;
  }
  auto response = BuildRequirements(terms, FeeSchedule::Default(), 0, request);
  if (!response.ok()) {
    std::fprintf(stderr, "offers: %s\n", std::string(response.status().message()).c_str());
    std::exit(1);
  }
  return {response->accepts().begin(), response->accepts().end()};
}

// A v2 PAYMENT-SIGNATURE header answering offer 0 with nonce `i`.
std::string SignedHeader(const PaymentTerms& terms, const v1::PaymentRequirement& offer,
                         uint64_t i, uint64_t now) {
  std::array<uint8_t, 32> key{};
  std::string key_bytes = *crypto::HexDecode(kBuyerKey);
  std::copy(key_bytes.begin(), key_bytes.end(), key.begin());
  evm::TransferAuthorization auth;
  auth.from = *crypto::AddressOf(key);
  auth.to = terms.pay_to;
  auth.value = *evm::ParseUint256Decimal(offer.amount());
  auth.valid_after = evm::Uint256FromU64(0);
  auth.valid_before = evm::Uint256FromU64(now + 300);
  evm::Uint256 nonce = evm::Uint256FromU64(i + 1);
  std::copy(nonce.begin(), nonce.end(), auth.nonce.begin());
  evm::Eip712Domain domain{.name = terms.asset_name,
                           .version = terms.asset_version,
                           .chain_id = terms.chain_id,
                           .verifying_contract = terms.asset};
  crypto::Signature65 sig = *crypto::SignDigest(evm::TypedDataDigest(domain, auth), key);

  json::Value authorization = json::Value::EmptyObject();
  authorization.Set("from", evm::ToChecksum(auth.from));
  authorization.Set("to", evm::ToChecksum(auth.to));
  authorization.Set("value", offer.amount());
  authorization.Set("validAfter", "0");
  authorization.Set("validBefore", std::to_string(now + 300));
  authorization.Set("nonce", "0x" + crypto::HexEncode(std::span<const uint8_t>(auth.nonce)));
  json::Value payload = json::Value::EmptyObject();
  payload.Set("authorization", std::move(authorization));
  payload.Set("signature", "0x" + crypto::HexEncode(std::span<const uint8_t>(sig)));
  json::Value resource = json::Value::EmptyObject();
  resource.Set("url", offer.resource());
  json::Value root = json::Value::EmptyObject();
  root.Set("x402Version", 2);
  root.Set("payload", std::move(payload));
  root.Set("resource", std::move(resource));
  root.Set("accepted", x402::RequirementToJson(offer, 2));
  return crypto::Base64Encode(root.Serialize());
}

void Report(const char* what, int threads, int payments, double seconds, double cpu) {
  std::printf("%s\t%d\t%d\t%.3f\t%.0f\t%.1f\t%.1f\n", what, threads, payments, seconds,
              payments / seconds, seconds * 1e6 * threads / payments, cpu * 1e6 / payments);
}

// Runs `fn(i)` for i in [0, payments) over `threads`; returns false if any call failed.
template <typename Fn>
bool Run(const char* what, const Args& args, Fn fn) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  double cpu0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < args.threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < args.payments; i = next++) {
        if (!fn(i)) failures++;
      }
    });
  }
  for (auto& th : pool) th.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Report(what, args.threads, args.payments, seconds, CpuSeconds() - cpu0);
  if (failures > 0) {
    std::fprintf(stderr, "%s: %d verifications failed\n", what, failures.load());
    return false;
  }
  return true;
}

bool BenchEngine(const char* what, PaymentStore& store, Ledger& ledger, const PaymentTerms& terms,
                 const std::vector<v1::PaymentRequirement>& offers,
                 const std::vector<std::string>& headers, const Args& args) {
  auto engine = SettlementEngine::Create({.terms = terms,
                                          .payments = &store,
                                          .ledger = &ledger,
                                          .clock = &SystemClock::Get()});
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", std::string(engine.status().message()).c_str());
    return false;
  }
  return Run(what, args, [&](int i) {
    auto payload = x402::DecodePaymentHeader(headers[i]);
    if (!payload.ok()) return false;
    v1::VerifyPaymentRequest request;
    request.mutable_meta()->set_request_id("bench-" + std::string(what) + "-" +
                                           std::to_string(i));
    request.set_payment_payload_json(payload->json);
    for (const auto& offer : offers) *request.add_accepted() = offer;
    request.set_claim(true);
    auto response = (*engine)->VerifyPayment(request);
    return response.ok() && response->valid();
  });
}

int Main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--payments") == 0) args.payments = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--threads") == 0) args.threads = std::atoi(argv[i + 1]);
  }
  if (args.payments <= 0 || args.threads <= 0 || args.threads > 64) {
    std::fprintf(stderr, "usage: p402-x402-verify-bench [--payments N] [--threads T]\n");
    return 2;
  }
  log::Configure({.service = "x402-verify-bench", .level = log::Level::kError});
  PaymentTerms terms = Terms();
  std::vector<v1::PaymentRequirement> offers = Offers(terms);
  uint64_t now = static_cast<uint64_t>(UnixMillis(SystemClock::Get().Now()) / 1000);
  // Separate nonce ranges per configuration: each claim is new.
  auto sign_range = [&](uint64_t base) {
    std::vector<std::string> headers;
    headers.reserve(args.payments);
    for (int i = 0; i < args.payments; ++i) {
      headers.push_back(SignedHeader(terms, offers[0], base + i, now));
    }
    return headers;
  };
  std::printf("what\tthreads\tpayments\tseconds\tops_per_s\tus_per_op\tcpu_us_per_op\n");

  std::vector<std::string> headers = sign_range(0);
  VerifyOptions options{.now_unix_seconds = now};
  bool ok = Run("header", args, [&](int i) {
    auto payload = x402::DecodePaymentHeader(headers[i]);
    return payload.ok() && VerifyPayload(*payload, offers, options).valid;
  });

  InMemoryPaymentStore memory_store;
  InMemoryLedger memory_ledger(SystemClock::Get());
  ok = BenchEngine("engine", memory_store, memory_ledger, terms, offers, sign_range(1'000'000),
                   args) && ok;

  if (const char* dsn = std::getenv("P402_BENCH_PG_DSN"); dsn != nullptr && *dsn != '\0') {
    auto pool = store::PgPool::Create({.dsn = dsn, .max_size = args.threads + 1});
    if (!pool.ok()) {
      std::fprintf(stderr, "pg: %s\n", std::string(pool.status().message()).c_str());
      return 1;
    }
    auto pg_store = PgPaymentStore::Open(**pool);
    auto pg_ledger = PgLedger::Open(**pool);
    if (!pg_store.ok() || !pg_ledger.ok()) {
      std::fprintf(stderr, "pg store: %s %s\n", std::string(pg_store.status().message()).c_str(),
                   std::string(pg_ledger.status().message()).c_str());
      return 1;
    }
    // A fresh nonce range per run (the database keeps claims between runs).
    uint64_t base = 2'000'000 + (now % 100'000) * 1'000'000;
    ok = BenchEngine("engine-pg", **pg_store, **pg_ledger, terms, offers, sign_range(base),
                     args) && ok;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace p402::settlement

int main(int argc, char** argv) { return p402::settlement::Main(argc, argv); }
