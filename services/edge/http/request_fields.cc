#include "services/edge/http/request_fields.h"

#include "libs/common/request_id.h"
#include "libs/http/headers.h"
#include "libs/http/request.h"

namespace p402::edge {

std::string RequestIdOf(const http::Request& request) {
  if (auto id = request.Header("x-request-id"); id && IsValidRequestId(*id)) {
    return std::string(*id);
  }
  return NewRequestId();
}

std::string BearerToken(const http::Request& request) {
  auto auth = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size() ||
      !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
    return "";
  }
  std::string_view v = auth->substr(kBearer.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return std::string(v);
}

QueryParams DecodeQuery(std::string_view query) {
  QueryParams out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    size_t eq = pair.find('=');
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    out.emplace_back(http::PercentDecode(pair.substr(0, eq), true),
                     http::PercentDecode(value, true));
  }
  return out;
}

}  // namespace p402::edge
