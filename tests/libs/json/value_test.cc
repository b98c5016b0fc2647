// Tests for json::Value: parsing every type, numbers, strings, errors and the tree API.
#include "libs/json/value.h"

#include <cmath>
#include <limits>
#include <string>

#include "catch2/catch.hpp"
#include "tests/support/catch_status.h"

namespace p402::json {
namespace {

using ::p402::testing::IsOk;
using ::p402::testing::StatusIs;

Value MustParse(std::string_view text) {
  absl::StatusOr<Value> v = Value::Parse(text);
  INFO(std::string(text));
  REQUIRE_THAT(v.status(), IsOk());
  return *std::move(v);
}

void RequireInvalid(std::string_view text, std::string_view fragment = "invalid JSON: ") {
  absl::StatusOr<Value> v = Value::Parse(text);
  INFO(std::string(text.substr(0, 80)));
  REQUIRE_THAT(v.status(), StatusIs(absl::StatusCode::kInvalidArgument, std::string(fragment)));
}

TEST_CASE("Parse scalars", "[unit]") {
  CHECK(MustParse("null").is_null());
  CHECK(MustParse("true").AsBool());
  CHECK_FALSE(MustParse(" false ").AsBool());
  CHECK(MustParse("42").type() == Type::kInt);
  CHECK(MustParse("42").AsInt() == 42);
  CHECK(MustParse("-17").AsInt() == -17);
  CHECK(MustParse("\"hi\"").AsString() == "hi");
  Value d = MustParse("3.25");
  CHECK(d.type() == Type::kDouble);
  CHECK(d.AsDouble() == 3.25);
  CHECK(MustParse("-1.5e-3").AsDouble() == -1.5e-3);
  CHECK(MustParse("1E2").type() == Type::kDouble);
}

TEST_CASE("Parse integer ranges", "[unit]") {
  Value max = MustParse("9223372036854775807");
  CHECK(max.type() == Type::kInt);
  CHECK(max.AsInt() == std::numeric_limits<int64_t>::max());
  Value min = MustParse("-9223372036854775808");
  CHECK(min.type() == Type::kInt);
  CHECK(min.AsInt() == std::numeric_limits<int64_t>::min());
  Value big = MustParse("18446744073709551615");
  CHECK(big.type() == Type::kUint);
  CHECK(big.is_integer());
  CHECK(big.AsDouble() == 18446744073709551615.0);
  CHECK(big.Serialize() == "18446744073709551615");
  Value above = MustParse("9223372036854775808");
  CHECK(above.type() == Type::kUint);
  // Beyond uint64 simdjson reports a number error (documented limit).
  RequireInvalid("18446744073709551616", "number");
  RequireInvalid("1e400", "number");
}

TEST_CASE("Value(uint64_t) normalises to kInt when it fits", "[unit]") {
  CHECK(Value(uint64_t{5}).type() == Type::kInt);
  CHECK(Value(uint64_t{1} << 63).type() == Type::kUint);
  CHECK(Value(uint64_t{5}) == Value(5));
}

TEST_CASE("is_integer and AsInt on doubles", "[unit]") {
  CHECK(MustParse("2.0").is_integer());
  CHECK(MustParse("2.0").AsInt() == 2);
  CHECK_FALSE(MustParse("2.5").is_integer());
  CHECK_FALSE(Value("2").is_integer());
  CHECK(MustParse("1").is_number());
  CHECK_FALSE(Value(true).is_number());
}

TEST_CASE("Parse nested containers keeps member order", "[unit]") {
  Value v = MustParse(R"({"b":[1,{"c":null}],"a":{"x":[]},"z":{}})");
  REQUIRE(v.is_object());
  const Object& o = v.AsObject();
  REQUIRE(o.size() == 3);
  CHECK(o[0].first == "b");
  CHECK(o[1].first == "a");
  CHECK(o[2].first == "z");
  const Value* b = v.Find("b");
  REQUIRE(b != nullptr);
  REQUIRE(b->AsArray().size() == 2);
  CHECK(b->AsArray()[1].Find("c")->is_null());
  CHECK(v.Find("a")->Find("x")->AsArray().empty());
  CHECK(v.Find("z")->AsObject().empty());
  CHECK(v.Find("missing") == nullptr);
  CHECK(Value(1).Find("x") == nullptr);
}

TEST_CASE("Parse unicode escapes and surrogate pairs", "[unit]") {
  CHECK(MustParse(R"("\u00e9")").AsString() == "\xC3\xA9");
  CHECK(MustParse(R"("\u20ac")").AsString() == "\xE2\x82\xAC");
  CHECK(MustParse(R"("\ud83d\ude00")").AsString() == "\xF0\x9F\x98\x80");
  CHECK(MustParse(R"("a\nb\t\"\\\/")").AsString() == "a\nb\t\"\\/");
  std::string nul = MustParse(R"("x\u0000y")").AsString();
  CHECK(nul == std::string("x\0y", 3));
  CHECK(MustParse("\"caf\xC3\xA9\"").AsString() == "caf\xC3\xA9");
}

TEST_CASE("Parse rejects invalid documents", "[unit]") {
  RequireInvalid("", "invalid JSON: document is empty");
  RequireInvalid("   \n", "invalid JSON: document is empty");
  RequireInvalid("{\"a\":1");
  RequireInvalid("[1,2");
  RequireInvalid("\"abc");
  RequireInvalid("{\"a\":1} x");
  RequireInvalid("[1] [2]");
  RequireInvalid("1 2");
  RequireInvalid("[1,]");
  RequireInvalid("{\"a\"}");
  RequireInvalid("{a:1}");
  RequireInvalid("tru");
  RequireInvalid("nul");
  RequireInvalid(R"("\x")");
  RequireInvalid(R"("\u12")");
  RequireInvalid(R"("\ud800")");  // lone surrogate
  RequireInvalid("\"\xFF\"");     // invalid UTF-8 in input
  RequireInvalid("01");
  RequireInvalid("NaN");
  RequireInvalid("'single'");
  RequireInvalid(std::string("\"a\nb\""));  // raw control char in string
}

TEST_CASE("Depth is limited to 256", "[unit]") {
  auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
  CHECK(MustParse(nested(256)).is_array());
  RequireInvalid(nested(257), "deep");
  // Depth bombs return an error instead of overflowing the stack.
  RequireInvalid(std::string(100000, '['));
  RequireInvalid(nested(100000), "deep");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  RequireInvalid(objects);
}

TEST_CASE("Duplicate keys: Find returns the last", "[unit]") {
  Value v = MustParse(R"({"a":1,"b":2,"a":3})");
  CHECK(v.AsObject().size() == 3);
  CHECK(v.GetInt("a") == 3);
  CHECK(v.Erase("a"));
  CHECK(v.Find("a") == nullptr);
  CHECK(v.AsObject().size() == 1);
  CHECK_FALSE(v.Erase("a"));
}

TEST_CASE("Typed getters", "[unit]") {
  Value v = MustParse(R"({"s":"x","i":7,"d":1.5,"di":3.0,"b":true,"u":18446744073709551615})");
  CHECK(v.GetString("s") == "x");
  CHECK_FALSE(v.GetString("i").has_value());
  CHECK(v.GetInt("i") == 7);
  CHECK(v.GetInt("di") == 3);
  CHECK_FALSE(v.GetInt("d").has_value());
  CHECK_FALSE(v.GetInt("u").has_value());  // does not fit int64
  CHECK_FALSE(v.GetInt("s").has_value());
  CHECK(v.GetDouble("d") == 1.5);
  CHECK(v.GetDouble("i") == 7.0);
  CHECK_FALSE(v.GetDouble("b").has_value());
  CHECK(v.GetBool("b") == true);
  CHECK_FALSE(v.GetBool("missing").has_value());
  CHECK_FALSE(Value("str").GetString("s").has_value());
}

TEST_CASE("Builders", "[unit]") {
  Value root;
  Value& msg = root.Set("message", Value::EmptyObject());
  msg.Set("role", "assistant");
  msg.Set("content", "hi");
  root.Set("n", 1);
  root.Set("n", 2);     // replaces
  root.Append("n", 3);  // duplicates
  Value& list = root.Set("list", Value());
  list.Push(1);
  list.Push("two");
  CHECK(root.Serialize() ==
        R"({"message":{"role":"assistant","content":"hi"},"n":2,"n":3,"list":[1,"two"]})");
}

TEST_CASE("Builders reject wrong types", "[unit]") {
  Value s("x");
  CHECK_FALSE(s.Erase("x"));
  CHECK(s.Find("x") == nullptr);
}

TEST_CASE("Copies are deep", "[unit]") {
  Value a = MustParse(R"({"list":[1,2],"obj":{"k":"v"}})");
  Value b = a;
  b.Set("obj", Value("replaced"));
  const_cast<Value*>(b.Find("list"))->Push(3);
  CHECK(a.Serialize() == R"({"list":[1,2],"obj":{"k":"v"}})");
  CHECK(b.Serialize() == R"({"list":[1,2,3],"obj":"replaced"})");
  Value c;
  c = a;
  c.MutableObject().clear();
  CHECK(a.AsObject().size() == 2);
  CHECK(a == Value(a));
}

TEST_CASE("Moved-from containers are safe", "[unit]") {
  Value arr = MustParse("[[1,2],{\"a\":1}]");
  Array& items = arr.MutableArray();
  Value taken = std::move(items[0]);
  Value taken_obj = std::move(items[1]);
  CHECK(taken.Serialize() == "[1,2]");
  CHECK(taken_obj.Serialize() == "{\"a\":1}");
  CHECK(arr.Serialize() == "[[],{}]");
  Value copy = arr;
  CHECK(copy.Serialize() == "[[],{}]");
  items[0].Push(5);
  CHECK(arr.Serialize() == "[[5],{}]");
}

TEST_CASE("Equality", "[unit]") {
  CHECK(Value(1) == Value(1.0));
  CHECK_FALSE(Value(1) == Value(1.5));
  CHECK(Value(uint64_t{1} << 63) == Value(9223372036854775808.0));
  CHECK_FALSE(Value(uint64_t{1} << 63) == Value(-1));
  CHECK_FALSE(Value(1) == Value("1"));
  CHECK(MustParse(R"({"a":[1,"x",null]})") == MustParse(R"({ "a" : [ 1 , "x" , null ] })"));
  CHECK_FALSE(MustParse(R"({"a":1,"b":2})") == MustParse(R"({"b":2,"a":1})"));
}

TEST_CASE("TypeName", "[unit]") {
  CHECK(TypeName(Type::kNull) == "null");
  CHECK(TypeName(Type::kBool) == "boolean");
  CHECK(TypeName(Type::kInt) == "integer");
  CHECK(TypeName(Type::kDouble) == "number");
  CHECK(TypeName(Type::kString) == "string");
  CHECK(TypeName(Type::kArray) == "array");
  CHECK(TypeName(Type::kObject) == "object");
}

TEST_CASE("Round trip Serialize(Parse(x))", "[unit]") {
  const char* docs[] = {
      "null",
      "true",
      "false",
      "0",
      "-1",
      "9223372036854775807",
      "-9223372036854775808",
      "18446744073709551615",
      "0.1",
      "-2.5e-300",
      "1e+300",
      "3.141592653589793",
      R"("")",
      R"("a\"b\\c\n\u0001")",
      "\"\xF0\x9F\x98\x80 caf\xC3\xA9\"",
      "[]",
      "{}",
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.7,)"
      R"("stream":true,"max_tokens":100,"stop":null,"n":[1,2.5,{"x":{}}]})",
  };
  for (const char* doc : docs) {
    Value v = MustParse(doc);
    std::string once = v.Serialize();
    Value again = MustParse(once);
    INFO(doc << " -> " << once);
    CHECK(again == v);
    CHECK(again.Serialize() == once);
  }
  // Compact canonical input serialises to itself.
  std::string compact = R"({"a":[1,-2,0.5,"s",true,false,null],"b":{"c":{}}})";
  CHECK(MustParse(compact).Serialize() == compact);
}

TEST_CASE("Parse reuses the thread parser across sizes", "[unit]") {
  // Alternating big and small documents exercise buffer reuse (stale bytes past the end of a
  // shorter document must not leak into its parse).
  std::string big = "[" + std::string(200000, ' ') + "1]";
  for (int i = 0; i < 3; ++i) {
    CHECK(MustParse(big).AsArray().size() == 1);
    CHECK(MustParse("[2]").AsArray()[0].AsInt() == 2);
    RequireInvalid("[");
  }
  // Above the reusable-parser size a one-shot parser is used.
  std::string huge = "[\"" + std::string(9 << 20, 'x') + "\"]";
  CHECK(MustParse(huge).AsArray()[0].AsString().size() == size_t{9} << 20);
}

}  // namespace
}  // namespace p402::json
