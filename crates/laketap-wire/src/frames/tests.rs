use super::*;
use crate::testing::*;

fn be16(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

fn be32(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

#[test]
fn accepts_every_message_kind_byte_for_byte() {
    let messages: Vec<Vec<u8>> = vec![
        query("SELECT 1"),
        query(""),
        parse("", "SELECT 1", &[]),
        parse("s1", "SELECT $1", &[23]),
        bind("", "", &[], &[], &[]),
        bind("p", "s", &[1], &[Some(b"\0\0\0\x07"), None], &[0, 1]),
        bind("", "s", &[0, 1], &[Some(b""), Some(b"x")], &[1]),
        describe(b'S', "s1"),
        describe(b'P', ""),
        close(b'S', ""),
        close(b'P', "p"),
        execute("", 0),
        execute("p", 100),
        typed(b'S', &[]),
        typed(b'H', &[]),
        typed(b'X', &[]),
        typed(b'c', &[]),
        typed(b'd', b""),
        typed(b'd', b"1\tone\n"),
        copy_fail("client gave up"),
        password("secret"),
        password(""),
        sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abc"),
        typed(b'p', b"c=biws,r=abc,p=xyz"),
        // Strings may hold any byte but NUL; pgwire decodes them lossily.
        query("SELECT '\u{e9}'"),
        typed(b'Q', b"SELECT '\xff'\0"),
    ];
    for m in &messages {
        assert_eq!(typed_run(m).as_deref(), Ok(&m[..]), "{m:?}");
    }
    let all = messages.concat();
    assert_eq!(typed_run(&all), Ok(all.clone()));
}

#[test]
fn startup_phases() {
    let stream = [
        ssl_request(),
        gssenc_request(),
        startup_psql(),
        query("SELECT 1"),
    ]
    .concat();
    assert_eq!(
        run(Frames::new(Limits::default()), &stream),
        Ok(stream.clone())
    );

    let stream = [startup_psql(), password("pw"), typed(b'X', &[])].concat();
    let frames = Frames::awaiting_startup(Limits::default());
    assert_eq!(run(frames, &stream), Ok(stream.clone()));

    // pgwire's decoder is told the protocol version, which never matters for
    // framing; libpq's 3.9999 and 3.2 are accepted like 3.0.
    for minor in [0, 2, 9999] {
        let m = startup_version(3, minor, &[("user", "u")]);
        assert_eq!(run(Frames::new(Limits::default()), &m), Ok(m.clone()));
    }

    // CancelRequest: a 4-byte key (3.0) or a longer one (pgwire gives 3.2
    // clients 32 bytes).
    for key in [&[1, 2, 3, 4][..], &[9; 32], &[9; 256]] {
        let m = cancel(100_001, key);
        assert_eq!(run(Frames::new(Limits::default()), &m), Ok(m.clone()));
        let frames = Frames::awaiting_startup(Limits::default());
        assert_eq!(run(frames, &m), Ok(m.clone()));
    }
}

#[test]
fn startup_phase_violations() {
    let new = || Frames::new(Limits::default());
    let err = |frames: Frames, input: &[u8]| run(frames, input).unwrap_err();

    let e = err(new(), &[ssl_request(), ssl_request()].concat());
    assert_eq!(e.sqlstate, "08P01");
    assert_eq!(
        e.message,
        "SSLRequest is only allowed once, before the startup message"
    );
    let e = err(
        Frames::awaiting_startup(Limits::default()),
        &gssenc_request(),
    );
    assert_eq!(
        e.message,
        "GSSENCRequest is only allowed once, before the startup message"
    );

    let e = err(new(), &[cancel(1, &[0; 4]), vec![0]].concat());
    assert_eq!(e.message, "no message may follow a CancelRequest");

    let e = err(new(), &cancel(1, &[0; 3]));
    assert!(
        e.message
            .starts_with("invalid message length 15 in CancelRequest"),
        "{e}"
    );

    let e = err(new(), &startup_version(3, 0, &[("database", "x")]));
    assert_eq!(e.sqlstate, "28000");

    let e = err(new(), &startup_version(2, 0, &[("user", "x")]));
    assert_eq!(e.sqlstate, "0A000");

    // A typed message where the startup packet belongs: 'Q' reads as a huge
    // length, refused from the first 8 bytes.
    let e = err(new(), &query("SELECT 1"));
    assert_eq!(
        e.message,
        "invalid startup packet length: 1358954496 bytes exceeds the limit of 10000 (max_startup_bytes)"
    );

    // An SSLRequest after the startup packet is read as a typed message.
    let e = err(new(), &[startup_psql(), ssl_request()].concat());
    assert_eq!(e.message, "unsupported or unknown message type 0x00");
}

/// (input, sqlstate, message) for malformed typed messages.
fn malformed() -> Vec<(Vec<u8>, &'static str, &'static str)> {
    let p = "08P01";
    let mut bind_overflow = b"\0\0".to_vec();
    bind_overflow.extend(be16(0));
    bind_overflow.extend(be16(3));
    bind_overflow.extend(be32(-1));
    bind_overflow.extend(be32(0));
    bind_overflow.extend(be32(1000));
    bind_overflow.extend([0; 10]);
    let mut bind_negative = b"\0\0".to_vec();
    bind_negative.extend(be16(0));
    bind_negative.extend(be16(1));
    bind_negative.extend(be32(-2));
    bind_negative.extend(be16(0));
    let mut bind_no_results = b"\0\0".to_vec();
    bind_no_results.extend(be16(0));
    bind_no_results.extend(be16(0));
    let mut bind_many_results = bind_no_results.clone();
    bind_many_results.extend(be16(0xffff));
    let mut parse_short = b"\0SELECT $1, $2\0".to_vec();
    parse_short.extend(be16(2));
    parse_short.extend(be32(23));
    vec![
        (
            typed(b'F', b"\0\0\0\x01"),
            p,
            "unsupported or unknown message type 'F'",
        ),
        (
            vec![b'S', 0, 0, 0, 2],
            p,
            "invalid message length 2 in Sync message 'S': the length counts its own 4 bytes, so it is at least 4",
        ),
        (
            vec![b'p', 0, 0, 0, 3],
            p,
            "invalid message length 3 in PasswordMessage message 'p': the length counts its own 4 bytes, so it is at least 4",
        ),
        (
            vec![b'd', 0xff, 0xff, 0xff, 0xff],
            p,
            "invalid message length -1 in CopyData message 'd': the length counts its own 4 bytes, so it is at least 4",
        ),
        (
            typed(b'S', b"x"),
            p,
            "invalid message length 5 in Sync message 'S': it has no body, so its length must be 4",
        ),
        (
            typed(b'c', b"xy"),
            p,
            "invalid message length 6 in CopyDone message 'c': it has no body, so its length must be 4",
        ),
        (
            typed(b'p', b""),
            p,
            "invalid message length 4 in PasswordMessage message 'p': its body may not be empty",
        ),
        (
            typed(b'Q', b"SELECT 1"),
            p,
            "Query message: query string is not NUL-terminated within the message",
        ),
        (
            typed(b'Q', b""),
            p,
            "Query message: query string is not NUL-terminated within the message",
        ),
        (
            typed(b'Q', b"SELECT 1\0x"),
            p,
            "Query message: 1 unexpected byte after the last field",
        ),
        (
            typed(b'P', b"s\0SELECT 1\0"),
            p,
            "Parse message: parameter type count: need 2 bytes, only 0 left in the message",
        ),
        (
            typed(b'P', b"s\0SELECT 1"),
            p,
            "Parse message: query string is not NUL-terminated within the message",
        ),
        (
            typed(b'P', &parse_short),
            p,
            "Parse message: 2 parameter types: need 8 bytes, only 4 left in the message",
        ),
        (
            typed(b'P', b"\0\0\0\0xyz"),
            p,
            "Parse message: 3 unexpected bytes after the last field",
        ),
        (
            typed(b'B', &bind_overflow),
            p,
            "Bind message: parameter 3 length 1000 exceeds the 10 bytes left in the message",
        ),
        (
            typed(b'B', &bind_negative),
            p,
            "Bind message: parameter 1 length -2 is negative (only -1, for NULL, is allowed)",
        ),
        (
            typed(b'B', &bind_no_results),
            p,
            "Bind message: result format count: need 2 bytes, only 0 left in the message",
        ),
        (
            typed(b'B', &bind_many_results),
            p,
            "Bind message: 65535 result format codes: need 131070 bytes, only 0 left in the message",
        ),
        (
            bind("", "", &[2], &[], &[]),
            p,
            "Bind message: parameter format code 1 is 2 (must be 0 for text or 1 for binary)",
        ),
        (
            bind("", "", &[], &[], &[0, -1]),
            p,
            "Bind message: result format code 2 is -1 (must be 0 for text or 1 for binary)",
        ),
        (
            bind("", "", &[0, 1], &[None, None, None], &[]),
            p,
            "Bind message has 2 parameter formats but 3 parameters",
        ),
        (
            bind("", "", &[0, 0], &[], &[]),
            p,
            "Bind message has 2 parameter formats but 0 parameters",
        ),
        (
            typed(b'B', b"\0"),
            p,
            "Bind message: statement name is not NUL-terminated within the message",
        ),
        (
            typed(b'D', b"X\0"),
            p,
            "Describe message: target type 'X' is neither 'S' (statement) nor 'P' (portal)",
        ),
        (
            typed(b'D', b"S"),
            p,
            "Describe message: name is not NUL-terminated within the message",
        ),
        (
            typed(b'C', b""),
            p,
            "Close message: target type: need 1 byte, only 0 left in the message",
        ),
        (
            typed(b'C', b"P\0\0"),
            p,
            "Close message: 1 unexpected byte after the last field",
        ),
        (
            typed(b'E', b"\0"),
            p,
            "Execute message: row limit: need 4 bytes, only 0 left in the message",
        ),
        (
            typed(b'E', b"\0\0\0\0\0\0\0"),
            p,
            "Execute message: 2 unexpected bytes after the last field",
        ),
        (
            typed(b'f', b"oops"),
            p,
            "CopyFail message: error message is not NUL-terminated within the message",
        ),
        (
            typed(b'D', &[b'S'; 10_000]),
            p,
            "message 'D' of 10004 bytes exceeds the limit of 10000 (pgwire's limit for Describe messages)",
        ),
    ]
}

#[test]
fn refuses_malformed_messages_naming_the_problem() {
    for (input, sqlstate, message) in malformed() {
        let e = typed_err(&input);
        assert_eq!(
            (e.sqlstate, e.message.as_str()),
            (sqlstate, message),
            "{input:?}"
        );
    }
}

#[test]
fn keeps_the_messages_before_a_violation() {
    let good = [query("SELECT 1"), typed(b'S', &[])].concat();
    let mut frames = Frames::after_startup(Limits::default());
    let e = frames
        .push(&[good.clone(), typed(b'F', &[]), query("SELECT 2")].concat())
        .unwrap_err();
    assert_eq!(e.message, "unsupported or unknown message type 'F'");
    assert_eq!(frames.take_ready(), good);
    assert_eq!(frames.partial_len(), 0);
    assert_eq!(frames.violation(), Some(&e));
    assert_eq!(frames.push(&typed(b'S', &[])), Err(e));
    assert!(frames.take_ready().is_empty());
}

#[test]
fn holds_back_an_incomplete_message() {
    let stream = session();
    let mut frames = Frames::new(Limits::default());
    frames.push(&stream[..stream.len() - 1]).unwrap();
    // Everything but the 5-byte Terminate.
    assert_eq!(frames.take_ready(), stream[..stream.len() - 5]);
    assert_eq!(frames.partial_len(), 4);
    frames.push(&stream[stream.len() - 1..]).unwrap();
    assert_eq!(frames.take_ready(), stream[stream.len() - 5..]);
    assert_eq!(frames.partial_len(), 0);
}

#[test]
fn split_at_every_byte_releases_the_same_bytes() {
    let stream = [ssl_request(), session()].concat();
    // One byte at a time.
    let mut frames = Frames::new(Limits::default());
    let mut out = Vec::new();
    for b in &stream {
        frames.push(std::slice::from_ref(b)).unwrap();
        out.extend_from_slice(&frames.take_ready());
    }
    assert_eq!(out, stream);
    // Two pieces, cut at every position.
    for cut in 0..=stream.len() {
        let mut frames = Frames::new(Limits::default());
        let mut out = Vec::new();
        for piece in [&stream[..cut], &stream[cut..]] {
            frames.push(piece).unwrap();
            out.extend_from_slice(&frames.take_ready());
        }
        assert_eq!(out, stream, "cut at {cut}");
    }
}

#[test]
fn refuses_an_oversized_length_before_the_body_arrives() {
    // Only the 5-byte header is pushed: the body is never waited for.
    let mut frames = Frames::after_startup(Limits::default());
    let mut header = vec![b'Q'];
    header.extend(be32(80_000_000));
    let e = frames.push(&header).unwrap_err();
    assert_eq!(e.sqlstate, "08P01");
    assert_eq!(
        e.message,
        "message 'Q' of 80000000 bytes exceeds the limit of 67108864 (max_message_bytes)"
    );
    assert_eq!(frames.partial_len(), 0);

    // Same for the startup packet, from its 8-byte header.
    let mut frames = Frames::new(Limits::default());
    let e = frames.push(&[0, 1, 0, 0, 0, 3, 0, 0]).unwrap_err();
    assert_eq!(
        e.message,
        "invalid startup packet length: 65536 bytes exceeds the limit of 10000 (max_startup_bytes)"
    );

    // A body sent with the oversized header is not buffered either.
    let mut frames = Frames::after_startup(Limits::default());
    let mut m = vec![b'd'];
    m.extend(be32(0x7fff_ffff));
    m.extend([0; 1000]);
    assert!(frames.push(&m).is_err());
    assert_eq!(frames.partial_len(), 0);

    // Configured above pgwire's own limit, pgwire's limit applies.
    let limits = Limits {
        max_message_bytes: usize::MAX,
        ..Limits::default()
    };
    let mut frames = Frames::after_startup(limits);
    let e = frames.push(&[b'd', 0x40, 0, 0, 0]).unwrap_err();
    assert_eq!(
        e.message,
        "message 'd' of 1073741824 bytes exceeds the limit of 1073741822 (pgwire's limit for CopyData messages)"
    );
}

#[test]
fn enforces_configured_limits() {
    let limits = Limits {
        max_message_bytes: 64,
        max_query_bytes: 8,
        max_parameters: 2,
        max_startup_bytes: 32,
    };
    let frames = || Frames::after_startup(limits.clone());
    let err = |input: &[u8]| run(frames(), input).unwrap_err();

    assert_eq!(run(frames(), &query("SELECT 1")), Ok(query("SELECT 1")));
    // The Query text is refused from its header alone.
    let e = err(&query("SELECT 12")[..5]);
    assert_eq!(e.sqlstate, "54000");
    assert_eq!(
        e.message,
        "Query message: query text of 9 bytes exceeds the limit of 8 (max_query_bytes)"
    );
    let e = err(&parse("", "SELECT 12", &[]));
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            "54000",
            "Parse message: query text of 9 bytes exceeds the limit of 8 (max_query_bytes)"
        )
    );
    let e = err(&parse("", "SELECT 1", &[23, 23, 23]));
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            "54000",
            "Parse message: parameter type count 3 exceeds the limit of 2 (max_parameters)"
        )
    );
    let e = err(&bind("", "", &[], &[None, None, None], &[]));
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            "54000",
            "Bind message: parameter count 3 exceeds the limit of 2 (max_parameters)"
        )
    );
    let e = err(&bind("", "", &[0, 0, 0], &[], &[]));
    assert_eq!(
        e.message,
        "Bind message: parameter format count 3 exceeds the limit of 2 (max_parameters)"
    );
    let e = err(&typed(b'd', &[0; 61]));
    assert_eq!(
        (e.sqlstate, e.message.as_str()),
        (
            "08P01",
            "message 'd' of 65 bytes exceeds the limit of 64 (max_message_bytes)"
        )
    );
    let long_user = "u".repeat(20);
    let e = run(
        Frames::new(limits.clone()),
        &startup_version(3, 0, &[("user", &long_user)]),
    )
    .unwrap_err();
    assert_eq!(
        e.message,
        "invalid startup packet length: 35 bytes exceeds the limit of 32 (max_startup_bytes)"
    );
}

