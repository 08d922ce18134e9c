#!/usr/bin/env bash
# The cgroup v2 test lane. This machine has cgroup v1 controllers, so the v2 code paths are
# tested in a VM: Debian's kernel booted with cgroup_no_v1=all under QEMU's software
# emulation (the machine's /dev/kvm cannot run a stock kernel), the host's root filesystem
# shared read-only over 9p, and the cgroup integration tests run inside. The exit status
# comes back over a second serial port.
# With --systemd, the VM boots the host's own systemd as its init instead (the VM's own
# /run), and the `--systemd-cgroup` tests run as a service under it; --systemd-hybrid does
# the same with the hybrid layout of v1 controllers (systemd.unified_cgroup_hierarchy=0).
# Usage (as root): scripts/vm-test.sh [--systemd|--systemd-hybrid] [TEST FILTER...]
#   (default: the cgroup tests; with --systemd*, the systemd tests)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$repo/target/vm
mkdir -p "$work"
systemd=0
cgroups="cgroup_no_v1=all"
mode="cgroup v2 only"
lane=v2
if [ "${1:-}" = --systemd ] || [ "${1:-}" = --systemd-hybrid ]; then
    systemd=1
    mode="cgroup v2, under systemd"
    lane=systemd
    if [ "$1" = --systemd-hybrid ]; then
        cgroups="systemd.unified_cgroup_hierarchy=0"
        mode="the hybrid cgroup layout, under systemd"
        lane=systemd-hybrid
    fi
    shift
    [ -x /lib/systemd/systemd ] || { echo "vm-test: --systemd needs systemd installed on the host" >&2; exit 1; }
