#include "services/settlement/adapters/evm_chain_gateway.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"
#include "libs/evm/abi.h"

namespace p402::settlement {
namespace {

namespace abi = evm::abi;

json::Value Params(std::initializer_list<json::Value> values) {
  return json::Value(json::Array(values));
}

json::Value CallObject(const evm::Address& from, const evm::Address& to, const std::string& data) {
  json::Value call = json::Value::EmptyObject();
  call.Set("from", evm::ToLowerHex(from));
  call.Set("to", evm::ToLowerHex(to));
  call.Set("data", abi::ToHexData(data));
  return call;
}

// a + b, InvalidArgument on overflow past 2^256 (fee values never get there on a real chain).
absl::StatusOr<evm::Uint256> Add(const evm::Uint256& a, const evm::Uint256& b) {
  evm::Uint256 out{};
  unsigned carry = 0;
  for (int i = 31; i >= 0; --i) {
    const unsigned sum = unsigned{a[i]} + unsigned{b[i]} + carry;
    out[i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  if (carry != 0) return InvalidArgument("fee overflows uint256");
  return out;
}

absl::Status ValidateTxHash(std::string_view tx_hash) {
  absl::StatusOr<evm::Bytes32> parsed = evm::ParseBytes32Hex(tx_hash);
  if (!parsed.ok()) return InvalidArgument("transaction hash must be 0x + 64 hex digits");
  return absl::OkStatus();
}

bool ContainsNoCase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

// The revert text of a failed eth_call / eth_estimateGas: the decoded Error(string) when there is
// one, else the node's message.
std::string RevertText(const JsonRpcError& error) {
  return error.revert_reason.has_value() ? *error.revert_reason : error.message;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EvmChainGateway>> EvmChainGateway::Create(
    EvmChainGatewayOptions options) {
  if (options.rpc_url.empty()) return InvalidArgument("EVM gateway: rpc_url is empty");
  if (options.gas_limit_cap == 0) return InvalidArgument("EVM gateway: gas_limit_cap is 0");
  absl::StatusOr<evm::Address> signer = crypto::AddressOf(options.signer_private_key);
  // The status of AddressOf never contains the key, but say only what is wrong.
  if (!signer.ok()) return InvalidArgument("EVM gateway: the signer private key is invalid");
  http::ClientOptions http_options;
  http_options.io_threads = 1;
  http_options.verify_peer = options.verify_peer;
  P402_ASSIGN_OR_RETURN(std::unique_ptr<http::HttpClient> http,
                        http::HttpClient::Create(http_options));
  return std::unique_ptr<EvmChainGateway>(
      new EvmChainGateway(std::move(options), *signer, std::move(http)));
}

EvmChainGateway::EvmChainGateway(EvmChainGatewayOptions options, evm::Address signer,
                                 std::unique_ptr<http::HttpClient> http)
    : options_(std::move(options)),
      signer_(signer),
      http_(std::move(http)),
      rpc_(*http_, JsonRpcOptions{.url = options_.rpc_url,
                                  .timeout = options_.rpc_timeout,
                                  .connect_timeout = options_.rpc_connect_timeout}) {}

EvmChainGateway::~EvmChainGateway() = default;

absl::StatusOr<uint64_t> EvmChainGateway::ChainId() {
  {
    absl::MutexLock lock(&chain_id_mu_);
    if (chain_id_.has_value()) return *chain_id_;
  }
  P402_ASSIGN_OR_RETURN(json::Value result, rpc_.Call("eth_chainId", Params({})));
  absl::StatusOr<uint64_t> id = ParseQuantity(result);
  if (!id.ok()) return Unavailable("eth_chainId: malformed answer");
  absl::MutexLock lock(&chain_id_mu_);
  chain_id_ = *id;
  return *id;
}

absl::StatusOr<JsonRpcOutcome> EvmChainGateway::EthCall(const evm::Address& to,
                                                        const std::string& data) {
  return rpc_.CallRaw("eth_call", Params({CallObject(signer_, to, data), "latest"}));
}

absl::StatusOr<bool> EvmChainGateway::HasCode(const evm::Address& token) {
  P402_ASSIGN_OR_RETURN(json::Value result,
                        rpc_.Call("eth_getCode", Params({evm::ToLowerHex(token), "latest"})));
  if (!result.is_string()) return Unavailable("eth_getCode: malformed answer");
  absl::StatusOr<std::string> code = abi::ParseHexData(result.AsString());
  if (!code.ok()) return Unavailable("eth_getCode: malformed answer");
  return !code->empty();
}

absl::StatusOr<evm::Uint256> EvmChainGateway::BalanceOf(const evm::Address& token,
                                                        const evm::Address& owner) {
  P402_ASSIGN_OR_RETURN(JsonRpcOutcome out, EthCall(token, abi::EncodeBalanceOf(owner)));
  if (out.error.has_value()) return JsonRpcClient::ErrorStatus("balanceOf", *out.error);
  absl::StatusOr<std::string> bytes =
      out.result.is_string() ? abi::ParseHexData(out.result.AsString())
                             : absl::StatusOr<std::string>(InvalidArgument("not a string"));
  if (!bytes.ok()) return Unavailable("balanceOf: malformed eth_call answer");
  absl::StatusOr<evm::Uint256> value = abi::DecodeUint256(*bytes);
  if (!value.ok()) {
    return FailedPrecondition(absl::StrCat("balanceOf of ", evm::ToChecksum(token),
                                           " did not return a uint256 (not a token?)"));
  }
  return *value;
}

absl::StatusOr<bool> EvmChainGateway::AuthorizationUsed(const evm::Address& token,
                                                        const evm::Address& authorizer,
                                                        const evm::Bytes32& nonce) {
  P402_ASSIGN_OR_RETURN(JsonRpcOutcome out,
                        EthCall(token, abi::EncodeAuthorizationState(authorizer, nonce)));
  if (out.error.has_value()) return JsonRpcClient::ErrorStatus("authorizationState", *out.error);
  absl::StatusOr<std::string> bytes =
      out.result.is_string() ? abi::ParseHexData(out.result.AsString())
                             : absl::StatusOr<std::string>(InvalidArgument("not a string"));
  if (!bytes.ok()) return Unavailable("authorizationState: malformed eth_call answer");
  absl::StatusOr<bool> used = abi::DecodeBool(*bytes);
  if (!used.ok()) {
    return FailedPrecondition(absl::StrCat("authorizationState of ", evm::ToChecksum(token),
                                           " did not return a bool (not EIP-3009?)"));
  }
  return *used;
}

absl::StatusOr<Simulation> EvmChainGateway::SimulateTransfer(const evm::Address& token,
                                                             const evm::TransferAuthorization& auth,
                                                             const crypto::Signature65& signature) {
  P402_ASSIGN_OR_RETURN(JsonRpcOutcome out,
                        EthCall(token, abi::EncodeTransferWithAuthorization(auth, signature)));
  Simulation sim;
  sim.ok = !out.error.has_value();
  if (out.error.has_value()) sim.revert_reason = RevertText(*out.error);
  return sim;
}

absl::StatusOr<uint64_t> EvmChainGateway::EstimateGas(const evm::Address& to,
                                                      const std::string& data) {
  P402_ASSIGN_OR_RETURN(JsonRpcOutcome out,
                        rpc_.CallRaw("eth_estimateGas", Params({CallObject(signer_, to, data)})));
  if (out.error.has_value()) return FailedPrecondition(RevertText(*out.error));
  absl::StatusOr<uint64_t> estimate = ParseQuantity(out.result);
  if (!estimate.ok()) return Unavailable("eth_estimateGas: malformed answer");
  if (*estimate > options_.gas_limit_cap) {
    return FailedPrecondition(
        absl::StrCat("gas estimate ", *estimate, " exceeds the cap ", options_.gas_limit_cap));
  }
  // 20 % headroom: state can change between estimation and inclusion.
  return std::min(*estimate + *estimate / 5, options_.gas_limit_cap);
}

absl::StatusOr<std::pair<evm::Uint256, evm::Uint256>> EvmChainGateway::Fees() {
  evm::Uint256 priority = evm::Uint256FromU64(options_.default_priority_fee_wei);
  P402_ASSIGN_OR_RETURN(JsonRpcOutcome tip, rpc_.CallRaw("eth_maxPriorityFeePerGas", Params({})));
  if (!tip.error.has_value()) {
    absl::StatusOr<evm::Uint256> parsed = ParseQuantity256(tip.result);
    if (!parsed.ok()) return Unavailable("eth_maxPriorityFeePerGas: malformed answer");
    priority = *parsed;
  }
  P402_ASSIGN_OR_RETURN(json::Value block,
                        rpc_.Call("eth_getBlockByNumber", Params({"latest", false})));
  evm::Uint256 base_fee{};  // pre-London chains have none
  if (const json::Value* fee = block.Find("baseFeePerGas"); fee != nullptr && !fee->is_null()) {
    absl::StatusOr<evm::Uint256> parsed = ParseQuantity256(*fee);
    if (!parsed.ok()) return Unavailable("eth_getBlockByNumber: malformed baseFeePerGas");
    base_fee = *parsed;
  } else if (!block.is_object()) {
    return Unavailable("eth_getBlockByNumber: no latest block");
  }
  // 2 * baseFee survives six consecutive full blocks of +12.5 % before the tx stops qualifying.
  P402_ASSIGN_OR_RETURN(evm::Uint256 doubled, Add(base_fee, base_fee));
  P402_ASSIGN_OR_RETURN(evm::Uint256 max_fee, Add(doubled, priority));
  return std::make_pair(priority, max_fee);
}

absl::StatusOr<uint64_t> EvmChainGateway::ReserveNonce() {
  absl::MutexLock lock(&nonce_mu_);
  const auto now = std::chrono::steady_clock::now();
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    it = now - it->second > options_.abandon_after ? outstanding_.erase(it) : std::next(it);
  }
  // Read under the lock: the decision below must not interleave with another reservation.
  P402_ASSIGN_OR_RETURN(
      json::Value count,
      rpc_.Call("eth_getTransactionCount", Params({evm::ToLowerHex(signer_), "pending"})));
  absl::StatusOr<uint64_t> pending = ParseQuantity(count);
  if (!pending.ok()) return Unavailable("eth_getTransactionCount: malformed answer");
  uint64_t next = *pending;
  if (!outstanding_.empty()) {
    // Transactions handed out but not yet sent are invisible to the node: never reuse theirs.
    const uint64_t floor =
        next_nonce_.has_value() ? *next_nonce_ : outstanding_.rbegin()->first + 1;
    next = std::max(next, floor);
  } else if (next_nonce_.has_value() && *next_nonce_ != next) {
    P402_LOG(kInfo, "facilitator nonce resynchronised from the chain")
        .Field("local", static_cast<int64_t>(*next_nonce_))
        .Field("chain", static_cast<int64_t>(next));
  }
  next_nonce_ = next + 1;
  outstanding_[next] = now;
  return next;
}

void EvmChainGateway::ReleaseNonce(uint64_t nonce, bool resync) {
  absl::MutexLock lock(&nonce_mu_);
  outstanding_.erase(nonce);
  if (resync) next_nonce_.reset();
}

absl::StatusOr<PreparedTransfer> EvmChainGateway::PrepareTransfer(
    const evm::Address& token, const evm::TransferAuthorization& auth,
    const crypto::Signature65& signature) {
  evm::Eip1559Transaction tx;
  tx.to = token;
  tx.data = abi::EncodeTransferWithAuthorization(auth, signature);
  P402_ASSIGN_OR_RETURN(tx.chain_id, ChainId());
  P402_ASSIGN_OR_RETURN(tx.gas_limit, EstimateGas(token, tx.data));
  P402_ASSIGN_OR_RETURN(auto fees, Fees());
  tx.max_priority_fee_per_gas = fees.first;
  tx.max_fee_per_gas = fees.second;
  P402_ASSIGN_OR_RETURN(tx.nonce, ReserveNonce());
  absl::StatusOr<evm::SignedTransaction> signed_tx =
      evm::SignTransaction(tx, options_.signer_private_key);
  if (!signed_tx.ok()) {
    ReleaseNonce(tx.nonce, /*resync=*/true);
    return Internal("signing the settlement transaction failed");
  }
  PreparedTransfer out;
  out.tx_hash = signed_tx->hash_hex;
  out.raw_tx = signed_tx->raw_hex;
  out.account_nonce = tx.nonce;
  return out;
}

absl::Status EvmChainGateway::Broadcast(const PreparedTransfer& transfer) {
  P402_RETURN_IF_ERROR(ValidateTxHash(transfer.tx_hash));
  absl::StatusOr<JsonRpcOutcome> out =
      rpc_.CallRaw("eth_sendRawTransaction", Params({transfer.raw_tx}));
  if (out.ok() && !out->error.has_value()) {
    ReleaseNonce(transfer.account_nonce, /*resync=*/false);
    return absl::OkStatus();
  }
  if (!out.ok()) {
    // Unknown whether it arrived: the next Prepare re-reads the chain's count either way.
    ReleaseNonce(transfer.account_nonce, /*resync=*/true);
    return out.status();
  }
  const JsonRpcError& error = *out->error;
  // A rebroadcast: the node has it in its pool ("already known") or already mined it (then it
  // answers "nonce too low"); both mean the transaction is on its way.
  const bool known_text = ContainsNoCase(error.message, "already known") ||
                          ContainsNoCase(error.message, "known transaction") ||
                          ContainsNoCase(error.message, "already imported");
  absl::StatusOr<bool> known =
      known_text ? absl::StatusOr<bool>(true) : TransactionKnown(transfer.tx_hash);
  if (known.ok() && *known) {
    ReleaseNonce(transfer.account_nonce, /*resync=*/false);
    return absl::OkStatus();
  }
  ReleaseNonce(transfer.account_nonce, /*resync=*/true);
  P402_LOG(kWarn, "settlement transaction rejected by the node")
      .Field("tx_hash", transfer.tx_hash)
      .Field("account_nonce", static_cast<int64_t>(transfer.account_nonce))
      .Field("error", error.message);
  return JsonRpcClient::ErrorStatus("eth_sendRawTransaction", error);
}

absl::StatusOr<bool> EvmChainGateway::TransactionKnown(std::string_view tx_hash) {
  P402_RETURN_IF_ERROR(ValidateTxHash(tx_hash));
  P402_ASSIGN_OR_RETURN(json::Value tx, rpc_.Call("eth_getTransactionByHash", Params({tx_hash})));
  return !tx.is_null();
}

absl::StatusOr<std::optional<ChainReceipt>> EvmChainGateway::GetReceipt(std::string_view tx_hash) {
  P402_RETURN_IF_ERROR(ValidateTxHash(tx_hash));
  P402_ASSIGN_OR_RETURN(json::Value receipt,
                        rpc_.Call("eth_getTransactionReceipt", Params({tx_hash})));
  if (receipt.is_null()) return std::optional<ChainReceipt>();
  if (!receipt.is_object()) return Unavailable("eth_getTransactionReceipt: malformed answer");
  const json::Value* block = receipt.Find("blockNumber");
  if (block == nullptr || block->is_null()) return std::optional<ChainReceipt>();  // pending
  ChainReceipt out;
  absl::StatusOr<uint64_t> number = ParseQuantity(*block);
  const json::Value* status = receipt.Find("status");
  absl::StatusOr<uint64_t> status_value =
      status != nullptr ? ParseQuantity(*status) : absl::StatusOr<uint64_t>(InvalidArgument(""));
  if (!number.ok() || !status_value.ok()) {
    return Unavailable("eth_getTransactionReceipt: malformed blockNumber or status");
  }
  out.block_number = *number;
  out.success = *status_value == 1;
  if (const json::Value* logs = receipt.Find("logs"); logs != nullptr && logs->is_array()) {
    for (const json::Value& log : logs->AsArray()) {
      // Logs that are not well-formed Transfers are someone else's events: skip them.
      std::optional<std::string_view> address = log.GetString("address");
      std::optional<std::string_view> data = log.GetString("data");
      const json::Value* topics = log.Find("topics");
      if (!address || !data || topics == nullptr || !topics->is_array()) continue;
      absl::StatusOr<evm::Address> emitter = evm::ParseAddress(*address);
      absl::StatusOr<std::string> data_bytes = abi::ParseHexData(*data);
      if (!emitter.ok() || !data_bytes.ok()) continue;
      std::vector<evm::Bytes32> topic_words;
      bool topics_ok = true;
      for (const json::Value& t : topics->AsArray()) {
        absl::StatusOr<evm::Bytes32> word = t.is_string()
                                                ? evm::ParseBytes32Hex(t.AsString())
                                                : absl::StatusOr<evm::Bytes32>(InvalidArgument(""));
        if (!word.ok()) {
          topics_ok = false;
          break;
        }
        topic_words.push_back(*word);
      }
      if (!topics_ok) continue;
      if (std::optional<abi::TransferLog> t =
              abi::DecodeTransferLog(*emitter, topic_words, *data_bytes)) {
        out.transfers.push_back(*t);
      }
    }
  }
  return std::optional<ChainReceipt>(std::move(out));
}

}  // namespace p402::settlement
