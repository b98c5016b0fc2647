// Placeholder (issue 3 in progress): tests/services/policy/service/policy_management_rpc_test.cc
