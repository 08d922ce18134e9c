//! linux.resources.devices on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program
//! (Documentation/admin-guide/cgroup-v2.rst, "Device controller") built from the rules and
//! attached to the container's cgroup. The rules are checked last to first and the first
//! match decides; with no match the access is allowed, as in a v1 cgroup without a
//! deny-all. spec::devices::v2_allows states the same verdict, and the tests below run the
//! program against it.

use std::io;
use std::os::fd::AsFd;
use std::path::Path;

use crate::spec::devices::{access_bits, ACC_MKNOD, ACC_READ, ACC_WRITE};
use crate::spec::DeviceRule;
use crate::sys;

// include/uapi/linux/bpf.h
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// One eBPF instruction (struct bpf_insn).
fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = code;
    b[1] = (src << 4) | (dst & 0xf);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
const AND32_K: u8 = 0x54;
const RSH32_K: u8 = 0x74;
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const JNE_K: u8 = 0x55;
const EXIT: u8 = 0x95;

/// The program for `rules`, as bytes of bpf_insn.
pub fn program(rules: &[DeviceRule]) -> Vec<u8> {
    // r1 = struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
    let mut prog: Vec<[u8; 8]> = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff), // r2 = device type
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16), // r3 = requested access
        insn(LDX_W, 4, 1, 4, 0),    // r4 = major
        insn(LDX_W, 5, 1, 8, 0),    // r5 = minor
    ];
    for r in rules.iter().rev() {
        // Each condition jumps past the end of this rule's block when it does not hold.
        let mut conds: Vec<(u8, i32)> = Vec::new();
        let mut block: Vec<[u8; 8]> = Vec::new();
        match r.kind {
            'b' => conds.push((2, DEV_BLOCK)),
            'c' => conds.push((2, DEV_CHAR)),
            _ => {}
        }
        let acc = i32::from(access_bits(&r.access));
        let access_check = acc != i32::from(ACC_READ | ACC_WRITE | ACC_MKNOD);
        if let Some(m) = r.major {
            conds.push((4, m as i32));
        }
        if let Some(m) = r.minor {
            conds.push((5, m as i32));
        }
        let tail = 2; // r0 = verdict; exit
        let n = conds.len() + if access_check { 3 } else { 0 };
        for (i, (reg, val)) in conds.iter().enumerate() {
            let after = (n - i - 1 + tail) as i16;
            block.push(insn(JNE_K, *reg, 0, after, *val));
        }
        if access_check {
            // The request must be a subset of what the rule names: r6 = r3 & ~acc.
            block.push(insn(MOV64_X, 6, 3, 0, 0));
            block.push(insn(AND32_K, 6, 0, 0, !acc & 0x7));
            block.push(insn(JNE_K, 6, 0, tail as i16, 0));
        }
        block.push(insn(MOV64_K, 0, 0, 0, r.allow as i32));
        block.push(insn(EXIT, 0, 0, 0, 0));
        prog.extend(block);
        // A rule matching everything decides every access: what follows would be
        // unreachable, which the verifier rejects.
        if n == 0 {
            return prog.concat();
        }
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 1));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog.concat()
}

