#!/usr/bin/env python3
"""Times palisade against runc, crun and youki in one run, interleaved and shuffled (every
round in another order) so that drift on the machine hits every runtime alike, and prints median and p90 with the
ratio to crun. Run it through scripts/bench.sh, which installs the runtimes, builds
palisade, makes the bundles' rootfs and hides the hybrid cgroup2 mount that crun 1.8
refuses (for every runtime alike).

Usage: bench.py --rootfs DIR --palisade BIN [--runtime NAME=BIN ...] [-n N] [--json FILE]
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 20  # seconds; a hung call is killed and counted as a failure
# Seconds of quiet before each timed call (--settle). A pid written into cgroup.procs takes
# the kernel's cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period
# (8 ms typical here) unless another write came within about one grace period before it.
# Back to back, one runtime's write spares the next one's wait; after a pause, as when a
# node starts a container, each pays its own. The pause measures every call as that one.
SETTLE = 0.1
# A growth of crun's below this (ms) gives no ratio: it would only magnify noise.
NO_GROWTH = 0.1


def pct(xs, p):
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


class Runtime:
    ids = 0

    def __init__(self, label, binary, work, env=None):
        self.label = label
        self.binary = binary
        self.root = os.path.join(work, "state-" + label.replace(" ", "-"))
        self.env = dict(os.environ, **(env or {}))
        self.failures = 0
        self.errors = []
        # CPU seconds (user + system) of the last call and every process it waited for.
        self.last_cpu = 0.0

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def new_id(self, row):
        # Unique across runtimes too: two palisade profiles share the default cgroup path
        # /palisade/<id>, and a cgroup that holds another container's processes is refused.
        Runtime.ids += 1
        return f"b{row}-{Runtime.ids}"


class Failure(Exception):
    pass


def call(rt, args, cwd=None, settle=True):
    """One runtime call, after SETTLE seconds of quiet; returns its wall time in seconds.
    stderr goes to a file, not a pipe: a created container holds the runtime's stdio."""
    if settle:
        time.sleep(SETTLE)
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(rt.argv(*args), cwd=cwd, env=rt.env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        code, dt, rt.last_cpu = wait(p, t0)
        if code is None:
            raise Failure(f"{' '.join(args)}: timed out after {TIMEOUT}s")
        if code != 0:
            err.seek(0)
            raise Failure(f"{' '.join(args)}: exit {p.returncode}: "
                          + err.read().decode(errors="replace").strip()[-300:])
    return dt


def wait(p, t0=None):
    """Waits in wait4(2), not in Popen.wait(timeout)'s polling loop, whose growing sleeps
    would round every time up; a timer kills a call that hangs. Returns (exit status or
    None when killed, seconds since t0 or since the call, CPU seconds of the call and of
    every process it reaped: for `run`, the container's processes too)."""
    t0 = t0 if t0 is not None else time.perf_counter()
    # The call runs in a session of its own (start_new_session): kill all of it.
    timer = threading.Timer(TIMEOUT, lambda: os.killpg(p.pid, signal.SIGKILL))
    timer.start()
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = code = os.waitstatus_to_exitcode(status)
    killed = not timer.is_alive()
    timer.cancel()
    return (None if killed else code), dt, usage.ru_utime + usage.ru_stime


def cleanup(rt, cid):
    subprocess.run(rt.argv("delete", "--force", cid), env=rt.env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)


def wait_stopped(rt, cid):
    for _ in range(2000):
        p = subprocess.run(rt.argv("state", cid), env=rt.env, capture_output=True)
        if p.returncode == 0 and json.loads(p.stdout)["status"] == "stopped":
            return
        time.sleep(0.002)
    raise Failure(f"{cid} never stopped")


# --- bundles -------------------------------------------------------------------------

def runc_spec(bundle_dir, rootfs, args):
    """`runc spec`'s default config, with our rootfs and command, no terminal."""
    os.makedirs(bundle_dir, exist_ok=True)
    subprocess.run(["runc", "spec", "--bundle", bundle_dir], check=True)
    path = os.path.join(bundle_dir, "config.json")
    with open(path) as f:
        c = json.load(f)
    c["root"]["path"] = rootfs
    c["process"]["terminal"] = False
    c["process"]["args"] = args
    return c


def write(bundle_dir, config):
    with open(os.path.join(bundle_dir, "config.json"), "w") as f:
        json.dump(config, f)
    return bundle_dir


def operator_env(work, profile):
    """The environment that points palisade at an operator config in `work` selecting
    `profile` in enforce mode, with an audit log (as a node would run it)."""
    path = os.path.join(work, f"operator-{profile}.toml")
    # The bundles share one copy of the rootfs (and one chowned for user namespaces),
    # outside each bundle: the operator lists them as places for root filesystems.
    roots = ", ".join(f'"{os.path.join(work, r)}"' for r in ("rootfs", "rootfs-100000"))
    with open(path, "w") as f:
        f.write(f'profile = "{profile}"\nmode = "enforce"\n'
                f'audit_log = "{os.path.join(work, "audit.log")}"\n'
                f'rootfs_stores = [{roots}]\n')
    return {"PALISADE_CONFIG": path}


def with_mounts(c, n, src, rootfs):
    for i in range(n):
        os.makedirs(os.path.join(rootfs, "mnt", f"m{i}"), exist_ok=True)
        c["mounts"].append({"destination": f"/mnt/m{i}", "type": "bind", "source": src,
                            "options": ["rbind", "ro", "nosuid", "nodev"]})
    return c


def userns_mounts(c):
    """The mounts a user namespace needs, also in the row's step without one, so that the
    row measures the namespace alone: a mapped root may not mount sysfs of the host's
    network namespace (runc's own rootless spec binds it instead), and cgroupfs is left out
    as in rootless specs."""
    c["mounts"] = [x for x in c["mounts"] if x["destination"] not in ("/sys", "/sys/fs/cgroup")]
    c["mounts"].append({"destination": "/sys", "type": "bind", "source": "/sys",
                        "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    return c


def with_userns(c):
    c["linux"]["namespaces"].append({"type": "user"})
    m = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    c["linux"]["uidMappings"] = m
    c["linux"]["gidMappings"] = m
    return userns_mounts(c)


# --- measurements --------------------------------------------------------------------

def round_order(runtimes, i):
    """The order of round i: a shuffle, the same for every run of the script, so that no
    runtime always follows the same one (what one leaves behind, youki's background work or
    the RCU grace period its cgroup work starts, would otherwise always land on the next)."""
    order = list(runtimes)
    random.Random(i).shuffle(order)
    return order


def interleave(runtimes, n, once):
    """Runs once(rt, i) for i in 0..n, interleaved and shuffled; returns {label: [seconds]}."""
    out = {rt.label: [] for rt in runtimes}
    for i in range(n):
        for rt in round_order(runtimes, i):
            try:
                out[rt.label].append(once(rt, i))
            except Failure as e:
                rt.failures += 1
                rt.errors.append(str(e))
    return out


def interleave_steps(runtimes, n, steps):
    """The steps of a growth row ([(name, bundles)], e.g. 0, 20 and 100 mounts) in the same
    rounds, every (runtime, step) pair shuffled, so that drift between rows measured minutes
    apart does not show as growth. Returns wall and CPU times, each as
    {name: {label: [seconds]}}, and the round of each time, {name: {label: [round]}}."""
    out = {name: {rt.label: [] for rt in runtimes} for name, _ in steps}
    cpu = {name: {rt.label: [] for rt in runtimes} for name, _ in steps}
    rounds = {name: {rt.label: [] for rt in runtimes} for name, _ in steps}
    for i in range(n):
        pairs = [(rt, name, b) for rt in runtimes for name, b in steps]
        random.Random(i).shuffle(pairs)
        for rt, name, b in pairs:
            try:
                out[name][rt.label].append(run_once(b)(rt, i))
                cpu[name][rt.label].append(rt.last_cpu)
                rounds[name][rt.label].append(i)
            except Failure as e:
                rt.failures += 1
                rt.errors.append(str(e))
    return out, cpu, rounds


def growth_against_crun(times, rounds, first, last, label):
    """A runtime's growth from step `first` to `last` minus crun's, round by round (the
    rounds where all four calls succeeded), in ms: the median and its 95% interval from
    2000 bootstrap resamples of the rounds, seeded so that the same times give the same
    interval. The growth columns carry no interval; this says whether a run can tell the
    two growths apart: an interval wholly below zero shows growth smaller than crun's,
    one that spans zero decides nothing. None without crun or rounds."""
    if label == "crun" or "crun" not in times[first]:
        return None

    def per_round(lbl):
        a = dict(zip(rounds[first][lbl], times[first][lbl]))
        b = dict(zip(rounds[last][lbl], times[last][lbl]))
        return {i: b[i] - a[i] for i in a.keys() & b.keys()}

    mine, crun = per_round(label), per_round("crun")
    d = [(mine[i] - crun[i]) * 1000 for i in sorted(mine.keys() & crun.keys())]
    if len(d) < 2:
        return None
    rng = random.Random(0)
    boots = sorted(statistics.median(rng.choices(d, k=len(d))) for _ in range(2000))
    return statistics.median(d), boots[50], boots[1949]


def run_once(bundles):
    def once(rt, i):
        cid = rt.new_id("run")
        try:
            return call(rt, ["run", "--bundle", bundles[rt.label], cid])
        except Failure:
            cleanup(rt, cid)
            raise
    return once


def learn_or_run(bundles, learner, out):
    """`palisade learn` for the learner (base unconfined, so the run is the same as the
    others'), `run` for every other runtime."""
    def once(rt, i):
        cid = rt.new_id("learn")
        args = (["learn", "--bundle", bundles[rt.label], "--base", "unconfined", "--out", out, cid]
                if rt is learner else ["run", "--bundle", bundles[rt.label], cid])
        try:
            return call(rt, args)
        except Failure:
            cleanup(rt, cid)
            raise
    return once


def phases(runtimes, n, bundles):
    """create, start and delete of /bin/true, each timed on its own."""
    out = {p: {rt.label: [] for rt in runtimes} for p in ("create", "start", "delete")}
    for i in range(n):
        for rt in round_order(runtimes, i):
            cid = rt.new_id("csd")
            try:
                out["create"][rt.label].append(
                    call(rt, ["create", "--bundle", bundles[rt.label], cid]))
                out["start"][rt.label].append(call(rt, ["start", cid]))
                wait_stopped(rt, cid)
                out["delete"][rt.label].append(call(rt, ["delete", cid]))
            except Failure as e:
                rt.failures += 1
                rt.errors.append(str(e))
                cleanup(rt, cid)
    return out


def execs(runtimes, n, bundles):
    ids = {}
    for rt in runtimes:
        cid = rt.new_id("exec")
        try:
            call(rt, ["create", "--bundle", bundles[rt.label], cid])
            call(rt, ["start", cid])
            ids[rt.label] = cid
        except Failure as e:
            rt.failures += 1
            rt.errors.append(str(e))
            cleanup(rt, cid)
    live = [rt for rt in runtimes if rt.label in ids]
    out = interleave(live, n, lambda rt, i: call(rt, ["exec", ids[rt.label], "/bin/true"]))
    for rt in live:
        cleanup(rt, ids[rt.label])
    return out


def peak_rss(runtimes, n, bundles):
    """Peak RSS (KiB) of `run`, the runtime and what it waited for, by GNU time."""
    def once(rt, i):
        cid = rt.new_id("rss")
        with tempfile.NamedTemporaryFile() as f:
            p = subprocess.Popen(["/usr/bin/time", "-o", f.name, "-f", "%M", *rt.argv(
                "run", "--bundle", bundles[rt.label], cid)], env=rt.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
            code, _, _ = wait(p)
            if code != 0:
                cleanup(rt, cid)
                raise Failure(f"run under /usr/bin/time: exit {code}")
            return float(open(f.name).read().split()[-1])
    return interleave(runtimes, n, once)


def parallel(runtimes, n, bundles, width=20):
    """Wall time for `width` runs started at once."""
    def once(rt, i):
        cids = [rt.new_id("par") for _ in range(width)]
        time.sleep(SETTLE)
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(width) as ex:
            res = list(ex.map(lambda c: _try(rt, ["run", "--bundle", bundles[rt.label], c]),
                              cids))
        dt = time.perf_counter() - t0
        bad = [r for r in res if isinstance(r, Failure)]
        for c in cids:
            if bad:
                cleanup(rt, c)
        if bad:
            raise Failure(f"{len(bad)} of {width} parallel runs failed: {bad[0]}")
        return dt
    return interleave(runtimes, n, once)


def _try(rt, args):
    try:
        return call(rt, args, settle=False)
    except Failure as e:
        return e


# --- report --------------------------------------------------------------------------

def summarize(samples, unit="ms", scale=1000.0):
    rows = {}
    for label, xs in samples.items():
        if xs:
            rows[label] = {"median": statistics.median(xs) * scale, "p90": pct(xs, 90) * scale,
                           "n": len(xs)}
    base = rows.get("crun")
    for r in rows.values():
        r["ratio"] = r["median"] / base["median"] if base else None
    return {"unit": unit, "rows": rows}


def table(title, s):
    lines = [f"### {title}", "", f"| runtime | median ({s['unit']}) | p90 ({s['unit']}) | x crun |",
             "|---|---:|---:|---:|"]
    for label, r in s["rows"].items():
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(f"| {label} | {r['median']:.1f} | {r['p90']:.1f} | {ratio} |")
    return "\n".join(lines) + "\n"


def growth_table(title, steps, cpu, paired):
    """How the median grows from the first step to the last, against crun's growth: in wall
    time, and in CPU time (user + system of the runtime and every process it waited for),
    to which waiting (for an RCU grace period, for a turn on a CPU) adds nothing; time the
    hypervisor takes from the VM still counts. `paired` gives, per runtime, the wall and
    CPU results of growth_against_crun."""
    head = " / ".join(name for name, _ in steps)
    lines = [f"### {title}", "",
             f"| runtime | median ms ({head}) | growth | growth x crun's "
             f"| CPU ms ({head}) | CPU growth | CPU growth x crun's "
             "| growth - crun's, by round (95%) | CPU, by round (95%) |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|"]

    def interval(r):
        return "-" if r is None else f"{r[0]:+.2f} [{r[1]:+.2f}, {r[2]:+.2f}]"

    def grow(series, label):
        meds = [s["rows"][label]["median"] for _, s in series]
        return meds, meds[-1] - meds[0]

    flat = []

    def versus(series, g):
        if not all("crun" in s["rows"] for _, s in series):
            return "-"
        base = grow(series, "crun")[1]
        if base < NO_GROWTH:
            flat.append(base)
            return "-"
        return f"{g / base:.2f}"

    for label in steps[0][1]["rows"]:
        if not all(label in s["rows"] for series in (steps, cpu) for _, s in series):
            continue
        (meds, g), (cmeds, cg) = grow(steps, label), grow(cpu, label)
        pw, pc = paired.get(label, (None, None))
        lines.append(f"| {label} | {' / '.join(f'{m:.1f}' for m in meds)} | {g:+.1f} ms "
                     f"| {versus(steps, g)} | {' / '.join(f'{m:.1f}' for m in cmeds)} "
                     f"| {cg:+.2f} ms | {versus(cpu, cg)} | {interval(pw)} | {interval(pc)} |")
    if flat:
        lines.append(f"\n-: crun's growth ({flat[0]:+.2f} ms) is under {NO_GROWTH} ms, too "
                     "little to divide by.")
    return "\n".join(lines) + "\n"


def main():
    global SETTLE
    ap = argparse.ArgumentParser()
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--palisade", required=True)
    ap.add_argument("--runtime", action="append", default=[], help="NAME=BINARY")
    ap.add_argument("--profiles", required=True, help="palisade's profiles/ directory")
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--json")
    ap.add_argument("--settle", type=float, default=SETTLE,
                    help="seconds of quiet before each timed call (0: back to back)")
    a = ap.parse_args()
    SETTLE = a.settle
    work = tempfile.mkdtemp(prefix="palisade-bench-")
    os.chmod(work, 0o755)
    n = a.n

    others = []
    for spec in a.runtime:
        name, binary = spec.split("=", 1)
        others.append(Runtime(name, binary, work))
    pal_default = Runtime("palisade", a.palisade, work, operator_env(work, "baseline"))
    pal_plain = Runtime("palisade unconfined", a.palisade, work, operator_env(work, "unconfined"))
    pal_restricted = Runtime("palisade restricted", a.palisade, work, operator_env(work, "restricted"))
    runtimes = others + [pal_default, pal_plain]

    # Bundles: runc spec's default config on a shared read-only copy of the rootfs.
    rootfs = os.path.join(work, "rootfs")
    shutil.copytree(a.rootfs, rootfs, symlinks=True)
    for i in range(100):
        os.makedirs(os.path.join(rootfs, "mnt", f"m{i}"), exist_ok=True)
    mount_src = os.path.join(work, "mount-source")
    os.makedirs(mount_src)

    def bundle(name, args=("/bin/true",), edit=None):
        d = os.path.join(work, name)
        c = runc_spec(d, rootfs, list(args))
        if edit:
            c = edit(c)
        return write(d, c)

    true_b = bundle("true")
    sleep_b = bundle("sleep", ("/bin/sleep", "100000"))
    m20 = bundle("m20", edit=lambda c: with_mounts(c, 20, mount_src, rootfs))
    m100 = bundle("m100", edit=lambda c: with_mounts(c, 100, mount_src, rootfs))
    with open(os.path.join(a.profiles, "seccomp", "default.json")) as f:
        filt = json.load(f)

    def seccomp(c):
        c["linux"]["seccomp"] = filt
        return c
    sec = bundle("seccomp", edit=seccomp)
    # user namespaces: a rootfs chowned to the mapped range (every runtime), and the host's
    # root-owned rootfs, which palisade idmaps (runc 1.1 and crun 1.8 run it unmapped).
    urootfs = os.path.join(work, "rootfs-100000")
    shutil.copytree(rootfs, urootfs, symlinks=True)
    subprocess.run(["chown", "-R", "-h", "100000:100000", urootfs], check=True)

    def userns_chowned(c):
        c = with_userns(c)
        c["root"]["path"] = urootfs
        return c
    uns_none = bundle("userns-none", edit=userns_mounts)
    uns = bundle("userns", edit=userns_chowned)
    uns_idmap = bundle("userns-idmap", edit=with_userns)
    # palisade restricted: a config made to pass restricted (`spec --profile restricted`).
    rdir = os.path.join(work, "restricted")
    os.makedirs(rdir)
    subprocess.run([a.palisade, "spec", "--profile", "restricted", "--bundle", rdir], check=True)
    with open(os.path.join(rdir, "config.json")) as f:
        rc = json.load(f)
    rc["root"]["path"] = rootfs
    rc["process"]["terminal"] = False
    rc["process"]["args"] = ["/bin/true"]
    write(rdir, rc)

    same = lambda b: {rt.label: b for rt in runtimes + [pal_restricted]}  # noqa: E731
    report, data = [], {}

    def row(key, title, samples, **kw):
        s = summarize(samples, **kw)
        data[key] = s
        report.append(table(title, s))
        print(report[-1], flush=True)
        return s

    print(f"# palisade benchmarks, {n} runs per row, interleaved, {SETTLE} s of quiet "
          "before each timed call\n", flush=True)
    row("run", "run of /bin/true (runc spec's default config)",
        interleave(runtimes, n, run_once(same(true_b))))
    b = same(true_b)
    b[pal_restricted.label] = rdir
    row("restricted", "run of /bin/true: palisade under restricted, the others with their defaults",
        interleave(others + [pal_restricted], n, run_once(b)))
    ph = phases(runtimes, n, same(true_b))
    for p in ("create", "start", "delete"):
        row(p, f"{p} alone", ph[p])
    row("exec", "exec of /bin/true into a running container", execs(runtimes, n, same(sleep_b)))
    row("rss", "peak RSS of run (KiB, runtime and what it waited for)",
        peak_rss(runtimes, max(3, n // 3), same(true_b)), unit="KiB", scale=1.0)
    row("parallel", "20 runs at once: wall time",
        parallel(runtimes, max(2, n // 5), same(true_b)))
    def growth(key, title, rts, steps, shown):
        """A growth row: its steps in the same shuffled rounds (interleave_steps). `shown`
        names the steps that get a table of their own: {step: (json key, title)}."""
        wall, cpu, rounds = interleave_steps(rts, n, [(name, same(b)) for name, b in steps])
        walls = [(name, row(*shown[name], wall[name]) if name in shown
                  else summarize(wall[name])) for name, _ in steps]
        cpus = [(name, summarize(cpu[name])) for name, _ in steps]
        data.setdefault("growth_cpu", {})[key] = dict(cpus)
        first, last = steps[0][0], steps[-1][0]
        paired = {rt.label: tuple(growth_against_crun(t, rounds, first, last, rt.label)
                                  for t in (wall, cpu)) for rt in rts}
        data.setdefault("growth_against_crun", {})[key] = paired
        report.append(growth_table(title, walls, cpus, paired))
        print(report[-1], flush=True)

    growth("mounts", "growth with mounts (0 / 20 / 100)", runtimes,
           [("0", true_b), ("20", m20), ("100", m100)],
           {"20": ("mounts20", "run with 20 bind mounts"),
            "100": ("mounts100", "run with 100 bind mounts")})
    # palisade unconfined: the filter is the config's own; baseline would add its own.
    plain = others + [pal_plain]
    growth("seccomp", "growth with the seccomp filter (none / ~360 rules)", plain,
           [("none", true_b), ("filter", sec)],
           {"filter": ("seccomp",
                       "run with a ~360-rule seccomp filter (palisade's default.json)")})
    growth("userns", "growth with a user namespace (none / chowned / idmapped)", plain,
           [("none", uns_none), ("chowned", uns), ("idmapped", uns_idmap)],
           {"chowned": ("userns", "run in a user namespace (rootfs chowned to the mapped range)"),
            "idmapped": ("userns_idmap",
                         "run in a user namespace, host-owned rootfs (palisade idmaps it)")})

    # palisade learn: the same run with every call of the workload recorded (a user
    # notification per call, answered CONTINUE), and the profile written.
    pal_learn = Runtime("palisade learn", a.palisade, work, operator_env(work, "unconfined"))
    learn_out = os.path.join(work, "learned")
    os.makedirs(learn_out)
    dd = bundle("dd", ("/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=500"))
    lrts = others + [pal_plain, pal_learn]
    lsame = lambda b: {rt.label: b for rt in lrts}  # noqa: E731
    row("learn_true", "run of /bin/true, recorded (palisade learn) and not",
        interleave(lrts, n, learn_or_run(lsame(true_b), pal_learn, learn_out)))
    row("learn_1000", "run of a workload of about 1,000 syscalls (dd bs=1 count=500), recorded and not",
        interleave(lrts, n, learn_or_run(lsame(dd), pal_learn, learn_out)))
    runtimes.append(pal_learn)

    sizes = ["### binary size", "", "| runtime | bytes | linking |", "|---|---:|---|"]
    seen = set()
    for rt in others + [pal_default]:
        path = os.path.realpath(shutil.which(rt.binary) or rt.binary)
        if path in seen:
            continue
        seen.add(path)
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        libs = [l.split()[0] for l in ldd.splitlines() if "=>" in l]
        link = "static" if not libs else "dynamic: " + ", ".join(libs)
        sizes.append(f"| {rt.label.split()[0]} | {os.path.getsize(path)} | {link} |")
        data.setdefault("size", {})[rt.label] = os.path.getsize(path)
    report.append("\n".join(sizes) + "\n")
    print(report[-1], flush=True)

    failed = [rt for rt in runtimes + [pal_restricted] if rt.failures]
    for rt in failed:
        print(f"{rt.label}: {rt.failures} failed calls; first: {rt.errors[0]}", file=sys.stderr)
    data["failures"] = {rt.label: rt.failures for rt in runtimes + [pal_restricted]}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(data, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    # A runtime that failed every call of a row leaves a hole, not a number: say so.
    sys.exit(1 if any(rt.label.startswith("palisade") for rt in failed) else 0)


if __name__ == "__main__":
    main()
