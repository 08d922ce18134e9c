#!/usr/bin/env python3
"""Writes scripts/hot-functions.txt: the functions the runtime calls on its common paths,
in the order they are first called, for lld's --symbol-ordering-file (scripts/build.rs).

How: a uprobe on the entry of every function of the release binary (addresses from the
linker's map, so no unstripped build is needed: an unstripped build has other symbol
hashes), then a short workload, then the kernel's trace of which probe fired, in which
process, first. Functions of the runtime's own process come first, those only the
container's init calls after them: the runtime process is the one whose peak RSS counts.

Run by scripts/hot-functions.sh, as root, with tracefs at /sys/kernel/tracing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile

import bench  # scripts/bench.py: the operator config and bundles it benchmarks with

TRACING = "/sys/kernel/tracing"
GROUP = "palisade_hot"
# An input section of the map: "VMA LMA Size Align <object>:(.text.<symbol>)", where LLVM
# may put a prefix before the symbol (.text.unlikely.<symbol> for a function it thinks cold).
SECTION = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+.*:"
                     r"\(\.text\.(?:(?:unlikely|hot|startup|exit|split)\.)?(\S+)\)$")
# A trace line: "  palisade-28052   [001] DBZff   770.038964: f25: (0x563a60e5ddb0)".
EVENT = re.compile(r"^\s*.+?-(\d+)\s+\[\d+\]\s+\S+\s+[\d.]+: f(\d+):")


def functions(link_map):
    """(address, name) of every function the map places in .text."""
    out = []
    with open(link_map) as f:
        for line in f:
            m = SECTION.match(line)
            if m and int(m.group(2), 16) > 0:
                out.append((int(m.group(1), 16), m.group(3)))
    return out


def text_delta(binary):
    """The text segment's virtual address minus its file offset (uprobes take offsets)."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "LOAD" and "E" in p[6:8]:
            return int(p[2], 16) - int(p[1], 16)
    raise SystemExit(f"{binary}: no executable LOAD segment")


def tracefs(name, value):
    with open(os.path.join(TRACING, name), "w") as f:
        f.write(value)


