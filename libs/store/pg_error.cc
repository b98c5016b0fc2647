#include "libs/store/pg_error.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "libs/common/strings.h"

namespace p402::store {
namespace {

constexpr char kSqlStateUrl[] = "type.p402.dev/store.sqlstate";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Data-exception messages quote the offending input (`invalid input syntax for type integer:
// "..."`), which may be a secret parameter: replace every double-quoted span with "...".
std::string ElideQuoted(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  bool in_quotes = false;
  for (char c : message) {
    if (c == '"') {
      out += in_quotes ? "...\"" : "\"";
      in_quotes = !in_quotes;
    } else if (!in_quotes) {
      out += c;
    }
  }
  if (in_quotes) {
    out += "...\"";
  }
  return out;
}

absl::StatusCode CodeFor(std::string_view s) {
  if (s == "23505") {
    return absl::StatusCode::kAlreadyExists;
  }
  if (s == "40001" || s == "40P01" || s == "55P03") {
    return absl::StatusCode::kAborted;
  }
  if (s == "57014") {
    return absl::StatusCode::kDeadlineExceeded;
  }
  if (StartsWith(s, "08") || StartsWith(s, "53") || s == "57P01" || s == "57P02" || s == "57P03") {
    return absl::StatusCode::kUnavailable;
  }
  if (StartsWith(s, "22") || s == "23502" || s == "23514") {
    return absl::StatusCode::kInvalidArgument;
  }
  if (StartsWith(s, "23") || StartsWith(s, "25")) {
    return absl::StatusCode::kFailedPrecondition;
  }
  return absl::StatusCode::kInternal;
}

bool IsValidSqlState(std::string_view s) {
  if (s.size() != 5) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status StatusFromPgError(std::string_view sqlstate, std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  if (!IsValidSqlState(sqlstate)) {
    return absl::InternalError(absl::StrCat("postgres: ", ToAbsl(message)));
  }
  std::string text = StartsWith(sqlstate, "22") ? ElideQuoted(message) : std::string(message);
  absl::Status status(CodeFor(sqlstate),
                      absl::StrCat("postgres: ", text, " (SQLSTATE ", ToAbsl(sqlstate), ")"));
  status.SetPayload(kSqlStateUrl, absl::Cord(ToAbsl(sqlstate)));
  return status;
}

std::optional<std::string> SqlStateOf(const absl::Status& status) {
  auto payload = status.GetPayload(kSqlStateUrl);
  if (!payload) {
    return std::nullopt;
  }
  return std::string(*payload);
}

}  // namespace p402::store
