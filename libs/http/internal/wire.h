// File: libs/http/internal/wire.h
// Internal to libs/http. Hand-written HTTP/1.1 serialisation of response and request heads and of
// chunk framing: cheaper than Beast's serializer and lets bodies travel as separate buffers
// (gather writes, no body copies). Field names/values containing CR, LF or NUL are dropped, which
// closes response splitting through handler-supplied headers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "libs/http/headers.h"

namespace p402::http::internal {

enum class BodyFraming {
  kContentLength,  // Content-Length: content_length
  kChunked,        // Transfer-Encoding: chunked
  kCloseDelimited  // no length; the connection closes after the body (HTTP/1.0 streaming)
};

// True for a field the framing layer owns (Content-Length, Transfer-Encoding, Connection,
// Keep-Alive, Upgrade, TE, Trailer); such fields given by callers are skipped.
bool IsHopByHopField(std::string_view name);
// True when name is a token and neither contains CR, LF or NUL.
bool IsSafeField(std::string_view name, std::string_view value);

// Appends a status line plus headers plus the blank line. `version` 10 or 11. For 1xx, 204 and 304
// no length field is written.
void AppendResponseHead(std::string& out, int status, const Headers& headers, int version,
                        BodyFraming framing, uint64_t content_length, bool keep_alive);

// Chunk framing that keeps the payload in its own buffer: prefix + payload, where the prefix of
// every chunk but the first carries the CRLF that ends the previous chunk.
std::string ChunkPrefix(size_t size, bool first);
// Terminator of a chunked body ("0\r\n\r\n", preceded by the last chunk's CRLF if any).
std::string_view ChunkTrailer(bool any_chunk);

// Appends "METHOD target HTTP/1.1\r\nHost: host\r\n" + headers + Content-Length (when
// `has_body` or the method normally carries one) + blank line.
void AppendRequestHead(std::string& out, std::string_view method, std::string_view target,
                       std::string_view host_header, const Headers& headers, size_t body_size,
                       bool send_length);

}  // namespace p402::http::internal
