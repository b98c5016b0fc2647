#include "libs/openai/decode_util.h"

#include <cmath>

#include "libs/openai/error_param.h"

namespace p402::openai::internal {

std::string Cat(std::initializer_list<std::string_view> pieces) {
  size_t n = 0;
  for (std::string_view p : pieces) {
    n += p.size();
  }
  std::string out;
  out.reserve(n);
  for (std::string_view p : pieces) {
    out.append(p);
  }
  return out;
}

std::string Field(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : Cat({base, ".", key});
}

std::string Index(std::string_view base, size_t i) {
  return Cat({base, "[", std::to_string(i), "]"});
}

std::string_view Describe(const json::Value& v) {
  switch (v.type()) {
    case json::Type::kNull:
      return "null";
    case json::Type::kBool:
      return "a boolean";
    case json::Type::kInt:
    case json::Type::kUint:
      return "an integer";
    case json::Type::kDouble:
      return "a decimal number";
    case json::Type::kString:
      return "a string";
    case json::Type::kArray:
      return "an array";
    case json::Type::kObject:
      return "an object";
  }
  return "an unknown value";
}

std::string NumberText(double d) {
  std::string out;
  json::AppendNumber(out, d);
  return out;
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) {
    return Cat({"'", s, "'"});
  }
  size_t cut = kMax;
  // Do not split a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return Cat({"'", s.substr(0, cut), "...'"});
}

absl::Status Missing(std::string_view param) {
  return InvalidRequest(Cat({"'", param, "' is a required property"}), param,
                        "missing_required_parameter");
}

absl::Status WrongType(std::string_view param, std::string_view expected, const json::Value& got) {
  return InvalidRequest(Cat({"Invalid type for '", param, "': expected ", expected, ", but got ",
                             Describe(got), " instead."}),
                        param, "invalid_type");
}

absl::Status NotOneOf(std::string_view param, std::string_view got,
                      std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (std::string_view a : allowed) {
    list.append(list.empty() ? "'" : ", '").append(a).append("'");
  }
  return InvalidRequest(
      Cat({"Invalid value for '", param, "': ", Quote(got), " is not one of ", list, "."}), param,
      "invalid_value");
}

absl::Status BadValue(std::string_view param, std::string_view detail) {
  return InvalidRequest(Cat({"Invalid value for '", param, "': ", detail}), param, "invalid_value");
}

absl::Status EmptyArray(std::string_view param) {
  return InvalidRequest(Cat({"Invalid '", param,
                             "': empty array. Expected an array with minimum length 1, but got an "
                             "empty array instead."}),
                        param, "empty_array");
}

absl::Status UnknownParam(std::string_view param) {
  return InvalidRequest(Cat({"Unknown parameter: '", param, "'."}), param, "unknown_parameter");
}

absl::StatusOr<std::string_view> ReadString(const json::Value& v, std::string_view param) {
  if (!v.is_string()) {
    return WrongType(param, "a string", v);
  }
  return std::string_view(v.AsString());
}

absl::StatusOr<std::string_view> ReadNonEmptyString(const json::Value& v, std::string_view param,
                                                    size_t max_len) {
  if (!v.is_string()) {
    return WrongType(param, "a string", v);
  }
  const std::string& s = v.AsString();
  if (s.empty()) {
    return InvalidRequest(Cat({"Invalid '", param,
                               "': empty string. Expected a string with minimum length 1, but got "
                               "an empty string instead."}),
                          param, "empty_string");
  }
  if (s.size() > max_len) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': string too long. Expected a string with maximum length ",
             std::to_string(max_len), ", but got a string with length ", std::to_string(s.size()),
             " instead."}),
        param, "string_above_max_length");
  }
  return std::string_view(s);
}

absl::StatusOr<bool> ReadBool(const json::Value& v, std::string_view param) {
  if (!v.is_bool()) {
    return WrongType(param, "a boolean", v);
  }
  return v.AsBool();
}

absl::StatusOr<double> ReadNumber(const json::Value& v, std::string_view param, double min,
                                  double max) {
  if (!v.is_number()) {
    return WrongType(param, "a number", v);
  }
  double d = v.AsDouble();
  if (d < min) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': decimal below minimum value. Expected a value >= ",
             NumberText(min), ", but got ", NumberText(d), " instead."}),
        param, "decimal_below_min_value");
  }
  if (d > max) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': decimal above maximum value. Expected a value <= ",
             NumberText(max), ", but got ", NumberText(d), " instead."}),
        param, "decimal_above_max_value");
  }
  return d;
}

absl::StatusOr<int64_t> ReadInt(const json::Value& v, std::string_view param, int64_t min,
                                int64_t max) {
  if (!v.is_number() || !v.is_integer()) {
    return WrongType(param, "an integer", v);
  }
  auto below = [&](std::string got) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': integer below minimum value. Expected a value >= ",
             std::to_string(min), ", but got ", got, " instead."}),
        param, "integer_below_min_value");
  };
  auto above = [&](std::string got) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': integer above maximum value. Expected a value <= ",
             std::to_string(max), ", but got ", got, " instead."}),
        param, "integer_above_max_value");
  };
  // Range-check as double first: AsInt() requires the value to fit int64 (kUint above 2^63 and
  // integral doubles such as 1e300 do not).
  if (v.type() != json::Type::kInt) {
    double d = v.AsDouble();
    if (d >= 9.2e18) {
      return above(NumberText(d));
    }
    if (d <= -9.2e18) {
      return below(NumberText(d));
    }
  }
  int64_t i = v.AsInt();
  if (i < min) {
    return below(std::to_string(i));
  }
  if (i > max) {
    return above(std::to_string(i));
  }
  return i;
}

absl::StatusOr<const json::Array*> ReadArray(const json::Value& v, std::string_view param) {
  if (!v.is_array()) {
    return WrongType(param, "an array", v);
  }
  return &v.AsArray();
}

absl::StatusOr<const json::Object*> ReadObject(const json::Value& v, std::string_view param) {
  if (!v.is_object()) {
    return WrongType(param, "an object", v);
  }
  return &v.AsObject();
}

absl::StatusOr<std::vector<std::string>> ReadStringArray(const json::Value& v,
                                                         std::string_view param, size_t max_items,
                                                         size_t max_len) {
  if (!v.is_array()) {
    return WrongType(param, "an array of strings", v);
  }
  const json::Array& items = v.AsArray();
  if (items.size() > max_items) {
    return InvalidRequest(
        Cat({"Invalid '", param, "': array too long. Expected an array with maximum length ",
             std::to_string(max_items), ", but got an array with length ",
             std::to_string(items.size()), " instead."}),
        param, "array_above_max_length");
  }
  std::vector<std::string> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    auto s = ReadNonEmptyString(items[i], Index(param, i), max_len);
    if (!s.ok()) {
      return s.status();
    }
    out.emplace_back(*s);
  }
  return out;
}

const json::Value* GetNonNull(const json::Value& obj, std::string_view key) {
  const json::Value* v = obj.Find(key);
  return v != nullptr && !v->is_null() ? v : nullptr;
}

absl::StatusOr<const json::Value*> RequireMember(const json::Value& obj, std::string_view param,
                                                 std::string_view key, std::string_view expected) {
  const json::Value* v = obj.Find(key);
  std::string p = Field(param, key);
  if (v == nullptr) {
    return Missing(p);
  }
  if (v->is_null()) {
    return WrongType(p, expected, *v);
  }
  return v;
}

bool IsIdentifier(std::string_view s, bool allow_dot) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || (allow_dot && c == '.');
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace p402::openai::internal
