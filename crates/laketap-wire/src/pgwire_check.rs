//! Decodes bytes the guard released with pgwire's own frontend decoder, the
//! way pgwire's server codec does, and reports any panic, error or framing
//! disagreement. Shared by the crate's tests and the fuzz targets
//! (`fuzz/src/lib.rs` includes this file), so it uses only pgwire, bytes and std.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bytes::BytesMut;
use pgwire::messages::startup::PasswordMessageFamily;
use pgwire::messages::{
    DecodeContext, PgWireFrontendMessage, ProtocolVersion, SslNegotiationMetaMessage,
};

/// Where the released bytes start, matching the guard's constructors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// `Frames::new`: pgwire's `AwaitingSslRequest` state.
    Negotiation,
    /// `Frames::awaiting_startup`: pgwire's `AwaitingStartup` state.
    Startup,
    /// `Frames::after_startup`: any later state.
    Typed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ssl,
    Startup,
    Typed,
    Done,
}

fn context(state: State, version: ProtocolVersion) -> DecodeContext {
    let mut ctx = DecodeContext::new(version);
    ctx.awaiting_frontend_ssl = state == State::Ssl;
    ctx.awaiting_frontend_startup = matches!(state, State::Ssl | State::Startup);
    ctx
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic)".to_owned()
    }
}

/// Decodes every message in `released` with `PgWireFrontendMessage::decode`,
/// moving between pgwire's connection states as its server would, under
/// protocol `version` (pgwire's default before the startup packet is 3.2).
/// Checks that nothing panics, nothing errors, every message is complete and
/// pgwire consumes exactly the bytes the message's length declares. Returns
/// the number of messages.
pub fn decode_released(
    released: &[u8],
    start: Start,
    version: ProtocolVersion,
) -> Result<usize, String> {
    let mut buf = BytesMut::from(released);
    let mut state = match start {
        Start::Negotiation => State::Ssl,
        Start::Startup => State::Startup,
        Start::Typed => State::Typed,
    };
    let mut count = 0;
    while !buf.is_empty() {
        let at = released.len() - buf.len();
        if state == State::Done {
            return Err(format!("{} bytes after a CancelRequest", buf.len()));
        }
        let expected = if state == State::Typed {
            let len = buf.get(1..5).ok_or("typed header cut short")?;
            1 + i32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize
        } else {
            let len = buf.get(0..4).ok_or("untyped header cut short")?;
            i32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize
        };
        let shown = &released[at..released.len().min(at.saturating_add(expected)).min(at + 64)];
        let ctx = context(state, version);
        let before = buf.len();
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            PgWireFrontendMessage::decode(&mut buf, &ctx)
        }));
        let message = match decoded {
            Err(payload) => {
                return Err(format!(
                    "pgwire panicked ({}) at offset {at} on {shown:?}",
                    panic_text(payload.as_ref())
                ));
            }
            Ok(Err(e)) => return Err(format!("pgwire refused {shown:?} at offset {at}: {e}")),
            Ok(Ok(None)) => {
                return Err(format!("pgwire found {shown:?} at offset {at} incomplete"));
            }
            Ok(Ok(Some(message))) => message,
        };
        let consumed = before - buf.len();
        match message {
            PgWireFrontendMessage::SslNegotiation(SslNegotiationMetaMessage::None) => {
                // pgwire looked and saw no encryption request: it moves on
                // to the startup state and decodes the same bytes again.
                if consumed != 0 {
                    return Err(format!("SslNegotiation::None consumed {consumed} bytes"));
                }
                state = State::Startup;
                continue;
            }
            PgWireFrontendMessage::Startup(_) => state = State::Typed,
            PgWireFrontendMessage::CancelRequest(_) => state = State::Done,
            PgWireFrontendMessage::PasswordMessageFamily(PasswordMessageFamily::Raw(body)) => {
                // The coercions laketap's auth may use on any `p` body.
                // (`into_sasl_initial_response` is not among them: it panics
                // on bodies without a 4-byte length after the mechanism name.)
                let coerced = catch_unwind(AssertUnwindSafe(|| {
                    let _ = PasswordMessageFamily::Raw(body.clone()).into_password();
                    let _ = PasswordMessageFamily::Raw(body).into_sasl_response();
                }));
                if let Err(payload) = coerced {
                    return Err(format!(
                        "pgwire panicked coercing {shown:?}: {}",
                        panic_text(payload.as_ref())
                    ));
                }
            }
            _ => {}
        }
        if consumed != expected {
            return Err(format!(
                "pgwire consumed {consumed} bytes of the {expected}-byte message {shown:?} at offset {at}"
            ));
        }
        count += 1;
    }
    Ok(count)
}
