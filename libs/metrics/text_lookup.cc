#include "libs/metrics/text_lookup.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace p402::metrics {
namespace {

struct Series {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by label name
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

void SkipSpaces(std::string_view s, size_t& pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) {
    ++pos;
  }
}

// Parses `name` or `name{a="x",b="y"}` starting at `pos`; leaves `pos` just
// past it.
std::optional<Series> ParseSeries(std::string_view s, size_t& pos) {
  Series out;
  size_t start = pos;
  while (pos < s.size() && IsNameChar(s[pos])) {
    ++pos;
  }
  if (pos == start) {
    return std::nullopt;
  }
  out.name = std::string(s.substr(start, pos - start));
  if (pos >= s.size() || s[pos] != '{') {
    return out;
  }
  ++pos;
  while (true) {
    SkipSpaces(s, pos);
    if (pos < s.size() && s[pos] == '}') {
      ++pos;
      break;
    }
    size_t name_start = pos;
    while (pos < s.size() && IsNameChar(s[pos])) {
      ++pos;
    }
    if (pos == name_start) {
      return std::nullopt;
    }
    std::string label(s.substr(name_start, pos - name_start));
    SkipSpaces(s, pos);
    if (pos + 1 >= s.size() || s[pos] != '=' || s[pos + 1] != '"') {
      return std::nullopt;
    }
    pos += 2;
    std::string value;
    bool closed = false;
    while (pos < s.size() && s[pos] != '\n') {
      char c = s[pos++];
      if (c == '"') {
        closed = true;
        break;
      }
      if (c == '\\') {
        if (pos >= s.size()) {
          return std::nullopt;
        }
        char e = s[pos++];
        value += e == 'n' ? '\n' : e;  // \\ -> \, \" -> ", \n -> newline
      } else {
        value += c;
      }
    }
    if (!closed) {
      return std::nullopt;
    }
    out.labels.emplace_back(std::move(label), std::move(value));
    SkipSpaces(s, pos);
    if (pos < s.size() && s[pos] == ',') {
      ++pos;
    } else if (pos >= s.size() || s[pos] != '}') {
      return std::nullopt;
    }
  }
  std::sort(out.labels.begin(), out.labels.end());
  return out;
}

std::optional<double> ParseValue(std::string_view v) {
  if (v == "+Inf" || v == "Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (v == "-Inf") {
    return -std::numeric_limits<double>::infinity();
  }
  if (v == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (!v.empty() && v[0] == '+') {
    v.remove_prefix(1);
  }
  double d = 0;
  auto res = std::from_chars(v.data(), v.data() + v.size(), d);
  if (res.ec != std::errc() || res.ptr != v.data() + v.size()) {
    return std::nullopt;
  }
  return d;
}

// Calls `fn(series, value)` for every well-formed sample line.
template <typename Fn>
void ForEachSample(std::string_view text, Fn&& fn) {
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string_view::npos) {
      line_end = text.size();
    }
    std::string_view line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    size_t pos = 0;
    SkipSpaces(line, pos);
    if (pos >= line.size() || line[pos] == '#') {
      continue;
    }
    std::optional<Series> series = ParseSeries(line, pos);
    if (!series || pos >= line.size() || (line[pos] != ' ' && line[pos] != '\t')) {
      continue;
    }
    SkipSpaces(line, pos);
    size_t value_end = pos;
    while (value_end < line.size() && line[value_end] != ' ' && line[value_end] != '\t' &&
           line[value_end] != '\r') {
      ++value_end;
    }
    std::optional<double> value = ParseValue(line.substr(pos, value_end - pos));
    if (value) {
      fn(*series, *value);
    }
  }
}

std::optional<Series> ParseSelector(std::string_view selector) {
  size_t pos = 0;
  std::optional<Series> series = ParseSeries(selector, pos);
  if (!series || pos != selector.size()) {
    return std::nullopt;
  }
  return series;
}

}  // namespace

std::optional<double> FindSample(std::string_view exposition, std::string_view name_with_labels) {
  std::optional<Series> want = ParseSelector(name_with_labels);
  if (!want) {
    return std::nullopt;
  }
  std::optional<double> found;
  ForEachSample(exposition, [&](const Series& got, double value) {
    if (!found && got.name == want->name && got.labels == want->labels) {
      found = value;
    }
  });
  return found;
}

std::optional<double> SumSamples(std::string_view exposition, std::string_view name_with_labels) {
  std::optional<Series> want = ParseSelector(name_with_labels);
  if (!want) {
    return std::nullopt;
  }
  std::optional<double> sum;
  ForEachSample(exposition, [&](const Series& got, double value) {
    if (got.name != want->name) {
      return;
    }
    // Both label lists are sorted, so subset is std::includes.
    if (std::includes(got.labels.begin(), got.labels.end(), want->labels.begin(),
                      want->labels.end())) {
      sum = sum.value_or(0) + value;
    }
  });
  return sum;
}

}  // namespace p402::metrics
