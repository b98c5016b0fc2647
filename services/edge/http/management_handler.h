// File: services/edge/http/management_handler.h
// Placeholder (issue 3 in progress).
#pragma once
