// File: libs/evm/address.h
// EVM account addresses: parsing "0x" + 40 hex characters, the lowercase form and the EIP-55
// mixed-case checksum form. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/crypto/secp256k1.h"

namespace p402::evm {

using Address = crypto::Address20;

// Parses "0x" + 40 hex characters in any case (checksum NOT enforced; see ParseChecksummedAddress).
// InvalidArgument on a missing "0x", wrong length or a non-hex character.
absl::StatusOr<Address> ParseAddress(std::string_view text);

// Like ParseAddress, but a mixed-case input must carry a valid EIP-55 checksum (all-lowercase or
// all-uppercase hex is accepted as "no checksum"). InvalidArgument on a checksum mismatch.
absl::StatusOr<Address> ParseChecksummedAddress(std::string_view text);

// True if `text` is a well-formed address whose letters match the EIP-55 checksum exactly.
bool IsValidChecksum(std::string_view text);

// "0x" + 40 lowercase hex characters.
std::string ToLowerHex(const Address& address);

// "0x" + 40 hex characters in EIP-55 checksum case.
std::string ToChecksum(const Address& address);

}  // namespace p402::evm
