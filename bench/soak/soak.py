#!/usr/bin/env python3
"""Soak test of vitalsd: many flapping checks, a probe flood and reloads; RSS, fds, threads.

    soak.py run --vitalsd build/rel/apps/vitalsd/vitalsd [--duration 3600] [--csv soak.csv]
    soak.py report soak.csv [--warmup 300] [--plot soak.png]

``run`` starts, on 127.0.0.1 only:

* ``flap_server.py``: HTTP targets, TCP ports and flag files that flap between healthy and
  unhealthy every ``--phase`` seconds (200 / 503 / 200 / too slow; open / closed; present /
  absent), spread evenly over their cycle;
* ``vitalsd`` on a generated configuration of ``--checks`` checks (by default 500: 300 http,
  150 tcp against the flapping ports, 10 tcp against a port that never accepts, 20 exec, 10 file
  and 10 host checks), intervals of 1-2 s, timeouts of 0.5-1 s;
* a probe flood of ``--probe-rate`` requests per second in all over keep-alive connections and
  one connection per request (a tenth of those closed without reading the answer) on every
  endpoint (``/livez /readyz /startupz /health /readyz/<check> /health/<check>``, a 404) plus
  ``/metrics`` once a second;
* a reload (SIGHUP) every ``--reload-every`` seconds, to a configuration that differs from the
  running one: a tenth of the http checks change their options, 20 are renamed (removed and
  added), the count stays the same.

Every ``--sample-every`` seconds it records vitalsd's RSS (VmRSS), open descriptors
(``/proc/PID/fd``), threads (``/proc/PID/task``) and CPU time in a CSV. A reload is sent right
after a sample and has finished (the old engine stopped, its threads joined) long before the
next one, so samples show what the daemon holds between reloads, not a reload in progress.

At the end, over the samples after ``--warmup`` seconds, it prints for each series min, max,
mean, the largest deviation from the mean in percent, the drift (median of the last tenth minus
median of the first tenth, at least 3 samples each) and the least-squares slope per hour, and
exits 1 if a bound is exceeded: ``--max-dev rss=5`` (percent from the mean, either way) or
``--max-growth fds=8`` (the drift upwards, absolute: a leak only ever adds, while a machine busy
with other work can make timeouts close more connections for a while). It exits 2 if vitalsd
rejected a reload, died, or did not exit 0 on SIGTERM. Everything it starts is stopped by PID
when it ends (also on SIGINT / SIGTERM), and the children die with it if it is killed.

``report`` computes the same figures from a CSV written by ``run``, and both can draw the
samples into a PNG with gnuplot (Debian ``gnuplot-nox``).
"""
import argparse
import collections
import csv
import ctypes
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
SERIES = ("rss_kib", "fds", "threads")
SHORT = {"rss": "rss_kib", "rss_kib": "rss_kib", "fds": "fds", "threads": "threads"}
COLUMNS = ("t_s", "rss_kib", "fds", "threads", "cpu_s", "reloads", "reload_s", "since_reload_s",
           "probes", "probe_errors", "load1")
PR_SET_PDEATHSIG = 1


def log(msg: str) -> None:
    """A progress line on stderr, with the time."""
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


