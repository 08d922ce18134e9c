use crate::support::*;

#[test]
fn mounts_appear_with_their_options() {
    let mut b = Bundle::new("mounts");
    let host = b.path().join("hostdata");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("file"), "from host").unwrap();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(serde_json::json!({"destination": "/data", "type": "bind", "source": host, "options": ["rbind", "ro", "nosuid", "nodev"]}));
    mounts.push(serde_json::json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m", "mode=700", "noexec"]}));
    // A file bound where nothing exists yet: the target is created as a file, parents too.
    mounts.push(serde_json::json!({"destination": "/new/dir/note", "type": "bind", "source": host.join("file"), "options": ["bind", "ro"]}));
    let out = b.probe("test -f /new/dir/note && cat /new/dir/note; echo; cat /data/file; echo; grep -E ' /(data|scratch|proc|sys|dev/pts|dev/mqueue) ' /proc/self/mountinfo; touch /data/x 2>&1 || true; stat -c %a /scratch");
    assert!(out.starts_with("from host\nfrom host\n"), "{out}");
    let line = |m: &str| {
        out.lines()
            .find(|l| l.split(' ').nth(4) == Some(m))
            .unwrap_or_else(|| panic!("{m} missing:\n{out}"))
            .to_owned()
    };
    let data = line("/data");
    assert!(data.contains(" ro,nosuid,nodev"), "{data}");
    let scratch = line("/scratch");
    assert!(
        scratch.contains("noexec")
            && scratch.contains("size=1024k")
            && scratch.contains("mode=700"),
        "{scratch}"
    );
    assert!(line("/proc").contains(" - proc "));
    assert!(line("/sys").contains(" ro,"));
    assert!(line("/dev/pts").contains("ptmxmode=666"));
    assert!(line("/dev/mqueue").contains(" - mqueue "));
    assert!(out.contains("Read-only file system"), "{out}");
    assert!(out.trim_end().ends_with("700"));
}

#[test]
fn cgroup_mount_is_read_only_and_shows_own_cgroup() {
    let mut b = Bundle::new("cgmount");
    let out = b.probe("grep ' /sys/fs/cgroup' /proc/self/mountinfo | head -3; mkdir /sys/fs/cgroup/x /sys/fs/cgroup/memory/x 2>&1 || true; cat /sys/fs/cgroup/pids/cgroup.procs | wc -l");
    assert!(
        out.contains("/sys/fs/cgroup ro,") || out.contains("/sys/fs/cgroup ro"),
        "{out}"
    );
    assert!(out.contains("Read-only file system"), "{out}");
}

#[test]
fn readonly_rootfs_is_not_writable_and_writable_one_is() {
    let mut b = Bundle::new("rootro");
    let out = b.probe("touch /newfile 2>&1; true");
    assert!(out.contains("Read-only file system"), "{out}");
    b.config["root"]["readonly"] = false.into();
    b.probe("touch /newfile");
    assert!(b.rootfs().join("newfile").exists());
}

#[test]
fn masked_and_readonly_paths() {
    let mut b = Bundle::new("masked");
    std::fs::write(b.rootfs().join("etc/secret"), "top secret").unwrap();
    std::fs::create_dir_all(b.rootfs().join("etc/secretdir")).unwrap();
    std::fs::write(b.rootfs().join("etc/secretdir/key"), "k").unwrap();
    b.config["linux"]["maskedPaths"] = serde_json::json!([
        "/etc/secret",
        "/etc/secretdir",
        "/proc/timer_list",
        "/does/not/exist"
    ]);
    b.config["linux"]["readonlyPaths"] = serde_json::json!(["/proc/sys", "/tmp"]);
    let out = b.probe("echo secret=$(cat /etc/secret); ls /etc/secretdir | wc -l; echo tl=$(wc -c < /proc/timer_list); sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid' 2>&1; touch /tmp/x 2>&1; true");
    assert!(out.contains("secret=\n"), "{out}");
    assert!(
        out.contains("\n0\n"),
        "masked directory must look empty: {out}"
    );
    assert!(out.contains("tl=0"), "{out}");
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
}

#[test]
fn default_devices_and_symlinks() {
    let mut b = Bundle::new("devices");
    b.config["linux"]["devices"] = serde_json::json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0}]);
    let out = b.probe("for d in null zero full random urandom tty fuse; do stat -c '%n %t:%T %a' /dev/$d; done; for l in fd stdin ptmx; do readlink /dev/$l; done; head -c 4 /dev/zero | wc -c");
    for want in [
        "/dev/null 1:3 666",
        "/dev/zero 1:5 666",
        "/dev/tty 5:0 666",
        "/dev/fuse a:e5 666",
        "/proc/self/fd\n",
        "/proc/self/fd/0",
        "pts/ptmx",
    ] {
        assert!(out.contains(want), "{want} missing:\n{out}");
    }
}

#[test]
fn devices_cgroup_denies_unlisted_devices() {
    let mut b = Bundle::new("devcg");
    let caps = serde_json::json!(["CAP_MKNOD", "CAP_DAC_OVERRIDE"]);
    for set in ["bounding", "effective", "permitted"] {
        b.config["process"]["capabilities"][set] = caps.clone();
    }
    // /dev/kmsg (1:11) is not in the allowed list: creating the node works (mknod is
    // allowed), opening it must not.
    let out = b.probe(
        "mknod /dev/kmsg c 1 11 && head -c 1 /dev/kmsg 2>&1; echo > /dev/null && echo null-ok",
    );
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("null-ok"));
}

