#!/usr/bin/env bash
# Installs palisade for managers to use (as root):
#   /usr/local/bin/palisade, and palisade-baseline, palisade-restricted, palisade-sealed
#     beside it (symlinks: the name selects the profile, for one runtime class each), and
#     palisade-learn (the learning runtime class);
#   PREFIX/share/palisade/profiles (the built-in profiles, embedded in the binary, as a
#     reference to read and extend: put profiles of your own, with names of their own,
#     in /etc/palisade/profiles);
#   /etc/palisade/config.toml (the operator's floor), unless one exists.
# Usage: scripts/install.sh [PREFIX]   (default /usr/local)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
prefix=${1:-/usr/local}
bash scripts/deps.sh
cargo build --release --quiet
install -D -m 0755 target/release/palisade "$prefix/bin/palisade"
for p in baseline restricted sealed; do
    ln -sf palisade "$prefix/bin/palisade-$p"
done
# The learning runtime class: records every container it runs, and refuses to run until
# the operator sets learn_dir in config.toml (README, "Learning a profile").
ln -sf palisade "$prefix/bin/palisade-learn"
share=$prefix/share/palisade/profiles
install -d -m 0755 "$share/seccomp" /etc/palisade/profiles
install -m 0644 profiles/*.toml profiles/RULES.md "$share/"
install -m 0644 profiles/seccomp/default.json "$share/seccomp/"
if [ ! -e /etc/palisade/config.toml ]; then
    cat >/etc/palisade/config.toml <<'CONF'
# palisade's operator configuration: the floor no workload can lower.
# profile: a built-in name (unconfined, baseline, restricted, sealed), a name from
# profiles_dir, or a path. A binary named palisade-<profile> overrides it.
profile = "baseline"
# enforce (refuse or harden), warn (run, print violations) or audit (run, record only).
mode = "enforce"
audit_log = "/var/log/palisade/audit.log"
profiles_dir = "/etc/palisade/profiles"
CONF
    chmod 0644 /etc/palisade/config.toml
fi
echo "install: $prefix/bin/palisade $("$prefix/bin/palisade" --version | head -1)"
echo "install: built-in profiles for reference in $share; your own go in /etc/palisade/profiles"
echo "install: configuration /etc/palisade/config.toml"
