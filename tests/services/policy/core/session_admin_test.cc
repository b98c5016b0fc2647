// Placeholder (issue 3 in progress): tests/services/policy/core/session_admin_test.cc
