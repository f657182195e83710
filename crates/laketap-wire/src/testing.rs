//! Builders for frontend messages, as real clients encode them (tests only).

use crate::{Frames, Limits, Violation};

pub fn typed(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn untyped(code: i32, body: &[u8]) -> Vec<u8> {
    let mut m = (body.len() as i32 + 8).to_be_bytes().to_vec();
    m.extend_from_slice(&code.to_be_bytes());
    m.extend_from_slice(body);
    m
}

pub fn cstr(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(s);
    out.push(0);
}

pub fn startup_version(major: u16, minor: u16, params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in params {
        cstr(&mut body, k.as_bytes());
        cstr(&mut body, v.as_bytes());
    }
    body.push(0);
    untyped(i32::from(major) << 16 | i32::from(minor), &body)
}

/// What psql sends.
pub fn startup_psql() -> Vec<u8> {
    startup_version(
        3,
        0,
        &[
            ("user", "laketap"),
            ("database", "laketap"),
            ("application_name", "psql"),
            ("client_encoding", "UTF8"),
        ],
    )
}

pub fn ssl_request() -> Vec<u8> {
    untyped(80_877_103, &[])
}

pub fn gssenc_request() -> Vec<u8> {
    untyped(80_877_104, &[])
}

pub fn cancel(pid: i32, key: &[u8]) -> Vec<u8> {
    let mut body = pid.to_be_bytes().to_vec();
    body.extend_from_slice(key);
    untyped(80_877_102, &body)
}

pub fn query(text: &str) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, text.as_bytes());
    typed(b'Q', &body)
}

pub fn parse(name: &str, text: &str, oids: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, name.as_bytes());
    cstr(&mut body, text.as_bytes());
    body.extend_from_slice(&(oids.len() as u16).to_be_bytes());
    for oid in oids {
        body.extend_from_slice(&oid.to_be_bytes());
    }
    typed(b'P', &body)
}

pub fn bind(
    portal: &str,
    statement: &str,
    formats: &[i16],
    params: &[Option<&[u8]>],
    results: &[i16],
) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, portal.as_bytes());
    cstr(&mut body, statement.as_bytes());
    body.extend_from_slice(&(formats.len() as u16).to_be_bytes());
    for f in formats {
        body.extend_from_slice(&f.to_be_bytes());
    }
    body.extend_from_slice(&(params.len() as u16).to_be_bytes());
    for p in params {
        match p {
            Some(v) => {
                body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                body.extend_from_slice(v);
            }
            None => body.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    body.extend_from_slice(&(results.len() as u16).to_be_bytes());
    for f in results {
        body.extend_from_slice(&f.to_be_bytes());
    }
    typed(b'B', &body)
}

pub fn describe(target: u8, name: &str) -> Vec<u8> {
    let mut body = vec![target];
    cstr(&mut body, name.as_bytes());
    typed(b'D', &body)
}

pub fn close(target: u8, name: &str) -> Vec<u8> {
    let mut body = vec![target];
    cstr(&mut body, name.as_bytes());
    typed(b'C', &body)
}

pub fn execute(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, portal.as_bytes());
    body.extend_from_slice(&max_rows.to_be_bytes());
    typed(b'E', &body)
}

pub fn copy_fail(message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, message.as_bytes());
    typed(b'f', &body)
}

pub fn password(pw: &str) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, pw.as_bytes());
    typed(b'p', &body)
}

pub fn sasl_initial(mechanism: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    cstr(&mut body, mechanism.as_bytes());
    body.extend_from_slice(&(data.len() as i32).to_be_bytes());
    body.extend_from_slice(data);
    typed(b'p', &body)
}

/// Parse/Bind/Describe/Execute/Sync as tokio-postgres and JDBC send them.
pub fn extended_round() -> Vec<u8> {
    [
        parse("s1", "SELECT $1::int4, $2::text", &[23, 25]),
        describe(b'S', "s1"),
        typed(b'H', &[]),
        bind("", "s1", &[1, 0], &[Some(&7i32.to_be_bytes()), None], &[1]),
        describe(b'P', ""),
        execute("", 0),
        close(b'S', "s1"),
        typed(b'S', &[]),
    ]
    .concat()
}

/// A whole psql-like session: startup, password, queries, COPY, terminate.
pub fn session() -> Vec<u8> {
    [
        startup_psql(),
        password("secret"),
        query("SELECT 1"),
        extended_round(),
        query("COPY t FROM STDIN"),
        typed(b'd', b"1\tone\n"),
        typed(b'd', b""),
        typed(b'c', &[]),
        query(""),
        typed(b'X', &[]),
    ]
    .concat()
}

/// Pushes `input` in one go into a validator starting in the typed phase and
/// returns the released bytes.
pub fn typed_run(input: &[u8]) -> Result<Vec<u8>, Violation> {
    run(Frames::after_startup(Limits::default()), input)
}

pub fn run(mut frames: Frames, input: &[u8]) -> Result<Vec<u8>, Violation> {
    frames.push(input)?;
    Ok(frames.take_ready().to_vec())
}

/// The violation for `input` in the typed phase.
pub fn typed_err(input: &[u8]) -> Violation {
    match typed_run(input) {
        Ok(out) => panic!("accepted {input:?} (released {} bytes)", out.len()),
        Err(v) => v,
    }
}
