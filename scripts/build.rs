//! Build script (Cargo.toml `build`): link options for the palisade binary, each used only
//! where the build machine supports it; otherwise the binary links as before.
//!
//! - Packed relative relocations (DT_RELR, glibc 2.36 and binutils 2.38 or lld 15 on):
//!   the table of ~10,000 relative relocations shrinks from 240 KB to 3 KB; the loader
//!   reads it at every start, twice per `create` (the CVE-2019-5736 re-execution).
//! - The functions one `run`, `create`, `start`, `exec` and `delete` call, placed first
//!   and together in .text, in the order they are first called (scripts/hot-functions.txt,
//!   written by scripts/hot-functions.sh; lld's --symbol-ordering-file). The kernel maps
//!   file pages 64 KB at a time around each fault ("fault-around"), so code scattered
//!   over the 2.3 MB of .text made nearly all of it resident in every runtime process.
//!   Names the build does not have (another toolchain, changed code) are skipped.
//! - libseccomp linked from its static archive where the system has one (see
//!   `static_libseccomp`).
//!
//! `PALISADE_LINK_MAP=<file>` also writes the linker's map there (for hot-functions.sh).

use std::path::Path;
use std::process::Command;

const RELR: &str = "-Wl,-z,pack-relative-relocs";
const ORDER_FILE: &str = "scripts/hot-functions.txt";

fn main() {
    println!("cargo:rerun-if-changed=scripts/build.rs");
    println!("cargo:rerun-if-changed={ORDER_FILE}");
    println!("cargo:rerun-if-env-changed=PALISADE_LINK_MAP");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if !linux_gnu {
        return;
    }
    static_libseccomp();
    if links_with(RELR) {
        println!("cargo:rustc-link-arg-bins={RELR}");
    }
    let order =
        Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join(ORDER_FILE);
    if order.is_file() {
        let flag = format!(
            "-Wl,--symbol-ordering-file={},--no-warn-symbol-ordering",
            order.display()
        );
        if links_with(&flag) {
            println!("cargo:rustc-link-arg-bins={flag}");
        }
    }
    if let Ok(map) = std::env::var("PALISADE_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

/// libseccomp's static archive in place of the shared library, as runc's release binaries
/// link it. With the compiled filter cached, palisade calls no libseccomp code, yet the
/// loader would open, map, relocate and initialize the shared library in every runtime
/// process, twice per `create`. libseccomp-sys asks the linker for `-lseccomp`; a search
/// directory that holds only the archive is looked in before the system's, so that name
/// resolves to the archive. libseccomp-sys's own LIBSECCOMP_LINK_TYPE and
/// LIBSECCOMP_LIB_PATH, when set, decide instead; without the archive, the shared library.
fn static_libseccomp() {
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LINK_TYPE");
    println!("cargo:rerun-if-env-changed=LIBSECCOMP_LIB_PATH");
    println!("cargo::rustc-check-cfg=cfg(seccomp_static)");
    if std::env::var_os("LIBSECCOMP_LINK_TYPE").is_some()
        || std::env::var_os("LIBSECCOMP_LIB_PATH").is_some()
    {
        return;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = format!("/usr/lib/{arch}-linux-gnu");
    let Some(archive) = [
        multiarch.as_str(),
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("libseccomp.a"))
    .find(|a| a.is_file()) else {
        return;
    };
    println!("cargo:rerun-if-changed={}", archive.display());
    let dir = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("static");
    let link = dir.join("libseccomp.a");
    let _ = std::fs::remove_file(&link);
    if std::fs::create_dir_all(&dir).is_ok() && std::os::unix::fs::symlink(&archive, &link).is_ok()
    {
        println!("cargo:rustc-link-search=native={}", dir.display());
        // Part of the binary now: src/isolate/seccomp_cache.rs keys on the binary alone.
        println!("cargo:rustc-cfg=seccomp_static");
    }
}

/// Whether rustc, with the linker and flags this build uses, links a program with `flag`
/// cleanly: an older GNU ld only warns about an unknown `-z` option, so any output counts
/// as no. rustc's default linker is not the C compiler's (rust-lld since Rust 1.90 on
/// x86_64), so the probe goes through rustc itself.
fn links_with(flag: &str) -> bool {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let src = Path::new(&out).join("link-probe.rs");
    if std::fs::write(&src, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let mut cmd = Command::new(rustc);
    cmd.arg(&src)
        .arg("-o")
        .arg(Path::new(&out).join("link-probe"))
        .arg(format!("-Clink-arg={flag}"));
    if let Ok(target) = std::env::var("TARGET") {
        cmd.args(["--target", &target]);
    }
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        cmd.arg(format!("-Clinker={linker}"));
    }
    if let Ok(flags) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        cmd.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    cmd.output()
        .is_ok_and(|o| o.status.success() && o.stdout.is_empty() && o.stderr.is_empty())
}
