// File: libs/evm/transaction.h
// EIP-1559 (type 2) transactions: the signing hash, signing with a secp256k1 key, the raw signed
// encoding for eth_sendRawTransaction and the transaction hash. Pure, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/crypto/keccak256.h"
#include "libs/evm/address.h"
#include "libs/evm/eip712.h"

namespace p402::evm {

struct Eip1559Transaction {
  uint64_t chain_id = 0;
  uint64_t nonce = 0;
  Uint256 max_priority_fee_per_gas{};
  Uint256 max_fee_per_gas{};
  uint64_t gas_limit = 0;
  std::optional<Address> to;  // nullopt = contract creation
  Uint256 value{};
  std::string data;  // call data bytes
  // access list: always empty here.
};

// keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas, maxFeePerGas, gasLimit, to, value,
// data, accessList])).
crypto::Digest32 SigningHash(const Eip1559Transaction& tx);

struct SignedTransaction {
  std::string raw;       // 0x02 || rlp([..., yParity, r, s]) bytes
  std::string raw_hex;   // "0x" + hex(raw), for eth_sendRawTransaction
  std::string hash_hex;  // "0x" + hex(keccak256(raw)): the transaction hash
};

// The signed encoding of `tx` with an existing signature (y_parity 0/1, r, s big-endian).
// SignTransaction uses it; it also lets tests check published vectors byte for byte.
SignedTransaction AssembleSignedTransaction(const Eip1559Transaction& tx, uint8_t y_parity,
                                            const Uint256& r, const Uint256& s);

// Signs with `private_key` (RFC 6979, low-s). InvalidArgument for a bad key.
absl::StatusOr<SignedTransaction> SignTransaction(const Eip1559Transaction& tx,
                                                  const std::array<uint8_t, 32>& private_key);

}  // namespace p402::evm
