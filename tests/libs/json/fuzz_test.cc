// Fuzz-ish robustness test: random bytes and mutations of a valid chat request must never crash
// Parse, and whatever parses must serialise to valid JSON that parses back to an equal tree.
#include <random>
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"

namespace p402::json {
namespace {

constexpr std::string_view kChatRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},)"
    R"({"role":"user","content":"Caf\u00e9 \ud83d\ude00 \"quoted\"\n"}],"temperature":0.7,)"
    R"("top_p":1,"max_tokens":256,"stream":true,"stop":["\n\n"],"user":null,)"
    R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]})";

void CheckOne(const std::string& input, int* parsed) {
  absl::StatusOr<Value> v = Value::Parse(input);
  if (!v.ok()) {
    // Errors are InvalidArgument with our prefix, never anything else.
    REQUIRE(v.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  ++*parsed;
  std::string out = v->Serialize();
  absl::StatusOr<Value> back = Value::Parse(out);
  INFO(input << " -> " << out);
  REQUIRE(back.ok());
  REQUIRE(*back == *v);
}

TEST_CASE("Fuzz: random bytes never crash", "[unit]") {
  std::mt19937 rng(402);
  const std::string alphabet = "{}[]\",:0123456789.eE+-truefalsnl \\u\n\t\x80\xC3\xA9\xFF";
  int parsed = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string s(rng() % 64, '\0');
    bool structured = i % 2 == 0;
    for (char& c : s) {
      c = structured ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xFF);
    }
    CheckOne(s, &parsed);
  }
  // Not a correctness target, just evidence the loop exercised both outcomes.
  CHECK(parsed > 0);
}

TEST_CASE("Fuzz: mutations of a chat request never crash", "[unit]") {
  REQUIRE(Value::Parse(kChatRequest).ok());
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string s(kChatRequest);
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 5) {
        case 0: s[pos] = static_cast<char>(rng() & 0xFF); break;               // flip a byte
        case 1: s.erase(pos, 1 + rng() % 8); break;                            // delete a run
        case 2: s.insert(pos, 1, "{}[]\",:\\"[rng() % 8]); break;              // insert syntax
        case 3: s.resize(pos); break;                                          // truncate
        case 4: s.insert(pos, s.substr(rng() % s.size(), rng() % 16)); break;  // duplicate
      }
    }
    CheckOne(s, &parsed);
  }
  CHECK(parsed > 0);
}

}  // namespace
}  // namespace p402::json
