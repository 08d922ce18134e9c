//! `palisade learn`, tried as a new user would: record busybox workloads (a child, threads,
//! writes in two directories, a TCP listener and its client on the container's own
//! loopback), run them again under the learned profile, and show that what the recording
//! never saw is denied: a call, a write elsewhere, another port.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::support::{self, stderr, stdout, Bundle};

/// A network namespace of the test's own, loopback up, joined by path: the container's own
/// network, where a listener and its client meet.
pub struct Netns(String);

impl Netns {
    pub fn new(name: &str) -> Netns {
        let n = format!("{name}-{}", std::process::id());
        let _ = Command::new("ip")
            .args(["netns", "delete", &n])
            .stderr(std::process::Stdio::null())
            .status();
        for args in [
            vec!["netns", "add", &n],
            vec!["-n", &n, "link", "set", "lo", "up"],
        ] {
            let st = Command::new("ip").args(&args).status().unwrap();
            assert!(st.success(), "ip {args:?}");
        }
        Netns(n)
    }

    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .status();
    }
}

/// integration/data/threads.c, built static into the rootfs.
fn add_threads_program(rootfs: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/data/threads.c");
    let st = Command::new("gcc")
        .args(["-static", "-O2", "-pthread", "-o"])
        .arg(rootfs.join("bin/threads"))
        .arg(src)
        .status()
        .expect("gcc");
    assert!(st.success(), "gcc -static threads.c");
}

/// restricted's own config (`spec --profile restricted`: user nobody, read-only root,
/// limits, Landlock on writes), with two writable tmpfs directories, /data and /work, the
/// test's network namespace, and the threads program.
pub fn restricted_bundle(name: &str, ns: &Netns) -> Bundle {
    let mut b = Bundle::new(name);
    let mut c = support::restricted_config(&b);
    for dir in ["/data", "/work"] {
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": dir, "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=1m"]
        }));
    }
    // restricted adds the ruleset for the writable mounts, /data and /work among them.
    c["process"].as_object_mut().unwrap().remove("landlock");
    for n in c["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "network" {
            n["path"] = ns.path().into();
        }
    }
    b.config = c;
    add_threads_program(&b.rootfs());
    b
}

/// Forks, runs threads, writes in /data and /work, listens on TCP 8080 and connects to it
/// (once /proc/net/tcp shows the listener). The listener's stdin is a fifo the shell holds
/// open until the client is done: busybox nc ends at EOF on stdin, which under load could
/// come before the client's data.
pub const WORKLOAD: &str = "set -e
echo one > /data/one
( echo child > /work/child ) &
wait
threads /data 4
mkfifo /work/hold
nc -l -p 8080 < /work/hold > /work/got &
exec 3> /work/hold
sleep 0.01
i=0; until grep -qs ':1F90 [0:]* 0A' /proc/net/tcp /proc/net/tcp6; do i=$((i+1)); [ $i -lt 200 ]; sleep 0.05; done
echo ping | nc 127.0.0.1 8080
exec 3>&-
wait
echo \"got $(cat /work/got)\"";

fn learn(b: &Bundle, out: &Path, base: &str) -> Output {
    b.write();
    let (o, p) = (out.to_str().unwrap(), b.path().to_str().unwrap());
    b.palisade(&["learn", "--bundle", p, "--base", base, "--out", o, &b.id])
}

/// The learned files of `name` in `out`.
struct Learned {
    toml: String,
    report: String,
    recording: Value,
    config: PathBuf,
    profile: PathBuf,
}

fn learned(out: &Path, id: &str) -> Learned {
    let name = format!("learned-{id}");
    let read = |ext: &str| std::fs::read_to_string(out.join(format!("{name}.{ext}"))).unwrap();
    Learned {
        toml: read("toml"),
        report: read("md"),
        recording: serde_json::from_str(&read("recording.json")).unwrap(),
        config: out.join(format!("{name}.config.json")),
        profile: out.join(format!("{name}.toml")),
    }
}

/// A bundle whose config is the learned one (the rootfs is the original bundle's), run
/// with the learned profile as the operator's choice.
fn enforced(b: &Bundle, l: &Learned, script: &str) -> Bundle {
    let mut e = Bundle::new("learn-enforced");
    e.config = serde_json::from_str(&std::fs::read_to_string(&l.config).unwrap()).unwrap();
    assert!(
        e.config["root"]["path"]
            .as_str()
            .unwrap()
            .starts_with(b.path().to_str().unwrap()),
        "the learned config keeps the bundle's rootfs"
    );
    // The config goes into a bundle as the README says: here a second bundle with a copy
    // of the first one's rootfs (a root in another bundle is refused: host-mounts).
    e.config["root"]["path"] = "rootfs".into();
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", b.rootfs().display()))
        .arg(e.rootfs())
        .status()
        .unwrap();
    assert!(st.success());
    e.script(script);
    e.under_profile(l.profile.to_str().unwrap(), "");
    e
}

