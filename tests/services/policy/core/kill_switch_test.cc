// Placeholder (issue 3 in progress): tests/services/policy/core/kill_switch_test.cc
