//! [`Frames`]: the framing state machine. It buffers at most one incomplete
//! message, checks a message's header (type, declared length, limits) as soon
//! as its first bytes arrive and its body once it is complete, and hands out
//! only the bytes of complete, valid messages.

use bytes::{Bytes, BytesMut};

use crate::body;
use crate::limits::{Limits, Violation, type_name};
use crate::startup::{self, Untyped};

/// Where the connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Nothing sent yet: SSLRequest and GSSENCRequest (each at most once),
    /// then a startup packet or a CancelRequest.
    Negotiation { ssl: bool, gss: bool },
    /// Encryption negotiation is over: a startup packet or a CancelRequest.
    Startup,
    /// After the startup packet: typed messages.
    Typed,
    /// After a CancelRequest nothing more may come.
    Cancelled,
}

/// The message whose header has been accepted and whose body is arriving.
#[derive(Debug, Clone, Copy)]
enum Current {
    Untyped(Untyped),
    Typed(u8),
}

/// An incremental validator of the bytes a PostgreSQL client sends.
///
/// Push bytes in with [`Frames::push`] as they arrive; take the bytes of the
/// complete, valid messages out with [`Frames::take_ready`], in order. An
/// incomplete message is held back until it is complete. A message's header
/// is checked as soon as it arrives (so a client cannot make the guard buffer
/// more than the limit), its body once it is complete. After a
/// [`Violation`] every `push` fails with it again, but the messages validated
/// before the bad one can still be taken.
#[derive(Debug)]
pub struct Frames {
    limits: Limits,
    phase: Phase,
    /// Validated bytes (`..ready`) followed by part of the next message.
    buf: BytesMut,
    ready: usize,
    /// The message being received, with its total size, once its header has
    /// been accepted.
    current: Option<(Current, usize)>,
    failed: Option<Violation>,
    /// Until [`Frames::authenticated`]: only password messages (at most
    /// [`PRE_AUTH_MESSAGE_BYTES`]) and Terminate, so a client that has not
    /// logged in cannot make the server buffer large messages.
    pre_auth: bool,
}

/// The largest password or SASL message accepted before authentication
/// (PostgreSQL's own limit for them is 10000 bytes too).
pub const PRE_AUTH_MESSAGE_BYTES: usize = 10_000;

impl Frames {
    /// A validator for a whole connection, from its first byte: SSLRequest
    /// and GSSENCRequest (each at most once), then a startup packet (or a
    /// CancelRequest), then typed messages. This assumes encryption requests
    /// are refused: after an accepted SSLRequest the stream is TLS, and the
    /// guard belongs on the decrypted stream, from [`Frames::awaiting_startup`].
    pub fn new(limits: Limits) -> Self {
        Self::starting(
            limits,
            Phase::Negotiation {
                ssl: false,
                gss: false,
            },
        )
    }

    /// A validator that starts after encryption negotiation, at the startup
    /// packet or a CancelRequest: what laketap's server sees once pgwire's
    /// `negotiate_tls` has consumed any SSLRequest.
    pub fn awaiting_startup(limits: Limits) -> Self {
        Self::starting(limits, Phase::Startup)
    }

    /// A validator that starts in the typed-message phase, as if the startup
    /// packet had been accepted (for tests and fuzzing).
    pub fn after_startup(limits: Limits) -> Self {
        Self::starting(limits, Phase::Typed)
    }

    fn starting(limits: Limits, phase: Phase) -> Self {
        Frames {
            limits,
            phase,
            buf: BytesMut::new(),
            ready: 0,
            current: None,
            failed: None,
            pre_auth: false,
        }
    }

    /// Until [`Frames::authenticated`] is called, typed messages are limited
    /// to what authentication needs: password/SASL messages of at most
    /// [`PRE_AUTH_MESSAGE_BYTES`] and Terminate.
    pub fn require_authentication(mut self) -> Self {
        self.pre_auth = true;
        self
    }

    /// Authentication succeeded: every message kind, at the full limits.
    pub fn authenticated(&mut self) {
        self.pre_auth = false;
    }

