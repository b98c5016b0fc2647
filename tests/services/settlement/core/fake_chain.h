// File: tests/services/settlement/core/fake_chain.h
// FakeChain: a scriptable ChainGateway (services/settlement/core/ports.h) for engine tests. It
// keeps token balances and used nonces, simulates transferWithAuthorization against them (or a
// scripted revert), prepares/broadcasts transactions and mines them after a scripted number of
// receipt polls -- success with a Transfer log, a revert, a success without the log, or never.
// Every method can be made Unavailable. It records what it was asked (broadcasts above all: "no
// money moved" means broadcasts() is empty). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"
#include "services/settlement/core/ports.h"

namespace p402::settlement::testing {

class FakeChain final : public ChainGateway {
 public:
  enum class Mining {
    kSuccess,        // status 1 with Transfer(from, to, value) of the token
    kReverted,       // status 0
    kNoTransferLog,  // status 1, no Transfer log
    kNever,          // never mined (receipt timeout)
  };

  struct Script {
    uint64_t chain_id = 84532;
    bool has_code = true;
    std::string simulate_revert;  // non-empty: SimulateTransfer answers ok=false
    std::string prepare_revert;   // non-empty: PrepareTransfer is FailedPrecondition
    std::optional<absl::Status> broadcast_error;  // Broadcast returns it (and does not send)
    bool broadcast_arrives_anyway = false;  // with broadcast_error: the node got it regardless
    Mining mining = Mining::kSuccess;
    int polls_before_mined = 0;  // receipt polls answering "not mined" first
    // Calls (by method name: "ChainId", "HasCode", "BalanceOf", "AuthorizationUsed",
    // "SimulateTransfer", "PrepareTransfer", "Broadcast", "TransactionKnown", "GetReceipt")
    // that answer Unavailable.
    std::set<std::string> unavailable;
  };

  FakeChain() { signer_ = Address(0x90); }

  void SetScript(const Script& script) {
    absl::MutexLock lock(&mu_);
    script_ = script;
  }
  template <typename F>
  void Edit(F&& edit) {
    absl::MutexLock lock(&mu_);
    edit(script_);
  }
  void SetBalance(const evm::Address& owner, uint64_t amount) {
    absl::MutexLock lock(&mu_);
    balances_[owner] = amount;
  }
  uint64_t BalanceOfOwner(const evm::Address& owner) {
    absl::MutexLock lock(&mu_);
    return balances_[owner];
  }
  void MarkNonceUsed(const evm::Address& from, const evm::Bytes32& nonce) {
    absl::MutexLock lock(&mu_);
    used_.insert({from, nonce});
  }
  // Transactions accepted by Broadcast (rebroadcasts of a known hash included).
  std::vector<PreparedTransfer> broadcasts() {
    absl::MutexLock lock(&mu_);
    return broadcasts_;
  }
  // Distinct transactions the node has (what could ever be mined).
  size_t distinct_transactions() {
    absl::MutexLock lock(&mu_);
    return pool_.size();
  }
  int prepare_calls() {
    absl::MutexLock lock(&mu_);
    return prepare_calls_;
  }
  int simulate_calls() {
    absl::MutexLock lock(&mu_);
    return simulate_calls_;
  }
  int calls(const std::string& method) {
    absl::MutexLock lock(&mu_);
    return calls_[method];
  }
  // Makes a transaction known and minable as if an earlier process had broadcast it.
  void ForgetTransaction(const std::string& tx_hash) {
    absl::MutexLock lock(&mu_);
    pool_.erase(tx_hash);
  }

  static evm::Address Address(uint8_t fill) {
    evm::Address a{};
    a.fill(fill);
    return a;
  }

