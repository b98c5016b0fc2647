// File: tests/support/catch_status.h
// Catch2 matchers for absl::Status / StatusOr:
//   REQUIRE_THAT(status, IsOk());
//   REQUIRE_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, "messages"));
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "catch2/catch.hpp"

namespace p402::testing {

class StatusIsMatcher : public Catch::MatcherBase<absl::Status> {
 public:
  StatusIsMatcher(absl::StatusCode code, std::string substring)
      : code_(code), substring_(std::move(substring)) {}
  bool match(const absl::Status& s) const override {
    std::string msg(s.message().data(), s.message().size());
    return s.code() == code_ && msg.find(substring_) != std::string::npos;
  }
  std::string describe() const override {
    return "has code " + absl::StatusCodeToString(code_) + " and a message containing \"" +
           substring_ + "\"";
  }

 private:
  absl::StatusCode code_;
  std::string substring_;
};

inline StatusIsMatcher StatusIs(absl::StatusCode code, std::string substring = "") {
  return StatusIsMatcher(code, std::move(substring));
}
inline StatusIsMatcher IsOk() { return StatusIsMatcher(absl::StatusCode::kOk, ""); }

}  // namespace p402::testing

namespace Catch {
template <>
struct StringMaker<absl::Status> {
  static std::string convert(const absl::Status& s) { return s.ToString(); }
};
}  // namespace Catch
