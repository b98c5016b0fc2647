#include "tests/e2e/x402_support.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "catch2/catch.hpp"
#include "libs/crypto/base64.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/random.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"
#include "libs/http/client.h"
#include "tests/e2e/checks.h"
#include "tests/support/process.h"
#include "tests/support/test_env.h"

namespace p402::e2e::x402test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos) {
    return "";
  }
  size_t start = text.rfind('\n', end);
  start = (start == std::string::npos) ? 0 : start + 1;
  return text.substr(start, end - start + 1);
}

std::string Hex0x(std::span<const uint8_t> bytes) { return "0x" + crypto::HexEncode(bytes); }

template <typename T>
T Required(absl::StatusOr<T> v, std::string_view what) {
  if (!v.ok()) {
    FAIL(what << ": " << v.status().ToString());
  }
  return *std::move(v);
}

std::array<uint8_t, 32> ParseKey(std::string_view key_hex) {
  auto raw = crypto::HexDecode(key_hex.substr(2));
  REQUIRE(raw.has_value());
  REQUIRE(raw->size() == 32);
  std::array<uint8_t, 32> key{};
  std::copy(raw->begin(), raw->end(), key.begin());
  return key;
}

http::ClientRequest PostRequest(const std::string& url, const std::string& body,
                                std::string_view header_name, std::string_view header_value) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = url;
  req.body = body;
  req.headers.Add("Content-Type", "application/json");
  if (!header_name.empty()) {
    req.headers.Add(std::string(header_name), std::string(header_value));
  }
  req.timeouts.total = std::chrono::seconds(90);
  return req;
}

