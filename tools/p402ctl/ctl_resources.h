// File: tools/p402ctl/ctl_resources.h
// The builders ParseCommand (ctl_commands.cc) uses for the policies, sessions and approvals
// commands: checked options -> Command (request, view, read-modify-write body). Each assumes the
// positionals were already counted against its verb's table entry. Errors: InvalidArgument for
// the user (exit kExitUsage). Pure.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "tools/p402ctl/ctl_args.h"
#include "tools/p402ctl/ctl_commands.h"

namespace p402::ctl {

// Options of `policies create` (update = false) and `policies update` (adds --enabled).
std::vector<OptionSpec> PolicyOptions(bool update);

absl::Status BuildPolicies(std::string_view verb, const ParsedArgs& args, Command& cmd);
absl::Status BuildSessions(std::string_view verb, const ParsedArgs& args, Command& cmd);
absl::Status BuildApprovals(std::string_view verb, const ParsedArgs& args, Command& cmd);

}  // namespace p402::ctl
