#include "tools/mock_provider/synth.h"

#include <cmath>

namespace p402::mock_provider {
namespace {

constexpr std::string_view kVocabulary[16] = {
    "mock", "reply", "tokens", "flow", "from", "a", "deterministic", "provider",
    "with", "stable", "words", "for", "exact", "usage", "and", "costs"};

void SynthesizeValue(const json::Value* schema, json::Writer& w, int depth) {
  if (schema == nullptr || !schema->is_object() || depth > 8) {
    w.Null();
    return;
  }
  if (const json::Value* e = schema->Find("enum"); e != nullptr && e->is_array() &&
                                                   !e->AsArray().empty()) {
    w.Value(e->AsArray().front());
    return;
  }
  std::string_view type = schema->GetString("type").value_or("object");
  if (type == "string") {
    w.String("mock");
  } else if (type == "integer") {
    w.Int(1);
  } else if (type == "number") {
    w.Double(1.5);
  } else if (type == "boolean") {
    w.Bool(true);
  } else if (type == "array") {
    w.BeginArray();
    w.EndArray();
  } else if (type == "null") {
    w.Null();
  } else {
    w.BeginObject();
    if (const json::Value* props = schema->Find("properties"); props && props->is_object()) {
      for (const auto& [name, sub] : props->AsObject()) {
        w.Key(name);
        SynthesizeValue(&sub, w, depth + 1);
      }
    }
    w.EndObject();
  }
}

}  // namespace

int64_t TextTokens(std::string_view text) {
  return static_cast<int64_t>((text.size() + 3) / 4);
}

std::string_view ReplyWord(int i, std::string_view provider) {
  if (i == 0) {
    return provider.empty() ? std::string_view("mock") : provider;
  }
  return kVocabulary[(i - 1) % 16];
}

std::vector<std::string> ReplyPieces(int n, std::string_view provider) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    std::string piece = i == 0 ? "" : " ";
    piece.append(ReplyWord(i, provider));
    out.push_back(std::move(piece));
  }
  return out;
}

std::string SynthesizeArguments(const json::Value* schema) {
  if (schema == nullptr || !schema->is_object()) {
    return "{}";
  }
  json::Writer w;
  json::Value object_schema = *schema;
  if (!object_schema.GetString("type")) {
    object_schema.Set("type", "object");
  }
  SynthesizeValue(&object_schema, w, 0);
  std::string out = w.Take();
  return out.empty() || out.front() != '{' ? "{}" : out;
}

std::vector<std::string> Fragments(std::string_view s, size_t size) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size(); i += size) {
    out.emplace_back(s.substr(i, size));
  }
  return out;
}

std::string MockId(std::string_view prefix, uint64_t seq) {
  // splitmix64 so consecutive ids do not look alike.
  uint64_t z = seq + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(prefix);
  for (int i = 0; i < 24; ++i) {
    uint64_t word = i < 16 ? z : seq;
    out.push_back(kHex[(word >> ((i % 16) * 4)) & 0xf]);
  }
  return out;
}

std::vector<float> Embed(std::string_view text, int dims) {
  std::vector<double> acc(static_cast<size_t>(dims), 0.0);
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : word) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    acc[h % static_cast<uint64_t>(dims)] += (h >> 63) ? -1.0 : 1.0;
    word.clear();
  };
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      word.push_back(c);
    } else if (c >= 'A' && c <= 'Z') {
      word.push_back(static_cast<char>(c + 32));
    } else {
      flush();
    }
  }
  flush();
  double norm = 0;
  for (double v : acc) norm += v * v;
  norm = std::sqrt(norm);
  std::vector<float> out(acc.size(), 0.0f);
  if (norm > 0) {
    for (size_t i = 0; i < acc.size(); ++i) out[i] = static_cast<float>(acc[i] / norm);
  }
  return out;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (b(i) << 16) | (b(i + 1) << 8) | b(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = b(i) << 16;
    if (i + 1 < bytes.size()) v |= b(i + 1) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace p402::mock_provider