def die_with_parent() -> None:
    """In a child before exec: be killed if the driver dies, whatever kills it."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A port that is free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- configuration --------------------------------------------------------------------------------

@dataclass
class layout:
    """How many checks of each kind; ``--checks`` scales the defaults (500 checks)."""
    http: int
    tcp: int
    blackhole: int
    exec: int
    file: int
    host: int
    renamed: int

    @staticmethod
    def of(total: int) -> "layout":
        if total < 50:
            sys.exit("soak: --checks must be at least 50")
        host = 10
        rest = total - host
        http = rest * 300 // 490
        tcp = rest * 150 // 490
        blackhole = rest * 10 // 490
        execs = rest * 20 // 490
        file = rest - http - tcp - blackhole - execs
        return layout(http, tcp, blackhole, execs, file, host, renamed=max(1, http // 15))


def config(gen: int, listen: str, lay: layout, targets: dict, engine_threads: int) -> str:
    """The YAML of generation ``gen``: generations differ in the options of a tenth of the http
    checks (changed checks are rebuilt on reload) and in the names of ``lay.renamed`` others
    (removed and added); everything else is carried over unchanged."""
    http_port = targets["http_port"]
    tcp_ports = targets["tcp_ports"]
    flags = os.path.join(targets["flag_dir"], "flag-")
    out = [
        f"listen: {listen}",
        "service: {id: soak, version: soak-gen-" + str(gen) + "}",
        "log: {format: text, level: info}",
        "shutdown: {drain_delay: 200ms, grace_period: 10s}",
        f"engine: {{max_threads: {engine_threads}}}",
        "defaults: {interval: 2s, timeout: 500ms, probes: [ready]}",
        "checks:",
    ]
    for i in range(lay.http):
        renamed = i >= lay.http - lay.renamed
        name = f"http-g{gen}-{i}" if renamed else f"http-{i}"
        opts = [f"name: {name}", "type: http", f"url: 'http://127.0.0.1:{http_port}/t/{i}'",
                f"interval: {1 + i % 2}s"]
        if i % 10 == 9:
            opts.append("keep_alive: false")
        if i % 3 == 0:
            opts.append("critical: false")
        if i % 10 == gen % 10:
            opts.append("failure_threshold: 2")
        out.append("  - {" + ", ".join(opts) + "}")
    for j in range(lay.tcp):
        opts = [f"name: tcp-{j}", "type: tcp", "host: 127.0.0.1",
                f"port: {tcp_ports[j % len(tcp_ports)]}", f"interval: {1 + j % 2}s"]
        if j % 3 == 0:
            opts += ["send: \"PING\\n\"", "expect: PONG"]
        out.append("  - {" + ", ".join(opts) + "}")
    for j in range(lay.blackhole):  # staggered: not all ten hanging at the same moment
        out.append(f"  - {{name: hole-{j}, type: tcp, host: 127.0.0.1, "
                   f"port: {targets['blackhole_port']}, critical: false, "
                   f"initial_delay: {200 * j}ms}}")
    for k in range(lay.exec):
        out.append(f"  - {{name: exec-{k}, type: exec, command: test, "
                   f"args: ['-e', '{flags}{k % 10}'], timeout: 1s}}")
    for k in range(lay.file):
        out.append(f"  - {{name: file-{k}, type: file, path: '{flags}{k % 10}', interval: 1s}}")
    host = ["{name: loop, type: event_loop, probes: [live, ready], interval: 1s}"]
    host += [f"{{name: mem-{k}, type: memory, interval: 1s}}" for k in range(3)]
    host += [f"{{name: disk-{k}, type: disk, path: /, interval: 1s}}" for k in range(3)]
    host += [f"{{name: load-{k}, type: load, critical: false, interval: 1s}}"
             for k in range(lay.host - len(host))]
    out += ["  - " + h for h in host]
    return "\n".join(out) + "\n"


# --- the probe flood ------------------------------------------------------------------------------

class flood:
    """Probe clients at a bounded rate; counts answers and transport errors."""

    def __init__(self, port: int, rate: float, one_check: str):
        self.port = port
        self.rate = rate
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.probes = 0
        self.errors = 0
        self.codes: collections.Counter = collections.Counter()
        self.paths = ["/readyz", "/livez", "/readyz", "/livez", "/startupz", "/readyz?verbose",
                      "/health", f"/readyz/{one_check}", f"/health/{one_check}",
                      "/readyz?exclude=loop", "/nope"]
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        # Two keep-alive clients get 3/4 of the rate, one connection per request the rest.
        self.threads = [
            threading.Thread(target=self.keep_alive, args=(self.rate * 3 / 8, 0), daemon=True),
            threading.Thread(target=self.keep_alive, args=(self.rate * 3 / 8, 5), daemon=True),
            threading.Thread(target=self.one_shot, args=(self.rate / 4,), daemon=True),
            threading.Thread(target=self.metrics, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)

    def count(self, code: int | None) -> None:
        with self.lock:
            self.probes += 1
            if code is None:
                self.errors += 1
            else:
                self.codes[code] += 1

    def paced(self, rate: float):
        """Yields 0, 1, 2, ... at ``rate`` per second until stopped (no catching up in bursts)."""
        period = 1.0 / rate
        due = time.monotonic()
        i = 0
        while not self.stop.is_set():
            yield i
            i += 1
            due = max(due + period, time.monotonic() - period)
            delay = due - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)

    def request(self, conn: http.client.HTTPConnection, path: str) -> int:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status

    def keep_alive(self, rate: float, first: int) -> None:
        self.kept_connection(rate, lambda i: self.paths[(first + i) % len(self.paths)])

    def kept_connection(self, rate: float, path_of) -> None:
        """``path_of(i)`` at ``rate`` per second on one keep-alive connection, reopened on error."""
        conn = None
        for i in self.paced(rate):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.count(self.request(conn, path_of(i)))
            except (OSError, http.client.HTTPException):
                self.count(None)
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def one_shot(self, rate: float) -> None:
        for i in self.paced(rate):
            path = self.paths[i % len(self.paths)]
            try:
                if i % 10 == 9:  # a client that asks and goes away without reading
                    with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    continue
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                try:
                    self.count(self.request(conn, path))
                finally:
                    conn.close()
            except (OSError, http.client.HTTPException):
                self.count(None)

    def metrics(self) -> None:
        self.kept_connection(1.0, lambda _: "/metrics")


# --- the run --------------------------------------------------------------------------------------

@dataclass
class proc_sample:
    rss_kib: int
    fds: int
    threads: int
    cpu_s: float


def sample(pid: int) -> proc_sample:
    """What the process holds now, from /proc."""
    rss = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return proc_sample(rss, len(os.listdir(f"/proc/{pid}/fd")),
                       len(os.listdir(f"/proc/{pid}/task")), cpu)


def load_average() -> float:
    """The machine's 1-minute load average (how busy it was beside the soak)."""
    with open("/proc/loadavg", encoding="ascii") as f:
        return float(f.read().split()[0])


