// Placeholder (issue 3 in progress): tests/tools/p402ctl/p402ctl_test.cc
