#include "libs/evm/rlp.h"

#include <cstddef>

namespace p402::evm::rlp {
namespace {

// The big-endian bytes of `n` without leading zeros (empty for 0).
std::string BigEndianMinimal(uint64_t n) {
  std::string out;
  while (n != 0) {
    out.insert(out.begin(), static_cast<char>(n & 0xff));
    n >>= 8;
  }
  return out;
}

// Prefix for a payload of `length` bytes: `short_base` + length below 56 bytes, else
// `short_base` + 55 + length-of-length followed by the length (yellow paper, appendix B).
std::string LengthPrefix(size_t length, uint8_t short_base) {
  if (length < 56) return std::string(1, static_cast<char>(short_base + length));
  const std::string len = BigEndianMinimal(length);
  return static_cast<char>(short_base + 55 + len.size()) + len;
}

std::string EncodeString(std::string_view bytes) {
  // A single byte below 0x80 is its own encoding.
  if (bytes.size() == 1 && static_cast<uint8_t>(bytes[0]) < 0x80) return std::string(bytes);
  std::string out = LengthPrefix(bytes.size(), 0x80);
  out.append(bytes);
  return out;
}

std::string_view View(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::string EncodeBytes(std::span<const uint8_t> bytes) { return EncodeString(View(bytes)); }

std::string EncodeBytes(std::string_view bytes) { return EncodeString(bytes); }

std::string EncodeUint(uint64_t value) { return EncodeString(BigEndianMinimal(value)); }

std::string EncodeUint(const Uint256& value) {
  // Scalars are encoded without leading zero bytes; zero is the empty string.
  size_t first = 0;
  while (first < value.size() && value[first] == 0) ++first;
  return EncodeBytes(std::span<const uint8_t>(value).subspan(first));
}

ListBuilder& ListBuilder::Bytes(std::span<const uint8_t> bytes) {
  payload_ += EncodeBytes(bytes);
  return *this;
}

ListBuilder& ListBuilder::Bytes(std::string_view bytes) {
  payload_ += EncodeString(bytes);
  return *this;
}

ListBuilder& ListBuilder::Uint(uint64_t value) {
  payload_ += EncodeUint(value);
  return *this;
}

ListBuilder& ListBuilder::Uint(const Uint256& value) {
  payload_ += EncodeUint(value);
  return *this;
}

ListBuilder& ListBuilder::Raw(std::string_view encoded) {
  payload_.append(encoded);
  return *this;
}

std::string ListBuilder::Encode() const { return LengthPrefix(payload_.size(), 0xc0) + payload_; }

}  // namespace p402::evm::rlp
