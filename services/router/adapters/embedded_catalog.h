// File: services/router/adapters/embedded_catalog.h
// The checked-in catalog (services/router/data/catalog.json), embedded into the binary at build
// time (services/router/CMakeLists.txt generates embedded_catalog.cc from
// embedded_catalog.cc.in). The router uses it unless --catalog names a file.
#pragma once

#include <string_view>

namespace p402::router {

// The JSON text of services/router/data/catalog.json as of the build. Valid for the program's
// lifetime.
std::string_view EmbeddedCatalogJson();

}  // namespace p402::router
