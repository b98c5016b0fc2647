#include "tools/p402ctl/table.h"

#include <algorithm>

namespace p402::ctl {
namespace {

void Pad(std::string& out, size_t n) { out.append(n, ' '); }

}  // namespace

size_t DisplayWidth(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

std::string Sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      c = ' ';
    }
  }
  return out;
}

std::string Truncate(std::string_view s, size_t max_width) {
  if (DisplayWidth(s) <= max_width) {
    return std::string(s);
  }
  const size_t keep = max_width > 3 ? max_width - 3 : 0;
  size_t points = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (points == keep) {
        break;
      }
      ++points;
    }
  }
  return std::string(s.substr(0, i)) + "...";
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) {
    cell = Sanitize(cell);
  }
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(columns_.size(), 0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const auto& row : rows_) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const size_t gap = widths[c] - DisplayWidth(cells[c]);
      const bool last = c + 1 == columns_.size();
      if (c > 0) {
        text += "  ";
      }
      if (columns_[c].align == Align::kRight) {
        Pad(text, gap);
        text += cells[c];
      } else {
        text += cells[c];
        if (!last) {
          Pad(text, gap);
        }
      }
    }
    // Trailing blanks come only from empty trailing cells; drop them.
    text.erase(text.find_last_not_of(' ') + 1);
    out += text;
    out += '\n';
  };
  std::vector<std::string> headers;
  for (const Column& column : columns_) {
    headers.push_back(Sanitize(column.header));
  }
  line(headers);
  for (const auto& row : rows_) {
    line(row);
  }
  return out;
}

std::string RenderKeyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) {
    width = std::max(width, DisplayWidth(key));
  }
  std::string out;
  for (const auto& [key, value] : rows) {
    std::string k = Sanitize(key);
    std::string v = Sanitize(value);
    out += k;
    if (!v.empty()) {
      Pad(out, width - DisplayWidth(k) + 2);
      out += v;
    }
    out += '\n';
  }
  return out;
}

}  // namespace p402::ctl
