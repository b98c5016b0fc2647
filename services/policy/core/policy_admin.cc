// Placeholder (issue 3 in progress): services/policy/core/policy_admin.cc
