//! The typed frontend messages the guard lets through, and their bodies
//! checked field by field: every field inside the message, nothing left over.

use std::fmt::Display;

use crate::limits::{Limits, PGWIRE_LARGE_LIMIT, PGWIRE_SMALL_LIMIT, Violation, count, type_name};

/// A typed frontend message the guard accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kind {
    /// The message's name in PostgreSQL's protocol documentation.
    pub name: &'static str,
    /// The body must be empty (the declared length is exactly 4).
    pub empty: bool,
    /// pgwire's own limit on the declared length of this message type.
    pub pgwire_limit: usize,
}

/// The message for a type byte, or `None` for one the guard refuses: the
/// FunctionCall `F` (pgwire cannot decode it) and anything unknown.
pub(crate) fn kind(tag: u8) -> Option<Kind> {
    let (name, empty, pgwire_limit) = match tag {
        b'Q' => ("Query", false, PGWIRE_LARGE_LIMIT),
        b'P' => ("Parse", false, PGWIRE_LARGE_LIMIT),
        b'B' => ("Bind", false, PGWIRE_LARGE_LIMIT),
        b'd' => ("CopyData", false, PGWIRE_LARGE_LIMIT),
        b'D' => ("Describe", false, PGWIRE_SMALL_LIMIT),
        b'C' => ("Close", false, PGWIRE_SMALL_LIMIT),
        b'E' => ("Execute", false, PGWIRE_SMALL_LIMIT),
        b'f' => ("CopyFail", false, PGWIRE_SMALL_LIMIT),
        b'p' => ("PasswordMessage", false, PGWIRE_SMALL_LIMIT),
        b'S' => ("Sync", true, PGWIRE_SMALL_LIMIT),
        b'H' => ("Flush", true, PGWIRE_SMALL_LIMIT),
        b'X' => ("Terminate", true, PGWIRE_SMALL_LIMIT),
        b'c' => ("CopyDone", true, PGWIRE_SMALL_LIMIT),
        _ => return None,
    };
    Some(Kind {
        name,
        empty,
        pgwire_limit,
    })
}

/// Checks the body (after the type byte and length) of a complete typed
/// message whose header [`crate::frames`] has already accepted.
pub(crate) fn check(tag: u8, body: &[u8], limits: &Limits) -> Result<(), Violation> {
    let Some(kind) = kind(tag) else {
        // The header check refuses unknown types before the body arrives.
        return Err(Violation::protocol(format!(
            "unsupported or unknown message type {}",
            type_name(tag)
        )));
    };
    let mut r = Reader {
        what: kind.name,
        buf: body,
        pos: 0,
    };
    match tag {
        b'Q' => {
            let text = r.cstr(&"query string")?;
            query_len(kind.name, text.len(), limits)?;
        }
        b'P' => parse(&mut r, limits)?,
        b'B' => bind(&mut r, limits)?,
        b'D' | b'C' => {
            let target = r.u8(&"target type")?;
            if target != b'S' && target != b'P' {
                return Err(r.error(format_args!(
                    "target type {} is neither 'S' (statement) nor 'P' (portal)",
                    type_name(target)
                )));
            }
            r.cstr(&"name")?;
        }
        b'E' => {
            r.cstr(&"portal name")?;
            r.take(4, &"row limit")?;
        }
        b'f' => {
            r.cstr(&"error message")?;
        }
        // CopyData and the password family carry opaque bytes (pgwire splits
        // the body off by length); the empty-bodied ones were checked by
        // length in the header.
        _ => return Ok(()),
    }
    r.finish()
}

fn query_len(what: &str, len: usize, limits: &Limits) -> Result<(), Violation> {
    if len > limits.max_query_bytes {
        return Err(Violation::limit(format!(
            "{what} message: query text of {len} bytes exceeds the limit of {} (max_query_bytes)",
            limits.max_query_bytes
        )));
    }
    Ok(())
}

fn parameter_count(what: &str, n: usize, of: &str, limits: &Limits) -> Result<(), Violation> {
    if n > limits.max_parameters {
        return Err(Violation::limit(format!(
            "{what} message: {of} count {n} exceeds the limit of {} (max_parameters)",
            limits.max_parameters
        )));
    }
    Ok(())
}

