#include "services/edge/edge_main.h"

#include "libs/config/service_main.h"
#include "services/edge/edge_server.h"

namespace p402::edge {

int Main(int argc, char** argv) {
  return config::RunServiceMain<EdgeConfig, EdgeServer>(argc, argv, EdgeConfigSchema(),
                                                        "p402-edge", &EdgeServer::Start,
                                                        &EdgeConfig::ready_file);
}

}  // namespace p402::edge
