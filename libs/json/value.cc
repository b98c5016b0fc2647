// File: libs/json/value.cc
// json::Value tree operations and Parse. The only file that includes simdjson: we use its DOM API
// with one parser per thread (buffers reused across calls), error codes only, and convert the tape
// into an owned Value tree in a single pass.
#include "libs/json/value.h"

#include <simdjson.h>

#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "libs/common/status_macros.h"
#include "libs/common/status_util.h"

namespace p402::json {
namespace {

constexpr size_t kMaxDepth = 256;
// Documents up to this size are parsed by the thread's long-lived parser. Larger ones use a
// one-shot parser so a single huge body does not pin its buffers to the thread forever.
constexpr size_t kReusableCapacity = size_t{8} << 20;
constexpr size_t kInitialCapacity = size_t{64} << 10;

// The int64 range as doubles: [-2^63, 2^63).
constexpr double kInt64MinAsDouble = -9223372036854775808.0;
constexpr double kInt64EndAsDouble = 9223372036854775808.0;

const Array& EmptyArrayRef() {
  static const Array* const kEmpty = new Array();
  return *kEmpty;
}
const Object& EmptyObjectRef() {
  static const Object* const kEmpty = new Object();
  return *kEmpty;
}

bool DoubleFitsInt64(double d) {
  return d >= kInt64MinAsDouble && d < kInt64EndAsDouble && std::trunc(d) == d;
}

absl::Status ParseError(simdjson::error_code code) {
  if (code == simdjson::EMPTY) return InvalidArgument("invalid JSON: document is empty");
  return InvalidArgument(std::string("invalid JSON: ") + simdjson::error_message(code));
}

// Recursion depth is bounded by the parser's max depth (256), so plain recursion is safe.
Value Convert(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      simdjson::dom::array in = e.get_array().value_unsafe();
      Value out(Array{});
      Array& items = out.MutableArray();
      items.reserve(in.size());  // O(1): the count lives on the tape
      for (simdjson::dom::element child : in) items.push_back(Convert(child));
      return out;
    }
    case element_type::OBJECT: {
      simdjson::dom::object in = e.get_object().value_unsafe();
      Value out(Object{});
      Object& members = out.MutableObject();
      members.reserve(in.size());
      for (simdjson::dom::key_value_pair field : in) {
        members.emplace_back(std::string(field.key), Convert(field.value));
      }
      return out;
    }
    case element_type::INT64: return Value(e.get_int64().value_unsafe());
    case element_type::UINT64: return Value(e.get_uint64().value_unsafe());
    case element_type::DOUBLE: return Value(e.get_double().value_unsafe());
    case element_type::STRING: return Value(std::string(e.get_string().value_unsafe()));
    case element_type::BOOL: return Value(e.get_bool().value_unsafe());
    case element_type::NULL_VALUE: return Value();
  }
  return Value();
}

simdjson::error_code ParseWith(simdjson::dom::parser& parser, std::string_view text, Value* out) {
  simdjson::dom::element root;
  // realloc_if_needed=true: the parser copies the input into its own padded buffer, which it keeps
  // and reuses across calls.
  simdjson::error_code err = parser.parse(text.data(), text.size(), true).get(root);
  if (err != simdjson::SUCCESS) return err;
  *out = Convert(root);
  return simdjson::SUCCESS;
}

}  // namespace

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kInt:
    case Type::kUint: return "integer";
    case Type::kDouble: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

Value::Value(uint64_t u) {
  if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    data_ = static_cast<int64_t>(u);
  } else {
    data_ = u;
  }
}

Value::Value(const Value& other) {
  if (auto* a = std::get_if<std::shared_ptr<Array>>(&other.data_)) {
    data_ = std::make_shared<Array>(*a ? **a : Array());
  } else if (auto* o = std::get_if<std::shared_ptr<Object>>(&other.data_)) {
    data_ = std::make_shared<Object>(*o ? **o : Object());
  } else {
    data_ = other.data_;
  }
}

Value& Value::operator=(const Value& other) {
  if (this != &other) {
    Value copy(other);
    *this = std::move(copy);
  }
  return *this;
}

absl::StatusOr<Value> Value::Parse(std::string_view text) {
  Value out;
  simdjson::error_code err;
  if (text.size() <= kReusableCapacity) {
    thread_local simdjson::dom::parser parser;
    thread_local bool initialised = false;
    if (!initialised) {
      err = parser.allocate(kInitialCapacity, kMaxDepth);
      if (err != simdjson::SUCCESS) return ParseError(err);
      initialised = true;
    }
    err = ParseWith(parser, text, &out);
  } else {
    simdjson::dom::parser parser;
    err = parser.allocate(text.size(), kMaxDepth);
    if (err == simdjson::SUCCESS) err = ParseWith(parser, text, &out);
  }
  if (err != simdjson::SUCCESS) return ParseError(err);
  return out;
}

Type Value::type() const {
  switch (data_.index()) {
    case 0: return Type::kNull;
    case 1: return Type::kBool;
    case 2: return Type::kInt;
    case 3: return Type::kUint;
    case 4: return Type::kDouble;
    case 5: return Type::kString;
    case 6: return Type::kArray;
    default: return Type::kObject;
  }
}

bool Value::is_number() const {
  Type t = type();
  return t == Type::kInt || t == Type::kUint || t == Type::kDouble;
}

