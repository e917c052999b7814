#!/usr/bin/env python3
"""deploy/alertmanager/alertmanager.yml: `amtool check-config` passes, and
`amtool config routes test` sends every alert of the rule files, by its severity, to the
receivers this table expects (and non-vitals alerts to the default receiver only).
Skips (77) if amtool is not installed."""
import os
import shutil
import subprocess
import sys

import deploy_common as dc

AMTOOL = os.environ.get("AMTOOL", "amtool")
BY_SEVERITY = {
    "page": "webhook,pagerduty,slack-oncall",
    "ticket": "webhook,slack-tickets,email-ops",
}
EXTRA = [  # (labels, expected receivers)
    ({"alertname": "VitalsCheckFailing", "severity": "ticket", "app": "billing"}, "webhook,teams-billing"),
    ({"alertname": "VitalsCriticalCheckFailing", "severity": "page", "app": "billing"},
     "webhook,pagerduty,slack-oncall"),
    ({"alertname": "NodeDown", "severity": "page"}, "pagerduty,slack-oncall"),
    ({"alertname": "SomethingElse"}, "email-ops"),
]


def amtool(*args):
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, timeout=30)


def main():
    if shutil.which(AMTOOL) is None:
        print(f"SKIP: {AMTOOL} not found")
        return dc.SKIP
    failures = []
    r = amtool("check-config", dc.ALERTMANAGER)
    print(r.stdout.strip())
    if r.returncode != 0:
        failures.append(f"amtool check-config failed:\n{r.stdout}{r.stderr}")

    cases = []
    for _, _, rule in dc.rules():
        if "alert" in rule:
            sev = (rule.get("labels") or {}).get("severity")
            cases.append(({"alertname": rule["alert"], "severity": sev}, BY_SEVERITY.get(sev, "?")))
    cases += EXTRA
    for labels, want in cases:
        args = [f"{k}={v}" for k, v in labels.items()]
        r = amtool("config", "routes", "test", f"--config.file={dc.ALERTMANAGER}",
                   f"--verify.receivers={want}", *args)
        got = r.stdout.strip().splitlines()[0] if r.stdout.strip() else r.stderr.strip()
        status = "ok" if r.returncode == 0 else "FAIL"
        print(f"{status}: {' '.join(args)} -> {got}")
        if r.returncode != 0:
            failures.append(f"{' '.join(args)}: routed to {got}, expected {want}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
