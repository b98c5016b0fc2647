// EvmChainGateway and JsonRpcClient against a real local chain (tests/support/local_chain.h:
// ganache + the test EIP-3009 token, "USDC"/"2", 10 USDC minted to the buyer). One chain for the
// whole binary, started on first use; the steps of the main test run in order on it.
#include <chrono>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/crypto/keccak256.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/abi.h"
#include "libs/evm/eip712.h"
#include "libs/evm/transaction.h"
#include "libs/http/server.h"
#include "services/settlement/adapters/evm_chain_gateway.h"
#include "services/settlement/adapters/json_rpc_client.h"
#include "tests/support/catch_status.h"
#include "tests/support/local_chain.h"

namespace p402::settlement {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::LocalChain;
using ::p402::testing::StatusIs;

std::array<uint8_t, 32> Key(std::string_view hex0x) {
  absl::StatusOr<evm::Bytes32> k = evm::ParseBytes32Hex(hex0x);
  REQUIRE_THAT(k.status(), IsOk());
  return *k;
}

evm::Address Addr(std::string_view text) {
  absl::StatusOr<evm::Address> a = evm::ParseAddress(text);
  REQUIRE_THAT(a.status(), IsOk());
  return *a;
}

LocalChain& Chain() {
  static std::unique_ptr<LocalChain> chain = [] {
    absl::StatusOr<std::unique_ptr<LocalChain>> c = LocalChain::Start();
    INFO("LocalChain::Start: " << c.status().ToString());
    REQUIRE(c.ok());
    return *std::move(c);
  }();
  return *chain;
}

std::unique_ptr<EvmChainGateway> MakeGateway(
    LocalChain& chain,
    std::chrono::milliseconds abandon_after = std::chrono::milliseconds(120'000)) {
  EvmChainGatewayOptions options;
  options.rpc_url = chain.rpc_url();
  options.signer_private_key = Key(::p402::testing::kGanacheKeyFacilitator);
  options.rpc_timeout = std::chrono::milliseconds(15'000);
  options.abandon_after = abandon_after;
  absl::StatusOr<std::unique_ptr<EvmChainGateway>> g = EvmChainGateway::Create(options);
  REQUIRE_THAT(g.status(), IsOk());
  return *std::move(g);
}

struct SignedAuth {
  evm::TransferAuthorization auth;
  crypto::Signature65 signature{};
};

// The buyer (ganache key #1) authorises `value` to the seller, with nonce `nonce_byte`.
SignedAuth BuyerAuth(LocalChain& chain, uint64_t value, uint8_t nonce_byte) {
  SignedAuth s;
  s.auth.from = Addr(chain.buyer());
  s.auth.to = Addr(chain.seller());
  s.auth.value = evm::Uint256FromU64(value);
  s.auth.valid_after = evm::Uint256FromU64(0);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  s.auth.valid_before = evm::Uint256FromU64(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + 3600);
  s.auth.nonce[0] = 0xa5;
  s.auth.nonce[31] = nonce_byte;
  evm::Eip712Domain domain{.name = chain.options().token_name,
                           .version = chain.options().token_version,
                           .chain_id = chain.chain_id(),
                           .verifying_contract = Addr(chain.token())};
  absl::StatusOr<crypto::Signature65> sig = crypto::SignDigest(
      evm::TypedDataDigest(domain, s.auth), Key(::p402::testing::kGanacheKeyBuyer));
  REQUIRE_THAT(sig.status(), IsOk());
  s.signature = *sig;
  return s;
}

uint64_t TokenBalance(LocalChain& chain, const std::string& who) {
  absl::StatusOr<uint64_t> b = chain.TokenBalance(who);
  REQUIRE_THAT(b.status(), IsOk());
  return *b;
}

// Polls for the receipt (ganache mines at once, but do not rely on it) with a deadline.
ChainReceipt WaitReceipt(EvmChainGateway& gateway, const std::string& tx_hash) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<std::optional<ChainReceipt>> r = gateway.GetReceipt(tx_hash);
    REQUIRE_THAT(r.status(), IsOk());
    if (r->has_value()) return **r;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL("no receipt for " << tx_hash << " within 30 s");
  return {};
}

TEST_CASE("json-rpc quantities", "[service]") {
  CHECK(*ParseQuantity(json::Value("0x0")) == 0);
  CHECK(*ParseQuantity(json::Value("0x14a34")) == 84532);
  CHECK(*ParseQuantity(json::Value("0xffffffffffffffff")) == ~uint64_t{0});
  CHECK(*ParseQuantity(json::Value("0x00001")) == 1);
  CHECK_THAT(ParseQuantity(json::Value("0x1ffffffffffffffff")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseQuantity(json::Value("0x")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseQuantity(json::Value("12")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseQuantity(json::Value("0xg1")).status(),
             StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(ParseQuantity(json::Value(12)).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK(*ParseQuantity256(json::Value("0x3b9aca00")) == evm::Uint256FromU64(1'000'000'000));
  evm::Uint256 max;
  max.fill(0xff);
  CHECK(*ParseQuantity256(json::Value("0x" + std::string(64, 'f'))) == max);
  CHECK_FALSE(ParseQuantity256(json::Value("0x1" + std::string(64, '0'))).ok());
  CHECK(ToQuantity(uint64_t{0}) == "0x0");
  CHECK(ToQuantity(uint64_t{84532}) == "0x14a34");
  CHECK(ToQuantity(evm::Uint256FromU64(1'000'000'000)) == "0x3b9aca00");
  CHECK(ToQuantity(evm::Uint256{}) == "0x0");
}

// A fake JSON-RPC node on loopback: answers each method with a canned (HTTP status, body); the
// body's "$ID" is replaced by the request id. Unknown methods get a -32601 error.
class FakeNode {
 public:
  FakeNode() {
    http::ServerOptions options;
    options.io_threads = 1;
    options.handler = http::MakeHandler([this](http::Request request,
                                               std::shared_ptr<http::ResponseWriter> writer) {
      absl::StatusOr<json::Value> body = json::Value::Parse(request.body);
      std::string method, id = "0";
      if (body.ok()) {
        method = std::string(body->GetString("method").value_or(""));
        if (const json::Value* v = body->Find("id")) id = v->Serialize();
      }
      std::pair<int, std::string> answer{
          200, R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32601,"message":"no such method"}})"};
      {
        absl::MutexLock lock(&mu_);
        if (auto it = answers_.find(method); it != answers_.end()) answer = it->second;
      }
      for (size_t pos; (pos = answer.second.find("$ID")) != std::string::npos;) {
        answer.second.replace(pos, 3, id);
      }
      writer->Send(http::Response::Json(answer.first, answer.second));
    });
    absl::StatusOr<std::unique_ptr<http::HttpServer>> server =
        http::HttpServer::Start(std::move(options));
    REQUIRE_THAT(server.status(), IsOk());
    server_ = *std::move(server);
  }
  void Answer(const std::string& method, int status, std::string body) {
    absl::MutexLock lock(&mu_);
    answers_[method] = {status, std::move(body)};
  }
  void Result(const std::string& method, const std::string& result_json) {
    Answer(method, 200, R"({"jsonrpc":"2.0","id":$ID,"result":)" + result_json + "}");
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::pair<int, std::string>> answers_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<http::HttpServer> server_;
};

TEST_CASE("json-rpc client maps HTTP and JSON-RPC failures", "[service]") {
  FakeNode node;
  absl::StatusOr<std::unique_ptr<http::HttpClient>> http = http::HttpClient::Create();
  REQUIRE_THAT(http.status(), IsOk());
  JsonRpcClient rpc(**http, JsonRpcOptions{.url = node.url()});
  auto call = [&](const std::string& method) {
    return rpc.Call(method, json::Value::EmptyArray());
  };
  node.Result("ok", R"("0x2a")");
  absl::StatusOr<json::Value> ok = call("ok");
  REQUIRE_THAT(ok.status(), IsOk());
  CHECK(*ParseQuantity(*ok) == 42);
  node.Result("null", "null");
  REQUIRE_THAT(call("null").status(), IsOk());
  CHECK(call("null")->is_null());
  // geth style: the revert bytes in error.data; the reason is appended to a bare message.
  node.Answer("revert", 200,
              R"({"jsonrpc":"2.0","id":$ID,"error":{"code":3,"message":"execution reverted",)"
              R"("data":"0x08c379a0000000000000000000000000000000000000000000000000000000000000)"
              R"(0020000000000000000000000000000000000000000000000000000000000000001a4e6f742065)"
              R"(6e6f7567682045746865722070726f76696465642e000000000000"}})");
  CHECK_THAT(call("revert").status(),
             StatusIs(absl::StatusCode::kFailedPrecondition,
                      "revert: execution reverted: Not enough Ether provided."));
  absl::StatusOr<JsonRpcOutcome> raw = rpc.CallRaw("revert", json::Value::EmptyArray());
  REQUIRE_THAT(raw.status(), IsOk());
  REQUIRE(raw->error.has_value());
  CHECK(raw->error->code == 3);
  CHECK(raw->error->revert_reason == std::optional<std::string>("Not enough Ether provided."));
  CHECK_THAT(call("missing").status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "missing: no such method"));
  // Transport-ish failures are Unavailable: rate limit, server error, not JSON-RPC at all.
  node.Answer("limited", 429,
              R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32005,"message":"slow down"}})");
  CHECK_THAT(call("limited").status(), StatusIs(absl::StatusCode::kUnavailable, "429"));
  node.Answer("down", 503, "upstream gone");
  CHECK_THAT(call("down").status(), StatusIs(absl::StatusCode::kUnavailable, "503"));
  node.Answer("html", 404, "<html>not here</html>");
  CHECK_THAT(call("html").status(), StatusIs(absl::StatusCode::kUnavailable));
  node.Answer("garbage", 200, "{\"jsonrpc\":");
  CHECK_THAT(call("garbage").status(), StatusIs(absl::StatusCode::kUnavailable));
  node.Answer("noresult", 200, R"({"jsonrpc":"2.0","id":$ID})");
  CHECK_THAT(call("noresult").status(), StatusIs(absl::StatusCode::kUnavailable));
  // Nothing listening.
  JsonRpcClient nowhere(**http, JsonRpcOptions{.url = "http://127.0.0.1:1"});
  CHECK_THAT(nowhere.Call("eth_chainId", json::Value::EmptyArray()).status(),
             StatusIs(absl::StatusCode::kUnavailable));
}

TEST_CASE("gateway gas and fee policy (fake node)", "[service]") {
  FakeNode node;
  node.Result("eth_chainId", R"("0x14a34")");
  node.Result("eth_getBlockByNumber", R"({"number":"0x10","baseFeePerGas":"0x3b9aca00"})");
  node.Result("eth_getTransactionCount", R"("0x7")");
  // eth_maxPriorityFeePerGas is not implemented: the default 1 gwei applies.
  EvmChainGatewayOptions options;
  options.rpc_url = node.url();
  options.signer_private_key = Key(::p402::testing::kGanacheKeyFacilitator);
  options.gas_limit_cap = 200'000;
  absl::StatusOr<std::unique_ptr<EvmChainGateway>> gateway = EvmChainGateway::Create(options);
  REQUIRE_THAT(gateway.status(), IsOk());
  const evm::Address token = Addr("0x036CbD53842c5426634e7929541eC2318f3dCF7e");
  evm::TransferAuthorization auth;
  auth.value = evm::Uint256FromU64(10'000);
  crypto::Signature65 sig{};
  sig[64] = 27;

  // What the gateway must sign: chain id, nonce from the node, gas = estimate * 1.2 (capped),
  // priority 1 gwei, max fee = 2 * 1 gwei base fee + priority.
  auto expected = [&](uint64_t nonce, uint64_t gas, uint64_t priority) {
    evm::Eip1559Transaction tx;
    tx.chain_id = 84532;
    tx.nonce = nonce;
    tx.gas_limit = gas;
    tx.max_priority_fee_per_gas = evm::Uint256FromU64(priority);
    tx.max_fee_per_gas = evm::Uint256FromU64(2'000'000'000 + priority);
    tx.to = token;
    tx.data = evm::abi::EncodeTransferWithAuthorization(auth, sig);
    absl::StatusOr<evm::SignedTransaction> s = evm::SignTransaction(tx, options.signer_private_key);
    REQUIRE_THAT(s.status(), IsOk());
    return *s;
  };

  node.Result("eth_estimateGas", R"("0x186a0")");  // 100000 -> 120000
  absl::StatusOr<PreparedTransfer> p = (*gateway)->PrepareTransfer(token, auth, sig);
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(p->account_nonce == 7);
  CHECK(p->raw_tx == expected(7, 120'000, 1'000'000'000).raw_hex);
  CHECK(p->tx_hash == expected(7, 120'000, 1'000'000'000).hash_hex);

  // The node's priority fee when it has one; the node's count has not moved (the first
  // transaction is still unbroadcast), so the local counter hands out 8.
  node.Result("eth_maxPriorityFeePerGas", R"("0x77359400")");  // 2 gwei
  node.Result("eth_estimateGas", R"("0x2e630")");              // 190000 -> 228000 -> cap
  p = (*gateway)->PrepareTransfer(token, auth, sig);
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(p->account_nonce == 8);
  CHECK(p->raw_tx == expected(8, 200'000, 2'000'000'000).raw_hex);

  // An estimate above the cap, and a revert at estimation (ganache style: reason in
  // data.result), are FailedPrecondition; the latter carries the revert text.
  node.Result("eth_estimateGas", R"("0x3d090")");  // 250000
  CHECK_THAT((*gateway)->PrepareTransfer(token, auth, sig).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "exceeds the cap"));
  node.Answer("eth_estimateGas", 200,
              R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"VM Exception",)"
              R"("data":{"result":"0x08c379a0000000000000000000000000000000000000000000000000)"
              R"(00000000000000200000000000000000000000000000000000000000000000000000000000000)"
              R"(01e46696174546f6b656e56323a20696e76616c6964207369676e61747572650000"}}})");
  absl::Status reverted = (*gateway)->PrepareTransfer(token, auth, sig).status();
  CHECK_THAT(reverted, StatusIs(absl::StatusCode::kFailedPrecondition));
  CHECK(MessageOf(reverted) == "FiatTokenV2: invalid signature");

  // A broadcast the node rejects for its nonce: FailedPrecondition with the node's message, and
  // the next Prepare resynchronises with the chain's count.
  node.Result("eth_estimateGas", R"("0x186a0")");
  node.Answer("eth_sendRawTransaction", 200,
              R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"nonce too low"}})");
  node.Result("eth_getTransactionByHash", "null");
  PreparedTransfer stale;
  stale.tx_hash = expected(7, 120'000, 1'000'000'000).hash_hex;
  stale.raw_tx = expected(7, 120'000, 1'000'000'000).raw_hex;
  stale.account_nonce = 7;
  CHECK_THAT((*gateway)->Broadcast(stale),
             StatusIs(absl::StatusCode::kFailedPrecondition, "nonce too low"));
  node.Result("eth_getTransactionCount", R"("0xc")");  // 12: the account moved on elsewhere
  p = (*gateway)->PrepareTransfer(token, auth, sig);
  REQUIRE_THAT(p.status(), IsOk());
  CHECK(p->account_nonce == 12);
  // "already known" is a successful (re)broadcast.
  node.Answer("eth_sendRawTransaction", 200,
              R"({"jsonrpc":"2.0","id":$ID,"error":{"code":-32000,"message":"already known"}})");
  CHECK_THAT((*gateway)->Broadcast(*p), IsOk());
}