bool Value::is_integer() const {
  switch (type()) {
    case Type::kInt:
    case Type::kUint: return true;
    case Type::kDouble: {
      double d = std::get<double>(data_);
      return std::isfinite(d) && std::trunc(d) == d;
    }
    default: return false;
  }
}

bool Value::AsBool() const {
  P402_CHECK(is_bool());
  return std::get<bool>(data_);
}

int64_t Value::AsInt() const {
  if (auto* i = std::get_if<int64_t>(&data_)) return *i;
  if (auto* u = std::get_if<uint64_t>(&data_)) {
    P402_CHECK(*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
    return static_cast<int64_t>(*u);
  }
  P402_CHECK(is_double_int64());
  return static_cast<int64_t>(std::get<double>(data_));
}

double Value::AsDouble() const {
  if (auto* d = std::get_if<double>(&data_)) return *d;
  if (auto* i = std::get_if<int64_t>(&data_)) return static_cast<double>(*i);
  P402_CHECK(std::holds_alternative<uint64_t>(data_));
  return static_cast<double>(std::get<uint64_t>(data_));
}

const std::string& Value::AsString() const {
  P402_CHECK(is_string());
  return std::get<std::string>(data_);
}

const Array& Value::AsArray() const {
  P402_CHECK(is_array());
  const auto& p = std::get<std::shared_ptr<Array>>(data_);
  return p ? *p : EmptyArrayRef();  // null only in a moved-from Value
}

const Object& Value::AsObject() const {
  P402_CHECK(is_object());
  const auto& p = std::get<std::shared_ptr<Object>>(data_);
  return p ? *p : EmptyObjectRef();
}

Array& Value::MutableArray() {
  if (is_null()) data_ = std::make_shared<Array>();
  P402_CHECK(is_array());
  auto& p = std::get<std::shared_ptr<Array>>(data_);
  if (!p) p = std::make_shared<Array>();
  return *p;
}

Object& Value::MutableObject() {
  if (is_null()) data_ = std::make_shared<Object>();
  P402_CHECK(is_object());
  auto& p = std::get<std::shared_ptr<Object>>(data_);
  if (!p) p = std::make_shared<Object>();
  return *p;
}

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const Object& members = AsObject();
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

std::optional<std::string_view> Value::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string_view(v->AsString());
}

std::optional<int64_t> Value::GetInt(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (auto* i = std::get_if<int64_t>(&v->data_)) return *i;
  if (v->is_double_int64()) return static_cast<int64_t>(std::get<double>(v->data_));
  return std::nullopt;  // kUint never fits int64 (see Value(uint64_t))
}

std::optional<double> Value::GetDouble(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->AsDouble();
}

std::optional<bool> Value::GetBool(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr || !v->is_bool()) return std::nullopt;
  return v->AsBool();
}

Value& Value::Set(std::string_view key, Value v) {
  Object& members = MutableObject();
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first == key) {
      it->second = std::move(v);
      return it->second;
    }
  }
  members.emplace_back(std::string(key), std::move(v));
  return members.back().second;
}

Value& Value::Append(std::string_view key, Value v) {
  Object& members = MutableObject();
  members.emplace_back(std::string(key), std::move(v));
  return members.back().second;
}

Value& Value::Push(Value v) {
  Array& items = MutableArray();
  items.push_back(std::move(v));
  return items.back();
}

bool Value::Erase(std::string_view key) {
  if (!is_object()) return false;
  Object& members = MutableObject();
  size_t before = members.size();
  std::erase_if(members, [key](const Member& m) { return m.first == key; });
  return members.size() != before;
}

bool Value::is_double_int64() const {
  const double* d = std::get_if<double>(&data_);
  return d != nullptr && DoubleFitsInt64(*d);
}

bool operator==(const Value& a, const Value& b) {
  Type ta = a.type();
  Type tb = b.type();
  if (a.is_number() && b.is_number() && ta != tb) {
    // Numbers compare by mathematical value so that 1 == 1.0 (Serialize writes 1.0 as "1").
    if (ta == Type::kDouble || tb == Type::kDouble) {
      const Value& d = ta == Type::kDouble ? a : b;
      const Value& n = ta == Type::kDouble ? b : a;
      if (n.type() == Type::kInt) return d.is_double_int64() && d.AsInt() == n.AsInt();
      // kUint (>= 2^63) vs double: compare in the double domain only when exact.
      double dv = d.AsDouble();
      if (!(dv >= kInt64EndAsDouble && dv < 18446744073709551616.0) || std::trunc(dv) != dv) {
        return false;
      }
      return static_cast<uint64_t>(dv) == std::get<uint64_t>(n.data_);
    }
    return false;  // kInt vs kUint never overlap
  }
  if (ta != tb) return false;
  switch (ta) {
    case Type::kNull: return true;
    case Type::kBool: return a.AsBool() == b.AsBool();
    case Type::kInt: return std::get<int64_t>(a.data_) == std::get<int64_t>(b.data_);
    case Type::kUint: return std::get<uint64_t>(a.data_) == std::get<uint64_t>(b.data_);
    case Type::kDouble: return std::get<double>(a.data_) == std::get<double>(b.data_);
    case Type::kString: return a.AsString() == b.AsString();
    case Type::kArray: return a.AsArray() == b.AsArray();
    case Type::kObject: return a.AsObject() == b.AsObject();
  }
  return false;
}

}  // namespace p402::json
