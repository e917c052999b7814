#!/usr/bin/env python3
"""The relabelling of deploy/prometheus/prometheus-kubernetes.yml, run by a real Prometheus.
Kubernetes discovery itself is replaced by static targets that carry the __meta_kubernetes_*
labels a pod role would give (Debian's Prometheus is built without Kubernetes discovery, and
there is no cluster here); everything else of the vitals job is used as shipped. The targets
Prometheus then reports (/api/v1/targets) must be the expected ones, with the expected labels.
Skips (77) if prometheus is not installed."""
import sys
import time

import yaml

import deploy_common as dc
import prometheus_server as ps

BUDGET_S = 90

# Pods as role: pod discovers them: one target per declared container port. 192.0.2.0/24 is a
# documentation range: nothing answers there, scrapes just time out.
def pod(ip, name, port, annotations=None, labels=None, phase="Running", ns="shop"):
    meta = {"__address__": f"{ip}:{port}" if port else ip,
            "__meta_kubernetes_namespace": ns, "__meta_kubernetes_pod_name": name,
            "__meta_kubernetes_pod_phase": phase}
    for k, v in (annotations or {}).items():
        meta["__meta_kubernetes_pod_annotation_" + k.replace("/", "_").replace(".", "_").replace("-", "_")] = v
    for k, v in (labels or {}).items():
        meta["__meta_kubernetes_pod_label_" + k.replace("/", "_").replace(".", "_").replace("-", "_")] = v
    return {"targets": [meta.pop("__address__")], "labels": meta}

ON = {"vitals/scrape": "true", "vitals/port": "8081"}
PODS = [
    # a sidecar pod: the app's port 8080 and vitalsd's 8081 are two discovered targets, both
    # rewritten to the annotated port: one target remains.
    pod("192.0.2.1", "orders-1", 8080, ON, {"app": "orders"}),
    pod("192.0.2.1", "orders-1", 8081, ON, {"app": "orders"}),
    # https on another port and path; app.kubernetes.io/name wins over app.
    pod("192.0.2.2", "billing-1", 9000, {"vitals/scrape": "true", "vitals/port": "9443",
                                          "vitals/scheme": "https", "vitals/path": "/internal/metrics"},
        {"app": "legacy", "app.kubernetes.io/name": "billing"}),
    # not annotated, annotated "false", finished: dropped.
    pod("192.0.2.3", "other-1", 8080, {}, {"app": "other"}),
    pod("192.0.2.4", "off-1", 8081, {"vitals/scrape": "false", "vitals/port": "8081"}),
    pod("192.0.2.5", "job-1", 8081, ON, phase="Succeeded"),
]
EXPECTED = {  # scrapeUrl -> labels
    "http://192.0.2.1:8081/metrics": {"job": "vitals", "instance": "192.0.2.1:8081",
                                      "namespace": "shop", "pod": "orders-1", "app": "orders"},
    "https://192.0.2.2:9443/internal/metrics": {"job": "vitals", "instance": "192.0.2.2:9443",
                                                "namespace": "shop", "pod": "billing-1", "app": "billing"},
}
DROPPED = 3


def main():
    if (skip := ps.skip_or_arm(BUDGET_S, dc.SKIP)) is not None:
        return skip

    config = dc.load_yaml(dc.K8S_CONFIG)
    jobs = [j for j in config["scrape_configs"] if j["job_name"].startswith("vitals")]
    if len(jobs) != 1 or "kubernetes_sd_configs" not in jobs[0]:
        print("FAIL: expected one vitals job with kubernetes_sd_configs in", dc.K8S_CONFIG)
        return 1
    job = jobs[0]
    del job["kubernetes_sd_configs"]
    job["static_configs"] = PODS
    config["scrape_configs"] = [job]
    config.pop("alerting", None)       # Kubernetes discovery too
    config.pop("rule_files", None)     # relative to the shipped file; promql_valid.py loads them

    failures = []
    with ps.prometheus(yaml.safe_dump(config)) as prom:
        print(f"prometheus pid {prom.proc.pid} on {prom.base}")
        deadline = time.monotonic() + 30   # discovery reaches the scrape manager every 5 s
        while True:
            data = prom.get("/api/v1/targets").get("data", {})
            active = data.get("activeTargets", [])
            dropped = data.get("droppedTargets", [])
            if len(active) + len(dropped) >= len(EXPECTED) + DROPPED or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    got = {t["scrapeUrl"]: t["labels"] for t in active}
    for url, labels in EXPECTED.items():
        if url not in got:
            failures.append(f"no active target {url}")
        elif got[url] != labels:
            failures.append(f"{url}: labels {got[url]}, expected {labels}")
    for url in sorted(set(got) - set(EXPECTED)):
        failures.append(f"unexpected active target {url} {got[url]}")
    if len(dropped) != DROPPED:
        failures.append(f"{len(dropped)} dropped targets, expected {DROPPED}: "
                        f"{[t['discoveredLabels'].get('__meta_kubernetes_pod_name') for t in dropped]}")
    for url in sorted(got):
        print(f"active: {url} {got[url]}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
