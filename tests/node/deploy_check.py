#!/usr/bin/env python3
"""Checks of deploy/ that run here (ctest label "deploy"; docs/operator.md, "Deployment").

    deploy_check.py SOURCE_DIR GUTS_NODE_BIN CHECK

CHECK is one of:
  systemd     `systemd-analyze verify` of deploy/systemd/guts-node.service (ExecStart pointed at
              the built binary; any warning fails) and `systemd-analyze security --offline`
              exposure at most 2.0; the example config passes `guts-node config check`.
  compose     deploy/docker/docker-compose.yml parsed with PyYAML: an init service, 4 validators
              and 1 full node on distinct ports and data directories, every GUTS_* variable an
              option of guts-node (from `guts-node config reference`).
  init        deploy/docker/init-network.sh run for real with the built guts-node: genesis with
              validator<i>:9000, keys, and a full node config file that `config check` accepts.
  dockerfile  deploy/docker/Dockerfile: Debian 12 stages, built with scripts/setup and
              scripts/build, a non-root USER, every COPY source present.
  helm        deploy/helm/guts: Chart.yaml and values.yaml parse; templates' actions balance;
              every .Values path exists; one StatefulSet per validator (a range over
              .Values.validators); config keys and GUTS_* variables are options. helm and
              kubeconform are not packaged in Debian 12 nor npm, so this is a structural check,
              not `helm lint`.
  monitoring  deploy/monitoring: the Grafana dashboard (JSON) and the Prometheus alert rules
              (YAML) parse; a guts-node started here serves /health/live, /health/ready and a
              /metrics that passes tests/node/prom_text.py (python3-prometheus-client's parser
              when installed, plus strict format checks); every guts_* metric the dashboard's
              PromQL and the alert rules use is in that scrape.

Exit 77 when a tool the check needs is missing (ctest counts it as a failure: scripts/setup
installs every tool).
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def need_yaml():
    try:
        import yaml  # noqa: F401
        return yaml
    except ImportError:
        print("SKIP: PyYAML is not installed")
        sys.exit(SKIP)


def options(node):
    """Option names and environment variables from `guts-node config reference`."""
    out = subprocess.run([node, "config", "reference"], check=True, capture_output=True,
                         text=True).stdout
    names, envs = set(), set()
    for m in re.finditer(r"^\| `([a-z0-9-]+)` / `--[a-z0-9-]+` \| `(GUTS_[A-Z0-9_]+)`", out, re.M):
        names.add(m.group(1))
        envs.add(m.group(2))
    if len(names) < 10:
        fail("could not read the option table from guts-node config reference")
    envs.add("GUTS_CONFIG")
    return names, envs


def config_check(node, path, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("GUTS_")}
    e.update(env or {})
    r = subprocess.run([node, "config", "check", "--config", path], capture_output=True,
                       text=True, env=e)
    if r.returncode != 0:
        fail(f"guts-node config check --config {path}: {r.stderr.strip()}")
    return r.stdout


def check_systemd(src, node):
    unit = os.path.join(src, "deploy/systemd/guts-node.service")
    text = open(unit).read()
    for key in ["Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=strict",
                "RestartPreventExitStatus=2", "User=guts"]:
        if key not in text:
            fail(f"{unit} lacks {key}")
    config_check(node, os.path.join(src, "deploy/systemd/guts-node.toml"))
    tool = shutil.which("systemd-analyze")
    if not tool:
        print("SKIP: systemd-analyze is not installed (the unit's keys were checked only)")
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory() as d:
        copy = os.path.join(d, "guts-node.service")
        with open(copy, "w") as f:
            f.write(text.replace("/usr/local/bin/guts-node", os.path.abspath(node)))
        r = subprocess.run([tool, "verify", copy], capture_output=True, text=True)
        if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
            fail(f"systemd-analyze verify: exit {r.returncode}\n{r.stdout}{r.stderr}")
        r = subprocess.run([tool, "security", "--offline=true", "--no-pager", copy],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for guts-node.service: ([0-9.]+)", r.stdout + r.stderr)
        if not m:
            fail(f"systemd-analyze security: no exposure level\n{r.stdout}{r.stderr}")
        if float(m.group(1)) > 2.0:
            fail(f"systemd-analyze security: exposure {m.group(1)} > 2.0\n{r.stdout}")
        print(f"systemd-analyze verify: clean; security exposure {m.group(1)}")


def check_compose(src, node):
    yaml = need_yaml()
    path = os.path.join(src, "deploy/docker/docker-compose.yml")
    doc = yaml.safe_load(open(path))
    _, envs = options(node)
    services = doc.get("services") or fail("no services")
    validators = sorted(s for s in services if s.startswith("validator"))
    fulls = sorted(s for s in services if s.startswith("full"))
    if validators != [f"validator{i}" for i in range(4)]:
        fail(f"expected validator0..3, found {validators}")
    if fulls != ["full0"]:
        fail(f"expected one full node full0, found {fulls}")
    init = services.get("init") or fail("no init service")
    build = init.get("build") or fail("init has no build section")
    context = os.path.normpath(os.path.join(os.path.dirname(path), build["context"]))
    if not os.path.isfile(os.path.join(context, build["dockerfile"])):
        fail(f"build: {build['dockerfile']} not found in context {context}")
    if init.get("entrypoint") != ["guts-init-network"]:
        fail("init must run guts-init-network")
    host_ports, data_dirs = set(), set()
    for name in validators + fulls:
        s = services[name]
        dep = (s.get("depends_on") or {}).get("init", {})
        if dep.get("condition") != "service_completed_successfully":
            fail(f"{name} must wait for init to complete")
        if "network:/network" not in (s.get("volumes") or []):
            fail(f"{name} does not mount the network volume")
        env = s.get("environment") or {}
        for k in env:
            if k.startswith("GUTS_") and k not in envs:
                fail(f"{name}: {k} is not an option of guts-node")
        for p in s.get("ports") or []:
            host = str(p).split(":")[0]
            if host in host_ports:
                fail(f"{name}: host port {host} used twice")
            host_ports.add(host)
        d = env.get("GUTS_DATA_DIR") or env.get("GUTS_CONFIG")
        if not d or d in data_dirs:
            fail(f"{name}: no data directory of its own")
        data_dirs.add(d)
        if name.startswith("validator"):
            i = name[len("validator"):]
            if env.get("GUTS_DATA_DIR") != f"/network/node{i}":
                fail(f"{name} must use the key init-genesis wrote in /network/node{i}")
            if env.get("GUTS_EXTERNAL_ADDR") != f"{name}:9000":
                fail(f"{name} must announce {name}:9000 (its address in the genesis)")
    if "network" not in (doc.get("volumes") or {}):
        fail("the network volume is not declared")
    # The image's own config file is valid.
    config_check(node, os.path.join(src, "deploy/docker/guts-node.toml"))
    print(f"compose: {len(validators)} validators, {len(fulls)} full node, ports {sorted(host_ports)}")


def check_init(src, node):
    script = os.path.join(src, "deploy/docker/init-network.sh")
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "network")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUTS_")}
        env["GUTS_NODE_BIN"] = os.path.abspath(node)
        r = subprocess.run(["sh", script, "--out", out], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            fail(f"init-network.sh: exit {r.returncode}\n{r.stdout}{r.stderr}")
        genesis = open(os.path.join(out, "genesis.json")).read()
        for i in range(4):
            if f'"validator{i}:9000"' not in genesis:
                fail(f"genesis lacks validator{i}:9000")
            for f in ["node.key", "consensus/signing.guard"]:
                if not os.path.isfile(os.path.join(out, f"node{i}", f)):
                    fail(f"node{i}/{f} missing")
        full = os.path.join(out, "full0.toml")
        text = open(full).read()
        if not re.search(r'bootstrap = \["did:key:z[1-9A-HJ-NP-Za-km-z]+@validator0:9000"\]', text):
            fail(f"full0.toml has no bootstrap peer:\n{text}")
        eff = config_check(node, full)
        if "validator = false" not in eff:
            fail("full0 is not a full node")
        # A second run keeps the network.
        before = genesis
        r = subprocess.run(["sh", script, "--out", out], capture_output=True, text=True, env=env)
        if r.returncode != 0 or open(os.path.join(out, "genesis.json")).read() != before:
            fail("a second init-network.sh run must keep the network")
    print("init-network.sh: genesis, 4 validator keys, full0.toml ok")


def check_dockerfile(src, node):
    path = os.path.join(src, "deploy/docker/Dockerfile")
    lines = []
    cont = ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#") and not cont:
            continue
        if line.endswith("\\"):
            cont += line[:-1] + " "
            continue
        lines.append(cont + line)
        cont = ""
    froms = [l.split()[1] for l in lines if l.startswith("FROM ")]
    if len(froms) < 2:
        fail("not a multi-stage build")
    for f in froms:
        if not f.startswith("debian:12"):
            fail(f"stage base {f} is not Debian 12")
    run = " ".join(l for l in lines if l.startswith("RUN "))
    for s in ["scripts/setup", "scripts/build"]:
        if s not in run:
            fail(f"the build does not use {s}")
    users = [l.split()[1] for l in lines if l.startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        fail("the image must end with a non-root USER")
    final = lines[max(i for i, l in enumerate(lines) if l.startswith("FROM ")):]
    if not any(l.startswith("ENTRYPOINT ") and "guts-node" in l for l in final):
        fail("the final stage's ENTRYPOINT is not guts-node")
    for l in lines:
        if l.startswith("COPY ") and "--from=" not in l:
            parts = [p for p in l.split()[1:] if not p.startswith("--")]
            for s in parts[:-1]:
                if s != "." and not os.path.exists(os.path.join(src, s)):
                    fail(f"COPY source {s} does not exist")
    for needed in ["deploy/docker/guts-node.toml", "deploy/docker/init-network.sh"]:
        if needed not in " ".join(lines):
            fail(f"the image lacks {needed}")
    print(f"Dockerfile: stages {froms}, user {users[-1]}")


def check_helm(src, node):
    yaml = need_yaml()
    chart = os.path.join(src, "deploy/helm/guts")
    meta = yaml.safe_load(open(os.path.join(chart, "Chart.yaml")))
    for k in ["apiVersion", "name", "version"]:
        if k not in meta:
            fail(f"Chart.yaml lacks {k}")
    if meta["apiVersion"] != "v2":
        fail("Chart.yaml apiVersion must be v2")
    values = yaml.safe_load(open(os.path.join(chart, "values.yaml")))
    names, envs = options(node)
    tdir = os.path.join(chart, "templates")
    all_text = ""
    for fname in sorted(os.listdir(tdir)):
        text = open(os.path.join(tdir, fname)).read()
        all_text += text
        actions = re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", text, re.S)
        if text.count("{{") != text.count("}}") or text.count("{{") != len(actions):
            fail(f"{fname}: unbalanced {{{{ }}}}")
        depth = 0
        for a in actions:
            word = a.split()[0] if a.split() else ""
            if word in ("if", "range", "with", "define"):
                depth += 1
            elif word == "end":
                depth -= 1
                if depth < 0:
                    fail(f"{fname}: an end without a block")
        if depth != 0:
            fail(f"{fname}: {depth} block(s) without end")
        for path in re.findall(r"\$?\.Values\.([A-Za-z0-9_.]+)", text):
            node_v = values
            for part in path.split("."):
                if not isinstance(node_v, dict) or part not in node_v:
                    fail(f"{fname}: .Values.{path} is not in values.yaml")
                node_v = node_v[part]
        for env in re.findall(r"name: (GUTS_[A-Z0-9_]+)", text):
            if env not in envs:
                fail(f"{fname}: {env} is not an option of guts-node")
    v = open(os.path.join(tdir, "validators.yaml")).read()
    m = re.search(r"range \$i, \$v := \.Values\.validators \}\}(.*)\{\{- end \}\}\s*$", v, re.S)
    if not m or "kind: StatefulSet" not in m.group(1) or "replicas: 1" not in m.group(1):
        fail("validators.yaml must define one StatefulSet (replicas: 1) per .Values.validators")
    if len(values.get("validators") or []) != 4:
        fail("the default values must list 4 validators")
    # The node config the chart writes: every key an option.
    cfg = re.search(r'define "guts.config" -\}\}(.*?)\{\{- end', all_text, re.S).group(1)
    for key in re.findall(r"^([a-z0-9-]+) =", cfg, re.M):
        if key not in names:
            fail(f"the chart's config key {key} is not an option of guts-node")
    for must in ["runAsNonRoot: true", "readOnlyRootFilesystem: true", "volumeClaimTemplates"]:
        if must not in all_text:
            fail(f"the chart lacks {must}")
    print("helm chart: structure ok (helm lint is not available here)")


def _get(url, timeout=5):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()
    except OSError:
        return 0, {}, ""


def _metric_names(expr):
    """guts_* metric names used in a PromQL expression (histogram suffixes kept)."""
    return set(re.findall(r"\b(guts_[a-z0-9_]+)\b", expr))


def check_monitoring(src, node):
    import json
    import time
    yaml = need_yaml()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import prom_text

    mdir = os.path.join(src, "deploy/monitoring")
    dash = json.load(open(os.path.join(mdir, "grafana-dashboard.json")))
    used = {}  # metric -> where
    for p in dash.get("panels", []):
        for t in p.get("targets", []):
            for m in _metric_names(t["expr"]):
                used.setdefault(m, f"dashboard panel {p['title']!r}")
    for v in dash.get("templating", {}).get("list", []):
        for m in _metric_names(str(v.get("query", ""))):
            used.setdefault(m, f"dashboard variable {v['name']}")
    if len(dash.get("panels", [])) < 10:
        fail("the dashboard has fewer than 10 panels")
    rules = yaml.safe_load(open(os.path.join(mdir, "alerts.yml")))
    alerts = [r for g in rules["groups"] for r in g["rules"]]
    for r in alerts:
        for key in ("alert", "expr"):
            if key not in r:
                fail(f"alerts.yml: a rule without {key}: {r}")
        for m in _metric_names(r["expr"]):
            used.setdefault(m, f"alert {r['alert']}")
    wanted = {"GutsNodeDown", "GutsNodeNotReady", "GutsHeightStalled",
              "GutsFinalizationLatencyHigh", "GutsNoPeers", "GutsDiskAlmostFull",
              "GutsReplicationFailuresRising", "GutsMaintenanceFailures"}
    missing = wanted - {r["alert"] for r in alerts}
    if missing:
        fail(f"alerts.yml lacks {sorted(missing)}")

    env = {k: v for k, v in os.environ.items() if not k.startswith("GUTS_")}
    with tempfile.TemporaryDirectory() as d:
        port_file = os.path.join(d, "port")
        log = open(os.path.join(d, "node.log"), "w")
        proc = subprocess.Popen(
            [node, "--data-dir", os.path.join(d, "data"), "--api-addr", "127.0.0.1:0",
             "--p2p-addr", "127.0.0.1:0", "--port-file", port_file, "--log-level", "warn"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while not (os.path.exists(port_file) and open(port_file).read().strip()):
                if proc.poll() is not None or time.monotonic() > deadline:
                    fail("guts-node did not start: " + open(os.path.join(d, "node.log")).read())
                time.sleep(0.05)
            url = "http://127.0.0.1:" + open(port_file).read().strip()
            while _get(url + "/health/ready")[0] != 200:
                if time.monotonic() > deadline:
                    fail("/health/ready never answered 200: " + _get(url + "/health/ready")[2])
                time.sleep(0.05)
            status, _, body = _get(url + "/health/live")
            if status != 200 or json.loads(body).get("status") != "live":
                fail(f"/health/live: {status} {body}")
            _get(url + "/api/guts/status")
            _get(url + "/no/such/route")
            status, headers, text = _get(url + "/metrics")
            if status != 200:
                fail(f"/metrics: {status}")
            ctype = headers.get("Content-Type", "")
            if not ctype.startswith("text/plain; version=0.0.4"):
                fail(f"/metrics Content-Type {ctype!r}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
    try:
        families, real_parser = prom_text.parse(text)
    except ValueError as e:
        fail(f"/metrics is not valid exposition text: {e}")
    names = prom_text.sample_names(families)
    for fam in families:
        if not fam.startswith("guts_"):
            fail(f"metric family {fam} lacks the guts_ prefix")
    absent = sorted(f"{m} ({where})" for m, where in used.items() if m not in names)
    if absent:
        fail("metrics used by deploy/monitoring but absent from a live node's /metrics: " +
             ", ".join(absent))
    print(f"monitoring: {len(used)} metrics of the dashboard and {len(alerts)} alerts found in a "
          f"scrape of {len(families)} families "
          f"({'prometheus_client and strict parser' if real_parser else 'strict parser only: python3-prometheus-client is not installed'})")


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    src, node, check = sys.argv[1:]
    checks = {"systemd": check_systemd, "compose": check_compose, "init": check_init,
              "dockerfile": check_dockerfile, "helm": check_helm,
              "monitoring": check_monitoring}
    if check not in checks:
        fail(f"unknown check {check}")
    checks[check](src, node)


if __name__ == "__main__":
    main()
