#!/usr/bin/env bash
# Benchmarks palisade against runc, crun (Debian's packages) and youki 0.7.0 in one run,
# interleaved, and prints median, p90 and the ratio to crun for each row (scripts/bench.py
# says what each row measures). Installs what it needs. As root.
# Usage: scripts/bench.sh [RUNS]          (default 30 runs per row)
#   PALISADE_BENCH_YOUKI=0  leaves youki out (building it takes minutes)
#   PALISADE_BENCH_JSON=F   also writes the numbers as JSON to F
#   PALISADE_BENCH_SETTLE=S seconds of quiet before each timed call (default 0.1; 0 runs
#                           the calls back to back, where one runtime's cgroup work can
#                           spare the next one a wait: see bench.py)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root: it creates containers" >&2; exit 1; }
runs=${1:-30}
bash scripts/deps.sh
need=()
for p in runc crun time python3; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo build --release --quiet
runtimes=(--runtime crun=/usr/bin/crun --runtime runc=/usr/sbin/runc)
if [ "${PALISADE_BENCH_YOUKI:-1}" != 0 ]; then
    tools=$PWD/target/bench-tools
    if [ ! -x "$tools/bin/youki" ]; then
        # Its default features lack cgroup v1, which this machine's hybrid layout needs.
        cargo install --quiet youki --version 0.7.0 --no-default-features \
            --features v1,v2,seccomp --root "$tools"
    fi
    runtimes+=(--runtime "youki=$tools/bin/youki")
fi
rootfs=target/bench-rootfs
[ -x "$rootfs/bin/busybox" ] || bash scripts/make-rootfs.sh "$rootfs" >/dev/null
json=()
[ -n "${PALISADE_BENCH_JSON:-}" ] && json=(--json "$PALISADE_BENCH_JSON")
[ -n "${PALISADE_BENCH_SETTLE:-}" ] && json+=(--settle "$PALISADE_BENCH_SETTLE")
# crun 1.8 refuses the hybrid layout's cgroup2 mount: hide it in a private mount
# namespace, for every runtime alike.
exec unshare --mount --propagation private -- sh -c '
    if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
    exec python3 "$@"' sh scripts/bench.py --rootfs "$rootfs" \
    --palisade "$PWD/target/release/palisade" --profiles profiles "${runtimes[@]}" \
    -n "$runs" "${json[@]}"
