//! laketap's guard in front of pgwire's frontend-message decoder.
//!
//! pgwire 0.41 decodes client messages straight from its read buffer and
//! trusts the declared lengths and counts: a `p` or `d` message whose length is
//! below 4 underflows, and Parse, Bind, Close, Describe and Execute read fields
//! past the end of the message (into the next one, or past the buffer, which
//! panics). This crate checks every message a client sends, framing, structure
//! and size limits, *before* pgwire sees a byte of it:
//!
//! - [`Frames`] is a pure, incremental validator: push bytes in, take out the
//!   bytes of the complete, valid messages seen so far.
//! - [`Guarded`] wraps a socket: its `AsyncRead` side hands pgwire only
//!   validated messages and fails the read with a [`Violation`] (inside an
//!   `io::Error` of kind `InvalidData`, see [`violation`]) on anything else.
//!
//! # Layout
//! - `limits`: [`Limits`] (the configurable sizes) and [`Violation`] (what went
//!   wrong, with its SQLSTATE).
//! - `frames`: [`Frames`], the framing state machine (negotiation, startup,
//!   typed messages) and the length checks made from a message header alone.
//! - `startup`: the untyped first messages: SSLRequest, GSSENCRequest,
//!   CancelRequest and the startup packet.
//! - `body`: the body of each typed message, field by field.
//! - `guarded`: [`Guarded`], the `AsyncRead`/`AsyncWrite` wrapper.
//! - tests only: `testing` (message builders as clients encode them),
//!   `pgwire_check` (decodes released bytes with pgwire, reporting panics;
//!   also compiled into the fuzz targets under `fuzz/`) and `pgwire_tests`
//!   (inputs pgwire mishandles, a randomized property test, the fuzz seeds).

mod body;
mod frames;
mod guarded;
mod limits;
mod startup;

#[cfg(test)]
mod pgwire_check;
#[cfg(test)]
mod pgwire_tests;
#[cfg(test)]
mod testing;

pub use frames::{Frames, PRE_AUTH_MESSAGE_BYTES};
pub use guarded::{BackendFilter, Guarded, Resume, violation};
pub use limits::{Limits, Violation, sqlstate};
