// File: tests/support/local_chain.h
// A throwaway local EVM chain for settlement tests: ganache (npm, tests/e2e/x402/node_modules,
// installed by tools/e2e_deps.sh) on a free loopback port with the deterministic ganache keys,
// chain id 84532 (Base Sepolia, so the v1 x402 clients can pay on it: X402.md 3.2), plus the test
// EIP-3009 token (tests/e2e/x402/contracts/TestUSDC.sol, compiled with solc-js at test time,
// EVM "shanghai") deployed as "USDC"/"2" and 10 USDC minted to the buyer, and a Multicall3
// stand-in at its canonical address.
//
//   auto chain = LocalChain::Start();                 // StatusOr<std::unique_ptr<LocalChain>>
//   (*chain)->rpc_url();                              // "http://127.0.0.1:<port>"
//   (*chain)->token();                                // "0x..." EIP-55
//   (*chain)->TokenBalance((*chain)->seller());       // StatusOr<uint64_t>, atomic units
//   (*chain)->Stop(); (*chain)->Restart();            // fault tests: RPC down, then back with
//                                                     // the same state (ganache keeps its chain
//                                                     // in a database dir of the temp dir)
//
// Keys are ganache's public deterministic test keys (never use anywhere real):
//   #0 facilitator (deploys, pays gas), #1 buyer (holds the tokens), #2 seller (payTo),
//   #3 poor (no tokens).
// Thread-safety: not thread-safe; use from the test's main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace p402::testing {

inline constexpr std::string_view kGanacheKeyFacilitator =
    "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
inline constexpr std::string_view kGanacheKeyBuyer =
    "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";
inline constexpr std::string_view kGanacheKeySeller =
    "0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c";
inline constexpr std::string_view kGanacheKeyPoor =
    "0x646f1ce2fdad0e6deeeb5c7e8e5543bdde65e86029e2fd9fc169899c440a7913";

struct LocalChainOptions {
  uint64_t chain_id = 84532;
  std::string token_name = "USDC";
  std::string token_version = "2";
  // Minted to the buyer at deployment (atomic units; 10 USDC).
  uint64_t buyer_mint = 10'000'000;
  std::chrono::milliseconds start_timeout{60'000};
};

class LocalChain {
 public:
  // Starts ganache, waits for eth_chainId, compiles (cached in the build dir) and deploys the
  // token. Errors: NotFound (node or tests/e2e/x402/node_modules missing: run tools/e2e_deps.sh),
  // DeadlineExceeded (no answer within start_timeout, with the log tail), Internal.
  static absl::StatusOr<std::unique_ptr<LocalChain>> Start(LocalChainOptions options = {});
  ~LocalChain();  // kills ganache, removes its temp dir
  LocalChain(const LocalChain&) = delete;
  LocalChain& operator=(const LocalChain&) = delete;

  std::string rpc_url() const;
  uint64_t chain_id() const { return options_.chain_id; }
  // EIP-55 addresses.
  const std::string& token() const { return token_; }
  const std::string& facilitator() const { return facilitator_; }
  const std::string& buyer() const { return buyer_; }
  const std::string& seller() const { return seller_; }
  const std::string& poor() const { return poor_; }
  const LocalChainOptions& options() const { return options_; }

  // balanceOf(owner) of the token, atomic units (through eth_call).
  absl::StatusOr<uint64_t> TokenBalance(std::string_view owner) const;
  // One JSON-RPC call; returns the raw "result" JSON text. Errors: Unavailable (transport),
  // FailedPrecondition (JSON-RPC error, with its message).
  absl::StatusOr<std::string> Rpc(std::string_view method, std::string_view params_json) const;

  // Fault injection: stop ganache (SIGTERM, SIGKILL after 5 s; the RPC URL then refuses
  // connections) / start it again on the same port from its database dir, so balances, nonces and
  // the token survive (checked by Restart: the token still has code). Restart errors as Start.
  void Stop();
  absl::Status Restart();
  bool running() const;
  // Tail of the ganache log and of the last chain_setup.mjs run.
  std::string LogTail(size_t lines = 30) const;

  // The whole JSON line chain_setup.mjs printed (token, name, version, domain_separator, ...).
  const std::string& setup_json() const { return setup_json_; }
  // Path of node and of tests/e2e/x402 (where the x402 scripts and their node_modules are).
  const std::string& node_path() const { return node_; }
  const std::string& x402_dir() const { return x402_dir_; }

 private:
  explicit LocalChain(LocalChainOptions options) : options_(std::move(options)) {}
  absl::Status Launch();
  absl::Status Deploy();

  LocalChainOptions options_;
  std::string dir_;
  std::string node_;
  std::string x402_dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
  std::string token_, facilitator_, buyer_, seller_, poor_;
  std::string setup_json_;
};

// Path of node: $P402_NODE, else the first `node` on PATH. Errors: NotFound.
absl::StatusOr<std::string> FindNodeBinary();

// One blocking HTTP/1.1 POST of `body` (Content-Type: application/json) to
// http://127.0.0.1:<port><path>, Connection: close. Returns the status code and the body
// (chunked bodies are decoded). Errors: Unavailable (connect/IO failure or timeout), Internal
// (unparseable response). For JSON-RPC to ganache; test_support does not use libs/http.
struct LoopbackHttpResponse {
  int status = 0;
  std::string body;
};
absl::StatusOr<LoopbackHttpResponse> LoopbackPost(int port, std::string_view path,
                                                  std::string_view body,
                                                  std::chrono::milliseconds timeout);

}  // namespace p402::testing
