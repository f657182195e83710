//! The untyped first messages of a connection: an int32 length (counting
//! itself), an int32 code, and for the startup packet a list of parameters.

use crate::body::Reader;
use crate::limits::{Limits, PGWIRE_SMALL_LIMIT, Violation, sqlstate};

pub(crate) const CANCEL_REQUEST_CODE: i32 = 80_877_102;
pub(crate) const SSL_REQUEST_CODE: i32 = 80_877_103;
pub(crate) const GSSENC_REQUEST_CODE: i32 = 80_877_104;

/// A CancelRequest is 12 bytes (length, code, process ID) plus the secret
/// key: 4 bytes in protocol 3.0, up to 256 in 3.2 (pgwire gives 3.2 clients
/// a 32-byte key). pgwire accepts keys of 4 to 256 bytes.
const CANCEL_MIN_LEN: usize = 16;
const CANCEL_MAX_LEN: usize = 12 + 256;

/// What an untyped message header announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Untyped {
    Ssl,
    GssEnc,
    Cancel,
    Startup,
}

impl Untyped {
    pub fn name(self) -> &'static str {
        match self {
            Untyped::Ssl => "SSLRequest",
            Untyped::GssEnc => "GSSENCRequest",
            Untyped::Cancel => "CancelRequest",
            Untyped::Startup => "startup message",
        }
    }
}

/// Checks the 8-byte header of an untyped message and returns what it is and
/// its declared length (which counts the whole message).
pub(crate) fn header(len: i32, code: i32, limits: &Limits) -> Result<(Untyped, usize), Violation> {
    let Ok(len) = usize::try_from(len) else {
        return Err(too_short(len));
    };
    if len < 8 {
        return Err(too_short(len));
    }
    let (limit, source) = if limits.max_startup_bytes <= PGWIRE_SMALL_LIMIT {
        (limits.max_startup_bytes, "max_startup_bytes")
    } else {
        (PGWIRE_SMALL_LIMIT, "pgwire's limit")
    };
    if len > limit {
        return Err(Violation::protocol(format!(
            "invalid startup packet length: {len} bytes exceeds the limit of {limit} ({source})"
        )));
    }
    let kind = match code {
        SSL_REQUEST_CODE => Untyped::Ssl,
        GSSENC_REQUEST_CODE => Untyped::GssEnc,
        CANCEL_REQUEST_CODE => Untyped::Cancel,
        _ => {
            let (major, minor) = ((code as u32) >> 16, code as u32 & 0xffff);
            if major != 3 {
                return Err(Violation {
                    sqlstate: sqlstate::FEATURE_NOT_SUPPORTED,
                    message: format!(
                        "unsupported frontend protocol {major}.{minor}: laketap supports protocol 3.0 to 3.2"
                    ),
                });
            }
            Untyped::Startup
        }
    };
    let ok = match kind {
        Untyped::Ssl | Untyped::GssEnc => len == 8,
        Untyped::Cancel => (CANCEL_MIN_LEN..=CANCEL_MAX_LEN).contains(&len),
        Untyped::Startup => true,
    };
    if !ok {
        let expected = match kind {
            Untyped::Cancel => "16 to 268 (process ID and a 4- to 256-byte secret key)",
            _ => "8",
        };
        return Err(Violation::protocol(format!(
            "invalid message length {len} in {}: must be {expected}",
            kind.name()
        )));
    }
    Ok((kind, len))
}

fn too_short(len: impl std::fmt::Display) -> Violation {
    Violation::protocol(format!(
        "invalid startup packet length {len}: the first message of a connection is at least 8 bytes (length and code)"
    ))
}