#[test]
fn a_learned_profile_runs_its_workload_and_denies_the_rest() {
    let ns = Netns::new("plearn");
    let mut b = restricted_bundle("learn", &ns);
    b.script(WORKLOAD);
    let out = tempfile::tempdir().unwrap();
    let o = learn(&b, out.path(), "restricted");
    assert!(o.status.success(), "learn: {}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("got ping"), "{}", stdout(&o));
    b.assert_nothing_left();
    let l = learned(out.path(), &b.id);

    // Small, and no capability: the demo workload of the README.
    let calls = l.recording["calls"].as_object().unwrap();
    let allowed: Vec<&String> = calls.keys().filter(|n| *n != "clone3").collect();
    assert!(allowed.len() < 80, "{} calls: {allowed:?}", allowed.len());
    eprintln!(
        "the workload's profile allows {} calls: {allowed:?}",
        allowed.len()
    );
    assert!(
        l.toml.contains("[rules.capabilities]\nallowed = []"),
        "{}",
        l.toml
    );
    assert!(l.toml.contains("extends = \"restricted\""));
    // What the workload did is in the recording and the profile.
    for call in ["execve", "clone", "bind", "listen", "connect", "accept"] {
        assert!(
            calls
                .keys()
                .any(|k| k == call || k.starts_with(&format!("{call}4"))),
            "{call} not recorded: {:?}",
            calls.keys()
        );
    }
    let dirs: Vec<&str> = l.recording["write_dirs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(dirs, ["/data", "/work"], "{}", l.report);
    assert_eq!(l.recording["tcp_bind"], json!([8080]));
    assert_eq!(l.recording["tcp_connect"], json!([8080]));
    // clone: the fork's and the threads' flags, exactly; socket by family and type.
    assert!(l.toml.contains("names = [\"clone\"]"), "{}", l.toml);
    assert!(l.report.contains("| socket |"), "{}", l.report);

    // check passes the config learn wrote, in its bundle, with the learned profile.
    let mut e = enforced(&b, &l, WORKLOAD);
    e.write();
    let o = support::bin()
        .arg("check")
        .arg("--profile")
        .arg(&l.profile)
        .arg(e.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "check: {}{}", stdout(&o), stderr(&o));

    // The workload runs under it.
    let (code, out_, err) = e.run();
    assert_eq!(code, 0, "{out_}{err}");
    assert!(out_.contains("got ping"), "{out_}{err}");
    // From inside: the learned filter and ruleset are in place.
    let status = e.probe("grep -E '^(Seccomp|CapEff|NoNewPrivs):' /proc/self/status");
    assert!(status.contains("Seccomp:\t2"), "{status}");
    assert!(status.contains("CapEff:\t0000000000000000"), "{status}");

    // A call the base allows but the recording never saw: EPERM.
    let (code, _, err) = e.run_script("stat -f /");
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
    // A write in a writable place the workload never wrote: Landlock denies it.
    let (code, out_, err) = e.run_script("echo x > /data/ok && echo data-ok; echo x > /tmp/x");
    assert!(out_.contains("data-ok"), "{out_}{err}");
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    // Another TCP port: bind and connect denied (EACCES, not a refused connection).
    let (code, _, err) = e.run_script("nc -l -p 8081");
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    let (code, _, err) = e.run_script("echo x | nc 127.0.0.1 8081");
    assert_ne!(code, 0);
    assert!(err.contains("Permission denied"), "{err}");
    // unshare: denied (by the base's and the learned filter).
    let (code, _, err) = e.run_script("unshare -n true");
    assert_ne!(code, 0);
    assert!(err.contains("Operation not permitted"), "{err}");
    e.assert_nothing_left();
}

/// Debian's strace and the libraries it links, copied into `rootfs`.
fn add_strace(rootfs: &Path) {
    let ldd = Command::new("ldd").arg("/usr/bin/strace").output().unwrap();
    let mut files = vec![PathBuf::from("/usr/bin/strace")];
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        if let Some(p) = line.split_whitespace().find(|w| w.starts_with('/')) {
            files.push(PathBuf::from(p));
        }
    }
    for f in files {
        let dest = rootfs.join(f.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", f.display()));
    }
}

/// The syscall names of `strace -c`'s table.
fn strace_names(text: &str) -> Vec<String> {
    let mut names = vec![];
    let mut rows = false;
    for line in text.lines() {
        if line.starts_with("------") {
            rows = !rows;
            continue;
        }
        if rows {
            if let Some(n) = line.split_whitespace().last() {
                names.push(n.to_owned());
            }
        }
    }
    names
}

/// Every call strace sees after the workload's execve, from inside the container, is in
/// the recording of the same run (strace itself is the workload's first program there, so
/// its own calls are recorded too).
#[test]
fn the_recording_holds_every_call_strace_sees() {
    let ns = Netns::new("pstrace");
    let mut b = restricted_bundle("learn-strace", &ns);
    add_strace(&b.rootfs());
    // strace needs ptrace, which every default filter denies: no filter, no base profile
    // (nor the annotation with which `spec --profile` asks for one).
    b.config["linux"].as_object_mut().unwrap().remove("seccomp");
    b.config["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("io.palisade.profile");
    b.config["process"]["args"] = json!(["strace", "-f", "-c", "sh", "-c", WORKLOAD]);
    let out = tempfile::tempdir().unwrap();
    let o = learn(&b, out.path(), "unconfined");
    assert!(o.status.success(), "learn: {}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("got ping"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let seen = strace_names(&stderr(&o));
    assert!(seen.len() > 20, "strace -c table: {}", stderr(&o));
    assert!(stderr(&o).contains(" total\n"), "{}", stderr(&o));
    let l = learned(out.path(), &b.id);
    let recorded = l.recording["calls"].as_object().unwrap();
    let missing: Vec<&String> = seen.iter().filter(|n| !recorded.contains_key(*n)).collect();
    assert!(
        missing.is_empty(),
        "strace saw, the recording lacks: {missing:?}"
    );
    // strace's own calls are recorded as well (it is the first program after execve).
    assert!(recorded.contains_key("ptrace") && recorded.contains_key("wait4"));
    b.assert_nothing_left();
}

/// Two runs, two workloads: `--merge` makes one profile that runs both, and the bundle's
/// own config runs under it.
#[test]
fn merged_recordings_run_each_workload() {
    let ns = Netns::new("pmerge");
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (
        "echo a > /data/a",
        "echo b > /work/b; mkfifo /work/hold; nc -l -p 8082 < /work/hold > /work/got & exec 3> /work/hold; sleep 0.01; i=0; until grep -qs ':1F92 [0:]* 0A' /proc/net/tcp /proc/net/tcp6; do i=$((i+1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done; echo x | nc 127.0.0.1 8082; exec 3>&-; wait; grep -q x /work/got",
    );
    let mut recs = vec![];
    let mut bundles = vec![];
    for (name, script) in [("merge-a", a), ("merge-b", b)] {
        let mut bundle = restricted_bundle(name, &ns);
        bundle.script(script);
        let o = learn(&bundle, out.path(), "restricted");
        assert!(o.status.success(), "learn: {}{}", stdout(&o), stderr(&o));
        recs.push(
            out.path()
                .join(format!("learned-{}.recording.json", bundle.id)),
        );
        bundles.push(bundle);
    }
    let o = support::bin()
        .args(["learn", "--name", "both", "--out"])
        .arg(out.path())
        .arg("--merge")
        .args(&recs)
        .output()
        .unwrap();
    assert!(o.status.success(), "merge: {}{}", stdout(&o), stderr(&o));
    let l = out.path().join("learned-both.toml");
    let toml = std::fs::read_to_string(&l).unwrap();
    assert!(
        toml.contains("write_dirs = [\"/data\", \"/work\"]"),
        "{toml}"
    );
    assert!(toml.contains("bind_tcp = [8082]"), "{toml}");
    let rec: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("learned-both.recording.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rec["runs"].as_array().unwrap().len(), 2);
    // Each bundle, as it was (the base's filter, no ruleset), runs under the merged profile:
    // hardened with the learned filter and ruleset.
    // (The annotation asking for restricted goes: the merged profile is the floor now, and
    // restricted is looser than it.)
    for (mut bundle, script) in bundles.into_iter().zip([a, b]) {
        bundle.config["annotations"]
            .as_object_mut()
            .unwrap()
            .remove("io.palisade.profile");
        bundle.script(&format!("{script}; grep Seccomp: /proc/self/status"));
        bundle.under_profile(l.to_str().unwrap(), "");
        let (code, out_, err) = bundle.run();
        assert_eq!(code, 0, "{out_}{err}");
        assert!(out_.contains("Seccomp:\t2"), "{out_}");
        let (code, _, err) = bundle.run_script("echo x > /tmp/x");
        assert_ne!(code, 0);
        assert!(err.contains("Permission denied"), "{err}");
    }
}
