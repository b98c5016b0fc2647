// ParseRedisUrl (declared in redis_counter_store.h), apart from the store: it needs no hiredis.
#include "services/policy/adapters/redis_counter_store.h"

#include <string>
#include <string_view>
#include <utility>

#include "libs/common/status_util.h"

namespace p402::policy {
namespace {

bool AllDigits(std::string_view s) {
  return !s.empty() && s.size() <= 9 && s.find_first_not_of("0123456789") == std::string_view::npos;
}

absl::StatusOr<std::string> PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= s.size()) {
      return InvalidArgument("redis url: bad percent-encoding in the credentials");
    }
    int hi = hex(s[i + 1]);
    int lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) {
      return InvalidArgument("redis url: bad percent-encoding in the credentials");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

absl::StatusOr<RedisOptions> ParseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) {
    return InvalidArgument("redis url: rediss:// (TLS) is not supported; use redis://");
  }
  if (url.rfind(kScheme, 0) != 0) {
    return InvalidArgument("redis url must look like redis://[:password@]host:port[/db]");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  RedisOptions o;
  size_t at = authority.rfind('@');
  std::string_view hostport = authority;
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("redis url: credentials must be [user]:password@");
    }
    auto user = PercentDecode(userinfo.substr(0, colon));
    auto password = PercentDecode(userinfo.substr(colon + 1));
    if (!user.ok() || !password.ok()) {
      return !user.ok() ? user.status() : password.status();
    }
    o.username = std::move(*user);
    o.password = std::move(*password);
  }
  std::string_view port_text;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return InvalidArgument("redis url: unterminated [ipv6] host");
    }
    o.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && after[0] != ':') {
      return InvalidArgument("redis url: unexpected text after the host");
    }
    port_text = after.empty() ? "" : after.substr(1);
    if (after == ":") {
      return InvalidArgument("redis url: empty port");
    }
  } else {
    size_t colon = hostport.find(':');
    o.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) {
        return InvalidArgument("redis url: empty port");
      }
    }
  }
  if (o.host.empty()) {
    return InvalidArgument("redis url: empty host");
  }
  if (!port_text.empty()) {
    if (!AllDigits(port_text) || std::stoi(std::string(port_text)) < 1 ||
        std::stoi(std::string(port_text)) > 65535) {
      return InvalidArgument("redis url: port must be 1..65535");
    }
    o.port = std::stoi(std::string(port_text));
  }
  if (!path.empty()) {
    if (!AllDigits(path)) {
      return InvalidArgument("redis url: the path must be a database number (/0)");
    }
    o.db = std::stoi(std::string(path));
  }
  return o;
}

}  // namespace p402::policy
