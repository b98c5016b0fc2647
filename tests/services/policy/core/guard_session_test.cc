// Placeholder (issue 3 in progress): tests/services/policy/core/guard_session_test.cc
