#!/usr/bin/env python3
"""docs/openapi.yaml against the real vitalsd on loopback: every documented operation is
exercised, every answer's status code and media type are documented for its operation, every
JSON body validates against the documented schema (python3-jsonschema, draft 2020-12, the
dialect of OpenAPI 3.1), and a path the document does not list is a 404.

Usage: openapi_test.py <vitalsd> <docs/openapi.yaml>
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml
from jsonschema import Draft202012Validator, RefResolver

TOKEN = "openapi-test-token-71d2"
PUSH = "openapi-push-token-5e9b0c"
DEADLINE = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, headers=None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def read_events(port, path, headers=None, deadline=10.0):
    """GET an event stream and read it until its `ready` frame: (status, content type, frames
    as (event, data, id)). The stream is closed afterwards, as a client going away would."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    with socket.create_connection(("127.0.0.1", port), timeout=deadline) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        raw = b""
        end = time.monotonic() + deadline
        while b"\r\n\r\n" not in raw:
            assert time.monotonic() < end, raw
            raw += s.recv(65536)
        head, body = raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        assert "content-length" not in fields, head
        assert fields.get("transfer-encoding") == "chunked", head
        text = b""
        while True:
            # Complete chunks only.
            while b"\r\n" in body:
                size_line, rest = body.split(b"\r\n", 1)
                size = int(size_line, 16)
                if len(rest) < size + 2:
                    break
                text += rest[:size]
                body = rest[size + 2:]
            frames = []
            for block in text.decode().split("\n\n")[:-1]:
                f = {}
                for line in block.split("\n"):
                    if line.startswith(":") or not line:
                        continue
                    k, _, v = line.partition(": ")
                    f[k] = v
                if "event" in f or "data" in f:
                    frames.append((f.get("event"), f.get("data"), f.get("id")))
            if any(e == "ready" for e, _, _ in frames):
                return status, fields.get("content-type", ""), frames
            assert time.monotonic() < end, text
            body += s.recv(65536)


def refs_resolve(spec):
    """Every $ref of the document points at something."""
    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/"), ref
                target = spec
                for part in ref[2:].split("/"):
                    assert part in target, f"unresolved $ref {ref}"
                    target = target[part]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)


def resolve(spec, node):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def operation_for(spec, path):
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    return None


