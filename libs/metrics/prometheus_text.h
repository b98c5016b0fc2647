// File: libs/metrics/prometheus_text.h
// Pieces of the Prometheus text exposition format 0.0.4 that
// Registry::RenderPrometheusText uses (the per-type sample writers are declared
// in family.h), exposed for tests and for text_lookup. Format reference:
// prometheus.io/docs/instrumenting/exposition_formats.
#pragma once

#include <string>
#include <string_view>

namespace p402::metrics {

// A sample value as Prometheus writes it: "NaN", "+Inf", "-Inf"; integral
// values below 1e15 as plain integers ("42", "-3"); other values in the
// shortest form that reads back to the same double, fixed notation for
// magnitudes in [1e-4, 1e21) ("0.25") and exponent notation otherwise
// ("5e-05"), like Go's strconv 'g' format used by the reference client.
std::string FormatValue(double v);

// Escapes a label value for use between double quotes: backslash, double quote and newline
// become \\, \" and \n. Every other byte passes through (the format is UTF-8 and Prometheus
// accepts any).
std::string EscapeLabelValue(std::string_view v);

// Escapes # HELP text: backslash and newline become \\ and \n.
std::string EscapeHelp(std::string_view help);

}  // namespace p402::metrics
