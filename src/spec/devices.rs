//! linux.resources.devices (config-linux.md#allowed-device-list) as the plan holds it, and
//! what a list of rules grants. One meaning serves the cgroup v1 writer
//! (isolate::cgroups), the cgroup v2 program (isolate::devfilter) and the policy:
//!
//! - A rule of type `a` resets the whole list, whatever its numbers and access say: the v1
//!   kernel reads only its first letter (Documentation/admin-guide/cgroup-v1/devices.rst,
//!   security/device_cgroup.c), so the plan stores it as `a *:* rwm`, and the v2 program
//!   then does the same.
//! - After the last reset, v1 and v2 differ in detail (v1 removes only exceptions of the
//!   very same spelling; v2 lets the last matching rule decide), so [`grants`] answers for
//!   both at once: what any allow rule after a deny-all reset names.

/// One rule of linux.resources.devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'c' or 'b'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

/// Access bits as the kernel's device hook passes them (include/uapi/linux/bpf.h
/// BPF_DEVCG_ACC_*).
pub const ACC_MKNOD: u8 = 1;
pub const ACC_READ: u8 = 2;
pub const ACC_WRITE: u8 = 4;

impl DeviceRule {
    /// The line for a v1 devices.allow / devices.deny file.
    pub fn v1_line(&self) -> String {
        let n = |v: Option<i64>| v.map_or("*".to_string(), |v| v.to_string());
        format!(
            "{} {}:{} {}",
            self.kind,
            n(self.major),
            n(self.minor),
            self.access
        )
    }

    pub fn access_bits(&self) -> u8 {
        access_bits(&self.access)
    }

    /// Whether the rule names device `kind` (c or b) `major`:`minor`.
    pub fn covers(&self, kind: char, major: u32, minor: u32) -> bool {
        (self.kind == 'a' || self.kind == kind)
            && self.major.is_none_or(|m| m == i64::from(major))
            && self.minor.is_none_or(|m| m == i64::from(minor))
    }
}

pub fn access_bits(access: &str) -> u8 {
    access.chars().fold(0, |a, c| {
        a | match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        }
    })
}

/// What a list of rules lets the container do with device nodes.
#[derive(Debug, PartialEq, Eq)]
pub enum Grants<'a> {
    /// Every device: no rule resets the list to deny, or the last reset allows all.
    Everything(&'static str),
    /// Only what these allow rules (after the last deny-all) name.
    Only(Vec<&'a DeviceRule>),
}

/// What `rules` grant on cgroup v1 and on v2 alike (an upper bound of both).
pub fn grants(rules: &[DeviceRule]) -> Grants<'_> {
    match rules.iter().rposition(|r| r.kind == 'a') {
        None => Grants::Everything("no rule denies every device first"),
        Some(i) if rules[i].allow => Grants::Everything("a rule of type a allows every device"),
        Some(i) => Grants::Only(rules[i + 1..].iter().filter(|r| r.allow).collect()),
    }
}

/// The verdict of palisade's cgroup v2 program (isolate::devfilter) for one access: rules
/// last to first, the first whose device and access cover the request decides; none
/// allows. Its tests hold the compiled program to this.
pub fn v2_allows(rules: &[DeviceRule], kind: char, major: u32, minor: u32, access: u8) -> bool {
    rules
        .iter()
        .rev()
        .find(|r| r.covers(kind, major, minor) && access & !r.access_bits() == 0)
        .is_none_or(|r| r.allow)
}

/// The kernel's cgroup v1 verdict (security/device_cgroup.c): a default behaviour set by
/// the last `a` rule, and exceptions that allow rules add and deny rules remove only where
/// they are spelled the same. For tests: palisade does not run it.
/// Unix98 pty slaves (majors 136 to 143) and /dev/ptmx (c 5:2), which opens the devpts
/// instance beside its node. A node of them made in the container reaches nothing of the
/// host's; the host's node, bound in, is a host terminal.
pub fn pty(major: u64, minor: u64) -> bool {
    (136..=143).contains(&major) || (major, minor) == (5, 2)
}

