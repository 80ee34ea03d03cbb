#!/usr/bin/env bash
# RSS of `osp serve` across bursts of large ConvertDefinition calls
# (docs/reliability.md, "Memory after bursts"). Extra arguments are
# environment settings for the server, e.g. MALLOC_ARENA_MAX=2.
#   OSP_BIN (default target/debug/osp), GRPCURL (default grpcurl)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${OSP_BIN:-$root/target/debug/osp}
grpcurl=${GRPCURL:-grpcurl}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import json, sys
tpl = """apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xdbs%d.example.org}
spec:
  group: example.org
  names: {kind: XDB%d, plural: xdbs%d}
  versions:
  - name: v1
    served: true
    referenceable: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties: {%s}
"""
for k in range(4):
    n = 3000 + k * 1500
    props = ", ".join("p%d_%d: {type: string, description: 'field %d of %d'}" % (k, i, i, n) for i in range(n))
    with open("%s/req%d.json" % (sys.argv[1], k), "w") as f:
        json.dump({"definition": {"inline_yaml": tpl % (k, k, k, props)}}, f)
PY
port=$((20000 + RANDOM % 20000))
env "$@" RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --from-dir "$root/examples" 2>"$work/serve.log" &
pid=$!
sleep 2
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "start: $(rss)"
for round in 1 2 3 4; do
  pids=()
  for i in $(seq 1 24); do
    "$grpcurl" -plaintext -max-msg-sz 67108864 -d @ "127.0.0.1:$port" \
      osp.v1.TemplateService/ConvertDefinition <"$work/req$((i % 4)).json" >/dev/null 2>&1 &
    pids+=($!)
    if ((i % 8 == 0)); then wait "${pids[@]}"; pids=(); fi
  done
  echo "round $round: $(rss)"
done
sleep 3
echo "idle: $(rss)"
kill -TERM "$pid"
wait "$pid" || true
