// Placeholder (issue 3 in progress): tests/services/edge/management_api_test.cc