#[cfg(test)]
pub fn v1_allows(rules: &[DeviceRule], kind: char, major: u32, minor: u32, access: u8) -> bool {
    let mut default_allow = true;
    let mut ex: Vec<(char, Option<i64>, Option<i64>, u8)> = vec![];
    for r in rules {
        if r.kind == 'a' {
            default_allow = r.allow;
            ex.clear();
            continue;
        }
        let key = (r.kind, r.major, r.minor);
        // With a default of deny, allow rules add exceptions; with allow, deny rules do.
        let adds = r.allow != default_allow;
        let at = ex.iter().position(|e| (e.0, e.1, e.2) == key);
        match (adds, at) {
            (true, Some(i)) => ex[i].3 |= r.access_bits(),
            (true, None) => ex.push((r.kind, r.major, r.minor, r.access_bits())),
            (false, Some(i)) => {
                ex[i].3 &= !r.access_bits();
                if ex[i].3 == 0 {
                    ex.remove(i);
                }
            }
            (false, None) => {}
        }
    }
    let names = |e: &(char, Option<i64>, Option<i64>, u8)| {
        e.0 == kind
            && e.1.is_none_or(|m| m == i64::from(major))
            && e.2.is_none_or(|m| m == i64::from(minor))
    };
    if default_allow {
        // Denied when any exception touches any of the access asked for.
        !ex.iter().any(|e| names(e) && access & e.3 != 0)
    } else {
        // Allowed when one exception covers the whole access asked for.
        ex.iter().any(|e| names(e) && access & !e.3 == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the tests need no crate.
    pub struct Rng(pub u64);
    impl Rng {
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_rules(g: &mut Rng) -> Vec<DeviceRule> {
        let n = g.below(6) as usize;
        (0..n)
            .map(|_| {
                let kind = ['a', 'c', 'b'][g.below(3) as usize];
                let num = |g: &mut Rng| (g.below(3) > 0).then(|| g.below(3) as i64);
                let (major, minor, access) = if kind == 'a' {
                    (None, None, "rwm".to_string())
                } else {
                    let bits = 1 + g.below(7) as u8;
                    let access: String = [('r', ACC_READ), ('w', ACC_WRITE), ('m', ACC_MKNOD)]
                        .iter()
                        .filter(|(_, b)| bits & b != 0)
                        .map(|(c, _)| *c)
                        .collect();
                    (num(g), num(g), access)
                };
                DeviceRule {
                    allow: g.below(2) == 0,
                    kind,
                    major,
                    minor,
                    access,
                }
            })
            .collect()
    }

    /// `grants` is an upper bound of what v1 and v2 allow: no read or write is allowed
    /// by either unless `grants` says so.
    #[test]
    fn grants_bound_both_cgroup_versions() {
        let mut g = Rng(0x9e3779b97f4a7c15);
        for _ in 0..20_000 {
            let rules = random_rules(&mut g);
            let kind = ['c', 'b'][g.below(2) as usize];
            let (major, minor) = (g.below(3) as u32, g.below(3) as u32);
            let access = 1 + g.below(7) as u8;
            let granted = match grants(&rules) {
                Grants::Everything(_) => true,
                Grants::Only(allows) => allows
                    .iter()
                    .any(|r| r.covers(kind, major, minor) && r.access_bits() & access != 0),
            };
            for (version, allowed) in [
                ("v1", v1_allows(&rules, kind, major, minor, access)),
                ("v2", v2_allows(&rules, kind, major, minor, access)),
            ] {
                assert!(
                    granted || !allowed,
                    "{version} allows {kind} {major}:{minor} access {access} but grants says no: {rules:?}"
                );
            }
        }
    }

    #[test]
    fn a_reset_ignores_its_numbers_and_access() {
        let deny = |access: &str| DeviceRule {
            allow: false,
            kind: 'a',
            major: None,
            minor: None,
            access: access.into(),
        };
        // The plan stores every `a` rule as `a *:* rwm`; grants reads the kind alone.
        assert!(matches!(grants(&[deny("m")]), Grants::Only(v) if v.is_empty()));
        let allow_all = DeviceRule {
            allow: true,
            ..deny("m")
        };
        assert!(matches!(
            grants(&[deny("rwm"), allow_all]),
            Grants::Everything(_)
        ));
        assert!(matches!(grants(&[]), Grants::Everything(_)));
    }
}
