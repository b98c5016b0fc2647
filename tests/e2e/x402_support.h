// File: tests/e2e/x402_support.h
// Fixtures and tools of the x402 end-to-end tests (x402_*_test.cc):
//   - a local chain (tests/support/local_chain.h) and a Suite whose settlement service settles on
//     it (SettlementEnv: the P402_SETTLEMENT_* variables, passed as extra_env["settlement"]);
//   - RunX402Script: the Node scripts of tests/e2e/x402 (official x402 clients and servers), one
//     JSON result line each;
//   - payments crafted in C++ (libs/evm EIP-712 digest, libs/crypto secp256k1 + base64) for the
//     rejection and fault tests, which must send what no official client would;
//   - reading a 402 (its offers and reason code) and the chain (balances, nonce state).
// Thread-safety: test thread only, except SendConcurrently (which sends from the client's threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libs/http/client.h"
#include "libs/json/value.h"
#include "tests/e2e/harness.h"
#include "tests/support/local_chain.h"

namespace p402::e2e::x402test {

inline constexpr std::string_view kChatPath = "/v1/chat/completions";
inline constexpr std::string_view kModel = "gpt-4o-mini";
// The client-side cap handed to the official clients (atomic units = micro-USD): 0.10 USDC.
inline constexpr uint64_t kMaxValue = 100'000;

// LocalChain::Start(), REQUIREd to succeed (the message says to run tools/e2e_deps.sh).
std::unique_ptr<testing::LocalChain> StartChain();

// P402_SETTLEMENT_* for a settlement service that settles on `chain` (facilitator = ganache #0,
// pay-to = the chain's seller, #2).
std::vector<std::pair<std::string, std::string>> SettlementEnv(const testing::LocalChain& chain);
SuiteOptions X402SuiteOptions(const testing::LocalChain& chain);

// A chain and a suite wired to it, created by the first test that asks and shared by the
// happy-path and rejection tests (the suite is destroyed first). Tests that stop things make
// their own.
struct World {
  std::unique_ptr<testing::LocalChain> chain;
  std::unique_ptr<Suite> suite;
};
World& SharedWorld();

// Chat request bodies for pay-per-call: small max_tokens keeps the worst-case price low.
std::string PaidChatBody(std::string_view content = "Say hello in one short sentence.");

// Runs tests/e2e/x402/<script> under node with `input` (one JSON argument, or a file when large)
// and returns its last stdout line as JSON. FAILs (with the stderr tail) when node or the
// packages are missing, the script times out, exits non-zero or reports a harness_error.
json::Value RunX402Script(std::string_view script, const json::Value& input,
                          const std::string& work_dir,
                          std::chrono::milliseconds timeout = std::chrono::seconds(90));

// POST the chat body to the edge without any credentials (and optionally one extra header).
HttpResult PostChat(Suite& suite, const std::string& body, std::string_view header_name = "",
                    std::string_view header_value = "");

// What a 402 offered: the v1 JSON body's `accepts` and the v2 PAYMENT-REQUIRED header's, decoded.
struct Challenge {
  int status = 0;
  json::Value body;              // the v1 JSON body (null when not JSON)
  json::Value payment_required;  // decoded PAYMENT-REQUIRED (null when absent/undecodable)
  const json::Value* AcceptV1(std::string_view mode) const;  // by extra.p402_mode
  const json::Value* AcceptV2(std::string_view mode) const;
};
Challenge ReadChallenge(const HttpResult& r);
Challenge GetChallenge(Suite& suite, const std::string& body);

// The reason code a 402 carries: the v1 body's error.code (or error when it is a string), else the
// v2 PAYMENT-REQUIRED header's error. "" when neither is there.
std::string ReasonOf(const HttpResult& r);

// An EIP-3009 authorization to sign, and the domain to sign it under.
struct Authorization {
  std::string from;
  std::string to;
  std::string value;  // decimal
  uint64_t valid_after = 0;
  uint64_t valid_before = 0;
  std::string nonce;  // 0x + 64 hex; empty = random
};
struct Domain {
  std::string name = "USDC";
  std::string version = "2";
  uint64_t chain_id = 84532;
  std::string verifying_contract;
};
// Signs with `private_key_hex` (0x + 64 hex); returns "0x" + 130 hex (r||s||v, low-s, v 27/28).
// Fills a random nonce into `auth` when empty.
std::string SignAuthorization(const Domain& domain, Authorization& auth,
                              std::string_view private_key_hex);
// The high-s twin of a signature: (r, n - s, v ^ 1) -- the same authorization, other bytes.
std::string HighSTwin(std::string_view signature_hex);

// Payloads as the official clients shape them (X402.md 1.4).
json::Value PayloadV2(const json::Value& accepted, const json::Value& resource,
                      const Authorization& auth, std::string_view signature);
json::Value PayloadV1(std::string_view network, const Authorization& auth,
                      std::string_view signature);
// Padded standard base64 of the compact JSON.
std::string EncodeHeader(const json::Value& payload);

// A valid v2 payment from the buyer for `offer` (an accepts entry of the PAYMENT-REQUIRED header),
// valid from 0 until now + 300 s, with `mutate` applied to the authorization before signing.
struct Payment {
  Authorization auth;
  std::string signature;
  json::Value payload;
  std::string header;  // base64
};
Payment BuyerPaymentV2(const testing::LocalChain& chain, const Challenge& challenge,
                       std::string_view mode, Domain domain = {},
                       const std::function<void(Authorization&)>& mutate = nullptr,
                       std::string_view key = testing::kGanacheKeyBuyer);

// Chain reads (REQUIRE success).
// LocalChain::Rpc, REQUIREd to succeed: the raw result JSON.
std::string RpcOk(const testing::LocalChain& chain, std::string_view method,
                  std::string_view params_json);
uint64_t Balance(const testing::LocalChain& chain, std::string_view owner);
// authorizationState(from, nonce) of the token: true once used (or cancelled).
bool NonceUsed(const testing::LocalChain& chain, std::string_view from, std::string_view nonce);
// Receipt status of a transaction ("0x1" = success), "" when there is no receipt.
std::string ReceiptStatus(const testing::LocalChain& chain, std::string_view tx_hash);
// The ganache account #index (eth_accounts), EIP-55.
std::string Account(const testing::LocalChain& chain, int index);

// Mock provider requests on both mocks (the edge must not call a provider for a bad payment).
int64_t ProviderRequests(Suite& suite);

// Sends the same POST twice at once (two PendingPosts) and returns both results.
std::pair<HttpResult, HttpResult> SendConcurrently(const std::string& url, const std::string& body,
                                                   std::string_view header_name,
                                                   std::string_view header_value);

// Starts one POST in the background (own HttpClient); Wait() returns its result (FAILs on a
// transport error or after 90 s).
class PendingPost {
 public:
  PendingPost(const std::string& url, const std::string& body, std::string_view header_name,
              std::string_view header_value);
  ~PendingPost();
  HttpResult Wait();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace p402::e2e::x402test
