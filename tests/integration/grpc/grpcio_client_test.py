"""Python grpcio (a client no one here wrote) against the vitals gRPC health server.

    grpcio_client_test.py <vitals_grpc_test_server> <proto root>

Stubs are generated now, with grpc_tools.protoc, from the vendored
proto/grpc/health/v1/health.proto into a temporary directory. The server is started by this
script (its PID only is killed at the end) and its checks are flipped through its stdin.
Run with Debian's /usr/bin/python3 (grpcio 1.51, grpc_tools).
"""

import importlib
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
from grpc_tools import protoc

SERVER = sys.argv[1] if len(sys.argv) > 1 else ""
PROTO_ROOT = sys.argv[2] if len(sys.argv) > 2 else ""
TOKEN = "py-token-42"


class Server:
    def __init__(self, *args):
        self.proc = subprocess.Popen([SERVER, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.read_line(30)
        if not line.startswith("port "):
            self.kill()
            raise RuntimeError("server did not start: %r" % line)
        self.port = int(line.split()[1])

    def read_line(self, bound):
        ready, _, _ = select.select([self.proc.stdout], [], [], bound)
        if not ready:
            return ""
        return self.proc.stdout.readline().strip()

    def ask(self, command, bound=60):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.read_line(bound)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # by PID: this child only
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()


class GrpcioAgainstVitals(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pb2, cls.pb2_grpc = load_stubs(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.server = Server("--token", TOKEN, "--alias", "my.pkg.Orders=readiness",
                             "--alias", "orders.db=db")
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % self.server.port)
        self.stub = self.pb2_grpc.HealthStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.server.kill()

    def check(self, service, token=None):
        md = [("authorization", "Bearer " + token)] if token else None
        return self.stub.Check(self.pb2.HealthCheckRequest(service=service), timeout=5,
                               metadata=md).status

    def test_check_every_kind_of_name(self):
        pb2 = self.pb2
        for name in ["", "liveness", "readiness", "startup", "my.pkg.Orders", "orders.db"]:
            self.assertEqual(self.check(name), pb2.HealthCheckResponse.SERVING, name)
        self.assertEqual(self.check("db", TOKEN), pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.server.ask("set db fail"), "ok")
        self.assertEqual(self.check(""), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.check("my.pkg.Orders"), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.check("db", TOKEN), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.check("liveness"), pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.server.ask("set db warn"), "ok")
        self.assertEqual(self.check("db", TOKEN), pb2.HealthCheckResponse.SERVING)

    def test_unknown_names_and_the_token(self):
        for name, token in [("nosuch", None), ("nosuch", TOKEN), ("db", None), ("db", "wrong")]:
            with self.assertRaises(grpc.RpcError) as caught:
                self.check(name, token)
            self.assertEqual(caught.exception.code(), grpc.StatusCode.NOT_FOUND, (name, token))

    def test_list(self):
        pb2 = self.pb2
        anon = self.stub.List(pb2.HealthListRequest(), timeout=5)
        self.assertEqual(sorted(anon.statuses.keys()),
                         ["", "liveness", "my.pkg.Orders", "orders.db", "readiness", "startup"])
        self.assertEqual(self.server.ask("set loop fail"), "ok")
        full = self.stub.List(pb2.HealthListRequest(), timeout=5,
                              metadata=[("authorization", "Bearer " + TOKEN)])
        got = {k: v.status for k, v in full.statuses.items()}
        self.assertEqual(got["db"], pb2.HealthCheckResponse.SERVING)
        self.assertEqual(got["loop"], pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(got["liveness"], pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(len(got), 9)

    def test_list_over_the_limit(self):
        server = Server("--extra", "120")
        try:
            with grpc.insecure_channel("127.0.0.1:%d" % server.port) as ch:
                stub = self.pb2_grpc.HealthStub(ch)
                with self.assertRaises(grpc.RpcError) as caught:
                    stub.List(self.pb2.HealthListRequest(), timeout=5)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        finally:
            server.kill()

    def watch(self, service, token=None):
        """Reads a Watch stream on a thread; returns (queue of statuses, call)."""
        md = [("authorization", "Bearer " + token)] if token else None
        call = self.stub.Watch(self.pb2.HealthCheckRequest(service=service), metadata=md)
        q = queue.Queue()

        def pump():
            try:
                for msg in call:
                    q.put(msg.status)
                q.put(("end", call.code()))
            except grpc.RpcError as e:
                q.put(("end", e.code()))

        threading.Thread(target=pump, daemon=True).start()
        return q, call

    def next_of(self, q, bound=10):
        return q.get(timeout=bound)

    def test_watch(self):
        pb2 = self.pb2
        q, call = self.watch("")
        self.assertEqual(self.next_of(q), pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.server.ask("set db fail"), "ok")
        self.assertEqual(self.next_of(q), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.server.ask("set db pass"), "ok")
        self.assertEqual(self.next_of(q), pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.server.ask("set db warn"), "ok")  # still SERVING: nothing sent
        time.sleep(0.2)
        self.assertTrue(q.empty())
        unknown, _ = self.watch("nosuch")
        self.assertEqual(self.next_of(unknown), pb2.HealthCheckResponse.SERVICE_UNKNOWN)
        self.assertEqual(self.server.ask("begin_shutdown"), "ok")
        self.assertEqual(self.next_of(q), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.check("liveness"), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.server.ask("stop"), "ok")
        self.assertEqual(self.next_of(q), ("end", grpc.StatusCode.OK))
        self.assertEqual(self.next_of(unknown), pb2.HealthCheckResponse.NOT_SERVING)
        self.assertEqual(self.next_of(unknown), ("end", grpc.StatusCode.OK))
        call.cancel()


def load_stubs(out):
    # grpcio is the package "grpc": stubs generated as grpc/health/v1/*.py would be hidden by
    # it. The vendored file is compiled from a directory of its own instead (same messages,
    # same service grpc.health.v1.Health on the wire), as top-level modules health_pb2*.
    shutil.copy(os.path.join(PROTO_ROOT, "grpc", "health", "v1", "health.proto"),
                os.path.join(out, "health.proto"))
    rc = protoc.main(["grpc_tools.protoc", "-I" + out, "--python_out=" + out,
                      "--grpc_python_out=" + out, os.path.join(out, "health.proto")])
    if rc != 0:
        raise RuntimeError("grpc_tools.protoc failed: %d" % rc)
    sys.path.insert(0, out)
    return importlib.import_module("health_pb2"), importlib.import_module("health_pb2_grpc")


if __name__ == "__main__":
    if not SERVER or not PROTO_ROOT:
        sys.exit("usage: grpcio_client_test.py <vitals_grpc_test_server> <proto root>")
    unittest.main(argv=[sys.argv[0], "-v"])
