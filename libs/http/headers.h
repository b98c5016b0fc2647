// File: libs/http/headers.h
// Header fields shared by the HTTP server and client: an ordered list of (name, value) pairs with
// case-insensitive lookup. Names keep the spelling they arrived with; duplicates are allowed
// (Add) and Set replaces every field of a name. No Beast types: safe to include anywhere.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p402::http {

// ASCII case-insensitive equality (header names, tokens such as "chunked").
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;
  using const_iterator = std::vector<Field>::const_iterator;

  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field (keeps existing fields of the same name).
  void Add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  // Replaces every field named `name` (case-insensitive) by one field, appended at the end.
  void Set(std::string_view name, std::string value);
  // Removes every field named `name`; returns true if one was removed.
  bool Remove(std::string_view name);
  // Value of the first field named `name`, or nullopt. The view is valid until the next mutation.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }
  // Values of every field named `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;

  void Reserve(size_t n) { fields_.reserve(n); }
  void Clear() { fields_.clear(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

}  // namespace p402::http
