#include "services/settlement/settlement_main.h"

#include "libs/config/service_main.h"
#include "services/settlement/settlement_server.h"

namespace p402::settlement {

int Main(int argc, char** argv) {
  return config::RunServiceMain<SettlementConfig, SettlementServer>(
      argc, argv, SettlementConfigSchema(), "p402-settlement", &SettlementServer::Start,
      &SettlementConfig::ready_file);
}

}  // namespace p402::settlement
