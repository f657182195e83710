//! A connection from its first byte (SSLRequest, GSSENCRequest, startup
//! packet or CancelRequest, then typed messages), and from the startup packet
//! on (after pgwire's own TLS negotiation); and pgwire's unguarded decoding
//! of the negotiation messages themselves.
#![no_main]

use laketap_wire_fuzz::{Start, check, check_negotiation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    check_negotiation(data);
    check(data, Start::Negotiation);
    check(data, Start::Startup);
});
