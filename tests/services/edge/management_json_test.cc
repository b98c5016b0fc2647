// Placeholder (issue 3 in progress): tests/services/edge/management_json_test.cc
