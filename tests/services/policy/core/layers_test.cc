// Placeholder (issue 3 in progress): tests/services/policy/core/layers_test.cc
