#include "libs/evm/abi.h"

#include <algorithm>
#include <cstddef>

#include "libs/common/status_util.h"
#include "libs/crypto/hex.h"
#include "libs/crypto/keccak256.h"

namespace p402::evm::abi {
namespace {

constexpr size_t kWord = 32;
constexpr uint32_t kErrorStringSelector = 0x08c379a0;  // Error(string)

void AppendSelector(std::string& out, uint32_t selector) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(selector >> shift));
}

void AppendWord(std::string& out, std::span<const uint8_t> right_aligned) {
  out.append(kWord - right_aligned.size(), '\0');
  out.append(crypto::AsStringView(right_aligned));
}

void AppendAddress(std::string& out, const Address& a) { AppendWord(out, a); }

// The word at `offset` as a size, if it is small enough to address memory (upper 24 bytes zero).
std::optional<size_t> WordAsSize(std::string_view data, size_t offset) {
  if (offset > data.size() || data.size() - offset < kWord) return std::nullopt;
  size_t value = 0;
  for (size_t i = 0; i < kWord; ++i) {
    const auto byte = static_cast<uint8_t>(data[offset + i]);
    if (i < kWord - 8) {
      if (byte != 0) return std::nullopt;
    } else {
      value = (value << 8) | byte;
    }
  }
  return value;
}

uint32_t ReadSelector(std::string_view data) {
  uint32_t s = 0;
  for (size_t i = 0; i < 4; ++i) s = (s << 8) | static_cast<uint8_t>(data[i]);
  return s;
}

}  // namespace

uint32_t SelectorOf(std::string_view signature) {
  const crypto::Digest32 d = crypto::Keccak256(signature);
  return ReadSelector(crypto::AsStringView(d));
}

absl::StatusOr<std::string> ParseHexData(std::string_view text) {
  if (text.size() < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X')) {
    return InvalidArgument("hex data must start with 0x");
  }
  std::optional<std::string> bytes = crypto::HexDecode(text.substr(2));
  if (!bytes.has_value()) return InvalidArgument("hex data is not an even number of hex digits");
  return *std::move(bytes);
}

std::string ToHexData(std::string_view bytes) { return "0x" + crypto::HexEncode(bytes); }

std::string EncodeTransferWithAuthorization(const TransferAuthorization& auth,
                                            const crypto::Signature65& signature) {
  std::string out;
  out.reserve(4 + 9 * kWord);
  AppendSelector(out, kTransferWithAuthorizationVrs);
  AppendAddress(out, auth.from);
  AppendAddress(out, auth.to);
  AppendWord(out, auth.value);
  AppendWord(out, auth.valid_after);
  AppendWord(out, auth.valid_before);
  AppendWord(out, auth.nonce);
  // Recovery ids 0/1 (some signers emit them) are what the token knows as 27/28.
  uint8_t v = signature[64];
  if (v < 27) v = static_cast<uint8_t>(v + 27);
  const uint8_t v_bytes[1] = {v};
  AppendWord(out, v_bytes);
  AppendWord(out, std::span<const uint8_t>(signature).subspan(0, 32));
  AppendWord(out, std::span<const uint8_t>(signature).subspan(32, 32));
  return out;
}

std::string EncodeAuthorizationState(const Address& authorizer, const Bytes32& nonce) {
  std::string out;
  AppendSelector(out, kAuthorizationState);
  AppendAddress(out, authorizer);
  AppendWord(out, nonce);
  return out;
}

std::string EncodeBalanceOf(const Address& owner) {
  std::string out;
  AppendSelector(out, kBalanceOf);
  AppendAddress(out, owner);
  return out;
}

std::string EncodeNoArgs(uint32_t selector) {
  std::string out;
  AppendSelector(out, selector);
  return out;
}

absl::StatusOr<Uint256> DecodeUint256(std::string_view return_data) {
  if (return_data.size() < kWord) {
    return InvalidArgument("ABI uint256: return data shorter than 32 bytes");
  }
  Uint256 value{};
  std::copy_n(return_data.begin(), kWord, value.begin());
  return value;
}

absl::StatusOr<bool> DecodeBool(std::string_view return_data) {
  if (return_data.size() < kWord)
    return InvalidArgument("ABI bool: return data shorter than 32 bytes");
  std::optional<size_t> v = WordAsSize(return_data, 0);
  if (!v.has_value() || *v > 1) return InvalidArgument("ABI bool: value is neither 0 nor 1");
  return *v == 1;
}

absl::StatusOr<std::string> DecodeString(std::string_view return_data) {
  std::optional<size_t> offset = WordAsSize(return_data, 0);
  if (!offset.has_value()) return InvalidArgument("ABI string: missing or huge offset");
  std::optional<size_t> length = WordAsSize(return_data, *offset);
  if (!length.has_value()) return InvalidArgument("ABI string: offset out of range");
  const size_t start = *offset + kWord;
  if (*length > return_data.size() - start) {
    return InvalidArgument("ABI string: length exceeds the data");
  }
  return std::string(return_data.substr(start, *length));
}

std::optional<std::string> DecodeRevertReason(std::string_view return_data) {
  if (return_data.size() < 4 || ReadSelector(return_data) != kErrorStringSelector) {
    return std::nullopt;
  }
  absl::StatusOr<std::string> reason = DecodeString(return_data.substr(4));
  if (!reason.ok()) return std::nullopt;
  return *std::move(reason);
}

std::optional<TransferLog> DecodeTransferLog(const Address& emitter,
                                             const std::vector<Bytes32>& topics,
                                             std::string_view data) {
  static const Bytes32 kTopic = [] {
    absl::StatusOr<Bytes32> t = ParseBytes32Hex(kTransferTopic);
    return t.ok() ? *t : Bytes32{};
  }();
  if (topics.size() != 3 || topics[0] != kTopic || data.size() != kWord) return std::nullopt;
  TransferLog log;
  log.token = emitter;
  for (int i = 0; i < 2; ++i) {
    const Bytes32& topic = topics[1 + i];
    // An indexed address is left-padded with 12 zero bytes.
    if (!std::all_of(topic.begin(), topic.begin() + 12, [](uint8_t b) { return b == 0; })) {
      return std::nullopt;
    }
    Address& a = i == 0 ? log.from : log.to;
    std::copy(topic.begin() + 12, topic.end(), a.begin());
  }
  std::copy(data.begin(), data.end(), log.value.begin());
  return log;
}

}  // namespace p402::evm::abi
