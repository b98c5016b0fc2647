# Every find_package of the project, once (house style 2.4).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)          # FindProtobuf module: Debian ships pkg-config only
find_package(gRPC CONFIG REQUIRED)      # gRPC::grpc++, gRPC::grpc_cpp_plugin
find_package(absl CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)       # header-only Beast/Asio
find_package(OpenSSL REQUIRED)
find_package(PostgreSQL REQUIRED)
if(BUILD_TESTING)
  find_package(Catch2 REQUIRED)
  include(Catch)
endif()