def add_probes(binary, funcs):
    delta = text_delta(binary)
    fd = os.open(os.path.join(TRACING, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    added = 0
    try:
        for i, (addr, _) in enumerate(funcs):
            try:
                os.write(fd, f"p:{GROUP}/f{i} {binary}:0x{addr - delta:x}\n".encode())
                added += 1
            except OSError:
                pass  # an entry the kernel cannot probe: left out of the order
    finally:
        os.close(fd)
    return added


def remove_probes():
    try:
        tracefs(f"events/{GROUP}/enable", "0")
    except OSError:
        pass
    with open(os.path.join(TRACING, "uprobe_events")) as f:
        ours = [l.split()[0].split(":", 1)[1] for l in f if f":{GROUP}/" in l]
    fd = os.open(os.path.join(TRACING, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    try:
        for name in ours:
            os.write(fd, f"-:{name}\n".encode())
    finally:
        os.close(fd)


def workload(binary, rootfs, work):
    """The runtime's common paths, as the benchmark and container managers drive them.
    Returns the pids of the runtime processes (the init and hooks are their children)."""
    mains = []
    root = os.path.join(work, "state")

    def bundle(name, args, profile=None):
        d = os.path.join(work, name)
        os.makedirs(d)
        cmd = [binary, "spec", "--bundle", d] + (["--profile", profile] if profile else [])
        subprocess.run(cmd, check=True)
        with open(os.path.join(d, "config.json")) as f:
            c = json.load(f)
        c["root"] = {"path": rootfs, "readonly": True}
        c["process"]["terminal"] = False
        c["process"]["args"] = args
        return bench.write(d, c)

    def palisade(env, *args, hide_cgroup2=False):
        cmd = [binary, "--root", root, *args]
        if hide_cgroup2:
            # As the benchmark runs it on the hybrid layout (scripts/bench.sh).
            cmd = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                   "if mountpoint -q /sys/fs/cgroup/unified; then "
                   "umount /sys/fs/cgroup/unified; fi; exec \"$@\"", "sh", *cmd]
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        mains.append(p.pid)
        if p.wait() != 0:
            raise SystemExit(f"workload: {' '.join(args)} failed")

    baseline = dict(os.environ, **bench.operator_env(work, "baseline"))
    restricted = dict(os.environ, **bench.operator_env(work, "restricted"))
    # The benchmark's bundle: runc spec's config, which baseline completes (a seccomp
    # filter, an audit record of each change): paths `palisade spec`'s config never takes.
    runc_b = bench.write(os.path.join(work, "runc-spec"),
                         bench.runc_spec(os.path.join(work, "runc-spec"), rootfs, ["/bin/true"]))
    true_b = bundle("true", ["/bin/true"])
    sleep_b = bundle("sleep", ["/bin/sleep", "1000"])
    restricted_b = bundle("restricted", ["/bin/true"], "restricted")
    for hide in (False, True):
        palisade(baseline, "run", "--bundle", runc_b, "rs", hide_cgroup2=hide)
        palisade(baseline, "run", "--bundle", true_b, "r", hide_cgroup2=hide)
        palisade(restricted, "run", "--bundle", restricted_b, "rr", hide_cgroup2=hide)
        palisade(baseline, "create", "--bundle", sleep_b, "s", hide_cgroup2=hide)
        palisade(baseline, "start", "s", hide_cgroup2=hide)
        palisade(baseline, "state", "s", hide_cgroup2=hide)
        palisade(baseline, "exec", "s", "/bin/true", hide_cgroup2=hide)
        palisade(baseline, "kill", "s", "KILL", hide_cgroup2=hide)
        palisade(baseline, "delete", "--force", "s", hide_cgroup2=hide)
    return set(mains)


def order(trace_lines, funcs, mains):
    """Names in first-call order: the runtime processes' functions, then the rest."""
    first_main, first_other = {}, {}
    for n, line in enumerate(trace_lines):
        m = EVENT.match(line)
        if not m:
            continue
        pid, f = int(m.group(1)), int(m.group(2))
        (first_main if pid in mains else first_other).setdefault(f, n)
    main = sorted(first_main, key=first_main.get)
    rest = sorted((f for f in first_other if f not in first_main), key=first_other.get)
    return [funcs[f][1] for f in main + rest], len(main)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--binary", required=True, help="the release binary")
    ap.add_argument("--map", required=True, help="its linker map (PALISADE_LINK_MAP)")
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    binary = os.path.realpath(a.binary)
    funcs = functions(a.map)
    if not funcs:
        raise SystemExit(f"{a.map}: no .text input sections")
    work = tempfile.mkdtemp(prefix="palisade-hot-")
    os.chmod(work, 0o755)
    remove_probes()
    old_size = open(os.path.join(TRACING, "buffer_size_kb")).read().strip()
    try:
        added = add_probes(binary, funcs)
        tracefs("buffer_size_kb", "65536")
        tracefs("trace", "")
        tracefs(f"events/{GROUP}/enable", "1")
        tracefs("tracing_on", "1")
        mains = workload(binary, os.path.realpath(a.rootfs), work)
        tracefs(f"events/{GROUP}/enable", "0")
        with open(os.path.join(TRACING, "trace")) as f:
            lines = f.readlines()
        counts = next((re.search(r"entries-in-buffer/entries-written: (\d+)/(\d+)", l)
                       for l in lines[:20] if "entries-written" in l), None)
        if counts is None or counts.group(1) != counts.group(2):
            raise SystemExit("the trace buffer overflowed: events were lost")
        names, n_main = order(lines, funcs, mains)
    finally:
        remove_probes()
        tracefs("trace", "")
        tracefs("buffer_size_kb", old_size)
        subprocess.run(["umount", "-R", os.path.join(work, "state")], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    if not names:
        raise SystemExit("no probe fired: are uprobes on this binary possible here?")
    with open(a.out, "w") as f:
        f.write("# Functions of the common paths in first-call order, the runtime process's\n"
                "# first: lld --symbol-ordering-file input (scripts/build.rs). Written by\n"
                "# scripts/hot-functions.sh; regenerate it after changes to the code, the\n"
                "# dependencies, the toolchain or the release profile (names carry hashes\n"
                "# of all of these; names the build lacks are skipped).\n")
        f.writelines(n + "\n" for n in names)
    print(f"hot-functions: {len(names)} of {len(funcs)} functions ({added} probed), "
          f"{n_main} called by the runtime process itself; written to {a.out}")


if __name__ == "__main__":
    main()
