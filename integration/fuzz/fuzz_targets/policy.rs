//! Any bytes as config.json through the spec parser and the policy engine (every built-in
//! profile, every mode, hardening and `spec --profile`'s conform), and as a profile file:
//! errors are expected, panics are bugs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    palisade::policy::fuzz_one(data);
});
