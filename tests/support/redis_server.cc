// Placeholder (issue 3 in progress): tests/support/redis_server.cc
