#!/usr/bin/env python3
"""The Python grpcio peer of bench/cli/grpc_probe.sh: one grpc.health.v1.Health/Check, then exit
(0 SERVING, 1 otherwise). Needs the stubs generated from proto/grpc/health/v1/health.proto as
top-level `health_pb2`/`health_pb2_grpc` on PYTHONPATH (grpc_probe.sh makes them once).

  grpc_check_py.py 127.0.0.1:50051 [service]
"""
import sys

import grpc
import health_pb2
import health_pb2_grpc

with grpc.insecure_channel(sys.argv[1]) as channel:
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=sys.argv[2] if len(sys.argv) > 2
                                                         else ""), timeout=1.0)
    except grpc.RpcError as e:
        print(f"rpc failed: {e.code()}", file=sys.stderr)
        sys.exit(3)
sys.exit(0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1)
