// Placeholder (issue 3 in progress): tests/services/edge/chat_guard_test.cc
