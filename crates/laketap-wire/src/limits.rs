//! The configurable sizes the guard enforces, and the error it reports.

use std::fmt;

/// SQLSTATE codes a [`Violation`] carries (PostgreSQL's `errcodes.txt`).
pub mod sqlstate {
    /// `protocol_violation`: a malformed or out-of-place message.
    pub const PROTOCOL_VIOLATION: &str = "08P01";
    /// `program_limit_exceeded`: a query text or parameter count over a limit.
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    /// `feature_not_supported`: a frontend protocol version other than 3.x.
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    /// `invalid_authorization_specification`: a startup packet without a user.
    pub const INVALID_AUTHORIZATION_SPECIFICATION: &str = "28000";
}

/// pgwire 0.41 refuses (with an error, not a panic) any startup-phase packet
/// and any typed message other than Query, Parse, Bind and CopyData whose
/// declared length is over this (`SMALL_PACKET_SIZE_LIMIT`).
pub(crate) const PGWIRE_SMALL_LIMIT: usize = 10_000;
/// pgwire 0.41's limit for Query, Parse, Bind and CopyData
/// (`LARGE_PACKET_SIZE_LIMIT`, 1 GiB - 2).
pub(crate) const PGWIRE_LARGE_LIMIT: usize = 0x3fff_ffff - 1;

/// Sizes the guard enforces. A message over a limit ends the connection with
/// a [`Violation`] before its body is buffered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest declared length (which counts itself, not the type byte)
    /// of any typed message. Default 64 MiB. pgwire's own limits still apply
    /// on top: 10000 bytes for everything but Query, Parse, Bind and CopyData.
    pub max_message_bytes: usize,
    /// The longest query text in a Query (`Q`) or Parse (`P`) message, in
    /// bytes, without the NUL. Default 16 MiB.
    pub max_query_bytes: usize,
    /// The most parameter types in a Parse, and parameters or parameter
    /// format codes in a Bind. Default 65535 (the protocol's own maximum: the
    /// counts are 16-bit).
    pub max_parameters: usize,
    /// The largest declared length of an untyped first message (startup
    /// packet, CancelRequest, SSLRequest, GSSENCRequest). Default 10000, which
    /// is also PostgreSQL's and pgwire's limit.
    pub max_startup_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 64 << 20,
            max_query_bytes: 16 << 20,
            max_parameters: 65_535,
            max_startup_bytes: 10_000,
        }
    }
}

/// Why the guard refused a client's bytes: the SQLSTATE to report and a
/// message naming the message, the field and the numbers involved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// One of the codes in [`sqlstate`].
    pub sqlstate: &'static str,
    /// What was wrong and where, e.g. "Bind message: parameter 3 length 1000
    /// exceeds the 10 bytes left in the message".
    pub message: String,
}

impl Violation {
    /// A malformed or out-of-place message (08P01).
    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Violation {
            sqlstate: sqlstate::PROTOCOL_VIOLATION,
            message: message.into(),
        }
    }

    /// A query text or parameter count over a configured limit (54000).
    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Violation {
            sqlstate: sqlstate::PROGRAM_LIMIT_EXCEEDED,
            message: message.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Violation {}

/// A message type byte as it reads best in an error: `'Q'` when printable,
/// `0x00` otherwise.
pub(crate) fn type_name(tag: u8) -> String {
    if tag.is_ascii_graphic() {
        format!("'{}'", tag as char)
    } else {
        format!("0x{tag:02x}")
    }
}

/// "1 byte", "2 bytes".
pub(crate) fn count(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let limits = Limits::default();
        assert_eq!(limits.max_message_bytes, 67_108_864);
        assert_eq!(limits.max_query_bytes, 16_777_216);
        assert_eq!(limits.max_parameters, 65_535);
        assert_eq!(limits.max_startup_bytes, 10_000);
    }

    #[test]
    fn display_is_the_message() {
        let v = Violation::limit("too big");
        assert_eq!(v.sqlstate, "54000");
        assert_eq!(v.to_string(), "too big");
        assert_eq!(Violation::protocol("x").sqlstate, "08P01");
    }

    #[test]
    fn type_names() {
        assert_eq!(type_name(b'Q'), "'Q'");
        assert_eq!(type_name(0), "0x00");
        assert_eq!(type_name(b' '), "0x20");
    }
}
