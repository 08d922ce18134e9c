//! Syscalls newer than a profile answer ENOSYS, not the profile's default error.
//!
//! A deny-by-default profile written before a syscall existed would answer EPERM for it,
//! and programs (glibc's clone3 and faccessat2, for one) only fall back to the older call
//! on ENOSYS. As runc does (libcontainer/seccomp/patchbpf), a short BPF prologue goes in
//! front of libseccomp's program: per architecture, a syscall number above the highest
//! one the profile names returns ENOSYS. It covers numbers this libseccomp has never
//! heard of, which rules added through libseccomp could not name.
//!
//! The prologue only ever returns ENOSYS or falls through to the profile's own program;
//! every number the profile names is at or below the cut and reaches the profile.

use libseccomp::ScmpArch;

// linux/filter.h and linux/bpf_common.h.
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JMP_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JMP_JEQ_K: u16 = 0x05 | 0x10;
const JMP_JGT_K: u16 = 0x05 | 0x20;
const JMP_JSET_K: u16 = 0x05 | 0x40;
const RET_K: u16 = 0x06;
// linux/seccomp.h: struct seccomp_data { int nr; __u32 arch; ... }.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const RET_ERRNO: u32 = 0x0005_0000;
// linux/audit.h.
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;
const AUDIT_ARCH_ARM: u32 = 0x4000_0028;
/// x32 syscalls are x86_64 syscalls with this bit set in their number.
const X32_BIT: u32 = 0x4000_0000;

/// The highest syscall number a profile names, per libseccomp architecture.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Highest {
    pub x86_64: Option<u32>,
    pub x32: Option<u32>,
    pub x86: Option<u32>,
    pub aarch64: Option<u32>,
    pub arm: Option<u32>,
}

impl Highest {
    /// Records `nr` (libseccomp's number for `arch`; negative numbers are libseccomp's
    /// pseudo-syscalls and do not count). Architectures without a prologue are ignored:
    /// their unnamed syscalls keep the profile's default action.
    pub fn note(&mut self, arch: ScmpArch, nr: i32) {
        let Ok(nr) = u32::try_from(nr) else { return };
        let slot = match arch {
            ScmpArch::X8664 => &mut self.x86_64,
            ScmpArch::X32 => &mut self.x32,
            ScmpArch::X86 => &mut self.x86,
            ScmpArch::Aarch64 => &mut self.aarch64,
            ScmpArch::Arm => &mut self.arm,
            _ => return,
        };
        *slot = Some(slot.map_or(nr, |m| m.max(nr)));
    }
}

#[derive(Clone, Copy)]
enum To {
    Next,
    Skip(usize),
    Enosys,
    Filter,
}

struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

fn op(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: To::Next,
        jf: To::Next,
        k,
    }
}

fn jump(code: u16, k: u32, jt: To, jf: To) -> Insn {
    Insn { code, jt, jf, k }
}

