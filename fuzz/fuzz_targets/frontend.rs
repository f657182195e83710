//! Typed messages (after the startup packet): whatever the guard releases
//! must decode in pgwire without a panic, exactly as framed.
#![no_main]

use laketap_wire_fuzz::{Start, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data, Start::Typed);
});
