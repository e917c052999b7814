# gRPC for the grpc.health.v1 server (src/grpc), the grpc check type (src/checks/grpc) and the
# test peers (tests/peers). Debian: libgrpc++-dev, libprotobuf-dev, protobuf-compiler,
# protobuf-compiler-grpc (scripts/install-deps.sh).
#
# Defines vitals_grpc_health_proto: a static library of the code protoc generates from the
# vendored proto/grpc/health/v1/health.proto (messages and the Health service stubs), included as
#   #include "grpc/health/v1/health.grpc.pb.h"
# It links gRPC::grpc++ and protobuf::libprotobuf publicly.
include_guard(GLOBAL)

find_package(gRPC CONFIG REQUIRED)  # finds Protobuf too
find_package(Protobuf REQUIRED)
find_program(VITALS_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

set(vitals_proto_root ${PROJECT_SOURCE_DIR}/proto)
set(vitals_proto_out ${PROJECT_BINARY_DIR}/generated/proto)
set(vitals_health_proto ${vitals_proto_root}/grpc/health/v1/health.proto)
set(vitals_health_generated
    ${vitals_proto_out}/grpc/health/v1/health.pb.h
    ${vitals_proto_out}/grpc/health/v1/health.pb.cc
    ${vitals_proto_out}/grpc/health/v1/health.grpc.pb.h
    ${vitals_proto_out}/grpc/health/v1/health.grpc.pb.cc)
add_custom_command(
  OUTPUT ${vitals_health_generated}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${vitals_proto_out}
  COMMAND protobuf::protoc --proto_path=${vitals_proto_root} --cpp_out=${vitals_proto_out}
          --grpc_out=${vitals_proto_out} --plugin=protoc-gen-grpc=${VITALS_GRPC_CPP_PLUGIN}
          ${vitals_health_proto}
  DEPENDS ${vitals_health_proto}
  COMMENT "protoc: grpc/health/v1/health.proto"
  VERBATIM)

add_library(vitals_grpc_health_proto STATIC ${vitals_health_generated})
set_target_properties(vitals_grpc_health_proto PROPERTIES POSITION_INDEPENDENT_CODE ON)
# Generated code: compiled without our warning flags (protoc's output is not ours to fix).
target_include_directories(vitals_grpc_health_proto SYSTEM PUBLIC
                           $<BUILD_INTERFACE:${vitals_proto_out}>)
set_target_properties(vitals_grpc_health_proto PROPERTIES EXPORT_NAME grpc_health_proto)
target_link_libraries(vitals_grpc_health_proto PUBLIC gRPC::grpc++ protobuf::libprotobuf)
