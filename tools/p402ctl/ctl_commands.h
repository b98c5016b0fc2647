// File: tools/p402ctl/ctl_commands.h
// Placeholder (issue 3 in progress).
#pragma once
