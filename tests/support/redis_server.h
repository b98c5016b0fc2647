// File: tests/support/redis_server.h
// Placeholder (issue 3 in progress).
#pragma once
