// File: services/edge/clients/grpc_admin_client.h
// Placeholder (issue 3 in progress).
#pragma once
