//! The list syntax runtime-spec uses for CPUs and memory nodes ("0-3,7"), read into sorted,
//! distinct numbers below a limit. Marked in a bitmap of `limit` bits, so that a list
//! repeating a range many times costs no more than the range.

/// `what` names one number in errors ("CPU number below 1024").
pub fn parse(s: &str, limit: usize, what: &str) -> Result<Vec<usize>, String> {
    let number = |n: &str| {
        n.trim()
            .parse::<usize>()
            .ok()
            .filter(|&c| c < limit)
            .ok_or_else(|| format!("{n:?} in {s:?} is not a {what}"))
    };
    let mut set = vec![0u64; limit.div_ceil(64)];
    for item in s.split(',') {
        let (lo, hi) = match item.split_once('-') {
            Some((lo, hi)) => (number(lo)?, number(hi)?),
            None => (number(item)?, number(item)?),
        };
        if lo > hi {
            return Err(format!("range {item:?} in {s:?} runs backwards"));
        }
        for n in lo..=hi {
            set[n / 64] |= 1 << (n % 64);
        }
    }
    Ok((0..limit)
        .filter(|n| set[n / 64] & (1 << (n % 64)) != 0)
        .collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists() {
        assert_eq!(super::parse("0-3,7", 8, "n").unwrap(), vec![0, 1, 2, 3, 7]);
        assert_eq!(super::parse("2,1,1-2", 8, "n").unwrap(), vec![1, 2]);
        assert!(super::parse("8", 8, "n below 8")
            .unwrap_err()
            .contains("below 8"));
        assert!(super::parse("3-1", 8, "n")
            .unwrap_err()
            .contains("backwards"));
        assert!(super::parse("x", 8, "n").is_err());
        assert!(super::parse("", 8, "n").is_err());
    }
}