    /// The limits this validator enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The violation that stopped this validator, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.failed.as_ref()
    }

    /// How many validated bytes [`Frames::take_ready`] would return.
    pub fn ready_len(&self) -> usize {
        self.ready
    }

    /// How many bytes of an incomplete message are held back.
    pub fn partial_len(&self) -> usize {
        self.buf.len() - self.ready
    }

    /// Takes the bytes of all complete messages validated so far, in order
    /// (empty if there are none).
    pub fn take_ready(&mut self) -> Bytes {
        let ready = std::mem::take(&mut self.ready);
        self.buf.split_to(ready).freeze()
    }

    /// Appends bytes received from the client and validates every message
    /// they complete. On a violation, the bytes of the offending message and
    /// everything after it are dropped; messages before it stay ready.
    pub fn push(&mut self, input: &[u8]) -> Result<(), Violation> {
        if let Some(v) = &self.failed {
            return Err(v.clone());
        }
        self.advance(input).inspect_err(|v| {
            self.buf.truncate(self.ready);
            self.current = None;
            self.failed = Some(v.clone());
        })
    }

    fn advance(&mut self, mut input: &[u8]) -> Result<(), Violation> {
        loop {
            if self.phase == Phase::Cancelled && !input.is_empty() {
                // (Not how many bytes came: that depends on how they were cut.)
                return Err(Violation::protocol("no message may follow a CancelRequest"));
            }
            let pending = self.buf.len() - self.ready;
            let goal = match self.current {
                Some((_, total)) => total,
                None if self.phase == Phase::Typed => 5,
                None => 8,
            };
            if pending < goal {
                if input.is_empty() {
                    return Ok(());
                }
                let n = (goal - pending).min(input.len());
                self.buf.extend_from_slice(&input[..n]);
                input = &input[n..];
                continue;
            }
            let message = &self.buf[self.ready..];
            match self.current {
                None => self.current = Some(self.header(message)?),
                Some((current, total)) => {
                    self.phase =
                        check_message(current, self.phase, &message[..total], &self.limits)?;
                    self.ready += total;
                    self.current = None;
                }
            }
        }
    }

    /// Checks a header (5 bytes typed, 8 untyped) and returns the message
    /// it announces with its total size.
    fn header(&self, h: &[u8]) -> Result<(Current, usize), Violation> {
        if self.phase == Phase::Typed {
            let tag = h[0];
            let len = i32::from_be_bytes([h[1], h[2], h[3], h[4]]);
            let total = typed_header(tag, len, &self.limits)?;
            if self.pre_auth {
                if tag != b'p' && tag != b'X' {
                    return Err(Violation::protocol(format!(
                        "message {} before authentication finished: only password messages and Terminate are accepted until then",
                        type_name(tag)
                    )));
                }
                if total - 1 > PRE_AUTH_MESSAGE_BYTES {
                    return Err(Violation::protocol(format!(
                        "password message of {} bytes before authentication: the limit is {PRE_AUTH_MESSAGE_BYTES}",
                        total - 1
                    )));
                }
            }
            return Ok((Current::Typed(tag), total));
        }
        let len = i32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let code = i32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let (kind, total) = startup::header(len, code, &self.limits)?;
        let again = match (kind, self.phase) {
            (Untyped::Ssl, Phase::Negotiation { ssl, .. }) => ssl,
            (Untyped::GssEnc, Phase::Negotiation { gss, .. }) => gss,
            (Untyped::Ssl | Untyped::GssEnc, _) => true,
            _ => false,
        };
        if again {
            return Err(Violation::protocol(format!(
                "{} is only allowed once, before the startup message",
                kind.name()
            )));
        }
        Ok((Current::Untyped(kind), total))
    }
}

/// Checks a complete message and returns the phase that follows it.
fn check_message(
    current: Current,
    phase: Phase,
    message: &[u8],
    limits: &Limits,
) -> Result<Phase, Violation> {
    match current {
        Current::Typed(tag) => {
            body::check(tag, &message[5..], limits)?;
            Ok(phase)
        }
        Current::Untyped(kind) => {
            if kind == Untyped::Startup {
                startup::check_parameters(&message[8..])?;
            }
            Ok(match (kind, phase) {
                (Untyped::Ssl, Phase::Negotiation { gss, .. }) => {
                    Phase::Negotiation { ssl: true, gss }
                }
                (Untyped::GssEnc, Phase::Negotiation { ssl, .. }) => {
                    Phase::Negotiation { ssl, gss: true }
                }
                (Untyped::Cancel, _) => Phase::Cancelled,
                _ => Phase::Typed,
            })
        }
    }
}

/// Checks a typed message's type and declared length and returns its total
/// size (type byte included).
fn typed_header(tag: u8, len: i32, limits: &Limits) -> Result<usize, Violation> {
    let Some(kind) = body::kind(tag) else {
        return Err(Violation::protocol(format!(
            "unsupported or unknown message type {}",
            type_name(tag)
        )));
    };
    let name = kind.name;
    let shown = type_name(tag);
    let len = match usize::try_from(len) {
        Ok(len) if len >= 4 => len,
        _ => {
            return Err(Violation::protocol(format!(
                "invalid message length {len} in {name} message {shown}: the length counts its own 4 bytes, so it is at least 4"
            )));
        }
    };
    if kind.empty && len != 4 {
        return Err(Violation::protocol(format!(
            "invalid message length {len} in {name} message {shown}: it has no body, so its length must be 4"
        )));
    }
    if tag == b'p' && len == 4 {
        return Err(Violation::protocol(format!(
            "invalid message length 4 in {name} message {shown}: its body may not be empty"
        )));
    }
    let (limit, source) = if limits.max_message_bytes <= kind.pgwire_limit {
        (limits.max_message_bytes, "max_message_bytes".to_owned())
    } else {
        (
            kind.pgwire_limit,
            format!("pgwire's limit for {name} messages"),
        )
    };
    if len > limit {
        return Err(Violation::protocol(format!(
            "message {shown} of {len} bytes exceeds the limit of {limit} ({source})"
        )));
    }
    // A Query body is exactly the text and its NUL: refuse a long one now.
    if tag == b'Q' && len > 5 && len - 5 > limits.max_query_bytes {
        return Err(Violation::limit(format!(
            "Query message: query text of {} bytes exceeds the limit of {} (max_query_bytes)",
            len - 5,
            limits.max_query_bytes
        )));
    }
    Ok(1 + len)
}

#[cfg(test)]
mod tests;
