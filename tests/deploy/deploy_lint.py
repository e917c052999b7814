#!/usr/bin/env python3
"""What promtool does not check in deploy/:
  - every alert has a `for:`, a severity of page or ticket, a summary, a description and a
    runbook_url that points at an existing heading of docs/monitoring.md;
  - every alert is unit-tested both firing and not firing (deploy/prometheus/tests), and every
    recording rule's output is tested;
  - the dashboard's panels have unique ids and every target a query;
  - every vitals_* / process_* series named by a rule or a dashboard query is one vitals serves
    (tests/deploy/metric_names.txt): a misspelt name is valid PromQL that never matches.
Skips (77) only if python3 has no yaml module."""
import os
import re
import sys

import deploy_common as dc

SEVERITIES = {"page", "ticket"}
RUNBOOK = "https://github.com/vitals-dev/vitals/blob/main/docs/monitoring.md#"


def contract():
    names = set()
    with open(os.path.join(os.path.dirname(__file__), "metric_names.txt"), encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words[:1] == ["histogram"]:
                names |= {words[1] + s for s in ("_bucket", "_sum", "_count")}
            elif words:
                names.add(words[0])
    return names


# A series name not part of a recording rule's name (level:metric:operations).
_SERIES = re.compile(r"(?<![\w:])((?:vitals|process)_[A-Za-z0-9_]+)(?![\w:])")


def strip_strings(expr):
    """expr without its string literals (label values are not series names)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def github_anchors(path):
    anchors = set()
    with open(path, encoding="utf-8") as f:
        in_code = False
        for line in f:
            if line.startswith("```"):
                in_code = not in_code
            m = None if in_code else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                text = re.sub(r"[^\w\- ]", "", m.group(1).lower())
                anchors.add(text.replace(" ", "-"))
    return anchors


def main():
    failures = []
    rules = dc.rules()
    alerts = [(f, r) for f, _, r in rules if "alert" in r]
    records = [(f, r) for f, _, r in rules if "record" in r]
    if not alerts or not records:
        failures.append("no alert or no recording rule found")
    anchors = github_anchors(dc.MONITORING_DOC) if os.path.exists(dc.MONITORING_DOC) else set()
    if not anchors:
        failures.append(f"{os.path.relpath(dc.MONITORING_DOC, dc.ROOT)}: missing or without headings")

    for f, r in alerts:
        name = r["alert"]
        if not r.get("for"):
            failures.append(f"{f}: {name}: no `for:` duration")
        sev = (r.get("labels") or {}).get("severity")
        if sev not in SEVERITIES:
            failures.append(f"{f}: {name}: severity {sev!r}, not one of {sorted(SEVERITIES)}")
        ann = r.get("annotations") or {}
        for key in ("summary", "description", "runbook_url"):
            if not str(ann.get(key, "")).strip():
                failures.append(f"{f}: {name}: no {key} annotation")
        url = str(ann.get("runbook_url", ""))
        if not url.startswith(RUNBOOK):
            failures.append(f"{f}: {name}: runbook_url {url!r} does not start with {RUNBOOK}")
        elif url[len(RUNBOOK):] not in anchors:
            failures.append(f"{f}: {name}: runbook_url anchor #{url[len(RUNBOOK):]} is not a "
                            f"heading of docs/monitoring.md")

    # Coverage by promtool test rules.
    fired, quiet, tested_exprs = set(), set(), []
    for _, t in dc.rule_tests():
        for case in t.get("alert_rule_test") or []:
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
        tested_exprs += [c["expr"] for c in t.get("promql_expr_test") or []]
    for f, r in alerts:
        for seen, how in ((fired, "firing"), (quiet, "not firing")):
            if r["alert"] not in seen:
                failures.append(f"{f}: {r['alert']}: no promtool test expects it {how}")
    for f, r in records:
        if not any(re.search(rf"(?<![\w:]){re.escape(r['record'])}(?![\w:])", e) for e in tested_exprs):
            failures.append(f"{f}: {r['record']}: no promql_expr_test reads it")

    # The dashboard's panels: unique ids (Grafana links and repeats rely on them), a query in
    # every target.
    dash = dc.load_dashboard()
    ids, stack = [], list(dash.get("panels", []))
    while stack:
        p = stack.pop()
        ids.append(p.get("id"))
        stack += p.get("panels", [])
        for t in p.get("targets", []):
            if not str(t.get("expr", "")).strip() or not t.get("refId"):
                failures.append(f"dashboard: panel {p.get('title')!r}: a target without expr or refId")
    dupes = sorted({i for i in ids if ids.count(i) > 1}, key=str)
    if dupes or None in ids:
        failures.append(f"dashboard: panel ids missing or repeated: {dupes}")
    if not dash.get("uid"):
        failures.append("dashboard: no uid")

    # The metric-name contract.
    known = contract()
    sources = [(f"{f}: {r.get('alert') or r.get('record')}", r["expr"]) for f, _, r in rules]
    sources += [(f"dashboard: {w}", e) for w, e in dc.dashboard_exprs(dash)]
    used = set()
    for where, expr in sources:
        for name in _SERIES.findall(strip_strings(expr)):
            used.add(name)
            if name not in known:
                failures.append(f"{where}: {name} is not a series vitals serves (metric_names.txt)")

    for f in failures:
        print("FAIL:", f)
    print(f"{len(alerts)} alerts, {len(records)} recording rules, {len(sources)} expressions, "
          f"{len(used)} distinct series: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
