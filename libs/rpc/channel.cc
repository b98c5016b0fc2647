#include "libs/rpc/channel.h"

#include <chrono>

namespace p402::rpc {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
  // A distinct channel per target; callers share the returned pointer.
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool WaitForConnected(grpc::Channel& channel, int timeout_ms) {
  return channel.WaitForConnected(std::chrono::system_clock::now() +
                                  std::chrono::milliseconds(timeout_ms));
}

}  // namespace p402::rpc
