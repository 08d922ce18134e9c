//! Kubernetes' path: containerd's CRI plugin with a runtime class handler `palisade`
//! (runtime_type io.containerd.runc.v2, BinaryName palisade), called over the CRI gRPC API
//! as the kubelet calls it (Debian has no crictl: cri/client.py speaks the API with
//! python3-grpcio). A pod sandbox on a CNI bridge, a container joining its namespaces by
//! path under the pod's cgroup parent, exec, a live resource update, stop and removal.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::containerd::start_containerd;
use crate::daemon::{self, text, Daemon};
use crate::support::BIN;

const HANDLER: &str = "palisade";
const IMAGE: &str = "docker.io/palisade/busybox:test";
const PAUSE: &str = "docker.io/palisade/pause:test";

struct Cri {
    d: Daemon,
    bridge: String,
    cgroup_parent: String,
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Cri {
    fn new(name: &'static str) -> Cri {
        let dir = daemon::test_dir(name);
        let p = dir.path().to_path_buf();
        let id = std::process::id();
        let bridge = format!("palcni{}", id % 100000);
        std::fs::create_dir_all(p.join("cni")).unwrap();
        // A bridge with host-local addresses, no gateway, no masquerading: the pod gets
        // a network namespace of its own and an address, and the host's routes stay.
        let conflist = json!({
            "cniVersion": "0.4.0",
            "name": "palisade-test",
            "plugins": [{
                "type": "bridge", "bridge": bridge, "isGateway": false, "ipMasq": false,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.231.77.0/24"}]],
                         "dataDir": p.join("cni-ipam")}
            }]
        });
        std::fs::write(p.join("cni/10-palisade.conflist"), conflist.to_string()).unwrap();
        let cri = "io.containerd.grpc.v1.cri";
        let extra = format!(
            "[plugins.\"{cri}\"]\n  sandbox_image = \"{PAUSE}\"\n\
             # no CAP_SYS_RESOURCE here: the sandbox's oomScoreAdj -998 would fail with any runtime\n\
             restrict_oom_score_adj = true\n  disable_tcp_service = true\n\
             [plugins.\"{cri}\".containerd]\n  default_runtime_name = \"{HANDLER}\"\n\
             [plugins.\"{cri}\".containerd.runtimes.{HANDLER}]\n  runtime_type = \"io.containerd.runc.v2\"\n\
             [plugins.\"{cri}\".containerd.runtimes.{HANDLER}.options]\n  BinaryName = \"{BIN}\"\n\
             [plugins.\"{cri}\".cni]\n  bin_dir = \"/usr/lib/cni\"\n  conf_dir = \"{conf}\"\n",
            conf = p.join("cni").display()
        );
        let d = start_containerd(dir, name, "", &extra);
        let c = Cri {
            d,
            bridge,
            cgroup_parent: format!("/palisade-cri-{id}"),
        };
        c.import_images();
        c
    }

    fn import_images(&self) {
        let rootfs = self.d.path().join("image-rootfs");
        daemon::copy_rootfs(&rootfs);
        for (name, entrypoint) in [
            (IMAGE, json!(["/bin/sh"])),
            (
                PAUSE,
                json!([
                    "/bin/sh",
                    "-c",
                    "trap 'exit 0' TERM; while :; do sleep 1; done"
                ]),
            ),
        ] {
            let tar = self
                .d
                .path()
                .join(format!("{}.tar", name.replace(['/', ':'], "_")));
            let o = Command::new("/usr/bin/python3")
                .arg(manifest_dir().join("integration/managers/oci_image.py"))
                .arg(&rootfs)
                .arg(&tar)
                .arg(name)
                .arg(entrypoint.to_string())
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "oci_image.py: {}",
                crate::support::stderr(&o)
            );
            let mut c = self.d.inside("ctr");
            c.arg("-a")
                .arg(self.sock())
                .args(["-n", "k8s.io", "images", "import"])
                .arg(&tar);
            let (code, out, err) = text(&self.d.output(c));
            assert_eq!(code, 0, "ctr images import {name}: {out}{err}");
        }
    }

    fn sock(&self) -> PathBuf {
        self.d.path().join("containerd.sock")
    }

    /// One CRI call; Err carries the gRPC error line.
    fn call(&self, method: &str, req: Value) -> Result<Value, String> {
        let o = Command::new("/usr/bin/python3")
            .arg(manifest_dir().join("integration/managers/cri/client.py"))
            .arg(self.sock())
            .arg(method)
            .arg(req.to_string())
            .env("CRI_PY_OUT", self.d.path().join("cri-py"))
            .output()
            .unwrap();
        if o.status.success() {
            Ok(serde_json::from_slice(&o.stdout).unwrap())
        } else {
            Err(crate::support::stderr(&o))
        }
    }

    fn ok(&self, method: &str, req: Value) -> Value {
        self.call(method, req)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn sandbox_config(&self, network: &str) -> Value {
        json!({
            "metadata": {"name": "pod", "uid": format!("uid-{}", std::process::id()), "namespace": "default"},
            // The kubelet leaves the hostname empty for a pod on the host's network.
            "hostname": if network == "NODE" { "" } else { "pod" },
            "log_directory": self.d.path().join("logs"),
            "linux": {
                "cgroup_parent": format!("{}/pod", self.cgroup_parent),
                "security_context": {"namespace_options": {"network": network, "pid": "CONTAINER", "ipc": "POD"}}
            }
        })
    }

    /// The host pid of a sandbox or container, from its verbose status.
    fn pid(&self, method: &str, key: &str, id: &str) -> u32 {
        let s = self.ok(method, json!({key: id, "verbose": true}));
        let info: Value = serde_json::from_str(s["info"]["info"].as_str().unwrap()).unwrap();
        info["pid"].as_u64().unwrap() as u32
    }

    fn exec(&self, id: &str, script: &str) -> (i64, String, String) {
        let r = self.ok(
            "ExecSync",
            json!({"container_id": id, "cmd": ["/bin/sh", "-c", script], "timeout": 30}),
        );
        (
            r["exit_code"].as_i64().unwrap(),
            r["stdout"].as_str().unwrap().to_owned(),
            r["stderr"].as_str().unwrap().to_owned(),
        )
    }

    fn assert_clean(&self) {
        // The pod's cgroup itself is the kubelet's to remove; its children are ours.
        let left = daemon::cgroups_below(&format!("{}/pod", self.cgroup_parent));
        assert!(left.is_empty(), "cgroups left: {left:?}");
        let pids = daemon::pids_in_cgroups_matching(&format!("{}/", self.cgroup_parent));
        assert!(pids.is_empty(), "processes left: {pids:?}");
        let mut c = self.d.inside("sh");
        c.args(["-c", "ls -A /run/containerd/runc/k8s.io 2>/dev/null"]);
        let (_, out, _) = text(&self.d.output(c));
        assert_eq!(out.trim(), "", "palisade state left");
        assert!(
            !self
                .d
                .mountinfo()
                .contains("io.containerd.runtime.v2.task/k8s.io/"),
            "task mounts left"
        );
    }
}

