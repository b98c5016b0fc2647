#include "libs/http/internal/endpoint.h"

#include <charconv>

namespace p402::http::internal {

std::optional<HostPort> SplitHostPort(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      return std::nullopt;  // bare IPv6 needs brackets
    }
  }
  if (out.host.empty() || port_text.empty() || port_text.size() > 5) {
    return std::nullopt;
  }
  int port = 0;
  auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (res.ec != std::errc() || res.ptr != port_text.data() + port_text.size() || port < 0 ||
      port > 65535) {
    return std::nullopt;
  }
  out.port = port;
  return out;
}

}  // namespace p402::http::internal