class log_watch:
    """Counts lines of a growing log file that contain given markers; keeps the last lines."""

    def __init__(self, path: str):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.counts: collections.Counter = collections.Counter()
        self.tail: collections.deque = collections.deque(maxlen=40)
        self.markers = ("configuration reloaded", "reload rejected", "keeping the running")

    def poll(self) -> None:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for raw in lines:
            line = raw.decode(errors="replace")
            self.tail.append(line)
            for m in self.markers:
                if m in line:
                    self.counts[m] += 1


@dataclass
class children:
    """Processes the driver started, stopped by PID in reverse order."""
    procs: list = field(default_factory=list)

    def start(self, argv: list[str], **kw) -> subprocess.Popen:
        # Children are started before any thread of the driver, when preexec_fn is safe.
        p = subprocess.Popen(argv, preexec_fn=die_with_parent, **kw)  # pylint: disable=W1509
        self.procs.append(p)
        return p

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def wait_for(pred, timeout: float, what: str) -> None:
    """Polls ``pred`` every 100 ms until it holds; raises after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def http_status(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return None


class soak:
    """One run: the targets, vitalsd, the flood, the samples and the reloads."""

    def __init__(self, args: argparse.Namespace, work: str):
        self.args = args
        self.work = work
        self.vitalsd = os.path.abspath(args.vitalsd)
        self.kids = children()
        self.lay = layout.of(args.checks)
        self.cfg = os.path.join(work, "vitalsd.yaml")
        self.port = free_port()
        self.targets: dict = {}
        self.daemon: subprocess.Popen | None = None
        self.flap: subprocess.Popen | None = None
        self.watch: log_watch | None = None
        self.probes: flood | None = None
        self.rows: list[dict] = []
        self.gen = 0
        self.reload_took = 0.0
        self.reloaded_at: float | None = None

    def write_config(self) -> None:
        tmp = self.cfg + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(config(self.gen, f"127.0.0.1:{self.port}", self.lay, self.targets,
                           self.args.engine_threads))
        os.replace(tmp, self.cfg)  # a reload never reads half a file

    def alive(self) -> bool:
        """Raises if vitalsd or the targets died."""
        for name, p in (("vitalsd", self.daemon), ("flap_server", self.flap)):
            if p is not None and p.poll() is not None:
                raise RuntimeError(f"{name} exited with code {p.returncode}")
        return True

    def start(self) -> None:
        """The targets, then vitalsd on a configuration it has validated, then the flood."""
        self.flap = self.kids.start(
            [sys.executable, os.path.join(HERE, "flap_server.py"),
             "--http-targets", str(self.lay.http), "--tcp-ports", str(self.args.tcp_ports),
             "--flags", "10", "--flag-dir", os.path.join(self.work, "flags"),
             "--phase", str(self.args.phase), "--max-seconds", str(self.args.duration + 600)],
            stdout=subprocess.PIPE, text=True)
        self.targets = json.loads(self.flap.stdout.readline() or "null")
        if not self.targets:
            raise RuntimeError("flap_server did not start")
        self.write_config()
        check = subprocess.run([self.vitalsd, "--check-config", "--config", self.cfg],
                               capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError("generated configuration refused:\n" + check.stdout + check.stderr)
        log_path = os.path.join(self.work, "vitalsd.log")
        with open(log_path, "wb") as log_file:
            self.daemon = self.kids.start([self.vitalsd, "--config", self.cfg],
                                          stdout=log_file, stderr=log_file)
        self.watch = log_watch(log_path)
        wait_for(lambda: self.alive() and http_status(self.port, "/livez") == 200, 30,
                 "vitalsd /livez")
        log(f"vitalsd pid {self.daemon.pid} on 127.0.0.1:{self.port}, {self.args.checks} checks; "
            f"flap_server pid {self.flap.pid}; work dir {self.work}")
        self.probes = flood(self.port, self.args.probe_rate, "http-1")  # never renamed
        self.probes.start()

    def take_sample(self, t0: float) -> dict:
        self.watch.poll()
        s = sample(self.daemon.pid)
        with self.probes.lock:
            n_probes, n_errors = self.probes.probes, self.probes.errors
        now = time.monotonic()
        return {"t_s": round(now - t0, 1), "rss_kib": s.rss_kib, "fds": s.fds,
                "threads": s.threads, "cpu_s": round(s.cpu_s, 2),
                "reloads": self.watch.counts["configuration reloaded"],
                "reload_s": round(self.reload_took, 2),
                "since_reload_s": "" if self.reloaded_at is None
                else round(now - self.reloaded_at, 1),
                "probes": n_probes, "probe_errors": n_errors, "load1": load_average()}

    def reload(self) -> None:
        """The next generation of the file, SIGHUP, and wait until vitalsd has applied it."""
        w = self.watch
        want = w.counts["configuration reloaded"] + 1
        sent = time.monotonic()
        self.gen += 1
        self.write_config()
        self.daemon.send_signal(signal.SIGHUP)

        def applied() -> bool:
            self.alive()
            w.poll()
            if w.counts["reload rejected"] or w.counts["keeping the running"]:
                raise RuntimeError("vitalsd rejected a reload:\n" + "\n".join(w.tail))
            return w.counts["configuration reloaded"] >= want

        wait_for(applied, 30, f"reload {self.gen}")
        self.reloaded_at = time.monotonic()
        self.reload_took = self.reloaded_at - sent

    def loop(self, out) -> None:
        """Samples every --sample-every s for --duration s; reloads right after a sample."""
        args = self.args
        t0 = time.monotonic()
        next_reload = args.reload_every
        for k in itertools.count():
            due = k * args.sample_every
            if due > args.duration + 1e-6:
                return
            while time.monotonic() < t0 + due and self.alive():
                time.sleep(min(0.5, max(0.0, t0 + due - time.monotonic())))
            row = self.take_sample(t0)
            self.rows.append(row)
            if out:
                out.writerow(row)
            if args.verbose or k % max(1, int(60 / args.sample_every)) == 0:
                log(f"t={row['t_s']:.0f}s rss={row['rss_kib']} KiB fds={row['fds']} "
                    f"threads={row['threads']} cpu={row['cpu_s']:.1f}s reloads={row['reloads']} "
                    f"(last {self.reload_took:.2f} s, {row['since_reload_s'] or '-'} s ago) "
                    f"probes={row['probes']} errors={row['probe_errors']}")
            if next_reload - 1e-6 <= due < args.duration:
                next_reload += args.reload_every
                self.reload()

    def stop_daemon(self) -> None:
        """SIGTERM: vitalsd must drain and exit 0."""
        self.probes.join()
        self.daemon.send_signal(signal.SIGTERM)
        try:
            code = self.daemon.wait(timeout=30)
        except subprocess.TimeoutExpired as e:
            raise RuntimeError("vitalsd did not exit within 30 s of SIGTERM") from e
        if code != 0:
            raise RuntimeError(f"vitalsd exited with code {code} after SIGTERM")

    def fail(self, e: BaseException) -> None:
        log(f"soak: {e}")
        if self.watch is not None:
            self.watch.poll()
            print("--- last lines of the vitalsd log:\n" + "\n".join(self.watch.tail),
                  file=sys.stderr)
        if self.probes is not None:
            self.probes.stop.set()


class csv_out:
    """The samples, written as they come: an interrupted hour still leaves its rows."""

    def __init__(self, path: str):
        self.file = open(path, "w", newline="", encoding="ascii")  # pylint: disable=R1732
        self.writer = csv.DictWriter(self.file, fieldnames=COLUMNS)
        self.writer.writeheader()

    def writerow(self, row: dict) -> None:
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def run(args: argparse.Namespace) -> int:
    """The soak; returns the exit code (0 ok, 1 a bound exceeded, 2 the run failed)."""
    if not os.access(args.vitalsd, os.X_OK):
        sys.exit(f"soak: not an executable: {args.vitalsd}")

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    work = tempfile.mkdtemp(prefix="vitals-soak-", dir=args.work_dir)
    out = csv_out(args.csv) if args.csv else None
    s = soak(args, work)
    try:
        s.start()
        s.loop(out)
        s.stop_daemon()
    except (RuntimeError, KeyboardInterrupt) as e:
        s.fail(e)
        return 2
    finally:
        s.kids.stop_all()
        if out:
            out.close()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    last, probes = s.rows[-1], s.probes
    log(f"{len(s.rows)} samples, {last['reloads']} reloads, {probes.probes} probes "
        f"({probes.errors} transport errors; codes {dict(sorted(probes.codes.items()))}); "
        f"vitalsd CPU {last['cpu_s']:.0f} s in {last['t_s']:.0f} s")
    return report(s.rows, args)


def read_csv(path: str) -> list[dict]:
    with open(path, newline="", encoding="ascii") as f:
        return [{k: float(v) if v else None for k, v in r.items()} for r in csv.DictReader(f)]


# --- figures --------------------------------------------------------------------------------------

def slope_per_hour(ts: list[float], xs: list[float]) -> float:
    """Least-squares slope of xs over ts (seconds), per hour."""
    mt, mx = statistics.fmean(ts), statistics.fmean(xs)
    den = sum((t - mt) ** 2 for t in ts)
    return 0.0 if den == 0 else 3600 * sum((t - mt) * (x - mx) for t, x in zip(ts, xs)) / den


def figures(rows: list[dict], warmup: float) -> dict:
    """Per series, over the samples after ``warmup`` seconds: n, min, max, mean, the largest
    deviation from the mean (%), drift (median of the last tenth - median of the first tenth,
    at least 3 samples each) and slope per hour."""
    kept = [r for r in rows if r["t_s"] >= warmup]
    if len(kept) < 6:
        raise SystemExit(f"soak: only {len(kept)} samples after the warm-up; need 6")
    w = max(3, len(kept) // 10)
    ts = [float(r["t_s"]) for r in kept]
    out = {}
    for s in SERIES:
        xs = [float(r[s]) for r in kept]
        mean = statistics.fmean(xs)
        out[s] = {
            "n": len(xs), "min": min(xs), "max": max(xs), "mean": mean,
            "dev_pct": 100 * max(abs(x - mean) for x in xs) / mean if mean else 0.0,
            "first": statistics.median(xs[:w]), "last": statistics.median(xs[-w:]),
            "drift": statistics.median(xs[-w:]) - statistics.median(xs[:w]),
            "slope_h": slope_per_hour(ts, xs),
        }
    return out


def parse_bounds(items: list[str], flag: str) -> dict[str, float]:
    bounds = {}
    for item in items or []:
        for part in item.split(","):
            key, sep, value = part.partition("=")
            if not sep or key.strip() not in SHORT:
                raise SystemExit(f"soak: {flag} takes SERIES=NUMBER with SERIES one of "
                                 f"rss, fds, threads; got '{part}'")
            bounds[SHORT[key.strip()]] = float(value.rstrip("%"))
    return bounds


def report(rows: list[dict], args: argparse.Namespace) -> int:
    """Prints the figures as a markdown table, draws the plot if asked, checks the bounds."""
    max_dev = parse_bounds(args.max_dev, "--max-dev")
    max_growth = parse_bounds(args.max_growth, "--max-growth")
    fig = figures(rows, args.warmup)
    span = rows[-1]["t_s"] - args.warmup
    print(f"\nAfter a warm-up of {args.warmup:g} s: {fig['fds']['n']} samples over {span:.0f} s, "
          f"{int(rows[-1]['reloads'])} reloads in all\n")
    print("| series | min | max | mean | max deviation from mean | drift (last - first) "
          "| slope per hour |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in SERIES:
        f = fig[s]
        print(f"| {s} | {f['min']:,.0f} | {f['max']:,.0f} | {f['mean']:,.1f} | "
              f"±{f['dev_pct']:.2f} % | {f['drift']:+,.1f} | {f['slope_h']:+,.1f} |")
    failed = []
    for s, bound in max_dev.items():
        if fig[s]["dev_pct"] > bound:
            failed.append(f"{s}: deviation ±{fig[s]['dev_pct']:.2f} % > ±{bound:g} %")
    for s, bound in max_growth.items():
        if fig[s]["drift"] > bound:
            failed.append(f"{s}: grew by {fig[s]['drift']:g} (median {fig[s]['first']:g} -> "
                          f"{fig[s]['last']:g}), more than {bound:g}")
    if args.plot:
        plot(rows, args, fig, max_dev)
    print()
    if failed:
        for f in failed:
            print(f"FAIL {f}")
        return 1
    checked = ", ".join([f"{s} ±{b:g} %" for s, b in max_dev.items()] +
                        [f"{s} growth <= {b:g}" for s, b in max_growth.items()])
    print(f"OK ({checked or 'no bounds given'})")
    return 0


def plot(rows: list[dict], args: argparse.Namespace, fig: dict, max_dev: dict) -> None:
    """RSS, fds and threads over time in three panels of one PNG (gnuplot): the samples, the
    end of the warm-up, the mean after it and, where a ``--max-dev`` bound is given, its band."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        raise SystemExit("soak: --plot needs gnuplot (apt-get install gnuplot-nox)")
    scale = {"rss_kib": 1 / 1024, "fds": 1, "threads": 1}
    labels = {"rss_kib": "RSS (MiB)", "fds": "open fds", "threads": "threads"}
    colors = {"rss_kib": "#1f77b4", "fds": "#d62728", "threads": "#2ca02c"}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "samples.dat")
        with open(data, "w", encoding="ascii") as f:
            for r in rows:
                f.write(f"{r['t_s'] / 60:.3f} " +
                        " ".join(f"{r[s] * scale[s]:.3f}" for s in SERIES) + "\n")
        title = (args.title or "vitalsd soak").replace("'", "")
        script = [
            "set terminal pngcairo size 1000,900 font 'sans,10'",
            f"set output '{os.path.abspath(args.plot)}'",
            f"set multiplot layout 3,1 title '{title}'",
            "set grid", "set key outside right top vertical",
            f"set arrow 1 from {args.warmup / 60},graph 0 to {args.warmup / 60},graph 1 "
            "nohead dt 2 lc 'gray40'",
        ]
        for i, s in enumerate(SERIES):
            mean = fig[s]["mean"] * scale[s]
            band = max_dev.get(s, 0) / 100 * mean
            values = [r[s] * scale[s] for r in rows if r["t_s"] >= args.warmup]
            # The range of the samples after the warm-up and of the band, with room around: a
            # flat series must look flat (earlier samples below it are clipped).
            lo, hi = min(values + [mean - band]), max(values + [mean + band])
            pad = max(0.05 * mean, 0.5)
            script += [
                f"set ylabel '{labels[s]}'",
                "set xlabel 'minutes'" if i == len(SERIES) - 1 else "unset xlabel",
                f"set yrange [{lo - pad}:{hi + pad}]",
                f"plot '{data}' using 1:{i + 2} with linespoints pt 7 ps 0.3 "
                f"lc rgb '{colors[s]}' title 'samples', "
                f"{mean} with lines dt 3 lc 'black' title 'mean after warm-up'" +
                (f", {mean - band} with lines dt 2 lc 'gray50' title '±{max_dev[s]:g} %', "
                 f"{mean + band} with lines dt 2 lc 'gray50' notitle" if band else ""),
            ]
        script.append("unset multiplot")
        done = subprocess.run([gnuplot], input="\n".join(script), text=True,
                              capture_output=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"soak: gnuplot failed:\n{done.stderr}")
    log(f"plot written to {args.plot}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_report_args(p: argparse.ArgumentParser, warmup: float) -> None:
        p.add_argument("--warmup", type=float, default=warmup,
                       help="seconds of samples left out of the figures (default %(default)s)")
        p.add_argument("--max-dev", action="append", metavar="SERIES=PCT",
                       help="bound on the largest deviation from the mean, percent "
                            "(e.g. rss=5,fds=5,threads=5)")
        p.add_argument("--max-growth", action="append", metavar="SERIES=N",
                       help="bound on the median of the last tenth minus that of the first tenth "
                            "(e.g. fds=8,threads=1)")
        p.add_argument("--plot", metavar="PNG", help="draw the samples into this PNG (gnuplot)")
        p.add_argument("--title", help="title of the plot")

    r = sub.add_parser("run", help="run vitalsd under load and sample it")
    r.add_argument("--vitalsd", required=True, help="the vitalsd binary")
    r.add_argument("--duration", type=float, default=3600, help="seconds (default %(default)s)")
    r.add_argument("--checks", type=int, default=500, help="checks (default %(default)s)")
    r.add_argument("--sample-every", type=float, default=10, help="seconds between samples")
    r.add_argument("--reload-every", type=float, default=30, help="seconds between reloads")
    r.add_argument("--probe-rate", type=float, default=200,
                   help="probe requests per second in all, besides /metrics at 1/s")
    r.add_argument("--phase", type=float, default=4, help="seconds per flap phase")
    r.add_argument("--tcp-ports", type=int, default=8, help="flapping TCP ports")
    r.add_argument("--engine-threads", type=int, default=1,
                   help="engine.max_threads, the pool of the blocking checks (0 = vitalsd's "
                        "default: it grows lazily to the peak number of blocking runs in flight "
                        "and starts from none again at each reload; default %(default)s)")
    r.add_argument("--csv", help="write the samples here")
    r.add_argument("--work-dir", help="where to make the temporary directory")
    r.add_argument("--keep", action="store_true", help="keep the temporary directory")
    r.add_argument("-v", "--verbose", action="store_true", help="log every sample")
    add_report_args(r, warmup=300)

    p = sub.add_parser("report", help="figures (and a plot) from a CSV written by run")
    p.add_argument("csv_in", metavar="CSV")
    add_report_args(p, warmup=300)

    args = parser.parse_args()
    if args.command == "run":
        if args.sample_every <= 0 or args.reload_every <= 0 or args.probe_rate <= 0:
            parser.error("--sample-every, --reload-every and --probe-rate must be positive")
        return run(args)
    return report(read_csv(args.csv_in), args)


if __name__ == "__main__":
    sys.exit(main())