impl Drop for Cri {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(std::process::Stdio::null())
            .status();
        daemon::remove_cgroup_parent(&self.cgroup_parent);
    }
}

#[test]
fn pod_and_container_with_exec_and_live_update() {
    let c = Cri::new("cri-pod");
    let v = c.ok("Version", json!({"version": "v1"}));
    assert_eq!(v["runtime_name"], "containerd");
    let sandbox_config = c.sandbox_config("POD");
    let pod = c.ok(
        "RunPodSandbox",
        json!({"config": sandbox_config, "runtime_handler": HANDLER}),
    )["pod_sandbox_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = json!({
        "metadata": {"name": "app"},
        "image": {"image": IMAGE},
        "command": ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"],
        "log_path": "app.log",
        "linux": {
            "resources": {"memory_limit_in_bytes": 67108864},
            // The kubelet's default for v1 pods: a pid namespace per container.
            "security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}
        }
    });
    let ctr = c.ok(
        "CreateContainer",
        json!({"pod_sandbox_id": pod, "config": config, "sandbox_config": sandbox_config}),
    )["container_id"]
        .as_str()
        .unwrap()
        .to_owned();
    c.ok("StartContainer", json!({"container_id": ctr}));

    // Joined by path: the container is in the sandbox's network, ipc and uts namespaces,
    // not the host's, in its own pid namespace, and under the pod's cgroup parent.
    let spid = c.pid("PodSandboxStatus", "pod_sandbox_id", &pod);
    let cpid = c.pid("ContainerStatus", "container_id", &ctr);
    let ns = |pid: u32, kind: &str| std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).unwrap();
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            ns(cpid, kind),
            ns(spid, kind),
            "{kind} namespace not the sandbox's"
        );
        assert_ne!(
            ns(cpid, kind),
            ns(std::process::id(), kind),
            "{kind}: the host's"
        );
    }
    assert_ne!(ns(cpid, "pid"), ns(spid, "pid"));
    let cg = std::fs::read_to_string(format!("/proc/{cpid}/cgroup")).unwrap();
    assert!(
        cg.contains(&format!("{}/pod/{ctr}", c.cgroup_parent)),
        "{cg}"
    );

    let limit = daemon::memory_limit_file();
    let (code, out, err) = c.exec(&ctr, &format!("cat {limit}; hostname; exit 5"));
    assert_eq!((code, out.as_str()), (5, "67108864\npod\n"), "{err}");
    c.ok(
        "UpdateContainerResources",
        json!({"container_id": ctr, "linux": {"memory_limit_in_bytes": 134217728}}),
    );
    let (code, out, err) = c.exec(&ctr, &format!("cat {limit}"));
    assert_eq!((code, out.trim()), (0, "134217728"), "{err}");

    let audit = c.d.audit();
    let count = |cmd: &str| audit.iter().filter(|r| r["command"] == cmd).count();
    assert_eq!(count("create"), 2, "sandbox and container through palisade");
    assert_eq!(count("exec"), 2);

    c.ok("StopContainer", json!({"container_id": ctr, "timeout": 5}));
    let s = c.ok("ContainerStatus", json!({"container_id": ctr}));
    assert_eq!(s["status"]["state"], "CONTAINER_EXITED", "{s}");
    assert_eq!(s["status"]["exit_code"], 0, "TERM is trapped: {s}");
    c.ok("RemoveContainer", json!({"container_id": ctr}));
    c.ok("StopPodSandbox", json!({"pod_sandbox_id": pod}));
    c.ok("RemovePodSandbox", json!({"pod_sandbox_id": pod}));
    c.assert_clean();
}

/// A pod on the host's network breaks baseline (PSS "Host Namespaces"): the kubelet would
/// see palisade's reason, naming the rule.
#[test]
fn a_host_network_pod_is_refused_with_the_rule() {
    let c = Cri::new("cri-refuse");
    let err = c
        .call(
            "RunPodSandbox",
            json!({"config": c.sandbox_config("NODE"), "runtime_handler": HANDLER}),
        )
        .unwrap_err();
    assert!(
        err.contains("refused by profile baseline")
            && err.contains("[host-network-namespace]")
            && err.contains("[host-uts-namespace]"),
        "{err}"
    );
    c.assert_clean();
}