  // ChainGateway.
  absl::StatusOr<uint64_t> ChainId() override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("ChainId"); !s.ok()) return s;
    return script_.chain_id;
  }
  evm::Address SignerAddress() const override { return signer_; }
  absl::StatusOr<bool> HasCode(const evm::Address& token) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("HasCode"); !s.ok()) return s;
    return script_.has_code;
  }
  absl::StatusOr<evm::Uint256> BalanceOf(const evm::Address& token,
                                         const evm::Address& owner) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("BalanceOf"); !s.ok()) return s;
    return evm::Uint256FromU64(balances_[owner]);
  }
  absl::StatusOr<bool> AuthorizationUsed(const evm::Address& token, const evm::Address& authorizer,
                                         const evm::Bytes32& nonce) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("AuthorizationUsed"); !s.ok()) return s;
    return used_.count({authorizer, nonce}) != 0;
  }
  absl::StatusOr<Simulation> SimulateTransfer(const evm::Address& token,
                                              const evm::TransferAuthorization& auth,
                                              const crypto::Signature65& signature) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("SimulateTransfer"); !s.ok()) return s;
    ++simulate_calls_;
    if (!script_.simulate_revert.empty()) return Simulation{false, script_.simulate_revert};
    if (used_.count({auth.from, auth.nonce}) != 0) {
      return Simulation{false, "FiatTokenV2: authorization is used or canceled"};
    }
    if (evm::Uint256FromU64(balances_[auth.from]) < auth.value) {
      return Simulation{false, "ERC20: transfer amount exceeds balance"};
    }
    return Simulation{true, ""};
  }
  absl::StatusOr<PreparedTransfer> PrepareTransfer(const evm::Address& token,
                                                   const evm::TransferAuthorization& auth,
                                                   const crypto::Signature65& signature) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("PrepareTransfer"); !s.ok()) return s;
    ++prepare_calls_;
    if (!script_.prepare_revert.empty()) {
      return FailedPrecondition("execution reverted: " + script_.prepare_revert);
    }
    PreparedTransfer out;
    out.account_nonce = next_account_nonce_++;
    out.raw_tx = "0x02f8" + crypto::HexEncode(std::span<const uint8_t>(auth.nonce.data(), 32)) +
                 std::to_string(out.account_nonce);
    out.tx_hash = "0x" + crypto::Keccak256Hex(out.raw_tx);
    prepared_[out.tx_hash] = Pending{token, auth, 0};
    return out;
  }
  // Called (outside the lock) before each Broadcast, e.g. to check what the store holds then.
  void OnBroadcast(std::function<void(const PreparedTransfer&)> hook) {
    absl::MutexLock lock(&mu_);
    on_broadcast_ = std::move(hook);
  }
  absl::Status Broadcast(const PreparedTransfer& transfer) override {
    std::function<void(const PreparedTransfer&)> hook;
    {
      absl::MutexLock lock(&mu_);
      hook = on_broadcast_;
    }
    if (hook) hook(transfer);
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("Broadcast"); !s.ok()) return s;
    if (script_.broadcast_error.has_value()) {
      if (script_.broadcast_arrives_anyway) pool_.insert(transfer.tx_hash);
      return *script_.broadcast_error;
    }
    if (prepared_.count(transfer.tx_hash) == 0) return FailedPrecondition("unknown transaction");
    pool_.insert(transfer.tx_hash);
    broadcasts_.push_back(transfer);
    return absl::OkStatus();
  }
  absl::StatusOr<bool> TransactionKnown(std::string_view tx_hash) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("TransactionKnown"); !s.ok()) return s;
    return pool_.count(std::string(tx_hash)) != 0 || mined_.count(std::string(tx_hash)) != 0;
  }
  absl::StatusOr<std::optional<ChainReceipt>> GetReceipt(std::string_view tx_hash) override {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = Enter("GetReceipt"); !s.ok()) return s;
    const std::string hash(tx_hash);
    if (auto it = mined_.find(hash); it != mined_.end())
      return std::optional<ChainReceipt>(it->second);
    if (pool_.count(hash) == 0 || script_.mining == Mining::kNever)
      return std::optional<ChainReceipt>();
    Pending& pending = prepared_[hash];
    if (pending.polls++ < script_.polls_before_mined) return std::optional<ChainReceipt>();
    ChainReceipt receipt;
    receipt.block_number = ++block_;
    const evm::TransferAuthorization& auth = pending.auth;
    const bool spendable = used_.count({auth.from, auth.nonce}) == 0 &&
                           !(evm::Uint256FromU64(balances_[auth.from]) < auth.value);
    receipt.success = script_.mining != Mining::kReverted && spendable;
    if (receipt.success) {
      uint64_t value = 0;
      for (int i = 24; i < 32; ++i) value = (value << 8) | auth.value[i];
      balances_[auth.from] -= value;
      balances_[auth.to] += value;
      used_.insert({auth.from, auth.nonce});
      if (script_.mining == Mining::kSuccess) {
        receipt.transfers.push_back({pending.token, auth.from, auth.to, auth.value});
      }
    }
    pool_.erase(hash);
    mined_[hash] = receipt;
    return std::optional<ChainReceipt>(receipt);
  }

 private:
  struct Pending {
    evm::Address token{};
    evm::TransferAuthorization auth;
    int polls = 0;
  };

  absl::Status Enter(const std::string& method) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++calls_[method];
    if (script_.unavailable.count(method) != 0)
      return Unavailable("fake chain: " + method + " down");
    return absl::OkStatus();
  }

  evm::Address signer_;
  absl::Mutex mu_;
  std::function<void(const PreparedTransfer&)> on_broadcast_ ABSL_GUARDED_BY(mu_);
  Script script_ ABSL_GUARDED_BY(mu_);
  std::map<evm::Address, uint64_t> balances_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<evm::Address, evm::Bytes32>> used_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Pending> prepared_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> pool_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ChainReceipt> mined_ ABSL_GUARDED_BY(mu_);
  std::vector<PreparedTransfer> broadcasts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
  int prepare_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int simulate_calls_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_account_nonce_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t block_ ABSL_GUARDED_BY(mu_) = 100;
};

}  // namespace p402::settlement::testing
