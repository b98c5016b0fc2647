#include "libs/http/internal/wire.h"

#include <charconv>

#include "libs/http/response.h"

namespace p402::http::internal {
namespace {

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

void AppendFields(std::string& out, const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (IsHopByHopField(name) || !IsSafeField(name, value)) {
      continue;
    }
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
}

}  // namespace

bool IsHopByHopField(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive") ||
         EqualsIgnoreCase(name, "upgrade") || EqualsIgnoreCase(name, "te") ||
         EqualsIgnoreCase(name, "trailer");
}

bool IsSafeField(std::string_view name, std::string_view value) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!IsTokenChar(c)) {
      return false;
    }
  }
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return false;
    }
  }
  return true;
}

void AppendResponseHead(std::string& out, int status, const Headers& headers, int version,
                        BodyFraming framing, uint64_t content_length, bool keep_alive) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  if (status < 100 || status > 999) {
    status = 500;
  }
  AppendUint(out, static_cast<uint64_t>(status));
  out.push_back(' ');
  out.append(ReasonPhrase(status));
  out.append("\r\n");
  AppendFields(out, headers);
  bool no_body_status = status < 200 || status == 204 || status == 304;
  if (!no_body_status) {
    switch (framing) {
      case BodyFraming::kContentLength:
        out.append("Content-Length: ");
        AppendUint(out, content_length);
        out.append("\r\n");
        break;
      case BodyFraming::kChunked:
        out.append("Transfer-Encoding: chunked\r\n");
        break;
      case BodyFraming::kCloseDelimited:
        break;
    }
  }
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (version == 10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

std::string ChunkPrefix(size_t size, bool first) {
  char buf[24];
  size_t n = 0;
  if (!first) {
    buf[n++] = '\r';
    buf[n++] = '\n';
  }
  auto res = std::to_chars(buf + n, buf + sizeof(buf) - 2, static_cast<uint64_t>(size), 16);
  n = static_cast<size_t>(res.ptr - buf);
  buf[n++] = '\r';
  buf[n++] = '\n';
  return std::string(buf, n);
}

std::string_view ChunkTrailer(bool any_chunk) {
  return any_chunk ? std::string_view("\r\n0\r\n\r\n") : std::string_view("0\r\n\r\n");
}

void AppendRequestHead(std::string& out, std::string_view method, std::string_view target,
                       std::string_view host_header, const Headers& headers, size_t body_size,
                       bool send_length) {
  out.append(method);
  out.push_back(' ');
  out.append(target.empty() ? std::string_view("/") : target);
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(host_header);
  out.append("\r\n");
  for (const auto& [name, value] : headers) {
    if (IsHopByHopField(name) || EqualsIgnoreCase(name, "host") || !IsSafeField(name, value)) {
      continue;
    }
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
  if (send_length) {
    out.append("Content-Length: ");
    AppendUint(out, body_size);
    out.append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace p402::http::internal