std::string Word32(std::string_view hex_no_prefix) {
  return std::string(64 - hex_no_prefix.size(), '0') + std::string(hex_no_prefix);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::unique_ptr<testing::LocalChain> StartChain() {
  auto chain = testing::LocalChain::Start();
  if (!chain.ok()) {
    FAIL("local chain: " << chain.status().ToString());
  }
  return *std::move(chain);
}

std::vector<std::pair<std::string, std::string>> SettlementEnv(const testing::LocalChain& chain) {
  return {
      {"P402_SETTLEMENT_CHAIN_RPC_URL", chain.rpc_url()},
      {"P402_SETTLEMENT_FACILITATOR_KEY", std::string(testing::kGanacheKeyFacilitator)},
      {"P402_SETTLEMENT_CHAIN_ID", std::to_string(chain.chain_id())},
      {"P402_SETTLEMENT_ASSET", chain.token()},
      {"P402_SETTLEMENT_ASSET_NAME", chain.options().token_name},
      {"P402_SETTLEMENT_ASSET_VERSION", chain.options().token_version},
      {"P402_SETTLEMENT_PAY_TO", chain.seller()},
  };
}

SuiteOptions X402SuiteOptions(const testing::LocalChain& chain) {
  SuiteOptions options;
  options.extra_env["settlement"] = SettlementEnv(chain);
  return options;
}

World& SharedWorld() {
  // Destroyed at exit in reverse member order: the suite (settlement) before its chain.
  static World world;
  static bool attempted = false;
  if (world.suite == nullptr) {
    if (attempted) {
      FAIL("the shared x402 world failed to start in an earlier test; see that failure");
    }
    attempted = true;
    world.chain = StartChain();
    world.suite = std::make_unique<Suite>(X402SuiteOptions(*world.chain));
  }
  world.suite->RequireAllAlive();
  REQUIRE(world.chain->running());
  return world;
}

std::string PaidChatBody(std::string_view content) {
  return ChatBody(kModel, content, R"("max_tokens":32)");
}

json::Value RunX402Script(std::string_view script, const json::Value& input,
                          const std::string& work_dir, std::chrono::milliseconds timeout) {
  auto node = testing::FindNodeBinary();
  if (!node.ok()) {
    FAIL(node.status().ToString());
  }
  const std::string dir = testing::SourceDir() + "/tests/e2e/x402";
  if (::access((dir + "/node_modules/x402-fetch/package.json").c_str(), R_OK) != 0) {
    FAIL("the x402 packages are not installed in " << dir
                                                   << "/node_modules: run "
                                                      "tools/e2e_deps.sh");
  }
  static std::atomic<int> counter{0};
  std::string stem = work_dir + "/x402-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1)) + "-" + std::string(script);
  std::ofstream(stem + ".input.json", std::ios::binary) << input.Serialize();
  testing::ProcessOptions o;
  o.name = std::string(script);
  o.path = *node;
  o.args = {dir + "/" + std::string(script), "--file", stem + ".input.json"};
  o.log_path = stem + ".stderr";
  o.stdout_path = stem + ".stdout";
  o.unset_env = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NODE_OPTIONS"};
  auto process = testing::Process::Spawn(std::move(o));
  if (!process.ok()) {
    FAIL(script << ": " << process.status().ToString());
  }
  testing::Process& p = **process;
  if (!p.WaitForExit(timeout)) {
    p.Kill();
    FAIL(script << " did not finish in " << timeout.count() << " ms\n" << p.LogTail(30));
  }
  std::string line = LastLine(ReadFile(stem + ".stdout"));
  auto parsed = json::Value::Parse(line);
  if (!parsed.ok() || !parsed->is_object() || parsed->Find("harness_error") != nullptr ||
      p.exit_code() != 0) {
    FAIL(script << " failed (" << p.StateDescription() << "): " << line << "\n" << p.LogTail(30));
  }
  return *std::move(parsed);
}

HttpResult PostChat(Suite& suite, const std::string& body, std::string_view header_name,
                    std::string_view header_value) {
  http::Headers headers{{"Content-Type", "application/json"}};
  if (!header_name.empty()) {
    headers.Add(std::string(header_name), std::string(header_value));
  }
  return suite.HttpPost(suite.EdgeUrl(kChatPath), body, std::move(headers));
}

const json::Value* Challenge::AcceptV1(std::string_view mode) const {
  const json::Value* accepts = body.Find("accepts");
  if (accepts == nullptr || !accepts->is_array()) {
    return nullptr;
  }
  for (const json::Value& a : accepts->AsArray()) {
    const json::Value* extra = a.Find("extra");
    if (extra != nullptr && extra->GetString("p402_mode") == mode) {
      return &a;
    }
  }
  return nullptr;
}

const json::Value* Challenge::AcceptV2(std::string_view mode) const {
  const json::Value* accepts = payment_required.Find("accepts");
  if (accepts == nullptr || !accepts->is_array()) {
    return nullptr;
  }
  for (const json::Value& a : accepts->AsArray()) {
    const json::Value* extra = a.Find("extra");
    if (extra != nullptr && extra->GetString("p402_mode") == mode) {
      return &a;
    }
  }
  return nullptr;
}

Challenge ReadChallenge(const HttpResult& r) {
  Challenge c;
  c.status = r.status;
  if (auto body = json::Value::Parse(r.body); body.ok()) {
    c.body = *std::move(body);
  }
  if (auto header = r.headers.Get("payment-required")) {
    if (auto raw = crypto::Base64Decode(*header)) {
      if (auto pr = json::Value::Parse(*raw); pr.ok()) {
        c.payment_required = *std::move(pr);
      }
    }
  }
  return c;
}

Challenge GetChallenge(Suite& suite, const std::string& body) {
  HttpResult r = PostChat(suite, body);
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 402);
  Challenge c = ReadChallenge(r);
  REQUIRE(c.payment_required.is_object());
  return c;
}

std::string ReasonOf(const HttpResult& r) {
  if (auto body = json::Value::Parse(r.body); body.ok() && body->is_object()) {
    if (const json::Value* error = body->Find("error")) {
      if (error->is_string()) {
        return error->AsString();
      }
      if (auto code = error->GetString("code")) {
        return std::string(*code);
      }
    }
  }
  Challenge c = ReadChallenge(r);
  if (auto e = c.payment_required.GetString("error")) {
    return std::string(*e);
  }
  return "";
}

