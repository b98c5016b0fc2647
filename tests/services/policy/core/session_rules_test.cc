// Placeholder (issue 3 in progress): tests/services/policy/core/session_rules_test.cc
