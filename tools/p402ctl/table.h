// File: tools/p402ctl/table.h
// Plain-text layout for p402ctl output: aligned tables for lists and key/value blocks for single
// objects. Widths count UTF-8 code points, so names with accents still line up. Cell text comes
// from the server (user-chosen names), so control characters (newlines, ESC sequences) are
// replaced by a space: output can never move the cursor or forge extra lines.
// Pure functions and a value type; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p402::ctl {

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;
};

class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // Missing trailing cells render empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // One line per row after a header line; columns separated by two spaces and padded to the
  // widest cell (the last column is not padded when left-aligned, so lines carry no trailing
  // blanks). Every line ends with '\n'.
  std::string Render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "key    value" lines, keys padded to the widest key (two spaces after it). Every line ends
// with '\n'.
std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows);

// Number of UTF-8 code points in `s` (continuation bytes are not counted).
size_t DisplayWidth(std::string_view s);
// `s` with every ASCII control character (and DEL) replaced by a space.
std::string Sanitize(std::string_view s);
// `s` cut to at most `max_width` code points, ending in "..." when cut.
std::string Truncate(std::string_view s, size_t max_width);

}  // namespace p402::ctl
