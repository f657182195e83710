//! The guard against pgwire 0.41 itself: inputs that make pgwire panic or
//! lose its place are refused, and everything the guard releases, from many
//! random and mutated streams, decodes in pgwire exactly as framed.

use pgwire::messages::ProtocolVersion;

use crate::pgwire_check::{Start, decode_released};
use crate::testing::*;
use crate::{Frames, Limits, Violation};

/// SplitMix64: a small deterministic PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    /// A string without NUL, sometimes with multi-byte characters.
    fn text(&mut self) -> String {
        let n = self.below(12);
        (0..n)
            .map(|_| match self.below(10) {
                0 => 'é',
                _ => char::from(b'a' + self.below(26) as u8),
            })
            .collect()
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn random_message(rng: &mut Rng) -> Vec<u8> {
    match rng.below(16) {
        0 => query(&rng.text()),
        1 => {
            let oids: Vec<u32> = (0..rng.below(4)).map(|_| rng.next() as u32).collect();
            parse(&rng.text(), &rng.text(), &oids)
        }
        2 => {
            let n = rng.below(4);
            let values: Vec<Option<Vec<u8>>> = (0..n)
                .map(|_| (!rng.chance(3)).then(|| rng.bytes(8)))
                .collect();
            let params: Vec<Option<&[u8]>> = values.iter().map(|v| v.as_deref()).collect();
            let formats: Vec<i16> = match rng.below(3) {
                0 => vec![],
                1 => vec![1],
                _ => (0..n).map(|_| rng.below(2) as i16).collect(),
            };
            let results: Vec<i16> = (0..rng.below(3)).map(|_| rng.below(2) as i16).collect();
            bind(&rng.text(), &rng.text(), &formats, &params, &results)
        }
        3 => describe(if rng.chance(2) { b'S' } else { b'P' }, &rng.text()),
        4 => close(if rng.chance(2) { b'S' } else { b'P' }, &rng.text()),
        5 => execute(&rng.text(), rng.next() as i32),
        6 => typed(b'S', &[]),
        7 => typed(b'H', &[]),
        8 => typed(b'd', &rng.bytes(16)),
        9 => typed(b'c', &[]),
        10 => copy_fail(&rng.text()),
        11 => password(&rng.text()),
        12 => sasl_initial("SCRAM-SHA-256", &rng.bytes(16)),
        13 => {
            let mut body = rng.bytes(16);
            body.push(rng.next() as u8);
            typed(b'p', &body)
        }
        14 => {
            let mut body: Vec<u8> = rng.bytes(12).into_iter().filter(|b| *b != 0).collect();
            body.push(0);
            typed(b'Q', &body)
        }
        _ => typed(b'X', &[]),
    }
}

/// A stream for a validator starting at `start`.
fn random_stream(rng: &mut Rng, start: Start) -> Vec<u8> {
    let mut out = Vec::new();
    if start == Start::Negotiation {
        if rng.chance(3) {
            out.extend(ssl_request());
        }
        if rng.chance(4) {
            out.extend(gssenc_request());
        }
    }
    if start != Start::Typed {
        if rng.chance(8) {
            let key = rng.bytes(32);
            let key = if key.len() < 4 { vec![7; 4] } else { key };
            out.extend(cancel(rng.next() as i32, &key));
            return out;
        }
        let (user, db) = (rng.text(), rng.text());
        let user = if user.is_empty() {
            "u".to_owned()
        } else {
            user
        };
        out.extend(startup_version(
            3,
            [0, 2, 9999][rng.below(3)],
            &[("user", &user), ("database", &db)],
        ));
    }
    for _ in 0..rng.below(8) {
        out.extend(random_message(rng));
    }
    out
}

const INTERESTING: [i32; 10] = [0, 1, 3, 4, 5, 8, -1, -2, i32::MAX, i32::MIN];

fn mutate(rng: &mut Rng, stream: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        if stream.is_empty() {
            stream.push(rng.next() as u8);
        }
        let at = rng.below(stream.len());
        match rng.below(7) {
            0 => stream[at] ^= 1 << rng.below(8),
            1 => stream[at] = rng.next() as u8,
            2 => stream.insert(at, rng.next() as u8),
            3 => {
                stream.remove(at);
            }
            4 => stream.truncate(at),
            5 => {
                let v = INTERESTING[rng.below(INTERESTING.len())].to_be_bytes();
                for (i, b) in v.iter().enumerate() {
                    if let Some(slot) = stream.get_mut(at + i) {
                        *slot = *b;
                    }
                }
            }
            _ => {
                let end = (at + rng.below(16)).min(stream.len());
                let piece = stream[at..end].to_vec();
                stream.splice(at..at, piece);
            }
        }
    }
}

