#!/usr/bin/env python3
"""Smoke test for osp-test-apiserver (stdlib only).

    python3 tests/kube/smoke.py [BINARY]

Starts the binary the way the Rust fixture does (--kubeconfig --info --crds
--xrd ...), waits for READY, checks CRDs, XRD conditions, claim defaulting and
validation, RBAC for alice (own token and impersonation), then sends SIGTERM
and checks a clean exit. Prints timings and RSS. Exit 0 when all checks pass.
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SHARED = os.environ.get("OSP_SHARED_DIR", os.path.join(os.path.dirname(REPO), "shared"))
CRDS = os.path.join(SHARED, "corpus", "crds", "crossplane")
XRDS = os.path.join(SHARED, "corpus", "xrd", "public")
V1_CLAIM_XRD = "crossplane-contrib__crossplane-diff__test__e2e__manifests__beta__diff__main__v1-claim__setup__definition.yaml"
V2_NS_XRD = "crossplane-contrib__crossplane-diff__cmd__diff__testdata__diff__resources__xrd-with-defaults.yaml"

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("OSP_CACHE_DIR", os.path.expanduser("~/.cache/osp")), "bin", "osp-test-apiserver")
    work = tempfile.mkdtemp(prefix="osp-kube-smoke-")
    kc, info_path = os.path.join(work, "kubeconfig"), os.path.join(work, "info.json")
    args = [binary, "--kubeconfig", kc, "--info", info_path, "--crds", CRDS,
            "--xrd", os.path.join(XRDS, V1_CLAIM_XRD), "--xrd", os.path.join(XRDS, V2_NS_XRD)]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(os.path.join(work, "stderr.log"), "w"), text=True)
    line = proc.stdout.readline().strip()
    ready_s = time.monotonic() - t0
    check("READY line", line.startswith("READY https://127.0.0.1:"), repr(line))
    if not line.startswith("READY"):
        print(open(os.path.join(work, "stderr.log")).read()[-3000:])
        proc.kill()
        return 1
    url = line.split()[1]
    info = json.load(open(info_path))
    check("info.server matches READY", info["server"] == url)
    check("kubeconfig written", "current-context: admin" in open(kc).read())
    ctx = ssl.create_default_context(cadata=info["ca_pem"])

    def req(method, path, token="osp-admin-token", body=None, headers=None):
        h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        h.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, context=ctx) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    st, crds = req("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    names = {c["metadata"]["name"] for c in crds.get("items", [])}
    for n in ["compositeresourcedefinitions.apiextensions.crossplane.io", "compositions.apiextensions.crossplane.io",
              "xnopclaims.claim.diff.example.org", "nopclaims.claim.diff.example.org",
              "xtestdefaultresources.ns.diff.example.org"]:
        check(f"CRD {n}", n in names)

    st, x = req("GET", "/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions/xnopclaims.claim.diff.example.org")
    conds = {c["type"]: c["status"] for c in x.get("status", {}).get("conditions", [])}
    check("v1 XRD Established+Offered", conds.get("Established") == "True" and conds.get("Offered") == "True", conds)

    claims = "/apis/claim.diff.example.org/v1alpha1/namespaces/{}/nopclaims"
    claim = lambda n, spec: {"apiVersion": "claim.diff.example.org/v1alpha1", "kind": "NopClaim", "metadata": {"name": n}, "spec": spec}
    st, c = req("POST", claims.format("team-a"), body=claim("c1", {"coolField": "x"}))
    check("valid claim created, default applied", st == 201 and c["spec"].get("compositeDeletePolicy") == "Background", (st, c))
    st, c = req("POST", claims.format("team-a"), body=claim("c2", {"coolField": 5}))
    check("invalid claim rejected 422", st == 422, (st, c.get("message")))

    xrs = "/apis/ns.diff.example.org/v1alpha1/namespaces/team-a/xtestdefaultresources"
    st, c = req("POST", xrs, body={"apiVersion": "ns.diff.example.org/v1alpha1", "kind": "XTestDefaultResource",
                                   "metadata": {"name": "d1"}, "spec": {}})
    check("v2 namespaced XR defaults", st == 201 and c["spec"].get("region") == "us-east-1"
          and c["spec"].get("settings", {}).get("timeout") == 30, (st, c.get("spec")))

    alice = "osp-alice-token"
    check("alice list team-a 200", req("GET", claims.format("team-a"), token=alice)[0] == 200)
    check("alice list team-b 403", req("GET", claims.format("team-b"), token=alice)[0] == 403)
    check("alice create team-a 201", req("POST", claims.format("team-a"), token=alice, body=claim("a1", {"coolField": "y"}))[0] == 201)
    check("alice create team-b 403", req("POST", claims.format("team-b"), token=alice, body=claim("a1", {"coolField": "y"}))[0] == 403)
    imp = {"Impersonate-User": "alice"}
    check("impersonated alice team-a 200", req("GET", claims.format("team-a"), headers=imp)[0] == 200)
    check("impersonated alice team-b 403", req("GET", claims.format("team-b"), headers=imp)[0] == 403)
    check("alice cannot impersonate", req("GET", claims.format("team-b"), token=alice, headers={"Impersonate-User": "admin"})[0] == 403)
    check("bad token 401", req("GET", claims.format("team-a"), token="nope")[0] == 401)

    # An XRD created through the API after READY is picked up too.
    t1 = time.monotonic()
    st, _ = req("POST", "/apis/apiextensions.crossplane.io/v2/compositeresourcedefinitions", body={
        "apiVersion": "apiextensions.crossplane.io/v2", "kind": "CompositeResourceDefinition",
        "metadata": {"name": "xsmokes.smoke.example.org"},
        "spec": {"group": "smoke.example.org", "names": {"kind": "XSmoke", "plural": "xsmokes"}, "scope": "Namespaced",
                 "versions": [{"name": "v1", "served": True, "referenceable": True,
                               "schema": {"openAPIV3Schema": {"type": "object"}}}]}})
    est = False
    while time.monotonic() - t1 < 20:
        _, x = req("GET", "/apis/apiextensions.crossplane.io/v2/compositeresourcedefinitions/xsmokes.smoke.example.org")
        if any(c["type"] == "Established" and c["status"] == "True" for c in x.get("status", {}).get("conditions", [])):
            est = True
            break
        time.sleep(0.05)
    check("XRD via API established", st == 201 and est)
    xrd_s = time.monotonic() - t1

    rss = "?"
    try:
        for l in open(f"/proc/{proc.pid}/status"):
            if l.startswith("VmRSS"):
                rss = l.split(None, 1)[1].strip()
    except OSError:
        pass

    t2 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "timeout"
    check("clean exit on SIGTERM", rc == 0, rc)
    stop_s = time.monotonic() - t2
    tmpdir = os.path.dirname(info["ca_file"])
    check("temp dir removed", not os.path.exists(tmpdir), tmpdir)

    print(f"start-to-READY {ready_s:.2f}s, XRD-via-API established {xrd_s:.2f}s, stop {stop_s:.2f}s, "
          f"RSS {rss}, version {info['version']}")
    print(f"{passed} passed, {failed} failed")
    if failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs kept in {work}")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
