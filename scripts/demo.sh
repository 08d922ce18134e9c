#!/usr/bin/env bash
# One command from a fresh machine to a hardened container: installs what is needed,
# builds palisade, makes a busybox rootfs, writes a hardened config and runs it.
# Usage (as root): scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (containers need it)" >&2; exit 1; }
bash scripts/deps.sh
command -v python3 >/dev/null || { apt-get update -qq; apt-get install -y -qq python3 >/dev/null; }
echo "demo: building palisade (release)"
cargo build --release --quiet
bin=$PWD/target/release/palisade
work=$(mktemp -d /tmp/palisade-demo.XXXXXX)
trap '"$bin" --root "$work/state" delete --force demo >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
bash scripts/make-rootfs.sh "$work/rootfs"
"$bin" spec --bundle "$work"
# The hardened default runs an interactive shell; the demo runs a probe instead.
python3 - "$work/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", """
echo "hello from $(hostname), pid $$ in its own pid namespace"
id
grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status
touch /probe 2>/dev/null && echo 'root filesystem: WRITABLE' || echo 'root filesystem: read-only'
[ -s /proc/sys/kernel/ns_last_pid ] && (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null && echo '/proc/sys: WRITABLE' || echo '/proc/sys: read-only'
echo "open descriptors of pid 1 (stdio only):"; ls /proc/1/fd
"""]
json.dump(c, open(path, "w"), indent=2)
PY
echo "demo: $bin run (bundle $work)"
"$bin" --root "$work/state" run --bundle "$work" demo
echo "demo: container exited with status $?; state left behind: $(ls "$work/state" | wc -l)"
