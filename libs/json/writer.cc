// File: libs/json/writer.cc
// Serialisation: Value::SerializeTo, AppendQuoted/AppendNumber and the streaming Writer. Output is
// always valid JSON: control characters are escaped, invalid UTF-8 becomes U+FFFD and non-finite
// doubles become null.
#include <charconv>
#include <cmath>

#include "libs/common/status_macros.h"
#include "libs/json/value.h"

namespace p402::json {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0 when the bytes there
// are not a well-formed sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
size_t ValidUtf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (byte(k) & 0xC0) == 0x80; };
  unsigned char c = byte(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 1 >= s.size()) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogate
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 1 >= s.size()) return 0;
    unsigned char c1 = byte(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

void AppendUint(std::string& out, uint64_t u) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), u);
  out.append(buf, res.ptr);
}

}  // namespace

void AppendQuoted(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t len = ValidUtf8Length(s, i);
      if (len != 0) {
        i += len;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(esc, sizeof(esc));
        } else {
          out.append(kReplacement);  // one U+FFFD per invalid byte
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void AppendNumber(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out.append("null");
    return;
  }
  char buf[32];
  // Shortest representation that round-trips; integral values print without a decimal point and
  // large/small magnitudes use exponent form ("1e+300"), both valid JSON.
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  out.append(buf, res.ptr);
}

void AppendNumber(std::string& out, int64_t i) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), i);
  out.append(buf, res.ptr);
}

std::string Value::Serialize() const {
  std::string out;
  SerializeTo(out);
  return out;
}

void Value::SerializeTo(std::string& out) const {
  switch (type()) {
    case Type::kNull: out.append("null"); return;
    case Type::kBool: out.append(std::get<bool>(data_) ? "true" : "false"); return;
    case Type::kInt: AppendNumber(out, std::get<int64_t>(data_)); return;
    case Type::kUint: AppendUint(out, std::get<uint64_t>(data_)); return;
    case Type::kDouble: AppendNumber(out, std::get<double>(data_)); return;
    case Type::kString: AppendQuoted(out, std::get<std::string>(data_)); return;
    case Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Value& v : AsArray()) {
        if (!first) out.push_back(',');
        first = false;
        v.SerializeTo(out);
      }
      out.push_back(']');
      return;
    }
    case Type::kObject: {
      out.push_back('{');
      bool first = true;
      for (const Member& m : AsObject()) {
        if (!first) out.push_back(',');
        first = false;
        AppendQuoted(out, m.first);
        out.push_back(':');
        m.second.SerializeTo(out);
      }
      out.push_back('}');
      return;
    }
  }
}

Writer::Writer(std::string* out) : out_(out != nullptr ? out : &own_) {}

void Writer::Separate() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (has_element_.empty()) return;
  if (has_element_.back()) {
    out_->push_back(',');
  } else {
    has_element_.back() = true;
  }
}

void Writer::BeginObject() {
  Separate();
  out_->push_back('{');
  has_element_.push_back(false);
}

void Writer::EndObject() {
  if (!has_element_.empty()) has_element_.pop_back();
  out_->push_back('}');
}

void Writer::BeginArray() {
  Separate();
  out_->push_back('[');
  has_element_.push_back(false);
}

void Writer::EndArray() {
  if (!has_element_.empty()) has_element_.pop_back();
  out_->push_back(']');
}

void Writer::Key(std::string_view key) {
  Separate();
  AppendQuoted(*out_, key);
  out_->push_back(':');
  after_key_ = true;
}

void Writer::String(std::string_view s) {
  Separate();
  AppendQuoted(*out_, s);
}

void Writer::Int(int64_t i) {
  Separate();
  AppendNumber(*out_, i);
}

void Writer::Double(double d) {
  Separate();
  AppendNumber(*out_, d);
}

void Writer::Bool(bool b) {
  Separate();
  out_->append(b ? "true" : "false");
}

void Writer::Null() {
  Separate();
  out_->append("null");
}

void Writer::Raw(std::string_view json) {
  Separate();
  out_->append(json);
}

void Writer::Value(const json::Value& v) {
  Separate();
  v.SerializeTo(*out_);
}

std::string Writer::Take() {
  if (out_ != &own_) return *out_;
  std::string result = std::move(own_);
  own_.clear();
  has_element_.clear();
  after_key_ = false;
  return result;
}

}  // namespace p402::json
