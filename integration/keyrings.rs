//! The host's keyrings are host objects (keyrings(7): one user keyring per uid per user
//! namespace). Tried as an attacker would: a key planted in a host uid's user keyring, and
//! a container of that uid, without a user namespace, under a filter that allows keyctl
//! (podman's default profile does) lists that keyring, links it into its session keyring
//! and reads the key. Unconfined lets it (the control); baseline hardens the filter,
//! restricted and sealed refuse or deny it; in a user namespace nothing of the host's is
//! there to find.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::support::*;

/// integration/data/keyring.c, built static once.
fn helper() -> &'static Path {
    static HELPER: OnceLock<PathBuf> = OnceLock::new();
    HELPER.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyring");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("integration/data/keyring.c");
        let st = Command::new("gcc")
            .args(["-static", "-O2", "-o"])
            .arg(&out)
            .arg(src)
            .status()
            .expect("gcc");
        assert!(st.success(), "gcc -static keyring.c");
        out
    })
}

/// A key in host uid `uid`'s user keyring, invalidated when dropped.
struct Planted {
    uid: u32,
    id: String,
    desc: String,
    secret: String,
}

impl Planted {
    fn new(uid: u32, name: &str) -> Planted {
        use std::os::unix::process::CommandExt;
        let desc = format!("palisade-it-{name}-{}", std::process::id());
        let secret = format!("secret-{name}-{}", std::process::id());
        let o = Command::new(helper())
            .args(["plant", &desc, &secret])
            .uid(uid)
            .gid(uid)
            .output()
            .unwrap();
        assert!(o.status.success(), "plant: {}", stderr(&o));
        Planted {
            uid,
            id: stdout(&o).trim().to_owned(),
            desc,
            secret,
        }
    }
}

impl Drop for Planted {
    fn drop(&mut self) {
        use std::os::unix::process::CommandExt;
        let _ = Command::new(helper())
            .args(["remove", &self.id])
            .uid(self.uid)
            .gid(self.uid)
            .status();
    }
}

/// The config's own filter made like podman's default profile: keyctl, add_key and
/// request_key allowed.
fn allow_keyrings(config: &mut Value) {
    let calls = ["keyctl", "add_key", "request_key"];
    if config["linux"]["seccomp"].is_null() {
        config["linux"]["seccomp"] =
            serde_json::from_str(palisade::policy::catalog::DEFAULT_SECCOMP).unwrap();
    }
    let rules = config["linux"]["seccomp"]["syscalls"]
        .as_array_mut()
        .unwrap();
    for r in rules.iter_mut() {
        if let Some(names) = r["names"].as_array_mut() {
            names.retain(|n| !calls.contains(&n.as_str().unwrap_or_default()));
        }
    }
    rules.retain(|r| r["names"].as_array().is_none_or(|n| !n.is_empty()));
    rules.push(json!({"names": calls, "action": "SCMP_ACT_ALLOW"}));
}

/// The attack's bundle: the helper in the rootfs, run as `uid` with keyrings allowed.
fn attack(b: &mut Bundle, key: &Planted) {
    std::fs::copy(helper(), b.rootfs().join("bin/keyring")).unwrap();
    allow_keyrings(&mut b.config);
    b.config["process"]["args"] = json!(["/bin/keyring", "steal", key.desc]);
}

#[test]
fn the_host_keyring_attack_runs_only_unconfined() {
    let root_key = Planted::new(0, "root");

    // The control: unconfined runs the config as given, and the key is read.
    let mut b = Bundle::new("kr-unconfined");
    b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    attack(&mut b, &root_key);
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("READ {}", root_key.secret)), "{out}");

    // baseline: the filter is hardened (the calls denied), the container runs, finds nothing.
    let mut b = Bundle::new("kr-baseline");
    let audit = b.under_profile("baseline", "");
    b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    attack(&mut b, &root_key);
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&root_key.secret), "{out}");
    assert!(
        out.contains("LIST EPERM") && out.contains("SEARCH EPERM"),
        "{out}"
    );
    let log = std::fs::read_to_string(audit).unwrap();
    assert!(log.contains("[host-keyrings]"), "{log}");

    // sealed: refused before anything exists, naming the rule.
    let mut b = Bundle::new("kr-sealed");
    b.under_profile("sealed", "");
    b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    attack(&mut b, &root_key);
    let o = b.palisade(&["create", &b.id]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("[host-keyrings]"), "{}", stderr(&o));
    b.assert_nothing_left();
}

/// restricted runs as nobody: the key planted in nobody's user keyring, which a container
/// of uid 65534 without a user namespace shares.
#[test]
fn restricted_keeps_a_non_root_container_from_its_uids_host_keyring() {
    let key = Planted::new(65534, "nobody");
    // The control: as given (unconfined), nobody's key is read.
    let mut b = Bundle::new("kr-nobody");
    b.config = restricted_config(&b);
    // (Without the annotation by which `spec --profile restricted` asks for restricted.)
    b.config["annotations"]
        .as_object_mut()
        .unwrap()
        .remove("io.palisade.profile");
    attack(&mut b, &key);
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("READ {}", key.secret)), "{out}");

    let mut b = Bundle::new("kr-restricted");
    b.config = restricted_config(&b);
    b.under_profile("restricted", "");
    attack(&mut b, &key);
    let (code, out, err) = b.run();
    assert!(!out.contains(&key.secret), "{out}");
    // Refused by its rules, or run with the calls denied.
    assert!(
        (code == 1 && err.contains("refused")) || out.contains("SEARCH EPERM"),
        "{code} {out} {err}"
    );
}

/// In a user namespace of its own the container's user keyring is that namespace's: the
/// host's key is not there to find. With --no-new-keyring the caller's session keyring is
/// the container's, and check judges that too.
#[test]
fn a_user_namespace_sees_none_of_the_hosts_keyrings() {
    let root_key = Planted::new(0, "userns");
    let mut b = Bundle::new("kr-userns");
    with_userns(&mut b);
    b.config["process"]["user"] = json!({"uid": 0, "gid": 0});
    attack(&mut b, &root_key);
    let (code, out, err) = b.run();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SEARCH ENOKEY"), "{out}");
    assert!(!out.contains(&root_key.secret), "{out}");
    // baseline passes it as it is.
    b.write();
    let check = |extra: &[&str]| {
        let mut c = bin();
        c.args(["check", "--profile", "baseline"])
            .args(extra)
            .arg(b.path());
        let o = c.output().unwrap();
        (o.status.code(), stdout(&o))
    };
    let (code, out) = check(&[]);
    assert!(!out.contains("host-keyrings"), "{out}");
    let _ = code;
    let (code, out) = check(&["--no-new-keyring"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("host-keyrings") && out.contains("--no-new-keyring"),
        "{out}"
    );
}
