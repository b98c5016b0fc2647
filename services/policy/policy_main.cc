#include "services/policy/policy_main.h"

#include "libs/config/service_main.h"
#include "services/policy/policy_server.h"

namespace p402::policy {

int Main(int argc, char** argv) {
  return config::RunServiceMain<PolicyConfig, PolicyServer>(argc, argv, PolicyConfigSchema(),
                                                            "p402-policy", &PolicyServer::Start,
                                                            &PolicyConfig::ready_file);
}

}  // namespace p402::policy
