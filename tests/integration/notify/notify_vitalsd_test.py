#!/usr/bin/env python3
"""The real vitalsd with `notify:` against receivers on 127.0.0.1 (Python's http.server):

- a failing check sends one webhook (generic JSON shape), its recovery one "resolved";
- vitalsd restarted in the middle of the incident (notify_state) repeats no failure and still
  sends the recovery;
- a receiver that hangs never slows /readyz, and the other notifiers still deliver;
- a receiver that refuses is retried, then dropped and counted in /metrics;
- URLs (secrets) appear in no log line and no metric; the notifier label is the name.

usage: notify_vitalsd_test.py VITALSD
"""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

VITALSD = sys.argv[1]
SECRET = "T0K3N-do-not-leak"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    """Records the JSON POSTed to it; `hang` makes it sit on every request."""

    def __init__(self, hang=False):
        self.bodies = []
        self.lock = threading.Lock()
        rec = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if rec.hang:
                    time.sleep(30)
                    return
                with rec.lock:
                    rec.bodies.append((self.path, self.headers.get("Content-Type"),
                                       json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.hang = hang
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def got(self):
        with self.lock:
            return list(self.bodies)


def wait_for(what, pred, limit=20.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def get(url, timeout=3.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def main():
    tmp = tempfile.mkdtemp(prefix="vitals_notify_")
    procs = []
    try:
        hook = Receiver()
        hung = Receiver(hang=True)
        refused_port = free_port()
        port = free_port()
        flag = os.path.join(tmp, "up")
        open(flag, "w").close()
        url_file = os.path.join(tmp, "hook_url")
        with open(url_file, "w") as f:
            f.write("http://127.0.0.1:%d/hook/%s\n" % (hook.port, SECRET))
        state = os.path.join(tmp, "notify.json")
        cfg = os.path.join(tmp, "vitalsd.yaml")
        with open(cfg, "w") as f:
            f.write(f"""
listen: 127.0.0.1:{port}
http: {{metrics: everyone}}
service: {{id: billing, version: 1.2.3}}
checks:
  - {{name: flag, type: file, path: {flag}, interval: 200ms, timeout: 100ms,
     probes: [ready]}}
notify_state: {state}
notify:
  - {{name: hook, type: webhook, url_file: {url_file}, link: "https://status.example/billing"}}
  - {{name: hung, type: webhook, url: "http://127.0.0.1:{hung.port}/{SECRET}",
     timeout: 500ms, retries: 0}}
  - {{name: refused, type: slack, url: "http://127.0.0.1:{refused_port}/{SECRET}",
     retries: 2, backoff: 50ms}}
""")
        logs = []

        def start(ready_code=200):
            """vitalsd on `cfg`, once /readyz answers `ready_code` (503: started mid-incident)."""
            p = subprocess.Popen([VITALSD, "-c", cfg], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            procs.append(p)
            out = []
            threading.Thread(target=lambda: out.extend(p.stdout), daemon=True).start()
            logs.append(out)
            wait_for(f"vitalsd up, /readyz {ready_code}",
                     lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == ready_code)
            return p

        def stop(p):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)

        def failing():
            return [b for b in hook.got() if b[2].get("to") == "fail"]

        def resolved():
            return [b for b in hook.got() if b[2].get("status") == "resolved"]

        p = start()
        time.sleep(0.5)
        assert hook.got() == [], hook.got()  # unknown -> pass is no news

        os.remove(flag)
        wait_for("the failure webhook", failing)
        path, ctype, body = failing()[0]
        assert path == "/hook/" + SECRET, path
        assert ctype == "application/json", ctype
        for key, kind in (("check", str), ("from", str), ("to", str), ("failure_kind", str),
                          ("output", str), ("time", str), ("service_id", str),
                          ("version", str), ("link", str), ("alerts", list)):
            assert isinstance(body.get(key), kind), (key, body)
        assert body["check"] == "flag" and body["from"] == "pass", body
        assert body["service_id"] == "billing" and body["version"] == "1.2.3", body
        assert body["link"] == "https://status.example/billing", body

        # A hung receiver: /readyz answers fast all along.
        worst = 0.0
        for _ in range(20):
            t0 = time.monotonic()
            code, _ = get(f"http://127.0.0.1:{port}/readyz")
            worst = max(worst, time.monotonic() - t0)
            assert code == 503, code
        assert worst < 0.25, worst

        # The refusing one: 3 failed attempts, then dropped.
        def metrics():
            return get(f"http://127.0.0.1:{port}/metrics")[1]

        wait_for("refused dropped",
                 lambda: 'vitals_notifier_dropped_total{notifier="refused"} 1' in metrics())
        m = metrics()
        assert 'vitals_notifier_sent_total{notifier="hook",result="ok"} 1' in m, m
        assert 'vitals_notifier_sent_total{notifier="refused",result="error"} 3' in m, m
        assert 'vitals_notifier_queue_length{notifier="hook"} 0' in m, m
        assert m.count("# TYPE vitals_notifier_sent ") + \
            m.count("# TYPE vitals_notifier_sent_total ") == 1, m
        assert SECRET not in m
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=m, text=True,
                               capture_output=True)
            assert r.returncode == 0, r.stdout + r.stderr

        # Restart in the middle of the incident.
        stop(p)
        assert os.path.exists(state)
        with open(state) as f:
            saved = json.load(f)
        assert [a["notifier"] for a in saved["announced"]].count("hook") == 1, saved
        procs.clear()
        p = start(ready_code=503)
        time.sleep(1.0)
        assert len(failing()) == 1, hook.got()  # no duplicate "failing"

        open(flag, "w").close()
        wait_for("the recovery webhook", resolved)
        time.sleep(0.5)
        assert len(resolved()) == 1, hook.got()
        assert len(failing()) == 1, hook.got()
        stop(p)

        # A reload (SIGHUP) that changes the notifier hands the incident over in memory (no
        # notify_state here): no second "failing", the recovery is still sent.
        hook2 = Receiver()

        def reload_cfg(repeat):
            with open(cfg, "w") as f:
                f.write(f"listen: 127.0.0.1:{port}\nchecks:\n"
                        f"  - {{name: flag, type: file, path: {flag}, interval: 200ms, "
                        f"timeout: 100ms, probes: [ready]}}\n"
                        f"notify:\n  - {{name: hook, type: webhook, "
                        f"url: http://127.0.0.1:{hook2.port}/r, repeat_every: {repeat}}}\n")

        reload_cfg("1h")
        p = start()
        os.remove(flag)
        wait_for("failing before the reload",
                 lambda: [b for b in hook2.got() if b[2]["to"] == "fail"])
        reload_cfg("2h")
        p.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: any("configuration reloaded" in l for l in logs[-1]))
        open(flag, "w").close()
        wait_for("resolved after the reload",
                 lambda: [b for b in hook2.got() if b[2]["status"] == "resolved"])
        time.sleep(0.5)
        assert [b[2]["status"] for b in hook2.got()] == ["failing", "resolved"], hook2.got()

        # A reload that removes a failing check closes its alert: it would never recover.
        os.remove(flag)
        wait_for("failing again",
                 lambda: len([b for b in hook2.got() if b[2]["to"] == "fail"]) == 2)
        with open(cfg, "w") as f:
            f.write(f"listen: 127.0.0.1:{port}\nchecks:\n  - {{name: mem, type: memory}}\n"
                    f"notify:\n  - {{name: hook, type: webhook, "
                    f"url: http://127.0.0.1:{hook2.port}/r, repeat_every: 2h}}\n")
        p.send_signal(signal.SIGHUP)
        wait_for("the alert closed by the reload",
                 lambda: [b for b in hook2.got() if b[2].get("removed")])
        closed = [b for b in hook2.got() if b[2].get("removed")][0][2]
        assert closed["check"] == "flag" and closed["status"] == "resolved", closed
        assert "removed from the configuration" in closed["summary"], closed
        stop(p)

        # libssl is mapped only once an HTTP or email notifier sends (through the lazily loaded
        # http / smtp module), libcurl only for email: never for a command notifier, not at
        # start-up for the others.
        for notifier, want_ssl, want_curl in (
                ("{name: c, type: command, command: [/bin/true]}", False, False),
                ("{name: h, type: webhook, url: http://127.0.0.1:1/, retries: 0}", True, False),
                ("{name: m, type: email, url: smtp://127.0.0.1:1, tls: none, from: a@b.test, "
                 "to: [c@d.test], retries: 0}", True, True)):
            open(flag, "w").close()
            with open(cfg, "w") as f:
                f.write(f"listen: 127.0.0.1:{port}\nchecks:\n"
                        f"  - {{name: flag, type: file, path: {flag}, interval: 200ms, "
                        f"timeout: 100ms, probes: [ready]}}\n"
                        f"notify:\n  - {notifier}\n")
            p = start()
            with open(f"/proc/{p.pid}/maps") as f:
                maps = f.read()
            assert "libssl" not in maps and "libcurl" not in maps, notifier
            os.remove(flag)
            wait_for("the check failing",
                     lambda: get(f"http://127.0.0.1:{port}/readyz")[0] == 503)
            time.sleep(0.5)  # the notifier's attempt
            with open(f"/proc/{p.pid}/maps") as f:
                maps = f.read()
            stop(p)
            assert ("libssl" in maps) == want_ssl, (notifier, "libssl")
            assert ("libcurl" in maps) == want_curl, (notifier, "libcurl")

        text = "".join("".join(o) for o in logs)
        assert SECRET not in text, [l for l in text.splitlines() if SECRET in l]
        assert "notifier" in text, text  # the refused attempts were logged, by name
        print("ok: %d webhook(s), restart kept the incident" % len(hook.got()))
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
