// Placeholder (issue 3 in progress): tests/services/policy/core/policy_admin_test.cc
