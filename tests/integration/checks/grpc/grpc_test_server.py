#!/usr/bin/python3
"""A Python grpcio server for the grpc check's tests (Debian python3-grpcio, /usr/bin/python3).

  grpc_test_server.py --mode no-health        serves no health service at all: every method,
                                              grpc.health.v1.Health/Check too, is UNIMPLEMENTED
                                              (gRPC's answer for a method no one registered)
  grpc_test_server.py --mode echo-metadata    answers every method PERMISSION_DENIED with the
                                              request's metadata in the status message: a
                                              server that leaks what it was sent

Listens on 127.0.0.1:<free port>, prints "port <N>" on stdout once serving, and stops at
"shutdown" or the end of stdin.
"""

import argparse
import sys
from concurrent import futures

import grpc


class EchoMetadata(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        seen = ", ".join(
            "%s=%s" % (key, value) for key, value in handler_call_details.invocation_metadata
        )

        def deny(request, context):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "denied; you sent: " + seen)

        return grpc.unary_unary_rpc_method_handler(deny)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["no-health", "echo-metadata"], required=True)
    args = parser.parse_args()

    handlers = [EchoMetadata()] if args.mode == "echo-metadata" else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=handlers)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("port %d" % port, flush=True)
    for line in sys.stdin:
        if line.strip() == "shutdown":
            break
    server.stop(grace=None)


if __name__ == "__main__":
    main()
