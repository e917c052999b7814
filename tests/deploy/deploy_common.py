"""Shared by the tests of deploy/ (tests/deploy/CMakeLists.txt): where the files are, how to
read them, and the PromQL expressions they contain. Python standard library plus PyYAML."""
import json
import os
import re
import sys

SKIP = 77  # ctest SKIP_RETURN_CODE: a tool these tests need is not installed

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES_DIR = os.path.join(ROOT, "deploy", "prometheus", "rules")
RULE_TESTS_DIR = os.path.join(ROOT, "deploy", "prometheus", "tests")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "vitals.json")
ALERTMANAGER = os.path.join(ROOT, "deploy", "alertmanager", "alertmanager.yml")
K8S_CONFIG = os.path.join(ROOT, "deploy", "prometheus", "prometheus-kubernetes.yml")
MONITORING_DOC = os.path.join(ROOT, "docs", "monitoring.md")

try:
    import yaml
except ImportError:  # python3-yaml
    print("SKIP: python3 has no yaml module (Debian: apt-get install python3-yaml)")
    sys.exit(SKIP)


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rule_files():
    return sorted(os.path.join(RULES_DIR, n) for n in os.listdir(RULES_DIR)
                  if n.endswith((".yml", ".yaml")))


def rules():
    """(file, group, rule dict) for every rule of every rule file."""
    out = []
    for path in rule_files():
        for group in load_yaml(path).get("groups") or []:
            for rule in group.get("rules") or []:
                out.append((os.path.relpath(path, ROOT), group["name"], rule))
    return out


def rule_tests():
    """(file, test group dict) for every test group of deploy/prometheus/tests/*.yaml."""
    out = []
    for name in sorted(os.listdir(RULE_TESTS_DIR)):
        if name.endswith((".yml", ".yaml")):
            path = os.path.join(RULE_TESTS_DIR, name)
            for t in load_yaml(path).get("tests") or []:
                out.append((os.path.relpath(path, ROOT), t))
    return out


def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def _walk(node, where):
    if isinstance(node, dict):
        title = node.get("title")
        here = f"{where} > {title}" if isinstance(title, str) and title else where
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield (f"{here} [{node.get('refId', key)}]", value)
            else:
                yield from _walk(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, where)


# label_values(selector, label) and query_result(expr) are Grafana's, around PromQL.
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$", re.S)
_QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)


def dashboard_exprs(dash):
    """(where, PromQL with Grafana variables) for every query of the dashboard: each `expr` at
    any depth (panel targets, rows' nested panels, annotations) and the PromQL inside the
    query variables."""
    out = list(_walk(dash.get("panels", []), "panel"))
    out += list(_walk(dash.get("annotations", {}), "annotation"))
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = _LABEL_VALUES.match(q) or _QUERY_RESULT.match(q)
        if m:
            out.append((f"variable ${var['name']}", m.group(1)))
        elif not re.match(r"^\s*(label_values\(\s*\w+\s*\)|label_names\(\)|metrics\(.*\))\s*$", q):
            out.append((f"variable ${var['name']}", q))  # not a known Grafana function: PromQL
    return out


# Grafana's built-in variables, replaced by what Grafana would send for a 1h range.
BUILTINS = {
    "__rate_interval": "1m", "__interval": "1m", "__interval_ms": "60000",
    "__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]")


def substitute(expr, variables):
    """Replaces Grafana variables in expr: built-ins by durations, the dashboard's own
    variables by `.*` (what "All" sends; every one of ours is used in a regex matcher).
    Raises KeyError naming a variable the dashboard does not define."""
    def repl(m):
        name = m.group(1) or m.group(2) or m.group(3)
        if name in BUILTINS:
            return BUILTINS[name]
        if name in variables:
            return variables[name]
        raise KeyError(name)
    return _VAR.sub(repl, expr)


def dashboard_variables(dash):
    return {v["name"]: ".*" for v in dash.get("templating", {}).get("list", [])}
