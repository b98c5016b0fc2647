// File: tools/p402ctl/ctl_args.h
// The small parsing kit under ParseCommand (ctl_commands.cc): options matched against a
// per-command table, and checks of the values p402ctl sends (ids, USD amounts, durations,
// numbers, choices). Every failure is InvalidArgument with a message for the user, which
// p402ctl prints before exiting with kExitUsage. Pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/json/value.h"

namespace p402::ctl {

struct OptionSpec {
  std::string_view name;  // without "--"
  bool takes_value = true;
  bool repeatable = false;
};

// Options and positionals of one command (after resource and verb).
struct ParsedArgs {
  std::vector<std::string> positionals;
  std::map<std::string, std::vector<std::string>> flags;  // boolean options hold one ""

  bool Has(std::string_view name) const { return flags.count(std::string(name)) > 0; }
  // The value of option `name`, or nullopt when absent.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value of a repeatable option, in order.
  std::vector<std::string> GetAll(std::string_view name) const;
};

// Splits `tokens` into options (--name value, --name=value, --flag) and positionals ("--" ends
// the options). Errors: an option not in `specs` (message names `command`), a missing value, a
// value given to a boolean option, a non-repeatable option given twice.
absl::StatusOr<ParsedArgs> ParseOptions(const std::vector<std::string>& tokens,
                                        const std::vector<OptionSpec>& specs,
                                        std::string_view command);
// Exactly `names.size()` positionals, else a message naming the missing/extra ones.
absl::Status ExpectPositionals(const ParsedArgs& args, const std::vector<std::string_view>& names,
                               std::string_view command);

// Value checks; `what` names the option or argument in messages ("--budget").
// An API object id: 1..128 of [A-Za-z0-9_.-] (it goes into a URL path).
absl::StatusOr<std::string> CheckId(std::string_view what, std::string_view id);
// A USD amount as the API reads it: digits with an optional fraction of at most 6 decimals
// (further trailing zeros allowed). Returned unchanged: it travels as a JSON string.
absl::StatusOr<std::string> CheckUsd(std::string_view what, std::string_view usd);
// "90s", "30m", "4h", "2d" or whole seconds, > 0. Returned unchanged.
absl::StatusOr<std::string> CheckDuration(std::string_view what, std::string_view duration);
// Seconds of a duration that passed CheckDuration.
int64_t DurationSeconds(std::string_view checked_duration);
absl::StatusOr<int64_t> CheckInt(std::string_view what, std::string_view s, int64_t min,
                                 int64_t max);
// A finite decimal number in [min, max].
absl::StatusOr<double> CheckNumber(std::string_view what, std::string_view s, double min,
                                   double max);
absl::StatusOr<std::string> CheckChoice(std::string_view what, std::string_view s,
                                        std::initializer_list<std::string_view> choices);

// Sets body[key] to the checked amount of option `flag` (without "--") when it is given.
absl::Status SetUsdOption(const ParsedArgs& args, std::string_view flag, json::Value& body,
                          std::string_view key);

// "a, b,,c" -> ["a","b","c"] (blank items dropped; "" -> []).
json::Value CommaList(std::string_view s);
// Percent-encodes everything but RFC 3986 unreserved characters (query values).
std::string QueryEscape(std::string_view s);

}  // namespace p402::ctl
