// File: libs/http/sse.h
// Server-Sent Events (text/event-stream) helpers: formatting events for our own streams, and an
// incremental parser for provider streams (the router feeds it bytes exactly as they arrive).
// Parsing follows the WHATWG "event stream interpretation" rules: CRLF, LF and CR line ends (also
// split across chunks), "field: value" with one optional space, comments (":..."), multi-line data
// joined with "\n", events dispatched on a blank line, a leading BOM ignored. No Beast types.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace p402::http {

struct SseEvent {
  std::string event;  // the "event:" field; empty when the stream gave none ("message")
  std::string data;   // data lines joined by '\n' (no trailing newline)
  std::string id;     // the "id:" field of this event, if any
  std::optional<int64_t> retry;  // the "retry:" field, if any (digits only)
};

// "event: <event>\n" (when given) + "data: <line>\n" per line of `data` + "\n". Lines of `data`
// are split on CRLF, LF and CR so the result always parses back to the same data.
std::string FormatSseEvent(std::string_view data,
                           std::optional<std::string_view> event = std::nullopt);
// Appends the same to `out` (no temporary string).
void AppendSseEvent(std::string& out, std::string_view data,
                    std::optional<std::string_view> event = std::nullopt);
// ": <text>\n\n" — a comment, typically a keep-alive that clients ignore.
std::string FormatSseComment(std::string_view text);

// Incremental parser. Not thread-safe (one per stream).
class SseParser {
 public:
  // `max_event_bytes` bounds the memory one event (or one unterminated line) may use.
  explicit SseParser(size_t max_event_bytes = 16 * 1024 * 1024)
      : max_event_bytes_(max_event_bytes) {}

  // Consumes `chunk` (any split of the stream) and appends every event it completes to `out`.
  // Errors: ResourceExhausted when an event exceeds max_event_bytes (the parser then stays
  // failed and ignores further input).
  absl::Status Feed(std::string_view chunk, std::vector<SseEvent>& out);

  // True when bytes of an unfinished event are buffered: at end of stream this means the stream
  // was cut mid-event (the spec says the partial event is discarded, and so do we).
  bool has_partial() const;

 private:
  void ProcessLine(std::string_view line, std::vector<SseEvent>& out);

  size_t max_event_bytes_;
  std::string line_;        // unterminated line carried between chunks
  bool after_cr_ = false;   // last byte seen was CR: a following LF belongs to it
  size_t bom_matched_ = 0;  // leading BOM bytes seen; 3 once past the start
  bool has_fields_ = false; // the pending event has seen a field
  bool has_data_ = false;
  bool failed_ = false;
  SseEvent pending_;
};

}  // namespace p402::http
