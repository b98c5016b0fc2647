// Placeholder (issue 3 in progress): services/policy/core/session_admin.cc