/// Parse: statement name, query string, int16 count, count * int32 type OIDs.
fn parse(r: &mut Reader<'_>, limits: &Limits) -> Result<(), Violation> {
    r.cstr(&"statement name")?;
    let text = r.cstr(&"query string")?;
    query_len(r.what, text.len(), limits)?;
    let n = usize::from(r.u16(&"parameter type count")?);
    parameter_count(r.what, n, "parameter type", limits)?;
    r.take(n * 4, &format_args!("{n} parameter types"))?;
    Ok(())
}

/// Bind: portal, statement, format codes, parameter values, result format
/// codes; the checks PostgreSQL's `exec_bind_message` makes on the message
/// itself.
fn bind(r: &mut Reader<'_>, limits: &Limits) -> Result<(), Violation> {
    r.cstr(&"portal name")?;
    r.cstr(&"statement name")?;

    let formats = usize::from(r.u16(&"parameter format count")?);
    parameter_count(r.what, formats, "parameter format", limits)?;
    let codes = r.take(
        formats * 2,
        &format_args!("{formats} parameter format codes"),
    )?;
    format_codes(r, codes, "parameter")?;

    let params = usize::from(r.u16(&"parameter count")?);
    parameter_count(r.what, params, "parameter", limits)?;
    if formats > 1 && formats != params {
        return Err(Violation::protocol(format!(
            "Bind message has {formats} parameter formats but {params} parameters"
        )));
    }
    for i in 1..=params {
        let len = r.i32(&format_args!("parameter {i} length"))?;
        if len == -1 {
            continue; // NULL
        }
        let left = r.left();
        match usize::try_from(len) {
            Ok(len) if len <= left => {
                r.pos += len;
            }
            Ok(len) => {
                return Err(r.error(format_args!(
                    "parameter {i} length {len} exceeds the {left} bytes left in the message"
                )));
            }
            Err(_) => {
                return Err(r.error(format_args!(
                    "parameter {i} length {len} is negative (only -1, for NULL, is allowed)"
                )));
            }
        }
    }

    let results = usize::from(r.u16(&"result format count")?);
    let codes = r.take(results * 2, &format_args!("{results} result format codes"))?;
    format_codes(r, codes, "result")
}

/// Each int16 format code must be 0 (text) or 1 (binary).
fn format_codes(r: &Reader<'_>, codes: &[u8], of: &str) -> Result<(), Violation> {
    for (i, code) in codes.chunks_exact(2).enumerate() {
        let code = i16::from_be_bytes([code[0], code[1]]);
        if code != 0 && code != 1 {
            return Err(r.error(format_args!(
                "{of} format code {} is {code} (must be 0 for text or 1 for binary)",
                i + 1
            )));
        }
    }
    Ok(())
}

/// A cursor over one message body that names the message and the field in
/// every error. Invariant: `pos <= buf.len()`.
pub(crate) struct Reader<'a> {
    pub what: &'static str,
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn error(&self, detail: impl Display) -> Violation {
        Violation::protocol(format!("{} message: {detail}", self.what))
    }

    /// A NUL-terminated string; returns it without the NUL.
    pub fn cstr(&mut self, field: &dyn Display) -> Result<&'a [u8], Violation> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None => Err(self.error(format_args!(
                "{field} is not NUL-terminated within the message"
            ))),
        }
    }

    pub fn take(&mut self, n: usize, field: &dyn Display) -> Result<&'a [u8], Violation> {
        let left = self.left();
        if n > left {
            return Err(self.error(format_args!(
                "{field}: need {}, only {left} left in the message",
                count(n, "byte")
            )));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self, field: &dyn Display) -> Result<u8, Violation> {
        Ok(self.take(1, field)?[0])
    }

    pub fn u16(&mut self, field: &dyn Display) -> Result<u16, Violation> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn i32(&mut self, field: &dyn Display) -> Result<i32, Violation> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Nothing may follow the last field.
    pub fn finish(&self) -> Result<(), Violation> {
        match self.left() {
            0 => Ok(()),
            n => Err(self.error(format_args!(
                "{} after the last field",
                count(n, "unexpected byte")
            ))),
        }
    }
}
