#include "libs/http/sse.h"

#include <charconv>

#include "libs/common/status_util.h"

namespace p402::http {
namespace {

// Calls fn(line) for each line of `data`, split on CRLF, LF or CR.
template <class Fn>
void ForEachLine(std::string_view data, Fn&& fn) {
  size_t start = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    char c = data[i];
    if (c == '\n' || c == '\r') {
      fn(data.substr(start, i - start));
      if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
        ++i;
      }
      start = i + 1;
    }
  }
  fn(data.substr(start));
}

}  // namespace

void AppendSseEvent(std::string& out, std::string_view data,
                    std::optional<std::string_view> event) {
  if (event && !event->empty()) {
    out.append("event: ");
    // An event name cannot carry a line break; keep only its first line.
    std::string_view name = *event;
    size_t cut = name.find_first_of("\r\n");
    out.append(name.substr(0, cut));
    out.push_back('\n');
  }
  ForEachLine(data, [&](std::string_view line) {
    out.append("data: ");
    out.append(line);
    out.push_back('\n');
  });
  out.push_back('\n');
}

std::string FormatSseEvent(std::string_view data, std::optional<std::string_view> event) {
  std::string out;
  out.reserve(data.size() + 16 + (event ? event->size() + 8 : 0));
  AppendSseEvent(out, data, event);
  return out;
}

std::string FormatSseComment(std::string_view text) {
  std::string out;
  ForEachLine(text, [&](std::string_view line) {
    out.append(": ");
    out.append(line);
    out.push_back('\n');
  });
  out.push_back('\n');
  return out;
}

bool SseParser::has_partial() const { return !line_.empty() || has_fields_; }

absl::Status SseParser::Feed(std::string_view chunk, std::vector<SseEvent>& out) {
  if (failed_) {
    return ResourceExhausted("SSE parser: event too large");
  }
  // A UTF-8 BOM at the very start of the stream is skipped (it may arrive split).
  static constexpr std::string_view kBom = "\xEF\xBB\xBF";
  while (bom_matched_ < kBom.size() && !chunk.empty()) {
    if (chunk.front() != kBom[bom_matched_]) {
      bom_matched_ = kBom.size();
      break;
    }
    ++bom_matched_;
    chunk.remove_prefix(1);
  }
  size_t start = 0;
  for (size_t i = 0; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (c != '\n' && c != '\r') {
      after_cr_ = false;
      continue;
    }
    if (c == '\n' && after_cr_ && i == start) {
      // LF completing a CRLF whose CR ended the previous line.
      after_cr_ = false;
      start = i + 1;
      continue;
    }
    after_cr_ = c == '\r';
    std::string_view piece = chunk.substr(start, i - start);
    if (line_.empty()) {
      ProcessLine(piece, out);
    } else {
      line_.append(piece);
      ProcessLine(line_, out);
      line_.clear();
    }
    start = i + 1;
  }
  if (start < chunk.size()) {
    line_.append(chunk.substr(start));
  }
  if (line_.size() + pending_.data.size() > max_event_bytes_) {
    failed_ = true;
    line_.clear();
    pending_ = SseEvent{};
    return ResourceExhausted("SSE parser: event larger than " + std::to_string(max_event_bytes_) +
                             " bytes");
  }
  return absl::OkStatus();
}

void SseParser::ProcessLine(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_) {
      out.push_back(std::move(pending_));
    }
    pending_ = SseEvent{};
    has_fields_ = false;
    has_data_ = false;
    return;
  }
  if (line.front() == ':') {
    return;  // comment
  }
  has_fields_ = true;
  std::string_view field = line;
  std::string_view value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (field == "data") {
    if (has_data_) {
      pending_.data.push_back('\n');
    }
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      pending_.id.assign(value);
    }
  } else if (field == "retry") {
    int64_t v = 0;
    auto res = std::from_chars(value.data(), value.data() + value.size(), v);
    if (!value.empty() && res.ec == std::errc() && res.ptr == value.data() + value.size() &&
        value.front() != '-') {
      pending_.retry = v;
    }
  }
  // Unknown fields are ignored.
}

}  // namespace p402::http
