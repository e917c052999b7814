#!/usr/bin/env python3
"""A grpc.health.v1 server written with Python grpcio, for the `vitals probe grpc://` tests.

Stubs are generated at start from the vendored proto (--proto) with grpc_tools. Listens on
127.0.0.1 (h2c, or TLS with --tls-cert/--tls-key, mTLS with --client-ca), prints `port <N>` once
listening, then reads commands on stdin, one per line:

  set <service> SERVING|NOT_SERVING|UNKNOWN|SERVICE_UNKNOWN   (`-` is the service "")
  last         prints the metadata of the last Check as one JSON line (with its deadline left)
  shutdown     ends it

Unknown services answer NOT_FOUND (as gRPC's own health services do); the service `sleep` sleeps
5 s (for deadline tests). Exits by itself after --lifetime seconds, or when stdin closes.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc

parser = argparse.ArgumentParser()
parser.add_argument("--proto", required=True)
parser.add_argument("--tls-cert")
parser.add_argument("--tls-key")
parser.add_argument("--client-ca")
parser.add_argument("--lifetime", type=float, default=60.0)
args = parser.parse_args()

# `grpc` is grpcio's own package name: generate the stubs as top-level `health_pb2`.
gen = tempfile.mkdtemp(prefix="vitals-grpc-py-")
shutil.copy(args.proto, os.path.join(gen, "health.proto"))
from grpc_tools import protoc  # noqa: E402

if protoc.main(["protoc", "-I" + gen, "--python_out=" + gen, "--grpc_python_out=" + gen,
                os.path.join(gen, "health.proto")]) != 0:
    sys.exit("protoc failed")
sys.path.insert(0, gen)
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

shutil.rmtree(gen, ignore_errors=True)

lock = threading.Lock()
statuses = {"": health_pb2.HealthCheckResponse.SERVING}
last = {}


class Health(health_pb2_grpc.HealthServicer):
    def Check(self, request, context):
        with lock:
            last.clear()
            last["service"] = request.service
            last["metadata"] = {k: v for k, v in context.invocation_metadata()}
            remaining = context.time_remaining()
            last["time_remaining_ms"] = None if remaining is None else int(remaining * 1000)
            status = statuses.get(request.service)
        if request.service == "sleep":
            time.sleep(5)
            return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return health_pb2.HealthCheckResponse(status=status)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
if args.tls_cert:
    with open(args.tls_key, "rb") as f:
        key = f.read()
    with open(args.tls_cert, "rb") as f:
        cert = f.read()
    root = None
    if args.client_ca:
        with open(args.client_ca, "rb") as f:
            root = f.read()
    creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=root,
                                        require_client_auth=root is not None)
    port = server.add_secure_port("127.0.0.1:0", creds)
else:
    port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(f"port {port}", flush=True)

done = threading.Event()


def read_commands():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "shutdown":
            break
        if words[0] == "set" and len(words) == 3:
            name = "" if words[1] == "-" else words[1]
            with lock:
                statuses[name] = health_pb2.HealthCheckResponse.ServingStatus.Value(words[2])
            print("ok", flush=True)
        elif words[0] == "last":
            with lock:
                print(json.dumps(last), flush=True)
        else:
            print("error: unknown command", flush=True)
    done.set()


threading.Thread(target=read_commands, daemon=True).start()
done.wait(args.lifetime)
server.stop(grace=None)
