// File: libs/common/strings.h
// Converters between std::string_view and absl::string_view. Debian's Abseil is built with
// ABSL_OPTION_USE_STD_STRING_VIEW=0, so the two are distinct types; use these at every Abseil call
// site (StrCat, Status constructors, Status::message()).
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace p402 {

inline absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view ToStd(absl::string_view s) { return {s.data(), s.size()}; }
inline std::string ToString(absl::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace p402
