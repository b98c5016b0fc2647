// File: tools/p402ctl/table.h
// Placeholder (issue 3 in progress).
#pragma once