fi
filters=("$@")
if [ ${#filters[@]} -eq 0 ]; then
    if [ $systemd = 1 ]; then
        filters=(systemd::)
    else
        filters=(cgroups:: rootfs::cgroup rootfs::devices lifecycle::create_start manage:: exec:: seccomp:: landlock:: userns:: policy::spec_for)
    fi
fi

# Packages and the kernel are fetched once, under a lock, for lanes run side by side.
exec 9>"$work/fetch.lock"
flock 9
need=()
for p in qemu-system-x86 busybox-static xz-utils cpio; do
    dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "vm-test: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The kernel: downloaded and unpacked, never installed.
if [ ! -f "$work/vmlinuz" ]; then
    pkg=$(apt-cache depends linux-image-6.12-amd64 2>/dev/null | grep -o 'linux-image-6\.12\.[0-9]*+deb12-amd64' | head -1)
    [ -n "$pkg" ] || { echo "vm-test: no linux-image-6.12 package found (apt-get update?)" >&2; exit 1; }
    echo "vm-test: fetching $pkg"
    rm -rf "$work/kpkg" && mkdir -p "$work/kpkg"
    (cd "$work/kpkg" && apt-get download -q "$pkg" 2>/dev/null && dpkg -x ./*.deb x)
    kver=$(ls "$work/kpkg/x/lib/modules")
    mkdir -p "$work/modules"
    mods=$work/kpkg/x/lib/modules/$kver/kernel
    # busybox insmod cannot read xz-compressed modules: decompress them here.
    for m in fs/netfs/netfs net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p; do
        xz -dc "$mods/$m.ko.xz" > "$work/modules/$(basename "$m").ko"
    done
    cp "$work/kpkg/x/boot/vmlinuz-$kver" "$work/vmlinuz.tmp"
    mv "$work/vmlinuz.tmp" "$work/vmlinuz"
    rm -rf "$work/kpkg"
fi
flock -u 9
# Everything else is the lane's own, so that lanes may run at the same time.
own=$work/$lane
mkdir -p "$own"

[ -d /mnt ] || { echo "vm-test: /mnt must exist on the host (the VM's scratch space)" >&2; exit 1; }
# What runs inside: the binaries built here, used through the shared root. Only the test
# build: a plain `cargo build` keeps a palisade binary apart from the one `cargo test`
# makes, and each puts its own at target/debug/palisade (a new inode every switch), so a
# lane starting while another's VM runs tests would pull the binary from under them (a
# spawn failed with ENOENT). Repeated, the test build leaves the file as it is.
# The test harness's own artifact: cargo also lists the palisade binary the tests drive,
# and in no fixed order when the other lanes build at the same time.
testbin=$(cargo test --quiet --no-run --test integration --message-format=json 2>/dev/null \
    | grep '"kind":\["test"\]' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -1)
[ -x "$testbin" ] || { echo "vm-test: could not find the integration test binary" >&2; exit 1; }
bash scripts/make-rootfs.sh "$own/rootfs" >/dev/null

# A busybox initramfs that mounts the host's root over 9p and chroots into it.
init=$own/initramfs
rm -rf "$init" && mkdir -p "$init"/{bin,proc,sys,dev,host,modules}
cp /bin/busybox "$init/bin/busybox"
for a in sh mount mkdir insmod switch_root poweroff cat echo sleep; do ln -s busybox "$init/bin/$a"; done
cp "$work"/modules/*.ko "$init/modules/"
tests="cd $repo && TMPDIR=/mnt PALISADE_TEST_ROOTFS=$own/rootfs $testbin ${filters[*]} --test-threads=1"
cat > "$init/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in netfs 9pnet 9pnet_virtio 9p; do insmod /modules/\$m.ko; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
# Scratch space on /mnt only: the repository may live anywhere else, /tmp included.
mount -t tmpfs tmpfs /host/mnt
EOF
if [ $systemd = 1 ]; then
    # systemd mounts cgroup2 itself; /run is the VM's own (/tmp is not: the repository
    # may live there). The tests run as a oneshot service; systemd expands \$ in
    # ExecStart, so the shell's \$? is written \$\$?.
    cat >> "$init/init" <<EOF
mount -t tmpfs tmpfs /host/run
mkdir -p /host/run/systemd/system
cat > /host/run/systemd/system/palisade-tests.service <<'UNIT'
[Unit]
Description=palisade's --systemd-cgroup tests
DefaultDependencies=no
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
Environment=PALISADE_TEST_SYSTEMD=1
ExecStart=/bin/sh -c '$tests; echo status=\$\$? > /dev/ttyS1; systemctl poweroff -ff'
UNIT
echo "vm: booting systemd"
exec switch_root /host /lib/systemd/systemd --unit=palisade-tests.service --show-status=false
EOF
else
    cat >> "$init/init" <<EOF
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
echo "vm: cgroup controllers: \$(cat /host/sys/fs/cgroup/cgroup.controllers)"
# switch_root, not chroot: the shared root must be the mount namespace's root, as on a
# real host, or setns into a container's mount namespace (exec) would land outside it.
exec switch_root /host /bin/busybox sh -c '$tests; echo "status=\$?" > /dev/ttyS1; /bin/busybox poweroff -f'
EOF
fi
chmod +x "$init/init"
(cd "$init" && find . | cpio -o -H newc --quiet | gzip -1) > "$own/initramfs.gz"

rm -f "$own/status"
echo "vm-test: booting (software emulation; the tests run with $mode)"
# A watchdog for a hung VM, not a time limit on the tests: the v2 lane's 47 tests took
# 714 to 865 s under emulation beside the systemd lanes, and 900 s once cut the last off.
timeout -k 10 1200 qemu-system-x86_64 \
    -accel tcg,thread=single -smp 2 -m 2048 \
    -display none -monitor none -no-reboot \
    -serial stdio -serial "file:$own/status" \
    -kernel "$work/vmlinuz" -initrd "$own/initramfs.gz" \
    -append "console=ttyS0 $cgroups panic=-1 quiet" \
    -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" </dev/null
status=$(tr -d '\r' < "$own/status" | grep -o 'status=[0-9]*' | cut -d= -f2 || true)
echo "vm-test: tests in the VM exited with status ${status:-unknown}"
[ "${status:-1}" = 0 ]
