// Placeholder (issue 3 in progress): services/policy/core/session_rules.cc