std::string SignAuthorization(const Domain& domain, Authorization& auth,
                              std::string_view private_key_hex) {
  if (auth.nonce.empty()) {
    auth.nonce = "0x" + crypto::HexEncode(crypto::RandomBytes(32));
  }
  evm::Eip712Domain d;
  d.name = domain.name;
  d.version = domain.version;
  d.chain_id = domain.chain_id;
  d.verifying_contract = Required(evm::ParseAddress(domain.verifying_contract), "contract");
  evm::TransferAuthorization a;
  a.from = Required(evm::ParseAddress(auth.from), "from");
  a.to = Required(evm::ParseAddress(auth.to), "to");
  a.value = Required(evm::ParseUint256Decimal(auth.value), "value");
  a.valid_after = evm::Uint256FromU64(auth.valid_after);
  a.valid_before = evm::Uint256FromU64(auth.valid_before);
  a.nonce = Required(evm::ParseBytes32Hex(auth.nonce), "nonce");
  crypto::Signature65 sig =
      Required(crypto::SignDigest(evm::TypedDataDigest(d, a), ParseKey(private_key_hex)), "sign");
  return Hex0x(sig);
}

std::string HighSTwin(std::string_view signature_hex) {
  auto raw = crypto::HexDecode(signature_hex.substr(2));
  REQUIRE(raw.has_value());
  REQUIRE(raw->size() == 65);
  // secp256k1 order n, big-endian.
  static constexpr uint8_t kN[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
                                     0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
                                     0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
  std::string out = *raw;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = kN[i] - static_cast<uint8_t>((*raw)[32 + i]) - borrow;
    borrow = d < 0 ? 1 : 0;
    out[32 + i] = static_cast<char>(d < 0 ? d + 256 : d);
  }
  out[64] = static_cast<char>(static_cast<uint8_t>((*raw)[64]) == 27 ? 28 : 27);
  return "0x" + crypto::HexEncode(out);
}

namespace {
json::Value AuthorizationJson(const Authorization& auth) {
  json::Value a = json::Value::EmptyObject();
  a.Set("from", auth.from);
  a.Set("to", auth.to);
  a.Set("value", auth.value);
  a.Set("validAfter", std::to_string(auth.valid_after));
  a.Set("validBefore", std::to_string(auth.valid_before));
  a.Set("nonce", auth.nonce);
  return a;
}
}  // namespace

json::Value PayloadV2(const json::Value& accepted, const json::Value& resource,
                      const Authorization& auth, std::string_view signature) {
  json::Value p = json::Value::EmptyObject();
  p.Set("x402Version", 2);
  json::Value& inner = p.Set("payload", json::Value::EmptyObject());
  inner.Set("authorization", AuthorizationJson(auth));
  inner.Set("signature", signature);
  p.Set("resource", resource);
  p.Set("accepted", accepted);
  return p;
}

json::Value PayloadV1(std::string_view network, const Authorization& auth,
                      std::string_view signature) {
  json::Value p = json::Value::EmptyObject();
  p.Set("x402Version", 1);
  p.Set("scheme", "exact");
  p.Set("network", network);
  json::Value& inner = p.Set("payload", json::Value::EmptyObject());
  inner.Set("signature", signature);
  inner.Set("authorization", AuthorizationJson(auth));
  return p;
}

std::string EncodeHeader(const json::Value& payload) {
  return crypto::Base64Encode(payload.Serialize());
}

Payment BuyerPaymentV2(const testing::LocalChain& chain, const Challenge& challenge,
                       std::string_view mode, Domain domain,
                       const std::function<void(Authorization&)>& mutate, std::string_view key) {
  const json::Value* offer = challenge.AcceptV2(mode);
  INFO(challenge.payment_required.Serialize());
  REQUIRE(offer != nullptr);
  Payment p;
  p.auth.from = chain.buyer();
  p.auth.to = std::string(offer->GetString("payTo").value_or(""));
  p.auth.value = std::string(offer->GetString("amount").value_or(""));
  p.auth.valid_after = 0;
  p.auth.valid_before = static_cast<uint64_t>(std::time(nullptr)) + 300;
  if (mutate) {
    mutate(p.auth);
  }
  domain.chain_id = domain.chain_id == 0 ? chain.chain_id() : domain.chain_id;
  if (domain.verifying_contract.empty()) {
    domain.verifying_contract = chain.token();
  }
  p.signature = SignAuthorization(domain, p.auth, key);
  const json::Value* resource = challenge.payment_required.Find("resource");
  p.payload = PayloadV2(*offer, resource != nullptr ? *resource : json::Value::EmptyObject(),
                        p.auth, p.signature);
  p.header = EncodeHeader(p.payload);
  return p;
}

