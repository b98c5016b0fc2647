#include "libs/rpc/call_context.h"

#include <algorithm>

#include "libs/common/request_id.h"

namespace p402::rpc {

std::string RequestIdOf(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kRequestIdHeader);
  if (it == metadata.end()) {
    return "";
  }
  std::string id(it->second.data(), it->second.size());
  return IsValidRequestId(id) ? id : "";
}

void PrepareClientContext(grpc::ClientContext& context, const std::string& request_id,
                          std::chrono::milliseconds timeout) {
  if (!request_id.empty()) {
    context.AddMetadata(kRequestIdHeader, request_id);
  }
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

std::chrono::milliseconds RemainingBudget(const grpc::ServerContextBase& context,
                                          std::chrono::milliseconds margin,
                                          std::chrono::milliseconds cap) {
  auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return cap;
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::system_clock::now()) - margin;
  return std::clamp(left, std::chrono::milliseconds(0), cap);
}

}  // namespace p402::rpc