TEST_CASE("gateway options are validated without contacting a chain", "[service]") {
  EvmChainGatewayOptions options;
  options.signer_private_key = Key(::p402::testing::kGanacheKeyFacilitator);
  CHECK_THAT(EvmChainGateway::Create(options).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "rpc_url"));
  options.rpc_url = "http://127.0.0.1:1";
  options.signer_private_key = {};
  absl::Status bad_key = EvmChainGateway::Create(options).status();
  CHECK_THAT(bad_key, StatusIs(absl::StatusCode::kInvalidArgument, "private key"));
  options.signer_private_key = Key(::p402::testing::kGanacheKeyFacilitator);
  options.gas_limit_cap = 0;
  CHECK_THAT(EvmChainGateway::Create(options).status(),
             StatusIs(absl::StatusCode::kInvalidArgument, "gas_limit_cap"));
}

TEST_CASE("json-rpc client against ganache: results and error objects", "[service]") {
  LocalChain& chain = Chain();
  absl::StatusOr<std::unique_ptr<http::HttpClient>> http = http::HttpClient::Create();
  REQUIRE_THAT(http.status(), IsOk());
  JsonRpcClient rpc(**http, JsonRpcOptions{.url = chain.rpc_url()});
  absl::StatusOr<json::Value> id = rpc.Call("eth_chainId", json::Value::EmptyArray());
  REQUIRE_THAT(id.status(), IsOk());
  CHECK(*ParseQuantity(*id) == chain.chain_id());
  // An unknown method: the node's error object becomes FailedPrecondition naming the method.
  CHECK_THAT(rpc.Call("eth_noSuchMethod", json::Value::EmptyArray()).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "eth_noSuchMethod"));
  // A reverting eth_call: the Error(string) reason is decoded from error.data.
  json::Value call = json::Value::EmptyObject();
  call.Set("to", chain.token());
  call.Set("data", evm::abi::ToHexData(evm::abi::EncodeTransferWithAuthorization(
                       evm::TransferAuthorization{}, crypto::Signature65{})));
  absl::StatusOr<JsonRpcOutcome> raw = rpc.CallRaw("eth_call", json::Array{call, "latest"});
  REQUIRE_THAT(raw.status(), IsOk());
  REQUIRE(raw->error.has_value());
  CHECK(raw->error->revert_reason.has_value());
  CHECK_THAT(rpc.Call("eth_call", json::Array{call, "latest"}).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "eth_call"));
}

