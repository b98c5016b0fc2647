// Placeholder (issue 3 in progress): tools/p402ctl/table.cc
