#!/usr/bin/env bash
# One command from a fresh machine to a hardened container: installs what is needed,
# builds palisade, makes a busybox rootfs, writes a config for the `restricted` profile,
# runs it under that profile, then shows an unsafe config being refused.
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
# The operator's choice for this demo: the restricted profile, enforced, audited here.
export PALISADE_CONFIG=$work/palisade.toml
printf 'profile = "restricted"\nmode = "enforce"\naudit_log = "%s"\n' "$work/audit.log" >"$PALISADE_CONFIG"
"$bin" spec --profile restricted --bundle "$work"
# The hardened default runs an interactive shell; the demo runs a probe instead.
python3 - "$work/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", """
echo "hello from $(hostname), pid $$ in its own pid namespace"
id
grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp)' /proc/self/status
touch /probe 2>/dev/null && echo 'root filesystem: WRITABLE' || echo 'root filesystem: read-only'
touch /tmp/probe && echo '/tmp: writable (a tmpfs; Landlock allows writes only on such mounts)'
[ -s /proc/sys/kernel/ns_last_pid ] && (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null && echo '/proc/sys: WRITABLE' || echo '/proc/sys: read-only'
echo "open descriptors of pid 1 (stdio only):"; ls /proc/1/fd
"""]
json.dump(c, open(path, "w"), indent=2)
PY
echo "demo: $bin run (bundle $work)"
"$bin" --root "$work/state" run --bundle "$work" demo
echo "demo: container exited with status $?; state left behind: $(ls "$work/state" | wc -l)"
echo "demo: the audit record of that decision:"
tail -n 1 "$work/audit.log"
echo
# Learning: the same probe, recorded once from its execve, becomes the smallest profile
# that runs it; run again under that profile (asked for by the config learn writes).
mkdir -p "$work/learned"
printf 'profiles_dir = "%s"\n' "$work/learned" >>"$PALISADE_CONFIG"
echo "demo: palisade learn (records the probe, writes the profile and its report)"
"$bin" --root "$work/state" learn --bundle "$work" --out "$work/learned" probe | tail -n 5
# The report's headings and what it says of capabilities; the whole report is for review.
grep -E '^## |^None' "$work/learned/learned-probe.md"
# The config learn writes is the bundle's: it goes back into the bundle.
cp "$work/learned/learned-probe.config.json" "$work/config.json"
echo "demo: the probe again, under the learned profile:"
"$bin" --root "$work/state" run --bundle "$work" probe
echo
# An unsafe config: the host's pid namespace and the host's /etc. It is refused before
# anything is created, naming every rule it breaks.
python3 - "$work/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
c["mounts"].append({"destination": "/host-etc", "type": "bind", "source": "/etc", "options": ["rbind", "ro"]})
json.dump(c, open(path, "w"), indent=2)
PY
echo "demo: palisade check of an unsafe config:"
"$bin" check "$work" || true
echo "demo: palisade create of the same config:"
if "$bin" --root "$work/state" create --bundle "$work" unsafe; then
    echo "demo: the unsafe config was NOT refused" >&2
    exit 1
fi
echo "demo: refused; state left behind: $(ls "$work/state" | wc -l)"
