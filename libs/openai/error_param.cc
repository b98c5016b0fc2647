#include "libs/openai/error_param.h"

#include "absl/strings/cord.h"
#include "libs/common/status_util.h"
#include "libs/common/strings.h"

namespace p402::openai {
namespace {
constexpr char kParamUrl[] = "type.p402.dev/param";
}  // namespace

absl::Status WithParam(absl::Status status, std::string_view param) {
  if (!status.ok()) {
    status.SetPayload(kParamUrl, absl::Cord(ToAbsl(param)));
  }
  return status;
}

std::optional<std::string> ParamOf(const absl::Status& status) {
  auto payload = status.GetPayload(kParamUrl);
  if (!payload) {
    return std::nullopt;
  }
  return std::string(*payload);
}

absl::Status InvalidRequest(std::string_view message, std::string_view param,
                            std::string_view reason) {
  absl::Status status = WithReason(InvalidArgument(message), reason);
  if (!param.empty()) {
    status = WithParam(std::move(status), param);
  }
  return status;
}

}  // namespace p402::openai
