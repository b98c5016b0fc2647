#include "services/router/router_main.h"

#include "libs/config/service_main.h"
#include "services/router/router_server.h"

namespace p402::router {

int Main(int argc, char** argv) {
  return config::RunServiceMain<RouterConfig, RouterServer>(argc, argv, RouterConfigSchema(),
                                                            "p402-router", &RouterServer::Start,
                                                            &RouterConfig::ready_file);
}

}  // namespace p402::router
