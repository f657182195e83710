//! A connection from its first byte (SSLRequest, GSSENCRequest, startup
//! packet or CancelRequest, then typed messages), and from the startup packet
//! on (after pgwire's own TLS negotiation).
#![no_main]

use laketap_wire_fuzz::{Start, check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check(data, Start::Negotiation);
    check(data, Start::Startup);
});