/// `bpf` (libseccomp's exported program) with the ENOSYS prologue in front of it.
pub fn prepend(h: &Highest, bpf: &[u8]) -> Vec<u8> {
    // Per audit architecture: the syscall-number checks, entered with A = arch.
    let mut arches: Vec<(u32, Vec<Insn>)> = Vec::new();
    let cut = |max: u32| jump(JMP_JGT_K, max, To::Enosys, To::Filter);
    let mut x86_64 = vec![op(LD_W_ABS, DATA_NR)];
    match (h.x86_64, h.x32) {
        (Some(n), Some(x)) => {
            x86_64.push(jump(JMP_JSET_K, X32_BIT, To::Skip(1), To::Next));
            x86_64.push(cut(n));
            x86_64.push(cut(x));
        }
        (Some(n), None) => {
            // x32 calls are left to the profile (its bad-architecture action).
            x86_64.push(jump(JMP_JSET_K, X32_BIT, To::Filter, To::Next));
            x86_64.push(cut(n));
        }
        (None, Some(x)) => {
            x86_64.push(jump(JMP_JSET_K, X32_BIT, To::Next, To::Filter));
            x86_64.push(cut(x));
        }
        (None, None) => x86_64.clear(),
    }
    if !x86_64.is_empty() {
        arches.push((AUDIT_ARCH_X86_64, x86_64));
    }
    for (audit, max) in [
        (AUDIT_ARCH_I386, h.x86),
        (AUDIT_ARCH_AARCH64, h.aarch64),
        (AUDIT_ARCH_ARM, h.arm),
    ] {
        if let Some(n) = max {
            arches.push((audit, vec![op(LD_W_ABS, DATA_NR), cut(n)]));
        }
    }
    if arches.is_empty() {
        return bpf.to_vec();
    }

    let mut prog = vec![op(LD_W_ABS, DATA_ARCH)];
    for (audit, body) in arches {
        prog.push(jump(JMP_JEQ_K, audit, To::Next, To::Skip(body.len())));
        prog.extend(body);
    }
    // No architecture matched: the profile decides.
    prog.push(jump(JMP_JA, 0, To::Filter, To::Filter));
    let enosys = prog.len();
    prog.push(op(RET_K, RET_ERRNO | libc::ENOSYS as u32));
    let filter = prog.len();

    let mut out = Vec::with_capacity(filter * 8 + bpf.len());
    for (i, insn) in prog.iter().enumerate() {
        let rel = |t: To| -> usize {
            match t {
                To::Next => 0,
                To::Skip(n) => n,
                To::Enosys => enosys - i - 1,
                To::Filter => filter - i - 1,
            }
        };
        // The prologue is a few dozen instructions: every offset fits.
        let (jt, jf, k) = if insn.code == JMP_JA {
            (0, 0, rel(insn.jt) as u32)
        } else {
            (rel(insn.jt) as u8, rel(insn.jf) as u8, insn.k)
        };
        out.extend_from_slice(&insn.code.to_ne_bytes());
        out.push(jt);
        out.push(jf);
        out.extend_from_slice(&k.to_ne_bytes());
    }
    out.extend_from_slice(bpf);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `bpf` in a forked child, makes syscall `nr` there and returns its errno (0 on
    /// success).
    fn errno_of(bpf: &[u8], nr: libc::c_long) -> i32 {
        let prog = libc::sock_fprog {
            len: (bpf.len() / 8) as u16,
            filter: bpf.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: the child makes raw syscalls only and leaves with _exit; the parent
        // waits for it.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::syscall(libc::SYS_seccomp, 1, 0, &prog) != 0
                {
                    libc::_exit(200);
                }
                let r = libc::syscall(nr, 0, 0, 0, 0, 0, 0);
                libc::_exit(if r < 0 { *libc::__errno_location() } else { 0 });
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "child: {status:#x}");
            libc::WEXITSTATUS(status)
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn numbers_above_the_profile_answer_enosys_the_rest_reach_it() {
        let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["exit_group", "exit", "getppid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["openat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}
            ]
        }))
        .unwrap();
        let f = super::super::seccomp::compile(&s).unwrap();
        // Allowed, and below the cut (openat2, 437).
        assert_eq!(errno_of(&f.bpf, libc::SYS_getppid), 0);
        // Named with its own errno: the profile still decides.
        assert_eq!(errno_of(&f.bpf, libc::SYS_openat2), 5);
        // Unnamed and below the cut: the default.
        assert_eq!(errno_of(&f.bpf, libc::SYS_getpid), libc::EPERM);
        // Above the cut, known to libseccomp or not.
        assert_eq!(errno_of(&f.bpf, 438), libc::ENOSYS);
        assert_eq!(errno_of(&f.bpf, 1000), libc::ENOSYS);
        // x32 numbers are x32's, with their own cut.
        assert_eq!(
            errno_of(&f.bpf, (X32_BIT | 1000) as libc::c_long),
            libc::ENOSYS
        );
        assert_eq!(
            errno_of(&f.bpf, (X32_BIT | 39) as libc::c_long),
            libc::EPERM
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_allowing_default_gets_no_prologue() {
        let s: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 7}]
        }))
        .unwrap();
        let f = super::super::seccomp::compile(&s).unwrap();
        assert_eq!(errno_of(&f.bpf, libc::SYS_getpid), 7);
        // The kernel's own answer for a number it does not have.
        assert_eq!(errno_of(&f.bpf, 1000), libc::ENOSYS);
        assert_eq!(errno_of(&f.bpf, libc::SYS_getppid), 0);
    }

    #[test]
    fn offsets_land_on_the_return_and_the_program() {
        let h = Highest {
            x86_64: Some(450),
            x32: Some(X32_BIT | 450),
            x86: Some(450),
            ..Highest::default()
        };
        let tail = [0xAAu8; 8];
        let out = prepend(&h, &tail);
        assert_eq!(&out[out.len() - 8..], &tail);
        let n = out.len() / 8 - 1;
        let insn = |i: usize| {
            let b = &out[i * 8..i * 8 + 8];
            (
                u16::from_ne_bytes([b[0], b[1]]),
                b[2] as usize,
                b[3] as usize,
                u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            )
        };
        let (enosys, filter) = (n - 1, n);
        assert_eq!(insn(enosys), (RET_K, 0, 0, RET_ERRNO | 38));
        for i in 0..enosys {
            let (code, jt, jf, k) = insn(i);
            if code == JMP_JGT_K {
                assert_eq!((i + 1 + jt, i + 1 + jf), (enosys, filter), "insn {i}");
            }
            if code == JMP_JA {
                assert_eq!(i + 1 + k as usize, filter);
            }
        }
    }
}
