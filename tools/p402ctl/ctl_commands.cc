// Placeholder (issue 3 in progress): tools/p402ctl/ctl_commands.cc
