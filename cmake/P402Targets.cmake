# Target helpers in the spirit of absl_cc_library / absl_cc_test.
#   p402_cc_library(NAME json SRCS a.cc HDRS a.h DEPS p402::common)  -> p402_json, alias p402::json
#   p402_cc_binary(NAME p402-router SRCS main.cc DEPS p402_router_server)
#   p402_cc_test(NAME json_test SRCS a_test.cc DEPS p402::json LABELS unit)
include(CMakeParseArguments)

function(p402_cc_library)
  cmake_parse_arguments(P "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target p402_${P_NAME})
  if(P_SRCS)
    add_library(${target} STATIC ${P_SRCS} ${P_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${P_DEPS})
    target_compile_options(${target} PRIVATE ${P402_WARNINGS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${P_DEPS})
  endif()
  add_library(p402::${P_NAME} ALIAS ${target})
endfunction()

function(p402_cc_binary)
  cmake_parse_arguments(P "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${P_NAME} ${P_SRCS})
  target_link_libraries(${P_NAME} PRIVATE ${P_DEPS})
  target_compile_options(${P_NAME} PRIVATE ${P402_WARNINGS})
endfunction()

function(p402_cc_test)
  cmake_parse_arguments(P "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${P_NAME} ${P_SRCS})
  target_link_libraries(${P_NAME} PRIVATE ${P_DEPS} p402_test_support Catch2::Catch2WithMain)
  target_compile_options(${P_NAME} PRIVATE ${P402_WARNINGS})
  if(NOT P_LABELS)
    set(P_LABELS unit)
  endif()
  # Tests run with the build tree as working directory so they find the built binaries.
  catch_discover_tests(${P_NAME} PROPERTIES LABELS "${P_LABELS}"
                       WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
endfunction()

# Generates C++ for every .proto in PROTOS (paths relative to proto/), in two targets:
# p402_proto_messages (protobuf only) and p402_proto_grpc (plus grpc++).
function(p402_proto_library)
  cmake_parse_arguments(P "" "" "PROTOS" ${ARGN})
  set(gen ${PROJECT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${gen})
  set(msg_srcs)
  set(grpc_srcs)
  set(all_protos)
  foreach(p ${P_PROTOS})
    list(APPEND all_protos ${CMAKE_CURRENT_SOURCE_DIR}/${p})
  endforeach()
  foreach(p ${P_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${p})
    set(out ${gen}/${base}.pb.cc ${gen}/${base}.pb.h ${gen}/${base}.grpc.pb.cc ${gen}/${base}.grpc.pb.h)
    add_custom_command(
      OUTPUT ${out}
      COMMAND protobuf::protoc
        --proto_path=${CMAKE_CURRENT_SOURCE_DIR}
        --cpp_out=${gen} --grpc_out=${gen}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${CMAKE_CURRENT_SOURCE_DIR}/${p}
      DEPENDS ${all_protos} protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "protoc ${p}")
    list(APPEND msg_srcs ${gen}/${base}.pb.cc)
    list(APPEND grpc_srcs ${gen}/${base}.grpc.pb.cc)
  endforeach()
  add_library(p402_proto_messages STATIC ${msg_srcs})
  target_include_directories(p402_proto_messages PUBLIC ${gen})
  target_link_libraries(p402_proto_messages PUBLIC protobuf::libprotobuf)
  add_library(p402_proto_grpc STATIC ${grpc_srcs})
  target_link_libraries(p402_proto_grpc PUBLIC p402_proto_messages gRPC::grpc++)
endfunction()