std::string RpcOk(const testing::LocalChain& chain, std::string_view method,
                  std::string_view params_json) {
  return Required(chain.Rpc(method, params_json), method);
}

uint64_t Balance(const testing::LocalChain& chain, std::string_view owner) {
  return Required(chain.TokenBalance(owner), "balanceOf");
}

bool NonceUsed(const testing::LocalChain& chain, std::string_view from, std::string_view nonce) {
  // authorizationState(address,bytes32) = 0xe94a0102
  std::string data = "0xe94a0102" + Word32(Lower(from.substr(2))) + Lower(nonce.substr(2));
  std::string result =
      Required(chain.Rpc("eth_call", R"([{"to":")" + chain.token() + R"(","data":")" + data +
                                         R"("},"latest"])"),
               "authorizationState");
  REQUIRE(result.size() == 68);  // quoted 0x + 64
  return result[66] == '1';
}

std::string ReceiptStatus(const testing::LocalChain& chain, std::string_view tx_hash) {
  std::string result = Required(
      chain.Rpc("eth_getTransactionReceipt", "[\"" + std::string(tx_hash) + "\"]"), "receipt");
  auto parsed = json::Value::Parse(result);
  REQUIRE(parsed.ok());
  return std::string(parsed->GetString("status").value_or(""));
}

std::string Account(const testing::LocalChain& chain, int index) {
  auto parsed = json::Value::Parse(Required(chain.Rpc("eth_accounts", "[]"), "eth_accounts"));
  REQUIRE(parsed.ok());
  REQUIRE(parsed->is_array());
  REQUIRE(static_cast<int>(parsed->AsArray().size()) > index);
  return evm::ToChecksum(
      Required(evm::ParseAddress(parsed->AsArray()[index].AsString()), "account"));
}

int64_t ProviderRequests(Suite& suite) {
  return MockRequestsTotal(suite, "openai") + MockRequestsTotal(suite, "anthropic");
}

struct PendingPost::State {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<absl::StatusOr<http::ClientResponse>> result;
};

PendingPost::PendingPost(const std::string& url, const std::string& body,
                         std::string_view header_name, std::string_view header_value)
    : state_(std::make_shared<State>()) {
  client_ = Required(http::HttpClient::Create(), "http client");
  std::shared_ptr<State> s = state_;
  client_->Fetch(PostRequest(url, body, header_name, header_value),
                 [s](absl::StatusOr<http::ClientResponse> r) {
                   std::lock_guard<std::mutex> lock(s->mu);
                   s->result = std::move(r);
                   s->cv.notify_all();
                 });
}

// client_ (declared last) goes first: it cancels a call still in flight and joins its thread.
PendingPost::~PendingPost() = default;

HttpResult PendingPost::Wait() {
  std::unique_lock<std::mutex> lock(state_->mu);
  if (!state_->cv.wait_for(lock, std::chrono::seconds(95),
                           [&] { return state_->result.has_value(); })) {
    FAIL("the background POST got no answer in 95 s");
  }
  if (!state_->result->ok()) {
    FAIL("background POST: " << state_->result->status().ToString());
  }
  http::ClientResponse& r = **state_->result;
  return HttpResult{r.status, r.headers, r.body};
}

std::pair<HttpResult, HttpResult> SendConcurrently(const std::string& url, const std::string& body,
                                                   std::string_view header_name,
                                                   std::string_view header_value) {
  PendingPost a(url, body, header_name, header_value);
  PendingPost b(url, body, header_name, header_value);
  HttpResult ra = a.Wait();
  HttpResult rb = b.Wait();
  return {std::move(ra), std::move(rb)};
}

}  // namespace p402::e2e::x402test
