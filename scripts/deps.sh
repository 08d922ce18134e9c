#!/usr/bin/env bash
# Installs what palisade needs to build and test on a fresh Debian machine (as root).
set -euo pipefail
need=()
dpkg -s libseccomp-dev >/dev/null 2>&1 || need+=(libseccomp-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
dpkg -s procps >/dev/null 2>&1 || need+=(procps)
# The tests check the configs real managers write: runc's, containerd's (ctr) and podman's.
if [ "${1:-}" = --tests ]; then
    for p in runc containerd podman conmon; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo not found (the Rust toolchain must be installed)" >&2; exit 1; }