#[test]
fn before_authentication_only_small_password_messages_and_terminate_pass() {
    let mut frames = Frames::awaiting_startup(Limits::default()).require_authentication();
    let login = [startup_psql(), password("secret")].concat();
    frames.push(&login).expect("startup and a password");
    assert_eq!(frames.take_ready().len(), login.len());
    let v = frames
        .push(&query("SELECT 1"))
        .expect_err("a query before auth");
    assert_eq!(v.sqlstate, "08P01");
    assert!(v.message.contains("before authentication finished"), "{v}");

    // A large CopyData (allowed up to 64 MiB after auth) is refused from its
    // header alone.
    let mut frames = Frames::after_startup(Limits::default()).require_authentication();
    let mut header = vec![b'd'];
    header.extend_from_slice(&be32(40 * 1024 * 1024));
    let v = frames
        .push(&header)
        .expect_err("a 40 MiB message before auth");
    assert!(v.message.contains("before authentication finished"), "{v}");
    assert_eq!(frames.partial_len(), 0, "nothing of it is buffered");

    // Once authenticated, every message at the full limits.
    let mut frames = Frames::after_startup(Limits::default()).require_authentication();
    frames.push(&password("secret")).expect("password");
    frames.authenticated();
    let big = query(&"x".repeat(20_000));
    frames.push(&big).expect("a large query after auth");
    assert_eq!(
        frames.take_ready().len(),
        password("secret").len() + big.len()
    );
    frames.push(&typed(b'X', &[])).expect("terminate");
}
