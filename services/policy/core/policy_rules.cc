// Placeholder (issue 3 in progress): services/policy/core/policy_rules.cc
