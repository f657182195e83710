//! What the fuzz targets check: for any input, the guard does not panic,
//! gives the same verdict however the input is cut into reads, releases a
//! prefix of the input, and everything it releases decodes in pgwire without
//! a panic or an error, consuming exactly the bytes each message declares.
//!
//! The pgwire side is the crate's own test helper, included from its source
//! so that unit tests and fuzzing check the same thing.

#[path = "../../crates/laketap-wire/src/pgwire_check.rs"]
mod pgwire_check;

use laketap_wire::{Frames, Limits, Violation};
use pgwire::messages::ProtocolVersion;

pub use pgwire_check::Start;

fn frames(start: Start, limits: Limits) -> Frames {
    match start {
        Start::Negotiation => Frames::new(limits),
        Start::Startup => Frames::awaiting_startup(limits),
        Start::Typed => Frames::after_startup(limits),
    }
}

/// Pushes `data` in pieces of the given sizes (cycling); returns the released
/// bytes and the violation, if any.
fn run(mut frames: Frames, data: &[u8], sizes: &[usize]) -> (Vec<u8>, Option<Violation>) {
    let mut out = Vec::new();
    let mut rest = data;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, next) = rest.split_at((*size).min(rest.len()));
        let result = frames.push(piece);
        out.extend_from_slice(&frames.take_ready());
        if let Err(v) = result {
            return (out, Some(v));
        }
        rest = next;
    }
    (out, None)
}

/// Runs every check on `data`, panicking (a crash, for libFuzzer) on failure.
pub fn check(data: &[u8], start: Start) {
    let small = Limits {
        max_message_bytes: 64,
        max_query_bytes: 16,
        max_parameters: 3,
        max_startup_bytes: 48,
    };
    for limits in [Limits::default(), small] {
        let whole = run(frames(start, limits.clone()), data, &[usize::MAX]);
        let pieces = run(frames(start, limits), data, &[1, 2, 5, 3, 8, 13, 4]);
        assert_eq!(whole, pieces, "the verdict depends on how the input is cut");
        assert!(
            data.starts_with(&whole.0),
            "released bytes are not the input's"
        );
        if let Err(e) = pgwire_check::decode_released(&whole.0, start, ProtocolVersion::PROTOCOL3_2)
        {
            panic!("{e}");
        }
    }
}

/// What laketap's server does before the guard sees a byte: pgwire's own TLS
/// negotiation decodes the first messages unguarded, in its SSL state (only
/// SSLRequest and GSSENCRequest are consumed there; anything else is left for
/// the guard). It must not panic on any bytes.
pub fn check_negotiation(data: &[u8]) {
    use pgwire::messages::{DecodeContext, PgWireFrontendMessage, SslNegotiationMetaMessage};
    let mut buf = bytes::BytesMut::from(data);
    let mut ctx = DecodeContext::new(ProtocolVersion::PROTOCOL3_0);
    ctx.awaiting_frontend_ssl = true;
    ctx.awaiting_frontend_startup = true;
    // pgwire's negotiation reads at most one SSLRequest and one GSSENCRequest.
    for _ in 0..3 {
        let before = buf.len();
        match PgWireFrontendMessage::decode(&mut buf, &ctx) {
            Ok(Some(PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::None)))
            | Ok(None)
            | Err(_) => return,
            Ok(Some(_)) => assert!(buf.len() < before, "a negotiation message consumed nothing"),
        }
    }
}
