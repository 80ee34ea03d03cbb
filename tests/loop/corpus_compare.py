#!/usr/bin/env python3
"""Every XRD of the corpus through real Crossplane and through the tests/kube stand-in; prints the differences.

    python3 tests/loop/corpus_compare.py [--settle SECONDS]

Needs PyYAML (the corpus is YAML), osp-test-apiserver built from this branch (tests/kube/build.sh) and osp-loop
(tests/loop/build.sh). For each mode it starts a fresh osp-test-apiserver (--crds corpus/crds/crossplane;
"real": --no-xrd-controller + osp-loop), POSTs every document of ../shared/corpus/xrd/*/* in file order, waits
until no XRD's conditions changed for 20 s (at most --settle seconds, default 240), then reads every XRD's conditions and, in real mode, the Warning events Crossplane
records on XRDs. Prints counts per outcome and every XRD whose outcome differs.
"""
import glob
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter

try:
    import yaml
except ImportError:
    sys.exit("corpus_compare.py needs PyYAML (pip install pyyaml)")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("OSP_SHARED_DIR", os.path.join(os.path.dirname(REPO), "shared"))
CACHE = os.environ.get("OSP_CACHE_DIR", os.path.expanduser("~/.cache/osp"))
API = os.environ.get("OSP_TEST_APISERVER_BIN", os.path.join(CACHE, "bin", "osp-test-apiserver"))
LOOP = os.path.join(CACHE, "bin", "osp-loop")


def documents():
    files = sorted(f for f in glob.glob(os.path.join(SHARED, "corpus", "xrd", "*", "*"))
                   if f.endswith((".yaml", ".yml", ".json")))
    for f in files:
        try:
            for d in yaml.safe_load_all(open(f)):
                if isinstance(d, dict) and d.get("kind") == "CompositeResourceDefinition":
                    yield os.path.basename(f), d
        except yaml.YAMLError:
            continue


def run(mode, settle, work):
    kc, info_path = os.path.join(work, f"{mode}.kubeconfig"), os.path.join(work, f"{mode}.json")
    args = [API, "--kubeconfig", kc, "--info", info_path, "--crds", os.path.join(SHARED, "corpus", "crds", "crossplane")]
    if mode == "real":
        args.append("--no-xrd-controller")
    procs = []
    api = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(os.path.join(work, f"{mode}.api.log"), "w"), text=True)
    procs.append(api)
    line = api.stdout.readline()
    if not line.startswith("READY"):
        sys.exit(f"{mode}: osp-test-apiserver did not start (logs in {work})")
    url = line.split()[1]
    if mode == "real":
        loop = subprocess.Popen([LOOP, "--kubeconfig", kc], stdout=subprocess.PIPE,
                                stderr=open(os.path.join(work, "real.loop.log"), "w"), text=True)
        procs.insert(0, loop)
        if not loop.stdout.readline().startswith("READY"):
            sys.exit(f"osp-loop did not start (logs in {work})")
    ctx = ssl.create_default_context(cadata=json.load(open(info_path))["ca_pem"])

    def req(method, path, body=None):
        r = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                   headers={"Authorization": "Bearer osp-admin-token", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(r, context=ctx) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"{}")
            except ValueError:
                return e.code, {}

    try:
        return collect(req, settle, mode)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)


def collect(req, settle, mode):
    created = Counter()
    for _, d in documents():
        ver = d.get("apiVersion", "").split("/")[-1]
        d.get("metadata", {}).pop("namespace", None)
        st, _ = req("POST", f"/apis/apiextensions.crossplane.io/{ver}/compositeresourcedefinitions", d)
        created[st] += 1
    # Wait until no XRD's conditions changed for 20 s (at most `settle` seconds):
    # real Crossplane retries with backoff (e.g. "CRD already exists" while its
    # cache lags behind its own create), so a burst of 150 XRDs takes a while.
    t0, last, stable_since = time.monotonic(), None, time.monotonic()
    while True:
        _, xrds = req("GET", "/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions")
        snap = {x["metadata"]["name"]: json.dumps(x.get("status", {}).get("conditions", []), sort_keys=True)
                for x in xrds.get("items", [])}
        if snap != last:
            last, stable_since = snap, time.monotonic()
        if time.monotonic() - stable_since >= 20 or time.monotonic() - t0 >= settle:
            break
        time.sleep(2)
    print(f"{mode}: settled after {time.monotonic() - t0:.0f}s")
    _, events = req("GET", "/api/v1/events?fieldSelector=involvedObject.kind%3DCompositeResourceDefinition")
    warn = {}
    for e in events.get("items", []):
        if e.get("type") == "Warning":
            warn.setdefault(e["involvedObject"]["name"], f"{e['reason']}: {e['message']}")
    out = {}
    for x in xrds.get("items", []):
        cs = {c["type"]: c for c in x.get("status", {}).get("conditions", [])}
        out[x["metadata"]["name"]] = {
            "outcome": " ".join(f"{t}={cs[t]['status']}" for t in ("Established", "Offered", "Synced") if t in cs) or "no conditions",
            "message": (cs.get("Synced", {}).get("message") or warn.get(x["metadata"]["name"], ""))[:300],
        }
    return created, out


def main():
    settle = 240
    if "--settle" in sys.argv:
        settle = int(sys.argv[sys.argv.index("--settle") + 1])
    work = tempfile.mkdtemp(prefix="osp-corpus-compare-")
    res = {}
    for mode in ("real", "standin"):
        t0 = time.monotonic()
        created, out = run(mode, settle, work)
        res[mode] = out
        print(f"{mode}: POST status counts {dict(created)}, {len(out)} XRDs stored ({time.monotonic() - t0:.0f}s)")
        for k, v in sorted(Counter(o["outcome"] for o in out.values()).items()):
            print(f"  {v:4d}  {k}")
    print("differences (real | stand-in):")
    n = 0
    for name in sorted(set(res["real"]) | set(res["standin"])):
        r, s = res["real"].get(name, {}), res["standin"].get(name, {})
        if ("Established=True" in r.get("outcome", "")) != ("Established=True" in s.get("outcome", "")):
            n += 1
            print(f"  {name}\n    real:     {r.get('outcome')}  {r.get('message', '')}\n    stand-in: {s.get('outcome')}  {s.get('message', '')}")
    print(f"  {n} XRDs differ in Established")
    print(f"logs in {work}")


if __name__ == "__main__":
    main()
