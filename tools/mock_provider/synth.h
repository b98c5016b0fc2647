// File: tools/mock_provider/synth.h
// The mock provider's deterministic content: token estimates, reply words, tool-call arguments
// synthesised from a JSON schema, ids, and bag-of-words embeddings. Every formula here is
// documented in tools/mock_provider/README.md so tests can predict exact numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "libs/json/value.h"

namespace p402::mock_provider {

inline constexpr int64_t kTokensPerMessage = 4;
inline constexpr int64_t kTokensPerTool = 16;
inline constexpr int kDefaultCompletionTokens = 12;
inline constexpr int64_t kToolCallBaseTokens = 8;
inline constexpr size_t kToolArgumentFragment = 8;  // bytes per streamed argument fragment

// ceil(bytes / 4).
int64_t TextTokens(std::string_view text);

// Word `i` (0-based) of a reply: word 0 is the provider name, then a fixed 16-word vocabulary
// repeating.
std::string_view ReplyWord(int i, std::string_view provider);
// The reply of `n` words as stream pieces: "openai", " mock", " reply", ... (concatenation = text).
std::vector<std::string> ReplyPieces(int n, std::string_view provider);

// Deterministic arguments for a JSON schema (object properties in order: string "mock",
// integer 1, number 1.5, boolean true, array [], object {} (recursing into "properties"),
// enum -> first value). Returns compact JSON; "{}" without a usable schema.
std::string SynthesizeArguments(const json::Value* schema);
// Splits `s` into pieces of at most `size` bytes.
std::vector<std::string> Fragments(std::string_view s, size_t size);

// prefix + 24 lowercase hex digits derived from `seq` (deterministic per process run).
std::string MockId(std::string_view prefix, uint64_t seq);

// Bag-of-words embedding: lower-cased [a-z0-9] words, each hashed (FNV-1a 64) to a dimension
// (hash % dims) with sign from bit 63, summed, then L2-normalised. Empty text -> all zeros.
std::vector<float> Embed(std::string_view text, int dims);

// Base64 (standard alphabet, padded) of raw bytes.
std::string Base64(std::string_view bytes);

}  // namespace p402::mock_provider