/// Checks a startup packet's parameters (the bytes after the protocol code):
/// `name\0value\0 ... \0`, every name non-empty, every string terminated
/// inside the message, the final NUL the last byte, and a non-empty `user`
/// (PostgreSQL refuses a startup packet without one, with 28000).
pub(crate) fn check_parameters(params: &[u8]) -> Result<(), Violation> {
    let mut r = Reader {
        what: "startup",
        buf: params,
        pos: 0,
    };
    if params.is_empty() {
        return Err(r.error("invalid startup packet layout: no parameters and no terminating NUL"));
    }
    // Some(empty?) of the last "user" value seen.
    let mut user: Option<bool> = None;
    loop {
        let name = r.cstr(&"parameter name")?;
        if name.is_empty() {
            break;
        }
        let shown = String::from_utf8_lossy(&name[..name.len().min(64)]).into_owned();
        let value = r.cstr(&format_args!("value of parameter \"{shown}\""))?;
        if name == b"user" {
            user = Some(value.is_empty());
        }
    }
    if r.left() > 0 {
        return Err(r.error(format_args!(
            "invalid startup packet layout: {} bytes after the terminating NUL",
            r.left()
        )));
    }
    if user != Some(false) {
        return Err(Violation {
            sqlstate: sqlstate::INVALID_AUTHORIZATION_SPECIFICATION,
            message: "startup message: no PostgreSQL user name specified in startup packet"
                .to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(len: i32, code: i32) -> Result<(Untyped, usize), Violation> {
        header(len, code, &Limits::default())
    }

    #[test]
    fn headers() {
        assert_eq!(header_of(8, SSL_REQUEST_CODE), Ok((Untyped::Ssl, 8)));
        assert_eq!(header_of(8, GSSENC_REQUEST_CODE), Ok((Untyped::GssEnc, 8)));
        assert_eq!(
            header_of(16, CANCEL_REQUEST_CODE),
            Ok((Untyped::Cancel, 16))
        );
        assert_eq!(
            header_of(44, CANCEL_REQUEST_CODE),
            Ok((Untyped::Cancel, 44))
        );
        assert_eq!(
            header_of(268, CANCEL_REQUEST_CODE),
            Ok((Untyped::Cancel, 268))
        );
        assert_eq!(header_of(9, 196_608), Ok((Untyped::Startup, 9)));
        assert_eq!(header_of(9, 196_610), Ok((Untyped::Startup, 9)));
        // libpq asks for 3.9999 to get NegotiateProtocolVersion back.
        assert_eq!(header_of(9, 3 << 16 | 9999), Ok((Untyped::Startup, 9)));
    }

    #[test]
    fn bad_headers() {
        let e = header_of(7, 196_608).unwrap_err();
        assert_eq!(e.sqlstate, "08P01");
        assert!(e.message.contains("invalid startup packet length 7"), "{e}");
        let e = header_of(-1, 196_608).unwrap_err();
        assert!(e.message.contains("length -1"), "{e}");
        let e = header_of(10_001, 196_608).unwrap_err();
        assert_eq!(
            e.message,
            "invalid startup packet length: 10001 bytes exceeds the limit of 10000 (max_startup_bytes)"
        );
        let e = header_of(12, SSL_REQUEST_CODE).unwrap_err();
        assert_eq!(
            e.message,
            "invalid message length 12 in SSLRequest: must be 8"
        );
        let e = header_of(15, CANCEL_REQUEST_CODE).unwrap_err();
        assert!(
            e.message
                .starts_with("invalid message length 15 in CancelRequest"),
            "{e}"
        );
        let e = header_of(269, CANCEL_REQUEST_CODE).unwrap_err();
        assert!(e.message.contains("269"), "{e}");
        let e = header_of(9, 2 << 16).unwrap_err();
        assert_eq!(e.sqlstate, "0A000");
        assert_eq!(
            e.message,
            "unsupported frontend protocol 2.0: laketap supports protocol 3.0 to 3.2"
        );
        let big = Limits {
            max_startup_bytes: 1 << 20,
            ..Limits::default()
        };
        let e = header(20_000, 196_608, &big).unwrap_err();
        assert!(
            e.message.ends_with("limit of 10000 (pgwire's limit)"),
            "{e}"
        );
    }

    #[test]
    fn parameters() {
        assert_eq!(check_parameters(b"user\0alice\0\0"), Ok(()));
        assert_eq!(
            check_parameters(b"user\0alice\0database\0\0application_name\0psql\0\0"),
            Ok(())
        );
        // Invalid UTF-8 is fine: pgwire decodes strings lossily.
        assert_eq!(check_parameters(b"user\0\xff\xfe\0\0"), Ok(()));
    }

    #[test]
    fn bad_parameters() {
        let e = check_parameters(b"").unwrap_err();
        assert!(e.message.contains("no terminating NUL"), "{e}");
        let e = check_parameters(b"user\0alice\0").unwrap_err();
        assert_eq!(
            e.message,
            "startup message: parameter name is not NUL-terminated within the message"
        );
        let e = check_parameters(b"user\0alice").unwrap_err();
        assert_eq!(
            e.message,
            "startup message: value of parameter \"user\" is not NUL-terminated within the message"
        );
        let e = check_parameters(b"user\0alice\0\0xy").unwrap_err();
        assert_eq!(
            e.message,
            "startup message: invalid startup packet layout: 2 bytes after the terminating NUL"
        );
        for params in [
            &b"database\0db\0\0"[..],
            b"\0",
            b"user\0\0\0",
            b"user\0a\0user\0\0\0",
        ] {
            let e = check_parameters(params).unwrap_err();
            assert_eq!(e.sqlstate, "28000", "{params:?}");
            assert!(e.message.contains("no PostgreSQL user name"), "{e}");
        }
    }
}
