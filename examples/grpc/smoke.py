#!/usr/bin/env python3
"""examples/grpc end to end with Python grpcio (Debian python3-grpcio): Check answers SERVING
for "", liveness, readiness and the alias; a Watch stream turns NOT_SERVING at SIGTERM and then
ends; the example exits 0. Usage: smoke.py <example_grpc binary>"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

PROTO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto", "grpc",
                         "health", "v1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out = tempfile.mkdtemp()
    if protoc.main(["protoc", "-I" + PROTO_DIR, "--python_out=" + out, "--grpc_python_out=" + out,
                    os.path.join(PROTO_DIR, "health.proto")]) != 0:
        print("protoc failed")
        return 1
    sys.path.insert(0, out)
    import health_pb2
    import health_pb2_grpc

    port = free_port()
    proc = subprocess.Popen([sys.argv[1], str(port)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if "serving" not in line:
            print("example did not start:", line)
            return 1
        stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        serving = health_pb2.HealthCheckResponse.SERVING
        for name in ("", "liveness", "readiness", "startup", "example.Orders", "backlog"):
            status = None
            for _ in range(50):  # the first result of the check comes within its first run
                status = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=2).status
                if status == serving:
                    break
                time.sleep(0.1)
            if status != serving:
                print(f"Check({name!r}) = {status}, want SERVING")
                return 1
        try:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=2)
            print("Check(unknown) answered, want NOT_FOUND")
            return 1
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                print("Check(unknown):", e.code())
                return 1
        stream = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=15)
        first = next(stream)
        if first.status != serving:
            print("Watch first message:", first.status)
            return 1
        proc.send_signal(signal.SIGTERM)
        statuses = [m.status for m in stream]
        if not statuses or statuses[-1] != health_pb2.HealthCheckResponse.NOT_SERVING:
            print("Watch after SIGTERM:", statuses)
            return 1
        code = proc.wait(timeout=15)
        if code != 0:
            print("example exited", code)
            return 1
        print("ok")
        return 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