fn frames(start: Start, limits: Limits) -> Frames {
    match start {
        Start::Negotiation => Frames::new(limits),
        Start::Startup => Frames::awaiting_startup(limits),
        Start::Typed => Frames::after_startup(limits),
    }
}

/// Pushes `input` in random pieces; returns the released bytes and the
/// violation, if any.
fn run_chunked(rng: &mut Rng, mut frames: Frames, input: &[u8]) -> (Vec<u8>, Option<Violation>) {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let n = 1 + rng.below(rest.len().min(40));
        let result = frames.push(&rest[..n]);
        out.extend_from_slice(&frames.take_ready());
        if let Err(v) = result {
            return (out, Some(v));
        }
        rest = &rest[n..];
    }
    (out, None)
}

#[test]
fn everything_released_decodes_in_pgwire_as_framed() {
    let mut rng = Rng(0x01a4_e7a9);
    let small = Limits {
        max_message_bytes: 48,
        max_query_bytes: 10,
        max_parameters: 2,
        max_startup_bytes: 40,
    };
    let (mut valid, mut mutated, mut messages, mut refused) = (0, 0, 0, 0);
    for case in 0..100_000 {
        let start = [Start::Negotiation, Start::Startup, Start::Typed][case % 3];
        let mut input = random_stream(&mut rng, start);
        let pristine = case % 4 == 0;
        if !pristine {
            mutate(&mut rng, &mut input);
        }
        let limits = if case % 5 == 0 {
            small.clone()
        } else {
            Limits::default()
        };

        let (released, violation) = run_chunked(&mut rng, frames(start, limits.clone()), &input);
        // Pushing it all at once gives the same outcome.
        let mut whole = frames(start, limits);
        let at_once = whole.push(&input).err();
        assert_eq!(
            whole.take_ready(),
            released,
            "case {case}: chunking changed the output"
        );
        assert_eq!(
            at_once, violation,
            "case {case}: chunking changed the verdict"
        );
        assert!(
            input.starts_with(&released),
            "case {case}: released bytes differ"
        );
        if pristine && case % 5 != 0 {
            assert_eq!(
                (&released, &violation),
                (&input, &None),
                "case {case}: valid stream refused"
            );
            valid += 1;
        } else {
            mutated += 1;
        }
        refused += usize::from(violation.is_some());

        match decode_released(&released, start, ProtocolVersion::PROTOCOL3_2) {
            Ok(n) => messages += n,
            Err(e) => panic!("case {case} ({start:?}, input {input:?}): {e}"),
        }
    }
    eprintln!(
        "{valid} valid and {mutated} mutated streams, {refused} refused, {messages} messages decoded"
    );
    // The cases really exercise both sides.
    assert!(
        valid > 15_000 && mutated > 70_000,
        "{valid} valid, {mutated} mutated"
    );
    assert!(messages > 150_000, "only {messages} messages decoded");
    assert!(refused > 40_000, "only {refused} streams refused");
}

