#!/usr/bin/env python3
"""Every PromQL expression shipped in deploy/ is valid for a real Prometheus: the rules'
`expr`s and every query of the Grafana dashboard (panel targets, annotations, template
variables, with Grafana's variables substituted) are sent to /api/v1/query of a Prometheus
started here, which must answer "status": "success" (a parse error is "status": "error").
The same server loads the rule files and must report every rule healthy after evaluating it.
Skips (77) if prometheus is not installed."""
import os
import re
import sys
import time

import deploy_common as dc
import prometheus_server as ps

BUDGET_S = 90   # below the ctest TIMEOUT: finish (and clean up) on our own


def main():
    if (skip := ps.skip_or_arm(BUDGET_S, dc.SKIP)) is not None:
        return skip

    exprs = [(f"{f}: {g}: {r.get('alert') or r.get('record')}", r["expr"]) for f, g, r in dc.rules()]
    dash = dc.load_dashboard()
    variables = dc.dashboard_variables(dash)
    failures = []
    for where, expr in dc.dashboard_exprs(dash):
        try:
            exprs.append((f"dashboard: {where}", dc.substitute(expr, variables)))
        except KeyError as e:
            failures.append(f"dashboard: {where}: undefined variable ${e.args[0]} in: {expr}")
    # The ```promql examples of the docs, one expression per run of non-comment lines.
    for doc in ("docs/metrics.md", "docs/monitoring.md"):
        text = open(os.path.join(dc.ROOT, doc), encoding="utf-8").read()
        for block in re.findall(r"```promql\n(.*?)```", text, re.S):
            current = []
            for line in block.splitlines() + [""]:
                if line.strip() and not line.lstrip().startswith("#"):
                    current.append(line)
                elif current:
                    exprs.append((f"{doc}", "\n".join(current)))
                    current = []
    if len(exprs) < 20:
        failures.append(f"only {len(exprs)} expressions found: is the extraction broken?")

    files = {f"rules{i}.yml": open(p, encoding="utf-8").read() for i, p in enumerate(dc.rule_files())}
    config = ("global: {scrape_interval: 15s, evaluation_interval: 1s}\n"
              "rule_files: [" + ", ".join(files) + "]\n")
    with ps.prometheus(config, files) as prom:
        print(f"prometheus pid {prom.proc.pid} on {prom.base}")
        now = time.time()
        for where, expr in exprs:
            r = prom.query(expr, time=f"{now:.3f}")
            if r.get("status") != "success":
                failures.append(f"{where}: {r.get('errorType')}: {r.get('error')}\n    {expr}")
        # The server loaded the rule files; wait until each group was evaluated once.
        expected = len(dc.rules())
        deadline = time.monotonic() + 20
        while True:
            groups = prom.get("/api/v1/rules").get("data", {}).get("groups", [])
            loaded = [r for g in groups for r in g["rules"]]
            evaluated = [r for r in loaded if not r.get("lastEvaluation", "0001").startswith("0001")]
            if len(loaded) == expected and len(evaluated) == expected:
                break
            if time.monotonic() > deadline:
                failures.append(f"rules: {len(loaded)} of {expected} loaded, {len(evaluated)} "
                                f"evaluated after 20 s\n{prom.log_tail()}")
                break
            time.sleep(0.5)
        for r in loaded:
            if r.get("health") != "ok" or r.get("lastError"):
                failures.append(f"rule {r['name']}: health {r.get('health')}: {r.get('lastError')}")
    for f in failures:
        print("FAIL:", f)
    print(f"{len(exprs)} expressions checked, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
