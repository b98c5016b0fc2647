// File: libs/json/value.h
// The project's JSON model: an owned tree parsed by simdjson (the only file that includes
// simdjson is value.cc — one owner per third-party library) and serialised by our own writer.
// Used for request bodies, provider responses, config files and catalogs.
//
// Numbers keep their kind: integers that fit int64 are kInt, larger unsigned ones kUint, the rest
// kDouble. Objects keep member order; Find returns the last member of a duplicated key.
// Value is a regular value type (copyable, movable); const methods are thread-safe.
// A moved-from Value stays safe to use (a moved-from container reads as empty).
// Known limit: integers outside [-2^63, 2^64) and numbers that overflow a double are rejected
// by Parse ("invalid JSON: Problem while parsing a number").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace p402::json {

class Value;
using Array = std::vector<Value>;
using Member = std::pair<std::string, Value>;
using Object = std::vector<Member>;

enum class Type { kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };

// Name of a type for error messages: "null", "boolean", "integer", "number", "string", "array",
// "object".
std::string_view TypeName(Type type);

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : data_(i) {}
  Value(uint64_t u);  // stored as kInt when it fits int64, else kUint
  Value(double d) : data_(d) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(Array a) : data_(std::make_shared<Array>(std::move(a))) {}
  Value(Object o) : data_(std::make_shared<Object>(std::move(o))) {}
  Value(const Value& other);
  Value& operator=(const Value& other);
  Value(Value&&) noexcept = default;
  Value& operator=(Value&&) noexcept = default;

  // Parses a complete JSON document. Errors: InvalidArgument with a message naming the problem
  // (e.g. "invalid JSON: TAPE_ERROR ..." or "invalid JSON: document is empty"). Nesting depth is
  // limited to 256. Trailing non-whitespace content is an error.
  static absl::StatusOr<Value> Parse(std::string_view text);

  // Empty containers.
  static Value EmptyObject() { return Value(Object{}); }
  static Value EmptyArray() { return Value(Array{}); }

  Type type() const;
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const;   // kInt, kUint or kDouble
  bool is_integer() const;  // kInt or kUint, or a kDouble with an exact integral value
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Accessors. Precondition: the matching is_*() is true (checked; aborts otherwise).
  bool AsBool() const;
  int64_t AsInt() const;    // kInt; kUint if it fits; integral kDouble if it fits
  double AsDouble() const;  // any number
  const std::string& AsString() const;
  const Array& AsArray() const;
  const Object& AsObject() const;
  Array& MutableArray();    // makes this an array if null
  Object& MutableObject();  // makes this an object if null

  // Object member lookup; nullptr when absent or when this is not an object.
  const Value* Find(std::string_view key) const;
  // Typed lookups: std::nullopt when absent or of another type.
  std::optional<std::string_view> GetString(std::string_view key) const;
  std::optional<int64_t> GetInt(std::string_view key) const;
  std::optional<double> GetDouble(std::string_view key) const;
  std::optional<bool> GetBool(std::string_view key) const;

  // Object builders (this becomes an object if null; aborts if it is another type): Set replaces
  // the last member of the same key, or appends; Append does not check. Both return a reference
  // to the stored member value (valid until the next insertion into this object), so nested
  // building reads: `Value& msg = root.Set("message", Value::EmptyObject()); msg.Set("role", "x");`
  Value& Set(std::string_view key, Value v);
  Value& Append(std::string_view key, Value v);
  // Array builder (this becomes an array if null); returns a reference to the stored element.
  Value& Push(Value v);
  // Removes every member named `key`; returns true if one was removed.
  bool Erase(std::string_view key);

  // Compact serialisation (no spaces), deterministic member order (insertion order). Always
  // valid JSON: invalid UTF-8 becomes U+FFFD, NaN/Inf become null.
  std::string Serialize() const;
  void SerializeTo(std::string& out) const;

  // Deep equality. Numbers compare by value across kinds (1 == 1.0), member order matters.
  friend bool operator==(const Value& a, const Value& b);

 private:
  bool is_double_int64() const;  // kDouble holding an integral value within int64 range

  // Containers are shared_ptr to keep Value small; copies deep-copy (see copy constructor), so
  // Values never alias.
  std::variant<std::nullptr_t, bool, int64_t, uint64_t, double, std::string, std::shared_ptr<Array>,
               std::shared_ptr<Object>>
      data_;
};

// Appends `s` as a JSON string literal (quotes included, escaped per RFC 8259; invalid UTF-8 bytes
// are replaced by U+FFFD so output is always valid JSON).
void AppendQuoted(std::string& out, std::string_view s);
// Appends a number in the shortest form that round-trips (integers without a decimal point).
void AppendNumber(std::string& out, double d);
void AppendNumber(std::string& out, int64_t i);

// Streaming writer for hot paths (responses, SSE chunks) where building a tree would waste
// allocations. Callers are responsible for well-formed nesting; commas are inserted automatically.
//   Writer w; w.BeginObject(); w.Key("id"); w.String("x"); w.EndObject(); w.Take();
class Writer {
 public:
  // Appends to *out when given (must outlive the writer), else to an internal buffer.
  explicit Writer(std::string* out = nullptr);
  Writer(const Writer&) = delete;  // out_ may point into own_
  Writer& operator=(const Writer&) = delete;
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);
  void String(std::string_view s);
  void Int(int64_t i);
  void Double(double d);
  void Bool(bool b);
  void Null();
  // Inserts an already-serialised JSON value verbatim.
  void Raw(std::string_view json);
  void Value(const json::Value& v);
  // Returns the output and resets the writer when it owns its buffer; with an external buffer it
  // returns a copy of *out.
  std::string Take();
  const std::string& str() const { return *out_; }

 private:
  void Separate();
  std::string own_;
  std::string* out_;
  // One flag per open container: true once it has a first element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace p402::json
