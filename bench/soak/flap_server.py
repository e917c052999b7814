#!/usr/bin/env python3
"""Loopback targets that flap between healthy and unhealthy, for the vitalsd soak.

    flap_server.py --http-targets 300 --tcp-ports 8 --flags 10 --flag-dir DIR [--phase 4]

Serves, on 127.0.0.1 only:

* one HTTP/1.1 port (keep-alive) where ``GET /t/<i>`` answers by the phase of target ``i``,
  one phase (``--phase`` seconds) each, in a loop: 200; 503; 200; 503 again. Every fourth
  target (``i % 4 == 0``) also closes the connection with its first 503, and every fourth
  (``i % 4 == 2``) replies in its last phase later than any check timeout (``--slow``);
* ``--tcp-ports`` ports that listen for two phases and are closed (connection refused) for two;
  a line starting with ``PING`` is answered ``PONG``;
* one "black hole" port that listens but never accepts: once its accept queue is full, a
  connect hangs until the client gives up (a timeout every run);
* ``--flags`` files ``DIR/flag-<k>`` that exist for two phases and are absent for two (for
  ``exec`` and ``file`` checks).

Targets are spread evenly over the cycle (target ``i`` of ``n`` starts ``4 * i / n`` phases
late), so at any moment a quarter of them is in each phase: what the daemon holds at once
(connections, timed-out runs) stays the same from one moment to the next while every single
target flaps.

When ready, prints one JSON line on stdout with the ports and the flag directory. Runs until
SIGTERM or SIGINT, or for ``--max-seconds`` at most.
"""
import argparse
import asyncio
import json
import math
import os
import random
import resource
import signal
import socket
import sys
import time

CYCLE = 4  # phases per cycle


def phase(offset: float, period: float) -> int:
    """The phase (0..CYCLE-1) a target that starts ``offset`` phases late is in now."""
    return math.floor(time.time() / period + offset) % CYCLE


def free_ports_below_ephemeral(count: int) -> list[int]:
    """Ports that are free now, picked at random below the kernel's ephemeral range.

    A port that closes and reopens must not be in the ephemeral range: while it is closed, a
    client's own connect could be given it as a source port and then connect to itself. Random,
    so that two soaks on one machine are unlikely to flap the same ports (while one has a port
    closed, the other could take it).
    """
    with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
        low = int(f.read().split()[0])
    candidates = random.sample(range(max(1025, low - 12000), low), k=min(12000, low - 1025))
    ports = []
    for candidate in candidates:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", candidate))
                ports.append(candidate)
            except OSError:
                continue
        if len(ports) == count:
            return ports
    sys.exit("flap_server: not enough free ports below the ephemeral range")


