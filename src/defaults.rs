//! What palisade writes for `spec` (a hardened variant of runc's default config) and
//! reports for `features` (runtime-spec features.md), kept truthful to what is implemented.

use serde_json::{json, Value};

pub const OCI_VERSION: &str = "1.3.0";

pub fn hardened_spec() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "palisade",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "mode=1777", "size=65536k"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi", "/sys/devices/virtual/powercap"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

pub fn features() -> Value {
    let caps: Vec<String> = caps::all()
        .iter()
        .map(|c| c.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": [
            "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap", "iversion",
            "lazytime", "mand", "noatime", "nodev", "nodiratime", "noexec", "noiversion", "nolazytime", "nomand", "norelatime", "nostrictatime",
            "nosuid", "private", "rbind", "rdev", "rdiratime", "relatime", "remount", "rexec",
            "rnoatime", "rnodev", "rnodiratime", "rnoexec", "rnosuid", "ro", "rprivate", "rrelatime",
            "ridmap", "rro", "rrw", "rshared", "rslave", "rstrictatime", "rsuid", "runbindable", "rw",
            "shared", "silent", "loud", "slave", "strictatime", "suid", "sync", "unbindable",
            "nosymfollow", "symfollow", "rnosymfollow", "rsymfollow", "ratime", "tmpcopyup"
        ],
        "linux": {
            "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
            "capabilities": caps,
            "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": false},
            "seccomp": {
                "enabled": true,
                "actions": ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"],
                "operators": ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"],
                "archs": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64",
                          "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32",
                          "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_RISCV64",
                          "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"],
                "knownFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                               "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
                "supportedFlags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                                   "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
            },
            "apparmor": {"enabled": false},
            "selinux": {"enabled": false},
            "intelRdt": {"enabled": false},
            "mountExtensions": {"idmap": {"enabled": true}},
            "netDevices": {"enabled": true},
            "memoryPolicy": {
                "modes": ["MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                          "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"],
                "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
            }
        },
        "annotations": {
            "io.palisade.version": env!("CARGO_PKG_VERSION"),
            "io.palisade.init.steps": crate::process::init::step_names().join(","),
            "io.palisade.landlock.enabled": (crate::isolate::landlock::kernel_abi() > 0).to_string(),
            "io.palisade.landlock.abi": crate::isolate::landlock::kernel_abi().to_string(),
            "io.palisade.landlock.annotation": crate::isolate::landlock::ANNOTATION
        }
    })
}

#[cfg(test)]
mod tests {
    /// Every memory policy mode and flag `features` names is one a config may use.
    #[test]
    fn features_name_only_memory_policies_that_plan() {
        let f = super::features();
        let mp = &f["linux"]["memoryPolicy"];
        for mode in mp["modes"].as_array().unwrap() {
            let nodes = if mode == "MPOL_DEFAULT" || mode == "MPOL_LOCAL" {
                ""
            } else {
                "0"
            };
            let p: oci_spec::runtime::LinuxMemoryPolicy =
                serde_json::from_value(serde_json::json!({"mode": mode, "nodes": nodes})).unwrap();
            crate::spec::memory_policy::plan(&p).unwrap();
        }
        for flag in mp["flags"].as_array().unwrap() {
            let p: oci_spec::runtime::LinuxMemoryPolicy = serde_json::from_value(
                serde_json::json!({"mode": "MPOL_BIND", "nodes": "0", "flags": [flag]}),
            )
            .unwrap();
            crate::spec::memory_policy::plan(&p).unwrap();
        }
        assert_eq!(f["ociVersionMax"], "1.3.0");
        assert_eq!(f["linux"]["netDevices"]["enabled"], true);
    }

    #[test]
    fn hardened_spec_is_a_valid_plan() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("rootfs")).unwrap();
        std::fs::write(
            d.path().join("config.json"),
            super::hardened_spec().to_string(),
        )
        .unwrap();
        let p = crate::spec::load(d.path()).unwrap();
        assert!(p.process.no_new_privileges && p.rootfs_readonly);
        assert!(p.process.caps.inheritable.is_empty() && p.process.caps.ambient.is_empty());
    }
}
