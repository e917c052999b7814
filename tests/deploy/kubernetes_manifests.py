#!/usr/bin/env python3
"""The Kubernetes manifests of deploy/kubernetes agree with vitalsd:
  - every vitalsd configuration a ConfigMap carries passes `vitalsd --check-config` (the real
    binary, environment references set to harmless values, secret files replaced by temp files);
  - every probe of the pod that carries it asks something that configuration serves: an httpGet
    probe the HTTP port and /livez, /readyz or /startupz (with the prefix); a grpc probe the
    grpc: port and a service name it answers (liveness, readiness, startup, "" or an alias).
Skips (77) only if python3 has no yaml module. Usage: VITALSD=path kubernetes_manifests.py"""
import glob
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("python3-yaml not installed: skipping")
    sys.exit(77)

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
VITALSD = os.environ["VITALSD"]
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def check_config(text, errors, where):
    with tempfile.TemporaryDirectory() as tmp:
        secret = os.path.join(tmp, "token")
        with open(secret, "w", encoding="utf-8") as f:
            f.write("t" * 32)
        text = re.sub(r"token_file: *[^\s}]+", "token_file: " + secret, text)
        path = os.path.join(tmp, "vitalsd.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        # The values the pods take from their Secrets and fields.
        env = dict(os.environ, DATABASE_URL="postgres://app@db.invalid/app", APP_VERSION="1",
                   HISTORY_URL="postgresql://vitals@db.invalid/monitor")
        r = subprocess.run([VITALSD, "--config", path, "--check-config"], env=env,
                           capture_output=True, text=True, timeout=60, check=False)
        if r.returncode != 0:
            errors.append(f"{where}: vitalsd --check-config failed: {r.stdout}{r.stderr}")


def main():
    errors = []
    manifests = sorted(glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "*.yaml")))
    grpc_probes = 0
    for manifest in manifests:
        name = os.path.relpath(manifest, ROOT)
        with open(manifest, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        configs = {}
        for d in docs:
            if d.get("kind") != "ConfigMap":
                continue
            for key, text in (d.get("data") or {}).items():
                if key.endswith(".yaml") and ("checks:" in text or "targets:" in text):
                    check_config(text, errors, f"{name} ConfigMap {d['metadata']['name']}/{key}")
                    configs[d["metadata"]["name"]] = yaml.safe_load(text)
        for d in docs:
            spec = ((d.get("spec") or {}).get("template") or {}).get("spec")
            if not spec:
                continue
            maps = [v["configMap"]["name"] for v in spec.get("volumes", []) if "configMap" in v]
            cfg = next((configs[m] for m in maps if m in configs), None)
            if cfg is None:
                continue
            http_port = port_of(str(cfg.get("listen", "127.0.0.1:8081")))
            prefix = ((cfg.get("http") or {}).get("prefix") or "").rstrip("/")
            grpc_cfg = cfg.get("grpc") or {}
            grpc_port = port_of(grpc_cfg["listen"]) if grpc_cfg.get("listen") else None
            services = {"", "liveness", "readiness", "startup"} | set(grpc_cfg.get("aliases") or {})
            for c in spec.get("containers", []):
                for p in PROBES:
                    probe = c.get(p)
                    if not probe:
                        continue
                    where = f"{name} {d['metadata']['name']}/{c['name']}.{p}"
                    if "grpc" in probe:
                        grpc_probes += 1
                        g = probe["grpc"]
                        if grpc_port is None:
                            errors.append(f"{where}: a grpc probe, but vitalsd has no grpc:")
                        elif g.get("port") != grpc_port:
                            errors.append(f"{where}: grpc port {g.get('port')} != {grpc_port}")
                        if g.get("service", "") not in services:
                            errors.append(f"{where}: service {g.get('service')!r} is not served")
                    elif "httpGet" in probe:
                        h = probe["httpGet"]
                        paths = {prefix + s for s in ("/livez", "/readyz", "/startupz")}
                        if h.get("port") != http_port or h.get("path") not in paths:
                            errors.append(f"{where}: httpGet {h} does not match listen "
                                          f"{http_port} and {sorted(paths)}")
    if grpc_probes == 0:
        errors.append("no manifest in deploy/kubernetes has a grpc probe")
    for e in errors:
        print(e)
    print(f"{len(manifests)} manifests, {grpc_probes} grpc probes, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
