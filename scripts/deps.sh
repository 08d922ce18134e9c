#!/usr/bin/env bash
# Installs what palisade needs to build and test on a fresh Debian machine (as root).
set -euo pipefail
need=()
dpkg -s libseccomp-dev >/dev/null 2>&1 || need+=(libseccomp-dev)
dpkg -s pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
dpkg -s procps >/dev/null 2>&1 || need+=(procps)
# The tests drive palisade with the real managers, each started by the tests themselves:
# containerd (ctr, and its CRI plugin through a python3-grpcio client, with a CNI bridge),
# podman with conmon, and Docker; runc's own spec is one of the configs checked.
if [ "${1:-}" = --tests ]; then
    for p in runc containerd podman conmon docker.io containernetworking-plugins \
             python3-grpcio python3-protobuf protobuf-compiler iproute2 tar strace; do
        dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
    done
fi
if [ ${#need[@]} -gt 0 ]; then
    echo "deps: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The tests start their own daemons: keep the packages' services from starting.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "deps: cargo not found (the Rust toolchain must be installed)" >&2; exit 1; }
