// Placeholder (issue 3 in progress): services/edge/http/management_handler.cc
