// File: libs/evm/abi.h
// Solidity ABI call data for the few token/contract functions a facilitator uses (X402.md 2.3),
// and decoding of their return values and logs. Pure, thread-safe.
// Byte convention: call data, return data and log data are raw bytes in std::string (as
// libs/crypto); JSON-RPC carries them as "0x" + hex, converted with ParseHexData / ToHexData.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/crypto/secp256k1.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"

namespace p402::evm::abi {

// 4-byte selectors (first bytes of keccak256 of the signature).
// transferWithAuthorization(address,address,uint256,uint256,uint256,bytes32,uint8,bytes32,bytes32)
inline constexpr uint32_t kTransferWithAuthorizationVrs = 0xe3ee160e;
inline constexpr uint32_t kAuthorizationState = 0xe94a0102;  // (address,bytes32)
inline constexpr uint32_t kBalanceOf = 0x70a08231;           // (address)
inline constexpr uint32_t kName = 0x06fdde03;
inline constexpr uint32_t kVersion = 0x54fd4d50;
// keccak256("Transfer(address,address,uint256)").
inline constexpr std::string_view kTransferTopic =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

// The 4-byte selector of a function signature such as "balanceOf(address)".
uint32_t SelectorOf(std::string_view signature);

// "0x" + even-length hex (any case; "0x" alone = no bytes) -> bytes. InvalidArgument otherwise.
absl::StatusOr<std::string> ParseHexData(std::string_view text);
// "0x" + lowercase hex of `bytes`.
std::string ToHexData(std::string_view bytes);

// transferWithAuthorization(from,to,value,validAfter,validBefore,nonce,v,r,s) call data for a
// 65-byte r||s||v signature (v 27/28; 0/1 are sent as 27/28).
std::string EncodeTransferWithAuthorization(const TransferAuthorization& auth,
                                            const crypto::Signature65& signature);
std::string EncodeAuthorizationState(const Address& authorizer, const Bytes32& nonce);
std::string EncodeBalanceOf(const Address& owner);
std::string EncodeNoArgs(uint32_t selector);

// Return data decoding (raw bytes). InvalidArgument when the data is not a well-formed ABI value
// (too short, offsets/lengths out of range, a bool other than 0/1).
absl::StatusOr<Uint256> DecodeUint256(std::string_view return_data);
absl::StatusOr<bool> DecodeBool(std::string_view return_data);
absl::StatusOr<std::string> DecodeString(std::string_view return_data);
// The revert reason of Error(string) return data ("0x08c379a0..."), nullopt for other data.
std::optional<std::string> DecodeRevertReason(std::string_view return_data);

// A Transfer(address indexed from, address indexed to, uint256 value) log, from its topics and
// data (raw bytes); nullopt when the log is not a well-formed Transfer (wrong topic or topic
// count, non-address topics, data not one 32-byte word).
struct TransferLog {
  Address token{};
  Address from{};
  Address to{};
  Uint256 value{};
};
std::optional<TransferLog> DecodeTransferLog(const Address& emitter,
                                             const std::vector<Bytes32>& topics,
                                             std::string_view data);

}  // namespace p402::evm::abi