TEST_CASE("gateway settles a TransferWithAuthorization on a local chain", "[service]") {
  LocalChain& chain = Chain();
  std::unique_ptr<EvmChainGateway> gateway = MakeGateway(chain);
  const evm::Address token = Addr(chain.token());
  const evm::Address buyer = Addr(chain.buyer());
  const evm::Address seller = Addr(chain.seller());

  // Reads.
  absl::StatusOr<uint64_t> chain_id = gateway->ChainId();
  REQUIRE_THAT(chain_id.status(), IsOk());
  CHECK(*chain_id == chain.chain_id());
  CHECK(evm::ToChecksum(gateway->SignerAddress()) == chain.facilitator());
  CHECK(*gateway->HasCode(token) == true);
  CHECK(*gateway->HasCode(buyer) == false);
  const uint64_t buyer_before = TokenBalance(chain, chain.buyer());
  const uint64_t seller_before = TokenBalance(chain, chain.seller());
  absl::StatusOr<evm::Uint256> balance = gateway->BalanceOf(token, buyer);
  REQUIRE_THAT(balance.status(), IsOk());
  CHECK(*balance == evm::Uint256FromU64(buyer_before));
  CHECK_THAT(gateway->BalanceOf(buyer, buyer).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition));

  // Simulate, prepare (nothing sent yet), broadcast, receipt.
  const SignedAuth pay = BuyerAuth(chain, 10'000, 1);
  CHECK(*gateway->AuthorizationUsed(token, buyer, pay.auth.nonce) == false);
  absl::StatusOr<Simulation> sim = gateway->SimulateTransfer(token, pay.auth, pay.signature);
  REQUIRE_THAT(sim.status(), IsOk());
  CHECK(sim->ok);
  CHECK(sim->revert_reason.empty());

  absl::StatusOr<PreparedTransfer> prepared =
      gateway->PrepareTransfer(token, pay.auth, pay.signature);
  REQUIRE_THAT(prepared.status(), IsOk());
  CHECK(prepared->tx_hash.size() == 66);
  CHECK(prepared->raw_tx.rfind("0x02", 0) == 0);
  absl::StatusOr<std::string> raw = evm::abi::ParseHexData(prepared->raw_tx);
  REQUIRE_THAT(raw.status(), IsOk());
  CHECK(prepared->tx_hash == "0x" + crypto::Keccak256Hex(*raw));
  CHECK(*gateway->TransactionKnown(prepared->tx_hash) == false);  // prepared, not broadcast
  CHECK_FALSE(gateway->GetReceipt(prepared->tx_hash)->has_value());
  CHECK(TokenBalance(chain, chain.seller()) == seller_before);

  REQUIRE_THAT(gateway->Broadcast(*prepared), IsOk());
  CHECK(*gateway->TransactionKnown(prepared->tx_hash) == true);
  const ChainReceipt receipt = WaitReceipt(*gateway, prepared->tx_hash);
  CHECK(receipt.success);
  CHECK(receipt.block_number > 0);
  REQUIRE(receipt.transfers.size() == 1);
  CHECK(receipt.transfers[0].token == token);
  CHECK(receipt.transfers[0].from == buyer);
  CHECK(receipt.transfers[0].to == seller);
  CHECK(receipt.transfers[0].value == evm::Uint256FromU64(10'000));
  CHECK(TokenBalance(chain, chain.buyer()) == buyer_before - 10'000);
  CHECK(TokenBalance(chain, chain.seller()) == seller_before + 10'000);
  CHECK(*gateway->AuthorizationUsed(token, buyer, pay.auth.nonce) == true);

  // Rebroadcasting the mined transaction is OK (the node knows it).
  CHECK_THAT(gateway->Broadcast(*prepared), IsOk());

  // The same authorization again: the simulation reverts with the token's "used" reason, and
  // PrepareTransfer refuses at gas estimation with the revert text.
  sim = gateway->SimulateTransfer(token, pay.auth, pay.signature);
  REQUIRE_THAT(sim.status(), IsOk());
  CHECK_FALSE(sim->ok);
  CHECK_THAT(sim->revert_reason, Catch::Contains("used"));
  CHECK_THAT(gateway->PrepareTransfer(token, pay.auth, pay.signature).status(),
             StatusIs(absl::StatusCode::kFailedPrecondition, "authorization is used"));

  // A signature by someone else: "invalid signature".
  SignedAuth forged = BuyerAuth(chain, 10'000, 2);
  forged.auth.value = evm::Uint256FromU64(20'000);  // signed 10'000
  sim = gateway->SimulateTransfer(token, forged.auth, forged.signature);
  REQUIRE_THAT(sim.status(), IsOk());
  CHECK_FALSE(sim->ok);
  CHECK_THAT(sim->revert_reason, Catch::Contains("invalid signature"));

  // Two transfers prepared and broadcast from two threads: both Prepares finish before either
  // Broadcast (a latch), so the node's pending count cannot tell them apart; the gateway's local
  // nonce must. Both then mine, whatever order the broadcasts arrive in.
  const SignedAuth a = BuyerAuth(chain, 1'000, 3);
  const SignedAuth b = BuyerAuth(chain, 2'000, 4);
  struct Outcome {
    absl::StatusOr<PreparedTransfer> prepared = absl::UnknownError("not run");
    absl::Status broadcast = absl::UnknownError("not run");
  };
  Outcome out_a, out_b;
  std::latch both_prepared(2);
  auto settle = [&](const SignedAuth& s, Outcome& out) {
    out.prepared = gateway->PrepareTransfer(token, s.auth, s.signature);
    both_prepared.arrive_and_wait();
    if (out.prepared.ok()) out.broadcast = gateway->Broadcast(*out.prepared);
  };
  std::thread ta(settle, std::cref(a), std::ref(out_a));
  std::thread tb(settle, std::cref(b), std::ref(out_b));
  ta.join();
  tb.join();
  REQUIRE_THAT(out_a.prepared.status(), IsOk());
  REQUIRE_THAT(out_b.prepared.status(), IsOk());
  CHECK_THAT(out_a.broadcast, IsOk());
  CHECK_THAT(out_b.broadcast, IsOk());
  CHECK(out_a.prepared->account_nonce != out_b.prepared->account_nonce);
  CHECK(WaitReceipt(*gateway, out_a.prepared->tx_hash).success);
  CHECK(WaitReceipt(*gateway, out_b.prepared->tx_hash).success);
  CHECK(TokenBalance(chain, chain.seller()) == seller_before + 13'000);

  // A transaction prepared but never broadcast does not leave a gap once it is abandoned: the
  // next Prepare takes the nonce from the chain again, and that transaction mines.
  {
    std::unique_ptr<EvmChainGateway> forgetful = MakeGateway(chain, std::chrono::milliseconds(0));
    const SignedAuth c = BuyerAuth(chain, 500, 5);
    absl::StatusOr<PreparedTransfer> abandoned =
        forgetful->PrepareTransfer(token, c.auth, c.signature);
    REQUIRE_THAT(abandoned.status(), IsOk());
    absl::StatusOr<PreparedTransfer> retried =
        forgetful->PrepareTransfer(token, c.auth, c.signature);
    REQUIRE_THAT(retried.status(), IsOk());
    CHECK(retried->account_nonce == abandoned->account_nonce);
    REQUIRE_THAT(forgetful->Broadcast(*retried), IsOk());
    CHECK(WaitReceipt(*forgetful, retried->tx_hash).success);
  }
  // The first gateway notices the other gateway's transaction (the chain's count is ahead).
  const SignedAuth d = BuyerAuth(chain, 700, 6);
  absl::StatusOr<PreparedTransfer> after = gateway->PrepareTransfer(token, d.auth, d.signature);
  REQUIRE_THAT(after.status(), IsOk());
  CHECK(after->account_nonce >
        std::max(out_a.prepared->account_nonce, out_b.prepared->account_nonce) + 1);
  REQUIRE_THAT(gateway->Broadcast(*after), IsOk());
  CHECK(WaitReceipt(*gateway, after->tx_hash).success);
  CHECK(TokenBalance(chain, chain.seller()) == seller_before + 14'200);

  // Malformed hashes are refused locally.
  CHECK_THAT(gateway->GetReceipt("0x1234").status(), StatusIs(absl::StatusCode::kInvalidArgument));
  CHECK_THAT(gateway->TransactionKnown("nope").status(),
             StatusIs(absl::StatusCode::kInvalidArgument));

  // RPC down: every call that needs the node is Unavailable.
  const SignedAuth e = BuyerAuth(chain, 100, 7);
  chain.Stop();
  CHECK_THAT(gateway->HasCode(token).status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->BalanceOf(token, buyer).status(), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->SimulateTransfer(token, e.auth, e.signature).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->PrepareTransfer(token, e.auth, e.signature).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->Broadcast(*after), StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->GetReceipt(after->tx_hash).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK_THAT(gateway->TransactionKnown(after->tx_hash).status(),
             StatusIs(absl::StatusCode::kUnavailable));
  CHECK(*gateway->ChainId() == chain.chain_id());  // cached
}

}  // namespace
}  // namespace p402::settlement
