// Placeholder (issue 3 in progress): services/edge/core/management_api.cc
