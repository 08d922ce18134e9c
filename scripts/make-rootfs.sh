#!/usr/bin/env bash
# Builds a small busybox root filesystem from Debian's busybox-static in DEST.
# Usage: scripts/make-rootfs.sh DEST
set -euo pipefail
dest=${1:?usage: make-rootfs.sh DEST}
bb=/bin/busybox
# A dynamically linked busybox would not run inside the rootfs: insist on the static one.
if [ ! -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
    echo "make-rootfs: need Debian's busybox-static (scripts/deps.sh installs it)" >&2
    exit 1
fi
rm -rf "$dest"
mkdir -p "$dest"/{bin,dev,etc,proc,sys,tmp,root,home/user,run,var/tmp}
cp "$bb" "$dest/bin/busybox"
# One symlink per applet, relative so they resolve inside the container.
for applet in $("$bb" --list); do
    [ -e "$dest/bin/$applet" ] || ln -s busybox "$dest/bin/$applet"
done
mkdir -p "$dest/usr/bin" "$dest/usr/sbin" "$dest/sbin"
chmod 1777 "$dest/tmp" "$dest/var/tmp"
cat > "$dest/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dest/etc/group" <<'G'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
G
chown 1000:1000 "$dest/home/user"
echo "palisade test rootfs" > "$dest/etc/motd"
