// Placeholder (issue 3 in progress): services/edge/clients/grpc_admin_client.cc
