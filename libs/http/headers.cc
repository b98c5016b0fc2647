#include "libs/http/headers.h"

#include <algorithm>

namespace p402::http {
namespace {

inline char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) {
      return false;
    }
  }
  return true;
}

void Headers::Set(std::string_view name, std::string value) {
  std::string owned_name(name);
  Remove(name);
  fields_.emplace_back(std::move(owned_name), std::move(value));
}

bool Headers::Remove(std::string_view name) {
  auto it = std::remove_if(fields_.begin(), fields_.end(),
                           [&](const Field& f) { return EqualsIgnoreCase(f.first, name); });
  bool removed = it != fields_.end();
  fields_.erase(it, fields_.end());
  return removed;
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) {
      return std::string_view(f.second);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> Headers::GetAll(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) {
      out.emplace_back(f.second);
    }
  }
  return out;
}

}  // namespace p402::http
