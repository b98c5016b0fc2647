// File: tests/libs/openai/test_util.h
// Helpers shared by the libs/openai tests: decode-and-expect-error with message, param and reason.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "catch2/catch.hpp"
#include "libs/common/status_util.h"
#include "libs/json/value.h"
#include "libs/openai/chat_request.h"
#include "libs/openai/error_param.h"

namespace p402::openai::testing {

// Decodes `body`, requires InvalidArgument with exactly `message` (or containing it when
// `exact` is false), the param payload `param` ("" = none) and reason `reason`.
inline void ExpectDecodeError(std::string_view body, std::string_view message,
                              std::string_view param, std::string_view reason, bool exact = true) {
  INFO("body: " << body);
  auto r = DecodeChatRequest(body);
  REQUIRE_FALSE(r.ok());
  const absl::Status& s = r.status();
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  std::string msg = MessageOf(s);
  if (exact) {
    CHECK(msg == message);
  } else {
    CHECK_THAT(msg, Catch::Contains(std::string(message)));
  }
  std::optional<std::string> p = ParamOf(s);
  if (param.empty()) {
    CHECK_FALSE(p.has_value());
  } else {
    REQUIRE(p.has_value());
    CHECK(*p == param);
  }
  std::optional<std::string> reason_of = ReasonOf(s);
  REQUIRE(reason_of.has_value());
  CHECK(*reason_of == reason);
}

// Parses JSON produced by an encoder (REQUIRE-ing that it parses).
inline json::Value ParseJson(std::string_view text) {
  INFO("json: " << text);
  auto v = json::Value::Parse(text);
  REQUIRE(v.ok());
  return *std::move(v);
}

// A minimal valid body with the given extra top-level members (",..." appended inside the object).
inline std::string Body(std::string_view extra_members = "") {
  std::string b = R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]})";
  if (!extra_members.empty()) {
    b.pop_back();
    b.append(",").append(extra_members).append("}");
  }
  return b;
}

// A body whose messages array is `messages` (JSON text).
inline std::string WithMessages(std::string_view messages) {
  return std::string(R"({"model":"gpt-4o-mini","messages":)") + std::string(messages) + "}";
}

}  // namespace p402::openai::testing