#[test]
fn no_pivot_still_runs_in_the_rootfs() {
    let mut b = Bundle::new("nopivot");
    b.script("cat /etc/motd");
    let out = b.palisade(&["run", "--no-pivot", &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "palisade test rootfs\n");
    b.assert_nothing_left();
}

#[test]
fn cgroup2_mount_shows_only_the_containers_cgroup() {
    let mut b = Bundle::new("cg2");
    b.config["mounts"].as_array_mut().unwrap().push(serde_json::json!({"destination": "/cg2", "type": "cgroup2", "source": "cgroup", "options": ["ro", "nosuid", "nodev", "noexec"]}));
    let out = b.probe("grep ' /cg2 ' /proc/self/mountinfo | cut -d' ' -f4; ls /cg2 | grep -c '^palisade$' || true");
    let l: Vec<&str> = out.lines().collect();
    // Inside its cgroup namespace the container's own cgroup is "/"; the host's root
    // would show as "/..".
    assert_eq!(
        l[0], "/",
        "the mount's root is the container's cgroup: {out}"
    );
    assert_eq!(l[1], "0", "the host's hierarchy must not be visible: {out}");
}

/// config-linux.md#devices: a file at a device's path that is not that device is an error,
/// not replaced; the same device already there is kept.
#[test]
fn a_mismatching_file_at_a_device_path_fails_create() {
    let mut b = Bundle::new("devices-mismatch");
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/dev");
    std::fs::create_dir_all(b.rootfs().join("dev")).unwrap();
    std::fs::write(b.rootfs().join("dev/fuse"), "not a device").unwrap();
    b.config["linux"]["devices"] =
        serde_json::json!([{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]);
    b.script("true");
    let (code, _, err) = b.run();
    assert_ne!(code, 0);
    assert!(err.contains("/dev/fuse already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("dev/fuse")).unwrap(),
        "not a device"
    );
    b.assert_nothing_left();
}

/// A tmpfs over a directory of the image gets its mode (runc's behaviour; a tmpfs's own is
/// 1777), and with tmpcopyup (podman's --tmpfs and --read-only) its contents: files with
/// their modes and owners, directories, symlinks as symlinks; a FIFO is not copied (nor
/// opened).
#[test]
fn tmpfs_over_an_image_directory_keeps_its_mode_and_copies_up() {
    use std::os::unix::fs::PermissionsExt;
    let mut b = Bundle::new("tmpfs-copyup");
    let app = b.rootfs().join("opt/app");
    std::fs::create_dir_all(app.join("sub")).unwrap();
    std::fs::write(app.join("conf"), "setting=1\n").unwrap();
    std::fs::set_permissions(app.join("conf"), std::fs::Permissions::from_mode(0o604)).unwrap();
    nix::unistd::chown(&app.join("conf"), Some(1000.into()), Some(1000.into())).unwrap();
    std::fs::write(app.join("sub/deep"), "deep\n").unwrap();
    std::os::unix::fs::symlink("/etc/shadow", app.join("link")).unwrap();
    nix::unistd::mkfifo(
        &app.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o750)).unwrap();
    let m = b.config["mounts"].as_array_mut().unwrap();
    m.push(
        serde_json::json!({"destination": "/opt/app", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev", "tmpcopyup"]}),
    );
    m.push(
        serde_json::json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "nodev"]}),
    );
    let out = b.probe(
        "stat -c '%a %n' /opt/app /tmp; cat /opt/app/conf /opt/app/sub/deep; \
         stat -c '%a %u:%g' /opt/app/conf; readlink /opt/app/link; \
         test -e /opt/app/fifo && echo fifo-copied; \
         grep ' /opt/app ' /proc/mounts | cut -d' ' -f3",
    );
    let tmp_mode = format!(
        "{:o}",
        std::fs::metadata(b.rootfs().join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    );
    assert_eq!(
        out,
        format!(
            "750 /opt/app\n{tmp_mode} /tmp\nsetting=1\ndeep\n604 1000:1000\n/etc/shadow\ntmpfs\n"
        )
    );
    // Without tmpcopyup: empty, with the directory's mode.
    let mut b = Bundle::new("tmpfs-mode");
    let app = b.rootfs().join("opt/app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("conf"), "x").unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o700)).unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"destination": "/opt/app",
        "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "ro", "tmpcopyup"]}));
    let out = b.probe(
        "stat -c '%a' /opt/app; cat /opt/app/conf; touch /opt/app/x 2>/dev/null || echo read-only",
    );
    assert_eq!(out, "700\nxread-only\n");
    // A mode the options give wins over the directory's.
    let mut b = Bundle::new("tmpfs-optmode");
    std::fs::create_dir_all(b.rootfs().join("opt/app")).unwrap();
    std::fs::set_permissions(
        b.rootfs().join("opt/app"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"destination": "/opt/app",
        "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=1777"]}));
    assert_eq!(b.probe("stat -c '%a' /opt/app"), "1777\n");
}

/// nosymfollow on a bind (a protection, never dropped): a symlink there is not followed;
/// rnosymfollow does the same on the whole tree.
#[test]
fn nosymfollow_binds_follow_no_symlink() {
    for opt in ["nosymfollow", "rnosymfollow"] {
        let mut b = Bundle::new("nosymfollow");
        let dir = b.path().join("links");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("target"), "reached\n").unwrap();
        std::os::unix::fs::symlink("target", dir.join("link")).unwrap();
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
            "destination": "/links", "type": "bind", "source": "links",
            "options": ["rbind", "ro", opt]}));
        let out = b.probe("cat /links/target; cat /links/link 2>/dev/null || echo not-followed; readlink /links/link");
        assert_eq!(out, "reached\nnot-followed\ntarget\n", "{opt}");
    }
}
