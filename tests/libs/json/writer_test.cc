// Tests for serialisation: string escaping, invalid UTF-8 replacement, numbers and json::Writer.
#include <cmath>
#include <limits>
#include <string>

#include "catch2/catch.hpp"
#include "libs/json/value.h"
#include "tests/support/catch_status.h"

namespace p402::json {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendQuoted(out, s);
  return out;
}

std::string Number(double d) {
  std::string out;
  AppendNumber(out, d);
  return out;
}

bool ParsesBack(const std::string& json) { return Value::Parse(json).ok(); }

TEST_CASE("AppendQuoted escapes", "[unit]") {
  CHECK(Quoted("plain") == "\"plain\"");
  CHECK(Quoted("a\"b\\c") == R"("a\"b\\c")");
  CHECK(Quoted("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(Quoted(std::string("\x01\x1f\0", 3)) == R"("\u0001\u001f\u0000")");
  CHECK(Quoted("/") == "\"/\"");
  CHECK(Quoted("\x7f") == "\"\x7f\"");
  CHECK(Quoted("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST_CASE("AppendQuoted replaces invalid UTF-8 with U+FFFD", "[unit]") {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(Quoted("a\xFF"
               "b") == "\"a" + fffd + "b\"");
  CHECK(Quoted("\xC3") == "\"" + fffd + "\"");                                   // truncated 2-byte
  CHECK(Quoted("\xE2\x82") == "\"" + fffd + fffd + "\"");                        // truncated 3-byte
  CHECK(Quoted("\xC0\xAF") == "\"" + fffd + fffd + "\"");                        // overlong '/'
  CHECK(Quoted("\xE0\x80\xAF") == "\"" + fffd + fffd + fffd + "\"");             // overlong
  CHECK(Quoted("\xED\xA0\x80") == "\"" + fffd + fffd + fffd + "\"");             // surrogate
  CHECK(Quoted("\xF4\x90\x80\x80") == "\"" + fffd + fffd + fffd + fffd + "\"");  // > U+10FFFF
  CHECK(Quoted("\x80") == "\"" + fffd + "\"");  // lone continuation
  // Every output of a tree holding garbage strings parses back.
  Value v = Value::EmptyObject();
  v.Set("bad\xFF key", Value(std::string("x\xC3\x28\xA0\xA1\x00\x1b", 7)));
  std::string json = v.Serialize();
  REQUIRE(ParsesBack(json));
  CHECK(json == "{\"bad" + fffd + " key\":\"x" + fffd + "(" + fffd + fffd + "\\u0000\\u001b\"}");
}

TEST_CASE("AppendNumber shortest round trip", "[unit]") {
  CHECK(Number(0.1) == "0.1");
  CHECK(Number(1.0) == "1");
  CHECK(Number(-2.5) == "-2.5");
  CHECK(Number(1e300) == "1e+300");
  CHECK(Number(0.7) == "0.7");
  CHECK(Number(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(Number(std::numeric_limits<double>::infinity()) == "null");
  CHECK(Number(-std::numeric_limits<double>::infinity()) == "null");
  for (double d :
       {0.1 + 0.2, 1.0 / 3.0, 123456.789e-200, 5e-324, std::numeric_limits<double>::max()}) {
    std::string s = Number(d);
    absl::StatusOr<Value> back = Value::Parse(s);
    REQUIRE(back.ok());
    CHECK(back->AsDouble() == d);
  }
  std::string out;
  AppendNumber(out, std::numeric_limits<int64_t>::min());
  CHECK(out == "-9223372036854775808");
  CHECK(Value(std::nan("")).Serialize() == "null");
}

TEST_CASE("Writer builds nested output with commas", "[unit]") {
  Writer w;
  w.BeginObject();
  w.Key("id");
  w.String("chatcmpl-1");
  w.Key("n");
  w.Int(-3);
  w.Key("p");
  w.Double(0.5);
  w.Key("ok");
  w.Bool(true);
  w.Key("none");
  w.Null();
  w.Key("choices");
  w.BeginArray();
  w.BeginObject();
  w.Key("index");
  w.Int(0);
  w.EndObject();
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.Raw(R"({"raw":1})");
  w.Value(Value::Parse(R"({"v":[1,2]})").value());
  w.EndArray();
  w.Key("esc\n");
  w.String("\xFF");
  w.EndObject();
  std::string out = w.Take();
  CHECK(out ==
        R"({"id":"chatcmpl-1","n":-3,"p":0.5,"ok":true,"none":null,"choices":[{"index":0},{},[],)"
        R"({"raw":1},{"v":[1,2]}],"esc\n":")"
        "\xEF\xBF\xBD\"}");
  CHECK(ParsesBack(out));
  // Take resets an owning writer.
  w.Int(1);
  CHECK(w.Take() == "1");
}

TEST_CASE("Writer appends to an external buffer", "[unit]") {
  std::string buf = "data: ";
  Writer w(&buf);
  w.BeginArray();
  w.Int(1);
  w.Double(std::numeric_limits<double>::infinity());
  w.EndArray();
  CHECK(buf == "data: [1,null]");
  CHECK(w.str() == "data: [1,null]");
  CHECK(w.Take() == "data: [1,null]");
}

TEST_CASE("Writer top-level scalars", "[unit]") {
  Writer w;
  w.String("x");
  CHECK(w.Take() == "\"x\"");
}

}  // namespace
}  // namespace p402::json
