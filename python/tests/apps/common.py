"""The checks every test application registers, chosen by environment variables:
VITALS_TEST_PG_URL / VITALS_TEST_REDIS_URL (the real servers), VITALS_APP_PG_TIMEOUT,
VITALS_APP_INTERVAL, VITALS_APP_HANG=1 (a Python check that never returns),
VITALS_APP_RAISE=1 (one that raises), VITALS_APP_FLAP=1 (one that alternates every run),
VITALS_APP_RUNS_DIR (each Python check run appends its pid to a file there)."""

import os
import threading

import vitals

env = os.environ.get
interval = float(env("VITALS_APP_INTERVAL", "1"))
reg = vitals.Registry()
if env("VITALS_TEST_PG_URL"):
    reg.add("postgres", vitals.checks.postgres(url=env("VITALS_TEST_PG_URL"),
                                               application_name=env("VITALS_APP_NAME", "vitals"),
                                               query="SELECT 1"),
            probes=["ready", "startup"], interval=interval,
            timeout=float(env("VITALS_APP_PG_TIMEOUT", "0.4")))
if env("VITALS_TEST_REDIS_URL"):
    reg.add("redis", vitals.checks.redis(url=env("VITALS_TEST_REDIS_URL")), interval=interval,
            timeout=0.4)

runs_dir = env("VITALS_APP_RUNS_DIR")


def counted():
    if runs_dir:
        with open(os.path.join(runs_dir, "runs"), "a") as f:
            f.write(f"{os.getpid()}\n")
    return True


reg.add("counted", counted, probes=["live", "ready"], interval=interval, timeout=0.4)
if env("VITALS_APP_HANG") == "1":
    forever = threading.Event()
    reg.add("hang", lambda: forever.wait(), interval=0.5, timeout=0.2, critical=False)
if env("VITALS_APP_RAISE") == "1":
    def raises():
        raise ConnectionError("cannot reach postgres://app:raise-s3cret@db/x")
    reg.add("raises", raises, interval=0.5, timeout=0.2, critical=False)
if env("VITALS_APP_FLAP") == "1":
    state = {"n": 0}

    def flap():
        state["n"] += 1
        return state["n"] % 2 == 0

    reg.add("flap", flap, interval=0.05, timeout=0.04, initial_delay=0)

svc = vitals.Service(reg, service_id="pytest-app")
TOKEN = env("VITALS_TOKEN", "")
