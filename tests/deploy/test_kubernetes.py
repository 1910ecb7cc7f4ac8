#!/usr/bin/python3
"""deploy/kubernetes and deploy/container, read: the manifests parse and pass
yamllint, and the DaemonSet holds what deploy/README.md promises (host PID
namespace, the capabilities lineage.service has and no more, read-only
host mounts but the journal's, --kube-only, resources from the measured
figures, every node, a liveness check that leaves the journal alone). The
Containerfile is read the same way: no container runtime runs here.

Usage: test_kubernetes.py SOURCE_DIR
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

SRC = Path(sys.argv[1]).resolve()
KUBE = SRC / "deploy" / "kubernetes"
failures = []


def check(what, ok):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)
    return ok


def quantity(text, unit):
    """'500m' CPU in cores, '64Mi' memory in MiB."""
    text = str(text)
    if unit == "cpu":
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    factors = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in factors.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**20


# ------------------------------------------------------------------ YAML

files = sorted(f for f in KUBE.glob("*.yaml") if not f.name.startswith("."))
docs = {}
for f in files:
    try:
        loaded = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
    except yaml.YAMLError as e:
        check(f"{f.name} parses", False)
        print(e)
        continue
    check(f"{f.name} parses: {len(loaded)} document(s)", len(loaded) == 1)
    docs[f.name] = loaded[0]

yamllint = shutil.which("yamllint")
if check("yamllint is installed (scripts/setup.sh)", yamllint is not None):
    r = subprocess.run([yamllint, "-s", "-c", str(KUBE / ".yamllint.yaml")] + [str(f) for f in files],
                       capture_output=True, text=True)
    check("yamllint -s: no errors or warnings", r.returncode == 0)
    if r.returncode != 0:
        print(r.stdout + r.stderr)

kinds = {d.get("kind"): d for d in docs.values()}
kustomization = kinds.get("Kustomization", {})
check("kustomization.yaml lists every manifest, namespace first",
      kustomization.get("resources") == ["namespace.yaml", "serviceaccount.yaml", "daemonset.yaml"]
      and set(kustomization.get("resources", [])) == set(docs) - {"kustomization.yaml"})

ns = kinds.get("Namespace", {})
check("Namespace lineage", ns.get("metadata", {}).get("name") == "lineage")
sa = kinds.get("ServiceAccount", {})
check("ServiceAccount lineage in it", sa.get("metadata", {}).get("name") == "lineage"
      and sa.get("metadata", {}).get("namespace") == "lineage")
check("the account mounts no API token", sa.get("automountServiceAccountToken") is False)

# ------------------------------------------------------------------ the DaemonSet

ds = kinds.get("DaemonSet")
if not check("a DaemonSet", ds is not None):
    sys.exit(1)
check("apps/v1", ds.get("apiVersion") == "apps/v1")
check("in namespace lineage", ds["metadata"].get("namespace") == "lineage")
spec = ds["spec"]
pod = spec["template"]["spec"]
labels = spec["template"]["metadata"].get("labels", {})
check("the selector matches the pod's labels",
      all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()))
check("runs as the service account", pod.get("serviceAccountName") == "lineage")
check("mounts no API token", pod.get("automountServiceAccountToken") is False)
check("hostPID: true", pod.get("hostPID") is True)
check("hostNetwork: true (the node's UTS namespace: its host name in runs and anchors)",
      pod.get("hostNetwork") is True)
check("tolerates every taint (an operator: Exists toleration without key or effect)",
      any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
          for t in pod.get("tolerations", [])))
check("terminationGracePeriodSeconds leaves SIGTERM time to flush", pod.get("terminationGracePeriodSeconds", 30) >= 10)

containers = pod.get("containers", [])
check("one container", len(containers) == 1)
rec = containers[0]
argv = rec.get("command", []) + rec.get("args", [])
check("it runs lineage record", argv[:2] == ["/usr/bin/lineage", "record"])
check("--kube-only by default", "--kube-only" in argv)
journal = argv[argv.index("--journal") + 1] if "--journal" in argv else "/var/lib/lineage/journal.db"
check("the journal is in /var/lib/lineage", journal.startswith("/var/lib/lineage/"))
check("no --anchor-log: anchors go to the container's log", "--anchor-log" not in argv)

# The capabilities: lineage.service's, no more (one table, deploy/README.md).
unit = (SRC / "deploy" / "systemd" / "lineage.service").read_text()
unit_caps = re.search(r"^AmbientCapabilities=(.*)$", unit, re.M).group(1).split()
sc = rec.get("securityContext", {})
added = sc.get("capabilities", {}).get("add", [])
check(f"adds exactly the unit's capabilities {unit_caps}",
      sorted("CAP_" + c for c in added) == sorted(unit_caps))
check("drops ALL others", sc.get("capabilities", {}).get("drop") == ["ALL"])
check("not privileged", sc.get("privileged") is False)
check("no privilege escalation", sc.get("allowPrivilegeEscalation") is False)
check("read-only root file system", sc.get("readOnlyRootFilesystem") is True)
check("uid 0, the only one Kubernetes gives added capabilities to", sc.get("runAsUser") == 0)
for init in pod.get("initContainers", []):
    isc = init.get("securityContext", {})
    check(f"init container {init['name']}: not privileged, no capability added, all dropped",
          not isc.get("privileged") and not isc.get("capabilities", {}).get("add")
          and isc.get("capabilities", {}).get("drop") == ["ALL"] and isc.get("allowPrivilegeEscalation") is False)

# Host paths: the journal's directory read-write, the rest read-only, and
# nothing else of the node.
volumes = {v["name"]: v for v in pod.get("volumes", [])}
host = {}
for c in containers + pod.get("initContainers", []):
    for m in c.get("volumeMounts", []):
        v = volumes.get(m["name"], {})
        if "hostPath" in v:
            host.setdefault(v["hostPath"]["path"], []).append((c["name"], m["mountPath"], m.get("readOnly", False)))
check("host paths: /var/lib/lineage, /sys/fs/cgroup, /sys/kernel/btf, /var/log/pods",
      set(host) == {"/var/lib/lineage", "/sys/fs/cgroup", "/sys/kernel/btf", "/var/log/pods"})
for path, mounts in sorted(host.items()):
    for name, at, ro in mounts:
        check(f"{path} at the same path in {name}", at == path)
        if path == "/var/lib/lineage":
            check(f"{path} read-write in {name}", not ro)
        else:
            check(f"{path} read-only in {name}", ro)
check("/var/lib/lineage is created if missing", volumes["journal"]["hostPath"].get("type") == "DirectoryOrCreate")
init_cmds = [" ".join(i.get("command", [])) for i in pod.get("initContainers", [])]
check("an init container makes /var/lib/lineage mode 0700", "/bin/chmod 0700 /var/lib/lineage" in init_cmds)

# Resources from the measured figures (bench/results/latest.txt, section 5).
res = rec.get("resources", {})
req, lim = res.get("requests", {}), res.get("limits", {})
check("requests and limits of cpu and memory",
      all(k in d for d in (req, lim) for k in ("cpu", "memory")))
bench = (SRC / "bench" / "results" / "latest.txt").read_text()
rss = re.search(r"lineage record peak RSS \(VmHWM\) \(MiB\)\s+([0-9.]+)", bench)
if check("bench/results/latest.txt has the recorder's peak RSS", rss is not None):
    peak = float(rss.group(1))
    check(f"the memory request ({req.get('memory')}) covers the measured peak RSS ({peak} MiB)",
          quantity(req["memory"], "mem") >= peak)
    check(f"the memory limit ({lim.get('memory')}) is at least four times the peak RSS",
          quantity(lim["memory"], "mem") >= 4 * peak)
cpu = re.search(r"lineage record CPU per 10,000 events \(s\)\s+([0-9.]+)", bench)
if check("bench/results/latest.txt has the recorder's CPU per 10,000 events", cpu is not None):
    # What the limit stores per second at the measured cost, against a node
    # under the benchmark's fork+exec storm (about 8,000 events a second).
    per_event = float(cpu.group(1)) / 10000
    rate = quantity(lim["cpu"], "cpu") / per_event
    check(f"the CPU limit ({lim.get('cpu')}) keeps up with {rate:,.0f} events/s, over ten storms",
          rate >= 10 * 8000)
    check("requests within limits", quantity(req["cpu"], "cpu") <= quantity(lim["cpu"], "cpu")
          and quantity(req["memory"], "mem") <= quantity(lim["memory"], "mem"))

probe = rec.get("livenessProbe", {})
probe_cmd = " ".join(probe.get("exec", {}).get("command", []))
check("a liveness probe that runs a command", bool(probe_cmd))
check("which touches no journal (no journal path, no reconstruct or verify)",
      "/var/lib/lineage" not in probe_cmd and "journal" not in probe_cmd
      and "reconstruct" not in probe_cmd and "verify" not in probe_cmd)

# ------------------------------------------------------------------ the Containerfile

cmake = (SRC / "CMakeLists.txt").read_text()
version = re.search(r"project\(lineage VERSION ([0-9.]+)", cmake).group(1)
cf = (SRC / "deploy" / "container" / "Containerfile").read_text()
# Instructions, continuation lines joined, comments dropped.
lines = []
for raw in re.sub(r"\\\n", " ", cf).splitlines():
    if raw.strip() and not raw.lstrip().startswith("#"):
        lines.append(raw.strip())
froms = [l for l in lines if l.upper().startswith("FROM ")]
check("one FROM, Debian 12", len(froms) == 1 and re.search(r"debian:(12|bookworm)\b", froms[0]) is not None)
check(f"LINEAGE_VERSION defaults to the project's, {version}", f"ARG LINEAGE_VERSION={version}" in lines)
check("the .deb is copied in", any(l.startswith("COPY lineage_${LINEAGE_VERSION}_") for l in lines))
run = " ".join(l for l in lines if l.startswith("RUN "))
check("apt installs the .deb, no recommends", re.search(r"apt-get install -y --no-install-recommends\s+"
                                                        r"/tmp/lineage_\$\{LINEAGE_VERSION\}", run) is not None)
check("the apt lists and the .deb are removed", "rm -rf /var/lib/apt/lists/*" in run)
check("sqlite3 is in the image: the analyst's consistent copy of a live journal (deploy/README.md)",
      re.search(r"apt-get install [^&]*\bsqlite3\b", run) is not None)
check("nothing is fetched but by apt", not re.search(r"\b(curl|wget)\b|ADD\s+https?://", cf))
check('ENTRYPOINT ["/usr/bin/lineage"]', 'ENTRYPOINT ["/usr/bin/lineage"]' in lines)
images = {c["image"] for c in containers + pod.get("initContainers", [])}
check(f"the DaemonSet's image is lineage:{version}", images == {f"lineage:{version}"})

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all Kubernetes and Containerfile checks passed")
