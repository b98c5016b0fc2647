// Placeholder (issue 3 in progress): tests/services/policy/core/policy_rules_test.cc