class targets:
    """The flapping targets and their state."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tcp_ports = free_ports_below_ephemeral(args.tcp_ports)
        self.tcp_servers: dict[int, asyncio.AbstractServer] = {}
        self.warned: set[int] = set()
        self.http_server: asyncio.AbstractServer | None = None
        self.blackhole: socket.socket | None = None

    # --- HTTP -------------------------------------------------------------------------------------
    async def serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        """One keep-alive connection: answers each request by its target's phase."""
        n = self.args.http_targets
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.args.idle)
                parts = head.split(b" ", 2)
                target = 0
                if len(parts) >= 2 and parts[1].startswith(b"/t/"):
                    try:
                        target = int(parts[1][3:])
                    except ValueError:
                        target = 0
                p = phase(CYCLE * (target % n) / n, self.args.phase)
                slow = p == 3 and target % 4 == 2
                if p in (1, 3) and not slow:
                    close = p == 1 and target % 4 == 0
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\n" +
                                 (b"Connection: close\r\n" if close else b"") + b"\r\ndown\n")
                    await writer.drain()
                    if close:
                        return
                    continue
                if slow:
                    await asyncio.sleep(self.args.slow)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError,
                ConnectionError):
            pass
        except asyncio.CancelledError:  # shutting down: nothing left to answer
            pass
        finally:
            writer.close()

    # --- TCP --------------------------------------------------------------------------------------
    async def serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        """Answers PING with PONG, then waits for the client to close (bounded)."""
        try:
            line = await asyncio.wait_for(reader.readline(), self.args.idle)
            if line.startswith(b"PING"):
                writer.write(b"PONG\n")
                await writer.drain()
                await asyncio.wait_for(reader.read(), self.args.idle)
        except (asyncio.TimeoutError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def flap_tcp(self):
        """Opens and closes the TCP ports by their phases (checked every 50 ms)."""
        k = len(self.tcp_ports)
        while True:
            for idx, port in enumerate(self.tcp_ports):
                want_open = phase(CYCLE * idx / k, self.args.phase) < 2
                server = self.tcp_servers.get(port)
                if want_open and server is None:
                    try:
                        self.tcp_servers[port] = await asyncio.start_server(
                            self.serve_tcp, "127.0.0.1", port, reuse_address=True, backlog=512)
                    except OSError as e:  # taken meanwhile by someone else: try again later
                        if port not in self.warned:
                            self.warned.add(port)
                            print(f"flap_server: cannot listen on {port} (reported once): {e}",
                                  file=sys.stderr, flush=True)
                elif not want_open and server is not None:
                    server.close()
                    del self.tcp_servers[port]
            await asyncio.sleep(0.05)

    # --- flag files -------------------------------------------------------------------------------
    async def flap_flags(self):
        """Creates and removes the flag files by their phases (checked every 50 ms)."""
        f = self.args.flags
        while True:
            for k in range(f):
                path = os.path.join(self.args.flag_dir, f"flag-{k}")
                if phase(CYCLE * k / f, self.args.phase) < 2:
                    if not os.path.exists(path):
                        with open(path, "w", encoding="ascii") as out:
                            out.write("up\n")
                elif os.path.exists(path):
                    os.unlink(path)
            await asyncio.sleep(0.05)

    async def run(self):
        """Starts every target, prints where they are, and serves until stopped."""
        self.http_server = await asyncio.start_server(self.serve_http, "127.0.0.1", 0,
                                                      backlog=1024)
        self.blackhole = socket.socket()
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(0)
        os.makedirs(self.args.flag_dir, exist_ok=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(self.flap_tcp()), asyncio.create_task(self.flap_flags())]
        print(json.dumps({
            "http_port": self.http_server.sockets[0].getsockname()[1],
            "tcp_ports": self.tcp_ports,
            "blackhole_port": self.blackhole.getsockname()[1],
            "flag_dir": self.args.flag_dir,
        }), flush=True)
        try:
            await asyncio.wait_for(stop.wait(), self.args.max_seconds)
        except asyncio.TimeoutError:
            print("flap_server: --max-seconds reached", file=sys.stderr)
        for t in tasks:
            t.cancel()
        self.http_server.close()
        for server in self.tcp_servers.values():
            server.close()
        self.blackhole.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--http-targets", type=int, default=300, help="HTTP targets /t/<i>")
    parser.add_argument("--tcp-ports", type=int, default=8, help="flapping TCP ports")
    parser.add_argument("--flags", type=int, default=10, help="flapping flag files")
    parser.add_argument("--flag-dir", required=True, help="directory of the flag files")
    parser.add_argument("--phase", type=float, default=4.0, help="seconds per phase")
    parser.add_argument("--slow", type=float, default=1.5,
                        help="delay of a reply in the slow phase, seconds (> the checks' timeout)")
    parser.add_argument("--idle", type=float, default=30.0,
                        help="seconds a connection may stay silent before it is closed")
    parser.add_argument("--max-seconds", type=float, default=4 * 3600,
                        help="exit after this long whatever happens")
    args = parser.parse_args()
    if min(args.http_targets, args.tcp_ports, args.flags) < 1:
        parser.error("--http-targets, --tcp-ports and --flags must be at least 1")
    # Every check keeps a connection: raise the soft descriptor limit as far as allowed.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(targets(args).run())


if __name__ == "__main__":
    main()
