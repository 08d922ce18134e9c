//! Build script (Cargo.toml `build`): links the palisade binary with packed relative
//! relocations (DT_RELR, glibc 2.36 and binutils 2.38 or later) where the toolchain can.
//! The table of ~10,000 relative relocations shrinks from 240 KB to 3 KB; the loader reads
//! it at every start, twice per `create` (the CVE-2019-5736 re-execution), so the binary is
//! 230 KB smaller and the runtime's peak RSS about as much lower. Where the linker lacks
//! the option, the binary is linked as before.

use std::process::{Command, Stdio};

const FLAG: &str = "-Wl,-z,pack-relative-relocs";

fn main() {
    println!("cargo:rerun-if-changed=scripts/build.rs");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu");
    if linux_gnu && links_with(FLAG) {
        println!("cargo:rustc-link-arg-bins={FLAG}");
    }
}

/// Whether the C compiler (rustc's linker driver) links a program with `flag` cleanly: an
/// older GNU ld only warns about an unknown `-z` option, so any output counts as no.
fn links_with(flag: &str) -> bool {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(mut child) = Command::new(cc)
        .args(["-x", "c", "-", "-o"])
        .arg(format!("{out}/relr-probe"))
        .arg(flag)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        return false;
    };
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        let _ = stdin.write_all(b"int main(void) { return 0; }\n");
    }
    child
        .wait_with_output()
        .is_ok_and(|o| o.status.success() && o.stdout.is_empty() && o.stderr.is_empty())
}
