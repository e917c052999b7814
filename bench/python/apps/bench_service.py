"""The service both vitals apps run: PostgreSQL (the check's default: connect once, then an empty
query per run) and Redis (PING), every $BENCH_INTERVAL seconds (default 1)."""
import os

import vitals

interval = float(os.environ.get("BENCH_INTERVAL", "1"))
reg = vitals.Registry()
reg.add("postgres", vitals.checks.postgres(url=os.environ["VITALS_TEST_PG_URL"]),
        interval=interval, timeout=0.5)
reg.add("redis", vitals.checks.redis(url=os.environ["VITALS_TEST_REDIS_URL"]),
        interval=interval, timeout=0.5)
svc = vitals.Service(reg)
