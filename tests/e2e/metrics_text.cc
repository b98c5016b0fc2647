#include "tests/e2e/metrics_text.h"

#include <cstdlib>
#include <string>

namespace p402::e2e {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

// Parses `{k="v",...}` starting at line[pos] == '{'; advances pos past '}'. False if malformed.
bool ParseLabels(std::string_view line, size_t& pos, std::map<std::string, std::string>& out) {
  ++pos;  // '{'
  while (pos < line.size()) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == ',')) {
      ++pos;
    }
    if (pos < line.size() && line[pos] == '}') {
      ++pos;
      return true;
    }
    size_t key_start = pos;
    while (pos < line.size() && IsNameChar(line[pos])) {
      ++pos;
    }
    std::string key(line.substr(key_start, pos - key_start));
    if (key.empty() || pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"') {
      return false;
    }
    pos += 2;
    std::string value;
    while (pos < line.size() && line[pos] != '"') {
      if (line[pos] == '\\' && pos + 1 < line.size()) {
        ++pos;
        value += line[pos] == 'n' ? '\n' : line[pos];
      } else {
        value += line[pos];
      }
      ++pos;
    }
    if (pos >= line.size()) {
      return false;
    }
    ++pos;  // closing quote
    out[key] = value;
  }
  return false;
}

}  // namespace

std::vector<MetricSample> ParseMetrics(std::string_view text) {
  std::vector<MetricSample> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') {
      continue;
    }
    MetricSample s;
    size_t pos = 0;
    while (pos < line.size() && IsNameChar(line[pos])) {
      ++pos;
    }
    s.name = std::string(line.substr(0, pos));
    if (s.name.empty()) {
      continue;
    }
    if (pos < line.size() && line[pos] == '{' && !ParseLabels(line, pos, s.labels)) {
      continue;
    }
    while (pos < line.size() && line[pos] == ' ') {
      ++pos;
    }
    std::string number(line.substr(pos, line.find(' ', pos) - pos));
    if (number == "+Inf" || number == "-Inf" || number == "NaN") {
      continue;
    }
    char* parse_end = nullptr;
    s.value = std::strtod(number.c_str(), &parse_end);
    if (number.empty() || parse_end != number.c_str() + number.size()) {
      continue;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> MetricValue(std::string_view text, std::string_view name,
                                  const std::map<std::string, std::string>& labels) {
  std::optional<double> sum;
  for (const MetricSample& s : ParseMetrics(text)) {
    if (s.name != name) {
      continue;
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) {
      sum = sum.value_or(0) + s.value;
    }
  }
  return sum;
}

double MetricValueOr0(std::string_view text, std::string_view name,
                      const std::map<std::string, std::string>& labels) {
  return MetricValue(text, name, labels).value_or(0);
}

}  // namespace p402::e2e
