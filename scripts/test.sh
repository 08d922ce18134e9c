#!/usr/bin/env bash
# Runs every test: formatting and lints, unit tests, and the integration tests that create
# real containers (as root). Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root: the integration tests create real containers" >&2; exit 1; }
bash scripts/deps.sh --tests
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo build --quiet
cargo test --quiet -- --test-threads=2
# The benchmark against runc and crun, two runs per row, only to keep it working: no test
# depends on a timing (youki is left out here: building it takes minutes).
PALISADE_BENCH_YOUKI=0 bash scripts/bench.sh 2
# The fuzz target over the config parser and the policy engine, briefly, to keep it working.
bash scripts/fuzz.sh "${PALISADE_FUZZ_SECONDS:-30}"
# The VM lanes, each emulating one CPU on a core of its own: a pure-v2 kernel under QEMU
# runs the cgroup tests again; beside it, the same kernel boots systemd as its init for the
# --systemd-cgroup tests, with v2 and then with the hybrid layout.
mkdir -p target/vm
bash scripts/vm-test.sh > target/vm/v2.log 2>&1 &
v2=$!
status=0
bash scripts/vm-test.sh --systemd || status=1
bash scripts/vm-test.sh --systemd-hybrid || status=1
wait $v2 || status=1
cat target/vm/v2.log
exit $status
