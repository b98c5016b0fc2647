#include "services/router/adapters/http_provider_executor.h"

#include <utility>

#include "libs/common/request_id.h"
#include "services/router/adapters/provider_execution.h"

namespace p402::router {
namespace {

void AssignDecisionId(ExecutionRequest& request) {
  if (!request.plan.decision.decision_id().empty()) return;
  std::string id = NewRequestId();  // "req_" + 24 hex
  request.plan.decision.set_decision_id("dec_" + id.substr(id.find('_') + 1));
}

}  // namespace

HttpProviderExecutor::HttpProviderExecutor(const Catalog& catalog, ProviderKeys keys,
                                           http::HttpClient& client, TimerQueue& timers,
                                           HealthTracker& health, RouterMetrics& metrics,
                                           const Clock& clock, ExecutorOptions options)
    : deps_{catalog, std::move(keys), client, timers, health, metrics, clock, options} {}

std::shared_ptr<Execution> HttpProviderExecutor::Route(ExecutionRequest request,
                                                       std::function<void(ExecutionResult)> done) {
  AssignDecisionId(request);
  auto execution = std::make_shared<ProviderExecution>(
      deps_, std::move(request), ProviderExecution::Mode::kUnary, std::move(done), nullptr);
  execution->Start();
  return execution;
}

std::shared_ptr<Execution> HttpProviderExecutor::Stream(ExecutionRequest request,
                                                        StreamObserver& observer) {
  AssignDecisionId(request);
  auto execution = std::make_shared<ProviderExecution>(
      deps_, std::move(request), ProviderExecution::Mode::kStream, nullptr, &observer);
  execution->Start();
  return execution;
}

}  // namespace p402::router