/// Inputs on which pgwire 0.41.1's decoder panics (or reads past the end of
/// the message into the next one), each refused by the guard. If pgwire
/// stops panicking on one, this test says so: the guard's rule may then be
/// relaxed, but need not be.
#[test]
fn inputs_pgwire_mishandles_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "PasswordMessage with length 2 (full_len - 4 underflows)",
            vec![b'p', 0, 0, 0, 2, 0],
            "panicked",
        ),
        (
            "CopyData with length 0 (len - 4 underflows)",
            vec![b'd', 0, 0, 0, 0, 0],
            "panicked",
        ),
        (
            "Parse without a parameter count",
            typed(b'P', b"s\0SELECT 1\0"),
            "panicked",
        ),
        (
            "Parse claiming 65535 parameter types",
            typed(b'P', b"\0\0\xff\xff"),
            "panicked",
        ),
        ("Bind cut after the names", typed(b'B', b"\0\0"), "panicked"),
        (
            "Bind with a parameter longer than the message",
            typed(b'B', b"\0\0\0\0\0\x01\0\0\0\x64"),
            "panicked",
        ),
        ("Close without a body", typed(b'C', b""), "panicked"),
        ("Describe without a body", typed(b'D', b""), "panicked"),
        (
            "Execute without a row limit",
            typed(b'E', b"\0"),
            "panicked",
        ),
        (
            "Query without its NUL, read into the next message",
            [typed(b'Q', b"x"), typed(b'S', &[])].concat(),
            "consumed",
        ),
        (
            "Sync with a body pgwire leaves behind",
            [typed(b'S', b"junk"), typed(b'S', &[])].concat(),
            "consumed",
        ),
    ];
    for (what, input, outcome) in cases {
        let pgwire = decode_released(&input, Start::Typed, ProtocolVersion::PROTOCOL3_2);
        match pgwire {
            Err(e) if e.contains(outcome) => {}
            other => panic!("{what}: expected pgwire to have {outcome}, got {other:?}"),
        }
        let v = typed_err(&input);
        assert_eq!(v.sqlstate, "08P01", "{what}");
    }

    // A startup packet whose parameters run past its declared length: pgwire
    // reads the next message as more parameters.
    let mut bad = startup_version(3, 0, &[("user", "u")]);
    bad.pop(); // drop the terminator
    bad[3] -= 1; // and shorten the length to match
    let input = [bad.clone(), query("SELECT 1")].concat();
    let pgwire = decode_released(&input, Start::Startup, ProtocolVersion::PROTOCOL3_2).unwrap_err();
    assert!(pgwire.contains("consumed"), "{pgwire}");
    let v = run(Frames::awaiting_startup(Limits::default()), &input).unwrap_err();
    assert_eq!(
        v.message,
        "startup message: parameter name is not NUL-terminated within the message"
    );
}

/// The fuzz seed corpus (fuzz/corpus/<target>/<name>): real message streams.
fn fuzz_seeds() -> [(&'static str, &'static str, Vec<u8>); 9] {
    [
        (
            "frontend",
            "seed-simple-query",
            [query("SELECT 1"), typed(b'X', &[])].concat(),
        ),
        ("frontend", "seed-extended", extended_round()),
        (
            "frontend",
            "seed-copy-in",
            [
                query("COPY t FROM STDIN"),
                typed(b'd', b"1\tone\n"),
                typed(b'c', &[]),
                copy_fail("stop"),
            ]
            .concat(),
        ),
        (
            "frontend",
            "seed-auth",
            [
                password("secret"),
                sasl_initial("SCRAM-SHA-256", b"n,,n=,r=abc"),
                typed(b'p', b"c=biws,r=abc,p=xyz"),
            ]
            .concat(),
        ),
        (
            "frontend",
            "seed-bind-null-binary",
            bind("p", "s", &[1], &[None, Some(&b"\0\0\0\x07"[..])], &[1, 0]),
        ),
        ("startup", "seed-psql-session", session()),
        (
            "startup",
            "seed-ssl-gss-startup",
            [
                ssl_request(),
                gssenc_request(),
                startup_psql(),
                query("SELECT 1"),
            ]
            .concat(),
        ),
        ("startup", "seed-cancel-3.0", cancel(100_001, &[1, 2, 3, 4])),
        ("startup", "seed-cancel-3.2", cancel(100_001, &[9; 32])),
    ]
}

/// The committed seeds are these streams, and the guard passes each whole.
/// `LAKETAP_WRITE_FUZZ_SEEDS=1 cargo test -p laketap-wire fuzz_seeds` rewrites
/// them after a change here.
#[test]
fn fuzz_seeds_are_committed_and_pass_the_guard() {
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fuzz/corpus");
    let write = std::env::var_os("LAKETAP_WRITE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in fuzz_seeds() {
        let path = root.join(target).join(name);
        if write {
            std::fs::create_dir_all(root.join(target)).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed,
            bytes,
            "{} differs from its generator",
            path.display()
        );
        let mut frames = if target == "startup" {
            Frames::new(Limits::default())
        } else {
            Frames::after_startup(Limits::default())
        };
        frames
            .push(&bytes)
            .unwrap_or_else(|v| panic!("{name}: {v}"));
        assert_eq!(
            frames.take_ready().len(),
            bytes.len(),
            "{name} is released whole"
        );
    }
}
