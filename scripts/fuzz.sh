#!/usr/bin/env bash
# Fuzzes the config parser and the policy engine (integration/fuzz, target `policy`) for
# SECONDS (default 60), seeded with palisade's own configs and profiles.
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
bash scripts/deps.sh
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo build -q
corpus=target/fuzz-corpus/policy
mkdir -p "$corpus"
for p in unconfined baseline restricted sealed; do
    d=$(mktemp -d)
    target/debug/palisade spec --profile "$p" --bundle "$d"
    cp "$d/config.json" "$corpus/spec-$p.json"
    rm -rf "$d"
done
cp profiles/*.toml "$corpus/"
# cargo-fuzz uses nightly-only flags (sanitizers); the machine has one stable toolchain.
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir integration/fuzz policy "$corpus" -- \
    -max_total_time="$secs" -rss_limit_mb=4096