def main():
    vitalsd, spec_path = sys.argv[1], sys.argv[2]
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    assert spec["openapi"].startswith("3.1"), spec["openapi"]
    refs_resolve(spec)
    resolver = RefResolver.from_schema(spec)

    tmp = tempfile.mkdtemp(prefix="vitals-openapi-")
    port, closed = free_port(), free_port()
    self_target = f"127.0.0.1:{port}"
    config = f"""listen: 127.0.0.1:{port}
auth: {{token: {TOKEN}}}
shutdown: {{drain_delay: 0s, grace_period: 5s}}
storage: {{sqlite: {{path: {tmp}/history.db, flush_interval: 100ms}}}}
http: {{status_page: {{enabled: true, title: API test}}}}
notify:
  - {{name: ops, type: command, command: [/bin/true], checks: [nothing-matches],
     maintenance: ["2026-01-01T00:00:00Z/2099-01-01T00:00:00Z", "0 2 * * SUN for 2h"]}}
checks:
  - {{name: loop, type: event_loop, probes: [live, ready, startup]}}
  - {{name: beat, type: push, token: {PUSH}, period: 1h, interval: 100ms, timeout: 50ms,
     probes: []}}
targets:
  - {{group: self, type: tcp, labels: {{team: api}}, interval: 200ms, timeout: 100ms,
     targets: ["{self_target}"]}}
  - {{group: down, type: tcp, interval: 200ms, timeout: 100ms, targets: ["127.0.0.1:{closed}"]}}
"""
    cfg = os.path.join(tmp, "v.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    log = open(os.path.join(tmp, "vitalsd.log"), "wb")
    proc = subprocess.Popen([vitalsd, "-c", cfg], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    up_name = f"self.127.0.0.1_{port}"
    try:
        end = time.monotonic() + DEADLINE
        while True:
            try:
                body = json.loads(request("GET", base + "/api/v1/targets")[2])
                if all(t["status"] != "unknown" for t in body["targets"]):
                    break
            except (OSError, ValueError):
                pass
            assert time.monotonic() < end, "vitalsd did not come up with results"
            time.sleep(0.1)

        # The history has every target once the writer has flushed their first results.
        end = time.monotonic() + DEADLINE
        while True:
            try:
                body = json.loads(request("GET", base + "/api/v1/uptime")[2])
                names = {t["name"] for t in body["targets"]}
                if {"loop", up_name} <= names and all(
                        t["uptime"]["1h"]["runs"] > 0 for t in body["targets"]):
                    break
            except (OSError, ValueError, KeyError):
                pass
            assert time.monotonic() < end, "the history did not fill"
            time.sleep(0.1)

        om = {"Accept": "application/openmetrics-text;version=1.0.0"}
        cases = [
            ("GET", "/livez", {}, 200), ("HEAD", "/livez", {}, 200),
            ("GET", "/readyz?verbose", {}, 200), ("HEAD", "/readyz", {}, 200),
            ("GET", "/startupz?exclude=loop", {}, 200), ("HEAD", "/startupz", {}, 200),
            ("GET", "/readyz?exclude=%zz", {}, 400),
            ("GET", "/livez/loop", {}, 200), ("HEAD", "/livez/loop", {}, 200),
            ("GET", "/readyz/loop?verbose", {}, 200), ("HEAD", "/readyz/loop", {}, 200),
            ("GET", "/startupz/loop", {}, 200), ("HEAD", "/startupz/loop", {}, 200),
            ("GET", "/readyz/" + up_name, {}, 404),
            ("GET", "/health", {}, 200), ("GET", "/health", auth, 200), ("HEAD", "/health", {}, 200),
            ("GET", "/health/loop", auth, 200), ("HEAD", "/health/loop", {}, 200),
            ("GET", "/health/down.127.0.0.1_%d" % closed, auth, 503),
            ("GET", "/health/nope", {}, 404),
            ("GET", "/metrics", {}, 401), ("GET", "/metrics", auth, 200),
            ("GET", "/metrics", dict(auth, **om), 200), ("HEAD", "/metrics", auth, 200),
            ("GET", "/api/v1/targets", {}, 200), ("GET", "/api/v1/targets", auth, 200),
            ("HEAD", "/api/v1/targets", {}, 200),
            ("GET", "/api/v1/targets/" + up_name, {}, 200),
            ("GET", "/api/v1/targets/down.127.0.0.1_%d" % closed, auth, 200),
            ("HEAD", "/api/v1/targets/" + up_name, {}, 200),
            ("GET", "/api/v1/targets/nope", {}, 404),
            ("GET", "/api/v1/uptime", {}, 200), ("HEAD", "/api/v1/uptime", {}, 200),
            ("GET", "/api/v1/history/" + up_name, {}, 200),
            ("GET", "/api/v1/history/down.127.0.0.1_%d?resolution=hour&window=2d" % closed,
             auth, 200),
            ("GET", "/api/v1/history/loop?resolution=day", {}, 200),
            ("HEAD", "/api/v1/history/" + up_name, {}, 200),
            ("GET", "/api/v1/history/" + up_name + "?resolution=week", {}, 400),
            ("GET", "/api/v1/history/" + up_name + "?window=49h", {}, 400),
            ("GET", "/api/v1/history/nope", {}, 404),
            ("GET", "/api/v1/incidents", {}, 200), ("HEAD", "/api/v1/incidents", {}, 200),
            ("GET", "/api/v1/incidents?window=1h&target=down.127.0.0.1_%d" % closed, auth, 200),
            ("GET", "/api/v1/incidents?window=1y", {}, 400),
            ("GET", "/api/v1/maintenance", {}, 200), ("HEAD", "/api/v1/maintenance", {}, 200),
            ("GET", f"/api/v1/push/{PUSH}?msg=ok", {}, 200),
            ("POST", f"/api/v1/push/{PUSH}?status=fail&msg=disk%20full", {}, 200),
            ("GET", f"/api/v1/push/{PUSH}?status=maybe", {}, 400),
            ("POST", "/api/v1/push/not-a-known-token-0000", {}, 404),
            ("HEAD", "/api/v1/events", {}, 200),
            ("GET", "/badge/" + up_name, {}, 200), ("HEAD", "/badge/" + up_name, {}, 200),
            ("GET", "/badge/" + up_name + ".svg?show=uptime&window=7d", {}, 200),
            ("GET", "/badge/loop?show=response_time&label=loop%20time", {}, 200),
            ("GET", "/badge/" + up_name + "?show=sparkline", {}, 400),
            ("GET", "/badge/nope", {}, 404),
            ("GET", "/status", {}, 200), ("HEAD", "/status", {}, 200),
            ("GET", "/status?status=fail&group=down&q=127&page=1", {}, 200),
            ("GET", "/status?status=broken", {}, 400),
            ("GET", "/status/" + up_name, {}, 200), ("HEAD", "/status/" + up_name, {}, 200),
            ("GET", "/status/nope", {}, 404),
            ("GET", "/api/v1/events?last_event_id=x", {}, 400),
        ]
        exercised = set()
        for method, path, headers, want in cases:
            status, ctype, raw = request(method, base + path, headers)
            what = f"{method} {path}"
            assert status == want, f"{what}: {status}, expected {want}: {raw[:200]!r}"
            template = operation_for(spec, path.split("?")[0])
            assert template is not None, f"{what}: path not in the document"
            op = spec["paths"][template].get(method.lower())
            assert op is not None, f"{what}: method not documented"
            exercised.add((template, method.lower()))
            answer = op["responses"].get(str(status))
            assert answer is not None, f"{what}: status {status} not documented"
            answer = resolve(spec, answer)
            media = ctype.split(";")[0].strip()
            content = answer.get("content", {})
            documented = {k.split(";")[0].strip(): v for k, v in content.items()}
            assert media in documented, f"{what}: {ctype} not among {list(content)}"
            schema = documented[media].get("schema")
            if method != "HEAD" and media.endswith("json") and schema is not None:
                body = json.loads(raw)
                Draft202012Validator(schema, resolver=resolver).validate(body)
            assert TOKEN.encode() not in raw and PUSH.encode() not in raw, f"{what}: a secret"
        for path in ("/api/v1/nope", "/api/v2/targets", "/api/v1/targets/a/b"):
            assert request("GET", base + path)[0] == 404, path
        # The push was recorded: the check reports what the job said.
        target = json.loads(request("GET", base + "/api/v1/targets/beat", auth)[2])
        end = time.monotonic() + DEADLINE
        while target["status"] != "fail":
            assert time.monotonic() < end, target
            time.sleep(0.05)
            target = json.loads(request("GET", base + "/api/v1/targets/beat", auth)[2])
        assert "disk full" in target["output"], target
        # The event stream: its frames' data against the documented schemas. Resuming three
        # ids back replays the latest three changes, the push check's failure last (the
        # observer that numbers them may run a moment after the snapshot showed it).
        events_op = spec["paths"]["/api/v1/events"]["get"]
        schemas = spec["components"]["schemas"]
        exercised.add(("/api/v1/events", "get"))
        end = time.monotonic() + DEADLINE
        while True:
            status, ctype, frames = read_events(port, "/api/v1/events")
            assert status == 200 and "200" in events_op["responses"], status
            assert ctype.split(";")[0] in events_op["responses"]["200"]["content"], ctype
            ready = json.loads(frames[-1][1])
            Draft202012Validator(schemas["EventReady"], resolver=resolver).validate(ready)
            assert ready["missed"] is False, ready
            back = ready["last_id"] - 3
            _, _, frames = read_events(port, "/api/v1/events",
                                       dict(auth, **{"Last-Event-ID": str(back)}))
            latest = json.loads(frames[-2][1])
            if latest["target"] == "beat" and latest["status"] == "fail":
                break
            assert time.monotonic() < end, frames
            time.sleep(0.05)
        for headers in ({}, auth):
            status, _, frames = read_events(port, "/api/v1/events",
                                            dict(headers, **{"Last-Event-ID": str(back)}))
            assert status == 200 and [e for e, _, _ in frames] == ["status"] * 3 + ["ready"], frames
            for _, data, ident in frames[:-1]:
                change = json.loads(data)
                Draft202012Validator(schemas["StatusEvent"], resolver=resolver).validate(change)
                assert str(change["id"]) == ident, (change, ident)
        # The push check's failure: its output for the token holder only.
        latest = json.loads(frames[-2][1])
        assert "disk full" in latest["output"], latest
        _, _, anon = read_events(port, "/api/v1/events", {"Last-Event-ID": str(back)})
        assert all("output" not in json.loads(d) for e, d, _ in anon if e == "status"), anon
        # Resuming from an id of no process: told to refetch.
        _, _, frames = read_events(port, "/api/v1/events?last_event_id=7")
        assert json.loads(frames[-1][1])["missed"] is True, frames
        # The history counted the runs and the failing target's failures; the token shows
        # outputs, an anonymous caller none.
        down = f"down.127.0.0.1_{closed}"
        hist = json.loads(request("GET", base + "/api/v1/history/" + down, auth)[2])
        assert hist["uptime"]["1h"]["runs"] > 0 and hist["uptime"]["1h"]["ratio"] == 0, hist
        assert sum(b["failures"] for b in hist["buckets"]) > 0, hist
        assert any("output" in r for r in hist["recent"]), hist
        anon = json.loads(request("GET", base + "/api/v1/history/" + down)[2])
        assert all("output" not in r for r in anon["recent"]), anon
        # The notifier's two windows, the one-off one in progress.
        maint = json.loads(request("GET", base + "/api/v1/maintenance")[2])
        assert maint["count"] == 2 and maint["active"] == 1, maint
        assert maint["windows"][0]["active"] and maint["windows"][0]["end"], maint
        # The failing target is an ongoing incident, its cause for the token holder only.
        inc = json.loads(request("GET", base + "/api/v1/incidents?target=" + down, auth)[2])
        assert inc["count"] == 1 and inc["incidents"][0]["ongoing"], inc
        assert "cause" in inc["incidents"][0], inc
        inc = json.loads(request("GET", base + "/api/v1/incidents?target=" + down)[2])
        assert "cause" not in inc["incidents"][0], inc
        documented_ops = {(p, m) for p, ops in spec["paths"].items() for m in ops
                          if m in ("get", "head", "post", "put", "delete", "patch")}
        missing = documented_ops - exercised
        assert not missing, f"documented but not exercised: {sorted(missing)}"
        print(f"ok: {len(cases)} answers valid against {os.path.basename(spec_path)}, "
              f"{len(documented_ops)} operations exercised")
        return 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        log.close()
        if sys.exc_info()[0] is not None:
            with open(os.path.join(tmp, "vitalsd.log")) as f:
                sys.stderr.write(f.read()[-4000:])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
