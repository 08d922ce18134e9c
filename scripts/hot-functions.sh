#!/usr/bin/env bash
# Rewrites scripts/hot-functions.txt, the order in which the release binary's hot
# functions are linked (scripts/build.rs says why), from a trace of which functions the
# runtime's common paths call (scripts/hot_functions.py says how). Run it after changes to
# the code, the dependencies, the toolchain or the release profile; it relinks at the end.
# As root, on a kernel with uprobes (it uses /sys/kernel/tracing). It takes about seven
# minutes here, most of it the kernel arming and disarming 4,000 probes one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "hot-functions.sh: run as root: it traces and creates containers" >&2; exit 1; }
if [ ! -e /sys/kernel/tracing/uprobe_events ]; then
    mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing
fi
[ -e /sys/kernel/tracing/uprobe_events ] || { echo "hot-functions.sh: this kernel has no uprobes" >&2; exit 1; }
bash scripts/deps.sh
# runc for `runc spec`: the workload runs the benchmark's bundle too.
if ! command -v runc >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends runc >/dev/null
fi
map=target/release/palisade.map
PALISADE_LINK_MAP="$PWD/$map" cargo build --release --quiet
rootfs=target/bench-rootfs
[ -x "$rootfs/bin/busybox" ] || bash scripts/make-rootfs.sh "$rootfs" >/dev/null
python3 scripts/hot_functions.py --binary target/release/palisade --map "$map" \
    --rootfs "$rootfs" --out scripts/hot-functions.txt
# Relink with the new order (build.rs watches the file).
cargo build --release --quiet
