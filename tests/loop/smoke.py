#!/usr/bin/env python3
"""Smoke test: the real Crossplane loop against osp-test-apiserver (stdlib only).

    python3 tests/loop/smoke.py [--flux] [OSP_LOOP_BINARY [OSP_TEST_APISERVER_BINARY]]

Defaults: ${OSP_CACHE_DIR:-~/.cache/osp}/bin/osp-loop and .../osp-test-apiserver
(tests/loop/build.sh and tests/kube/build.sh). Starts osp-test-apiserver with
--no-xrd-controller, then osp-loop against its kubeconfig, and checks that real
Crossplane v2:

- establishes a v2 XRD (namespaced XR) and a v1 XRD with claimNames;
- composes a ConfigMap through a Pipeline Composition with
  function-patch-and-transform, for an XR and for claims (one by alice, who may
  only touch namespace team-a), and marks them Ready;
- follows a spec change of the XR into the ConfigMap;
- reports a failing composition with its own condition (Synced=False,
  ReconcileError), for an invalid function input and for a missing function;

and with --flux (osp-loop --flux; build with OSP_LOOP_FLUX=1 tests/loop/build.sh)
the GitOps loop: a claim and an XR pushed to the loopback git repo are applied
by Flux, composed by Crossplane and become Ready; removing them from git
deletes them (prune). Then stops both with SIGTERM. Prints every hop's time and "N passed, N failed".
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
CACHE = os.environ.get("OSP_CACHE_DIR", os.path.expanduser("~/.cache/osp"))
GROUP = "loop.osp.test"

passed = 0
failed = 0
timings = []


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")


def hop(name, seconds):
    timings.append((name, seconds))
    print(f"     {name}: {seconds:.3f}s")


def start(args, work, name):
    """Start a READY-printing process; returns (proc, ready line, seconds)."""
    t0 = time.monotonic()
    err = open(os.path.join(work, name + ".stderr.log"), "w")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline().strip()
    return proc, line, time.monotonic() - t0


def stop(proc, timeout=30):
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "timeout"
    return rc, time.monotonic() - t0


def xrd(name, body):
    return {"apiVersion": "apiextensions.crossplane.io/" + ("v1" if "claimNames" in body else "v2"),
            "kind": "CompositeResourceDefinition", "metadata": {"name": name}, "spec": body}


SCHEMA = {"openAPIV3Schema": {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"message": {"type": "string"}}}}}}
XRD_V2 = xrd(f"xconfigs.{GROUP}", {
    "group": GROUP, "scope": "Namespaced", "names": {"kind": "XConfig", "plural": "xconfigs"},
    "versions": [{"name": "v1alpha1", "served": True, "referenceable": True, "schema": SCHEMA}]})
XRD_V1 = xrd(f"xlegacies.{GROUP}", {
    "group": GROUP, "names": {"kind": "XLegacy", "plural": "xlegacies"},
    "claimNames": {"kind": "Legacy", "plural": "legacies"},
    "versions": [{"name": "v1alpha1", "served": True, "referenceable": True, "schema": SCHEMA}]})


def composition(name, kind, steps):
    return {"apiVersion": "apiextensions.crossplane.io/v1", "kind": "Composition", "metadata": {"name": name},
            "spec": {"compositeTypeRef": {"apiVersion": f"{GROUP}/v1alpha1", "kind": kind},
                     "mode": "Pipeline", "pipeline": steps}}


def pt_step(resources):
    return [{"step": "patch-and-transform", "functionRef": {"name": "function-patch-and-transform"},
             "input": {"apiVersion": "pt.fn.crossplane.io/v1beta1", "kind": "Resources", "resources": resources}}]


MSG_PATCH = {"type": "FromCompositeFieldPath", "fromFieldPath": "spec.message", "toFieldPath": "data.message"}
COMPOSITIONS = [
    # A ConfigMap has no Ready condition: readiness check None.
    composition("xconfigs-ok", "XConfig", pt_step([{
        "name": "configmap", "base": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"message": ""}},
        "patches": [MSG_PATCH], "readinessChecks": [{"type": "None"}]}])),
    composition("xconfigs-invalid-input", "XConfig", pt_step([{
        "name": "configmap", "base": {"apiVersion": "v1", "kind": "ConfigMap"},
        "patches": [{"type": "NoSuchPatchType"}]}])),
    composition("xconfigs-missing-function", "XConfig", [
        {"step": "nothing-there", "functionRef": {"name": "function-does-not-exist"}}]),
    # Legacy (cluster-scoped) XR: the ConfigMap goes to the claim's namespace.
    composition("xlegacies", "XLegacy", pt_step([{
        "name": "configmap", "base": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "default"}},
        "patches": [{"type": "FromCompositeFieldPath", "fromFieldPath": "metadata.labels[crossplane.io/claim-namespace]",
                     "toFieldPath": "metadata.namespace"}, MSG_PATCH],
        "readinessChecks": [{"type": "None"}]}])),
]


def conditions(obj):
    return {c["type"]: c for c in (obj or {}).get("status", {}).get("conditions", [])}


def git(*args, cwd=None):
    r = subprocess.run(["git", "-c", "user.name=osp smoke", "-c", "user.email=smoke@osp.test", *args],
                       cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def main():
    argv = [a for a in sys.argv[1:] if a != "--flux"]
    flux = "--flux" in sys.argv[1:]
    loop_bin = argv[0] if len(argv) > 0 else os.path.join(CACHE, "bin", "osp-loop")
    api_bin = argv[1] if len(argv) > 1 else os.environ.get(
        "OSP_TEST_APISERVER_BIN", os.path.join(CACHE, "bin", "osp-test-apiserver"))
    work = tempfile.mkdtemp(prefix="osp-loop-smoke-")
    kc, info_path, loop_info = (os.path.join(work, f) for f in ("kubeconfig", "info.json", "loop.json"))

    api, line, s = start([api_bin, "--kubeconfig", kc, "--info", info_path, "--crds", CRDS,
                          "--no-xrd-controller"], work, "apiserver")
    check("apiserver READY", line.startswith("READY https://127.0.0.1:"), repr(line))
    if not line.startswith("READY"):
        print(open(os.path.join(work, "apiserver.stderr.log")).read()[-3000:])
        api.kill()
        return 1
    hop("apiserver start -> READY", s)
    url = line.split()[1]
    info = json.load(open(info_path))
    ctx = ssl.create_default_context(cadata=info["ca_pem"])

    loop, line, s = start([loop_bin, "--kubeconfig", kc, "--info", loop_info, "--log-dir", os.path.join(work, "logs")]
                          + (["--flux"] if flux else []), work, "osp-loop")
    check("osp-loop READY", line.startswith("READY crossplane="), repr(line))
    if not line.startswith("READY"):
        print(open(os.path.join(work, "osp-loop.stderr.log")).read()[-6000:])
        loop.kill()
        stop(api)
        print(f"{passed} passed, {failed + 1} failed")
        return 1
    hop("osp-loop start -> READY (core init, function, core start, Function Healthy"
        + (", git server, Flux, Kustomization Ready)" if flux else ")"), s)
    print("     " + line)
    linfo = json.load(open(loop_info))

    def req(method, path, body=None, token="osp-admin-token", ctype="application/json"):
        h = {"Authorization": "Bearer " + token, "Content-Type": ctype}
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(url + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(r, context=ctx) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait_for(pred, path, timeout=60):
        """Poll GET path every 50 ms until pred(obj); returns (obj or None, seconds)."""
        t0 = time.monotonic()
        obj = None
        while time.monotonic() - t0 < timeout:
            st, obj = req("GET", path)
            if st == 200 and pred(obj):
                return obj, time.monotonic() - t0
            time.sleep(0.05)
        return None, time.monotonic() - t0

    st, fn = req("GET", "/apis/pkg.crossplane.io/v1/functions/function-patch-and-transform")
    fc = conditions(fn)
    check("Function Installed+Healthy", fc.get("Installed", {}).get("status") == "True"
          and fc.get("Healthy", {}).get("status") == "True", fc)

    # XRDs -> Established by Crossplane's definition controller.
    xrds = "/apis/apiextensions.crossplane.io/v1/compositeresourcedefinitions"
    t0 = time.monotonic()
    for x in (XRD_V2, XRD_V1):
        ver = x["apiVersion"].split("/")[1]
        st, body = req("POST", f"/apis/apiextensions.crossplane.io/{ver}/compositeresourcedefinitions", x)
        check(f"XRD {x['metadata']['name']} created", st == 201, (st, body.get("message")))
    for x, want in ((XRD_V2, ("Established",)), (XRD_V1, ("Established", "Offered"))):
        name = x["metadata"]["name"]
        obj, s = wait_for(lambda o: all(conditions(o).get(w, {}).get("status") == "True" for w in want)
                          and conditions(o)["Established"].get("observedGeneration") == o["metadata"]["generation"],
                          f"{xrds}/{name}")
        check(f"XRD {name} {'+'.join(want)} by Crossplane", obj is not None,
              conditions(req("GET", f"{xrds}/{name}")[1]))
        if obj:
            ctl = obj["status"].get("controllers", {})
            check(f"XRD {name} status.controllers", ctl.get("compositeResourceType", {}).get("kind") in ("XConfig", "XLegacy"), ctl)
    hop("2 XRDs POSTed -> both Established (real definition controller)", time.monotonic() - t0)

    for c in COMPOSITIONS:
        st, body = req("POST", "/apis/apiextensions.crossplane.io/v1/compositions", c)
        check(f"Composition {c['metadata']['name']} created", st == 201, (st, body.get("message")))

    # XR -> ConfigMap -> Ready.
    xr_path = f"/apis/{GROUP}/v1alpha1/namespaces/team-a/xconfigs"
    cms = "/api/v1/namespaces/{}/configmaps"
    t0 = time.monotonic()
    st, body = req("POST", xr_path, {"apiVersion": f"{GROUP}/v1alpha1", "kind": "XConfig",
                                     "metadata": {"name": "hello"},
                                     "spec": {"message": "hi from the loop",
                                              "crossplane": {"compositionRef": {"name": "xconfigs-ok"}}}})
    check("XR team-a/hello created", st == 201, (st, body.get("message")))
    cm_list, _ = wait_for(lambda o: any(i["metadata"].get("labels", {}).get("crossplane.io/composite") == "hello"
                                        for i in o.get("items", [])), cms.format("team-a"))
    t_cm = time.monotonic() - t0
    cm = next((i for i in (cm_list or {}).get("items", [])
               if i["metadata"].get("labels", {}).get("crossplane.io/composite") == "hello"), None)
    check("composed ConfigMap exists", cm is not None)
    if cm:
        check("ConfigMap data patched from XR", cm.get("data", {}).get("message") == "hi from the loop", cm.get("data"))
        own = cm["metadata"].get("ownerReferences", [])
        check("ConfigMap controlled by the XR", any(o.get("controller") and o["kind"] == "XConfig" and o["name"] == "hello"
                                                   for o in own), own)
    hop("XR POST -> composed ConfigMap visible", t_cm)
    xr, _ = wait_for(lambda o: conditions(o).get("Ready", {}).get("status") == "True", f"{xr_path}/hello")
    t_ready = time.monotonic() - t0
    check("XR Ready=True", xr is not None, conditions(req("GET", f"{xr_path}/hello")[1]))
    check("XR Synced=True", xr is not None and conditions(xr).get("Synced", {}).get("status") == "True")
    check("XR resourceRefs -> ConfigMap", xr is not None and any(
        r.get("kind") == "ConfigMap" for r in xr.get("spec", {}).get("crossplane", {}).get("resourceRefs", [])),
          (xr or {}).get("spec"))
    hop("XR POST -> XR Ready=True", t_ready)

    # Spec change -> ConfigMap follows.
    if cm:
        t0 = time.monotonic()
        st, _ = req("PATCH", f"{xr_path}/hello", {"spec": {"message": "changed"}}, ctype="application/merge-patch+json")
        obj, s = wait_for(lambda o: o.get("data", {}).get("message") == "changed",
                          f"{cms.format('team-a')}/{cm['metadata']['name']}")
        check("XR spec change reaches the ConfigMap", st == 200 and obj is not None)
        hop("XR PATCH -> ConfigMap updated", s)

    # v1 claim -> XR -> ConfigMap in the claim's namespace -> claim Ready.
    claims = f"/apis/{GROUP}/v1alpha1/namespaces/team-b/legacies"
    t0 = time.monotonic()
    st, body = req("POST", claims, {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Legacy", "metadata": {"name": "old"},
                                    "spec": {"message": "hi from a claim", "compositionRef": {"name": "xlegacies"}}})
    check("claim team-b/old created", st == 201, (st, body.get("message")))
    claim, _ = wait_for(lambda o: conditions(o).get("Ready", {}).get("status") == "True", f"{claims}/old")
    check("claim Ready=True", claim is not None, conditions(req("GET", f"{claims}/old")[1]))
    hop("claim POST -> claim Ready=True", time.monotonic() - t0)
    if claim:
        ref = claim["spec"].get("resourceRef", {})
        check("claim bound to an XLegacy", ref.get("kind") == "XLegacy", ref)
        st, l = req("GET", cms.format("team-b"))
        check("claim's ConfigMap in team-b", any(i.get("data", {}).get("message") == "hi from a claim"
                                                for i in l.get("items", [])))

    # A claim created by alice (namespace team-a only, as the portal's users) is composed the same way.
    alice_claims = f"/apis/{GROUP}/v1alpha1/namespaces/team-a/legacies"
    t0 = time.monotonic()
    st, body = req("POST", alice_claims, {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Legacy", "metadata": {"name": "alices"},
                                          "spec": {"message": "hi from alice", "compositionRef": {"name": "xlegacies"}}},
                   token="osp-alice-token")
    check("alice creates a claim in team-a", st == 201, (st, body.get("message")))
    claim, _ = wait_for(lambda o: conditions(o).get("Ready", {}).get("status") == "True", f"{alice_claims}/alices")
    check("alice's claim Ready=True", claim is not None, conditions(req("GET", f"{alice_claims}/alices")[1]))
    hop("alice's claim POST -> Ready=True", time.monotonic() - t0)

    # Failing compositions -> Crossplane's own error condition on the XR.
    for name, comp, want in (("invalid", "xconfigs-invalid-input", 'returned a fatal result: invalid Function input'),
                             ("nofn", "xconfigs-missing-function", 'cannot find an active FunctionRevision')):
        t0 = time.monotonic()
        st, _ = req("POST", xr_path, {"apiVersion": f"{GROUP}/v1alpha1", "kind": "XConfig", "metadata": {"name": name},
                                      "spec": {"crossplane": {"compositionRef": {"name": comp}}}})
        obj, s = wait_for(lambda o: conditions(o).get("Synced", {}).get("status") == "False", f"{xr_path}/{name}")
        c = conditions(obj).get("Synced", {}) if obj else conditions(req("GET", f"{xr_path}/{name}")[1])
        check(f"XR {name}: Synced=False ReconcileError", obj is not None and c.get("reason") == "ReconcileError", c)
        check(f"XR {name}: message '{want}'", want in c.get("message", ""), c.get("message"))
        print(f"     message: {c.get('message')}")
        hop(f"XR POST ({comp}) -> Synced=False", s)

    if flux:
        gitops(req, wait_for, linfo, work)

    rss = {}
    pids = [("osp-test-apiserver", api.pid), ("crossplane", linfo["crossplane_pid"]),
            ("function-patch-and-transform", linfo["function_pid"])]
    if flux:
        pids += [("source-controller", linfo["source_controller_pid"]),
                 ("kustomize-controller", linfo["kustomize_controller_pid"])]
    for name, pid in pids:
        try:
            for l in open(f"/proc/{pid}/status"):
                if l.startswith("VmRSS"):
                    rss[name] = l.split(None, 1)[1].strip()
        except OSError:
            rss[name] = "?"

    rc, s = stop(loop)
    check("osp-loop clean exit on SIGTERM", rc == 0, rc)
    hop("osp-loop SIGTERM -> exit", s)
    time.sleep(0.2)
    for _, pid in pids[1:]:
        check(f"child {pid} gone", not os.path.exists(f"/proc/{pid}") or
              open(f"/proc/{pid}/status").read().find("State:\tZ") >= 0)
    rc, s = stop(api)
    check("apiserver clean exit on SIGTERM", rc == 0, rc)
    hop("apiserver SIGTERM -> exit", s)

    print("timings: " + ", ".join(f"{n} {v:.2f}s" for n, v in timings))
    print("RSS: " + ", ".join(f"{k} {v}" for k, v in rss.items()))
    print(f"{passed} passed, {failed} failed")
    if failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs kept in {work}")
    return 0 if failed == 0 else 1


def gitops(req, wait_for, linfo, work):
    """Claim + XR through git -> Flux -> Crossplane -> Ready; then pruned."""
    url = linfo.get("git_url", "")
    check("git URL in info", url.startswith("http://127.0.0.1:"), url)
    st, ks = req("GET", "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/osp")
    check("Kustomization flux-system/osp Ready", conditions(ks).get("Ready", {}).get("status") == "True", conditions(ks))
    clone = os.path.join(work, "gitops")
    git("clone", "-q", "-b", "main", url, clone)
    os.makedirs(os.path.join(clone, "team-b"))
    os.makedirs(os.path.join(clone, "team-a"))
    with open(os.path.join(clone, "team-b", "claim.yaml"), "w") as f:
        json.dump({"apiVersion": f"{GROUP}/v1alpha1", "kind": "Legacy", "metadata": {"name": "from-git", "namespace": "team-b"},
                   "spec": {"message": "hi from git", "compositionRef": {"name": "xlegacies"}}}, f)
    with open(os.path.join(clone, "team-a", "xr.yaml"), "w") as f:
        json.dump({"apiVersion": f"{GROUP}/v1alpha1", "kind": "XConfig", "metadata": {"name": "from-git", "namespace": "team-a"},
                   "spec": {"message": "xr from git", "crossplane": {"compositionRef": {"name": "xconfigs-ok"}}}}, f)
    git("add", ".", cwd=clone)
    git("commit", "-q", "-m", "a claim and an XR", cwd=clone)
    t0 = time.monotonic()
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    t_push = time.monotonic() - t0
    claims = f"/apis/{GROUP}/v1alpha1/namespaces/team-b/legacies"
    xrs = f"/apis/{GROUP}/v1alpha1/namespaces/team-a/xconfigs"
    obj, _ = wait_for(lambda o: True, f"{claims}/from-git")
    t_applied = time.monotonic() - t0
    check("Flux applied the claim from git", obj is not None and
          obj["metadata"].get("labels", {}).get("kustomize.toolkit.fluxcd.io/name") == "osp",
          (obj or {}).get("metadata", {}).get("labels"))
    obj, _ = wait_for(lambda o: conditions(o).get("Ready", {}).get("status") == "True", f"{claims}/from-git")
    t_ready = time.monotonic() - t0
    check("claim from git Ready=True", obj is not None)
    obj, _ = wait_for(lambda o: conditions(o).get("Ready", {}).get("status") == "True", f"{xrs}/from-git")
    t_xr = time.monotonic() - t0
    check("XR from git Ready=True", obj is not None)
    st, l = req("GET", "/api/v1/namespaces/team-b/configmaps")
    check("claim from git composed its ConfigMap", any(i.get("data", {}).get("message") == "hi from git"
                                                     for i in l.get("items", [])))
    hop("git push (client side)", t_push)
    hop("git push -> claim applied by Flux", t_applied)
    hop("git push -> claim Ready=True", t_ready)
    hop("git push -> XR Ready=True", t_xr)

    git("rm", "-q", "team-b/claim.yaml", "team-a/xr.yaml", cwd=clone)
    git("commit", "-q", "-m", "remove them", cwd=clone)
    t0 = time.monotonic()
    git("push", "-q", "origin", "HEAD:main", cwd=clone)
    ok = False
    while time.monotonic() - t0 < 60:
        if req("GET", f"{claims}/from-git")[0] == 404 and req("GET", f"{xrs}/from-git")[0] == 404:
            ok = True
            break
        time.sleep(0.05)
    check("removed from git -> claim and XR deleted (prune)", ok)
    hop("git push (removal) -> claim and XR gone", time.monotonic() - t0)


if __name__ == "__main__":
    sys.exit(main())
