#include "libs/metrics/prometheus_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>

#include "libs/metrics/family.h"

namespace p402::metrics {
namespace {

void AppendEscaped(std::string& out, std::string_view v, bool escape_quote) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '"':
        out += escape_quote ? "\\\"" : "\"";
        break;
      default:
        out += c;
    }
  }
}

// `name{l1="v1",l2="v2"[,extra_name="extra_value"]}`; no braces when there are
// no labels at all.
void AppendSeries(std::string& out, std::string_view name, std::string_view suffix,
                  const FamilyBase& family, std::span<const std::string> values,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  out += suffix;
  const auto& names = family.label_names();
  if (names.empty() && extra_name.empty()) {
    return;
  }
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*escape_quote=*/true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += extra_name;
    out += "=\"";
    out += extra_value;  // only le values, which FormatValue makes safe
    out += '"';
  }
  out += '}';
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, res.ptr);
}

void AppendLine(std::string& out, std::string_view value) {
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string FormatValue(double v) {
  if (std::isnan(v)) {
    return "NaN";
  }
  if (std::isinf(v)) {
    return v > 0 ? "+Inf" : "-Inf";
  }
  char buf[64];
  std::to_chars_result res;
  double mag = std::fabs(v);
  if (mag < 1e15 && v == std::trunc(v)) {
    res = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
  } else if (mag >= 1e-4 && mag < 1e21) {
    res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  } else {
    res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  }
  return std::string(buf, res.ptr);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  AppendEscaped(out, v, /*escape_quote=*/true);
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  AppendEscaped(out, help, /*escape_quote=*/false);
  return out;
}

namespace internal {

void AppendHeader(std::string& out, const FamilyBase& family) {
  out += "# HELP ";
  out += family.name();
  out += ' ';
  AppendEscaped(out, family.help(), /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += TypeName(family.type());
  out += '\n';
}

void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Counter& c) {
  AppendSeries(out, family.name(), "", family, label_values);
  double frac = c.FracValue();
  if (frac == 0) {
    // Integer-only counters print exactly, even past 2^53.
    out += ' ';
    AppendUint(out, c.IntValue());
    out += '\n';
  } else {
    AppendLine(out, FormatValue(static_cast<double>(c.IntValue()) + frac));
  }
}

void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Gauge& g) {
  AppendSeries(out, family.name(), "", family, label_values);
  AppendLine(out, FormatValue(g.Value()));
}

void AppendSamples(std::string& out, const FamilyBase& family,
                   std::span<const std::string> label_values, const Histogram& h) {
  Histogram::Snapshot s = h.Read();
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    std::string le = i < s.bounds.size() ? FormatValue(s.bounds[i]) : "+Inf";
    AppendSeries(out, family.name(), "_bucket", family, label_values, "le", le);
    out += ' ';
    AppendUint(out, s.cumulative[i]);
    out += '\n';
  }
  AppendSeries(out, family.name(), "_sum", family, label_values);
  AppendLine(out, FormatValue(s.sum));
  AppendSeries(out, family.name(), "_count", family, label_values);
  out += ' ';
  AppendUint(out, s.count);
  out += '\n';
}

}  // namespace internal
}  // namespace p402::metrics