/// Loads the program and attaches it to the cgroup directory `dir`.
pub fn attach(dir: &Path, rules: &[DeviceRule]) -> io::Result<()> {
    if rules.is_empty() {
        return Ok(());
    }
    let prog = sys::bpf_load_cgroup_device(&program(rules))?;
    let cg = super::resolve::open_root(dir)?;
    sys::bpf_attach_cgroup_device(cg.as_fd(), prog.as_fd())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: access.into(),
        }
    }

    #[test]
    fn encoding_and_jumps() {
        assert_eq!(insn(JNE_K, 2, 0, 3, 2), [0x55, 0x02, 3, 0, 2, 0, 0, 0]);
        assert_eq!(insn(LDX_W, 4, 1, 4, 0), [0x61, 0x14, 4, 0, 0, 0, 0, 0]);
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "rw"),
        ]);
        // Header 6, the allow rule (3 conditions + 3 access + 2), then the deny-all (2),
        // which ends the program.
        assert_eq!(p.len() / 8, 6 + 8 + 2);
        // The first jump of the allow block skips the whole rest of the block.
        assert_eq!(&p[48..50], &[0x55, 0x02]);
        assert_eq!(i16::from_le_bytes([p[50], p[51]]), 7);
    }

    /// The kernel's verifier accepts what we generate (loading needs root).
    #[test]
    fn verifier_accepts_the_program() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let rules = [
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', None, None, "m"),
            rule(true, 'c', Some(1), Some(3), "rwm"),
            rule(false, 'b', Some(8), None, "w"),
            rule(true, 'c', Some(136), None, "rw"),
        ];
        sys::bpf_load_cgroup_device(&program(&rules)).unwrap();
    }

    #[test]
    fn access_strings() {
        assert_eq!(access_bits("rwm"), 7);
        assert_eq!(access_bits("m"), ACC_MKNOD);
    }

    /// Runs `prog` as the kernel would for one request: the instructions `program` emits,
    /// interpreted (BPF_PROG_TEST_RUN does not run device programs).
    fn run(prog: &[u8], kind: i32, major: u32, minor: u32, access: u8) -> bool {
        let ctx = [(kind as u32) | (u32::from(access) << 16), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = &prog[pc * 8..pc * 8 + 8];
            let (code, dst, src) = (i[0], (i[1] & 0xf) as usize, (i[1] >> 4) as usize);
            let off = i16::from_le_bytes([i[2], i[3]]);
            let imm = i32::from_le_bytes([i[4], i[5], i[6], i[7]]);
            pc += 1;
            match code {
                LDX_W => r[dst] = u64::from(ctx[off as usize / 4]),
                AND32_K => r[dst] = u64::from(r[dst] as u32 & imm as u32),
                RSH32_K => r[dst] = u64::from((r[dst] as u32) >> imm),
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = imm as i64 as u64,
                JNE_K => {
                    if r[dst] != imm as i64 as u64 {
                        pc = (pc as i64 + i64::from(off)) as usize;
                    }
                }
                EXIT => return r[0] == 1,
                other => panic!("instruction {other:#x} not interpreted"),
            }
        }
    }

    /// The compiled program gives spec::devices::v2_allows's verdict for every request,
    /// over generated rule lists (the evaluator the policy reads is the one that runs).
    #[test]
    fn the_program_agrees_with_the_evaluator() {
        use crate::spec::devices::v2_allows;
        let mut seed = 0x2545f4914f6cdd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..5_000 {
            let rules: Vec<DeviceRule> = (0..next(6))
                .map(|_| {
                    let kind = ['a', 'c', 'b'][next(3) as usize];
                    let bits = 1 + next(7) as u8;
                    let access: String = [('r', ACC_READ), ('w', ACC_WRITE), ('m', ACC_MKNOD)]
                        .iter()
                        .filter(|(_, b)| bits & b != 0)
                        .map(|(c, _)| *c)
                        .collect();
                    let a = kind == 'a';
                    let num = |x: u64| (x > 0 && !a).then_some(x as i64 - 1);
                    rule(
                        next(2) == 0,
                        kind,
                        num(next(4)),
                        num(next(4)),
                        if a { "rwm" } else { &access },
                    )
                })
                .collect();
            let prog = program(&rules);
            for kind in ['c', 'b'] {
                for major in 0..3 {
                    for minor in 0..3 {
                        for access in 1..8u8 {
                            let t = if kind == 'b' { DEV_BLOCK } else { DEV_CHAR };
                            assert_eq!(
                                run(&prog, t, major, minor, access),
                                v2_allows(&rules, kind, major, minor, access),
                                "{kind} {major}:{minor} access {access} under {rules:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
