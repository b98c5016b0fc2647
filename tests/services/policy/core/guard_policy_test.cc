// Placeholder (issue 3 in progress): tests/services/policy/core/guard_policy_test.cc
