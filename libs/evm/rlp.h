// File: libs/evm/rlp.h
// Recursive Length Prefix encoding (Ethereum yellow paper, appendix B), enough to build typed
// transactions: byte strings, unsigned integers (big-endian, no leading zeros; 0 = empty string)
// and lists. Encode-only: P402 never needs to parse RLP. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libs/evm/eip712.h"

namespace p402::evm::rlp {

// Builds one RLP list: each call appends one encoded item; Encode() wraps them in the list prefix.
class ListBuilder {
 public:
  ListBuilder& Bytes(std::span<const uint8_t> bytes);
  ListBuilder& Bytes(std::string_view bytes);
  ListBuilder& Uint(uint64_t value);
  ListBuilder& Uint(const Uint256& value);
  // An already RLP-encoded item (e.g. a nested list from another ListBuilder::Encode()).
  ListBuilder& Raw(std::string_view encoded);
  // The encoded list: prefix + payload.
  std::string Encode() const;

 private:
  std::string payload_;
};

// Encoded single items.
std::string EncodeBytes(std::span<const uint8_t> bytes);
std::string EncodeBytes(std::string_view bytes);
std::string EncodeUint(uint64_t value);
std::string EncodeUint(const Uint256& value);

}  // namespace p402::evm::rlp
