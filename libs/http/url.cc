#include "libs/http/url.h"

#include <cctype>
#include <charconv>

#include "libs/common/status_util.h"

namespace p402::http {

std::string Url::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if ((tls() && port != 443) || (!tls() && port != 80)) {
    h += ":" + std::to_string(port);
  }
  return h;
}

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument("invalid URL '" + std::string(url.substr(0, 200)) + "': " +
                           std::string(why));
  };
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return bad("contains whitespace or control characters");
    }
  }
  Url out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return bad("missing scheme");
  }
  for (char c : url.substr(0, sep)) {
    out.scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (out.scheme != "http" && out.scheme != "https") {
    return bad("scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view tail =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user-info is not supported");
  }
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad("unterminated IPv6 literal");
    }
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return bad("junk after IPv6 literal");
      }
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    }
  }
  if (host.empty()) {
    return bad("empty host");
  }
  for (char c : host) {
    out.host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  out.port = out.tls() ? 443 : 80;
  if (!port_text.empty()) {
    int port = 0;
    auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (res.ec != std::errc() || res.ptr != port_text.data() + port_text.size() || port <= 0 ||
        port > 65535) {
      return bad("invalid port");
    }
    out.port = port;
  }
  size_t hash = tail.find('#');
  if (hash != std::string_view::npos) {
    tail = tail.substr(0, hash);
  }
  if (tail.empty()) {
    out.target = "/";
  } else if (tail.front() == '?') {
    out.target = "/" + std::string(tail);
  } else {
    out.target = std::string(tail);
  }
  return out;
}

}  // namespace p402::http
