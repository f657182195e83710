use std::collections::VecDeque;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::Limits;
use crate::testing::*;

/// A reader that plays a script: data in the given pieces, "not yet"
/// (Pending, with an immediate wake-up), errors, then end of stream.
#[derive(Default)]
struct Script(VecDeque<Step>);

enum Step {
    Data(Vec<u8>),
    Pending,
    Fail,
}

impl Script {
    fn bytewise(data: &[u8]) -> Self {
        let mut s = Script::default();
        for b in data {
            s.0.push_back(Step::Data(vec![*b]));
            s.0.push_back(Step::Pending);
        }
        s
    }
}

impl AsyncRead for Script {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.0.pop_front() {
            None => Poll::Ready(Ok(())),
            Some(Step::Data(mut d)) => {
                let n = d.len().min(buf.remaining());
                buf.put_slice(&d[..n]);
                if n < d.len() {
                    this.0.push_front(Step::Data(d.split_off(n)));
                }
                Poll::Ready(Ok(()))
            }
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Fail) => Poll::Ready(Err(io::Error::other("connection reset"))),
        }
    }
}

fn guard(script: Script) -> Guarded<Script> {
    Guarded::new(script, Frames::new(Limits::default()))
}

#[tokio::test]
async fn releases_a_session_read_byte_by_byte() {
    let stream = [ssl_request(), session()].concat();
    let mut g = guard(Script::bytewise(&stream));
    let mut out = Vec::new();
    g.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, stream);
}

#[tokio::test]
async fn never_reads_zero_bytes_before_the_end() {
    let stream = session();
    let mut g = guard(Script::bytewise(&stream));
    let mut out = Vec::new();
    let mut buf = [0u8; 3];
    loop {
        let n = g.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    assert_eq!(out, stream);
    // And the end stays the end.
    assert_eq!(g.read(&mut buf).await.unwrap(), 0);
}

#[tokio::test]
async fn reports_a_violation_after_the_good_messages() {
    let good = [startup_psql(), query("SELECT 1")].concat();
    let mut script = Script::default();
    script.0.push_back(Step::Data(
        [good.clone(), vec![b'p', 0, 0, 0, 2], query("SELECT 2")].concat(),
    ));
    let mut g = guard(script);
    let mut out = Vec::new();
    let err = g.read_to_end(&mut out).await.unwrap_err();
    assert_eq!(out, good);
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let v = violation(&err).unwrap();
    assert_eq!(v.sqlstate, "08P01");
    assert!(
        v.message
            .starts_with("invalid message length 2 in PasswordMessage"),
        "{v}"
    );
    assert_eq!(err.to_string(), v.message);
    // Every later read fails the same way.
    let again = g.read(&mut [0; 16]).await.unwrap_err();
    assert_eq!(violation(&again), Some(v));
}

#[tokio::test]
async fn an_incomplete_message_at_the_end_is_just_the_end() {
    let stream = session();
    let cut = stream.len() - 2;
    let mut g = guard(Script::bytewise(&stream[..cut]));
    let mut out = Vec::new();
    g.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, stream[..stream.len() - 5]);
    assert_eq!(g.frames().partial_len(), 3);
}

#[tokio::test]
async fn passes_io_errors_through() {
    let mut script = Script::bytewise(&startup_psql());
    script.0.push_back(Step::Fail);
    let mut g = guard(script);
    let mut out = Vec::new();
    let err = g.read_to_end(&mut out).await.unwrap_err();
    assert_eq!(err.to_string(), "connection reset");
    assert!(violation(&err).is_none());
    assert_eq!(out, startup_psql());
}

#[tokio::test]
async fn releases_bytes_pushed_before_wrapping_first() {
    // What laketap does with the bytes pgwire's negotiate_tls already read.
    let mut frames = Frames::awaiting_startup(Limits::default());
    let startup = startup_psql();
    frames.push(&startup[..10]).unwrap();
    let mut script = Script::default();
    script.0.push_back(Step::Data(startup[10..].to_vec()));
    script.0.push_back(Step::Data(query("SELECT 1")));
    let mut g = Guarded::new(script, frames);
    let mut out = Vec::new();
    g.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, [startup, query("SELECT 1")].concat());
}

#[tokio::test]
async fn over_a_duplex_stream_server_messages_pass_through() {
    let (client, server) = tokio::io::duplex(64);
    let mut g = Guarded::new(server, Frames::awaiting_startup(Limits::default()));
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let stream = session();
    let sent = stream.clone();
    let writer = tokio::spawn(async move {
        client_write.write_all(&sent).await.unwrap();
        client_write.shutdown().await.unwrap();
    });
    let mut out = Vec::new();
    g.read_to_end(&mut out).await.unwrap();
    assert_eq!(out, stream);
    writer.await.unwrap();

    g.write_all(b"Z\0\0\0\x05I").await.unwrap();
    g.flush().await.unwrap();
    let mut reply = [0u8; 6];
    client_read.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"Z\0\0\0\x05I");
    let _inner: tokio::io::DuplexStream = g.into_inner();
}

#[test]
fn backend_copy_fail_is_dropped_whatever_the_cuts() {
    let data = message(b'd', b"1\t2\n");
    let fail = message(b'f', b"canceling statement\0");
    let error = message(b'E', b"SERROR\0C57014\0\0");
    let ready = message(b'Z', b"I");
    let stream = [data.clone(), fail, error.clone(), ready.clone()].concat();
    let expected = [data, error, ready].concat();
    for cut in 1..=stream.len() {
        let mut filter = BackendFilter::default();
        let mut out = Vec::new();
        for piece in stream.chunks(cut) {
            filter.filter(piece, &mut out);
        }
        assert_eq!(out, expected, "pieces of {cut}");
    }
}

#[test]
fn show_tags_lose_their_row_count_whatever_the_cuts() {
    let data = message(b'D', b"\0\x01\0\0\0\x03UTC");
    let show = message(b'C', b"SHOW 1\0");
    let select = message(b'C', b"SELECT 1\0");
    let showing = message(b'C', b"SHOWING 12\0");
    let long = message(b'C', &[b"SHOW ".as_slice(), &[b'1'; 80], b"\0"].concat());
    let ready = message(b'Z', b"I");
    let stream = [
        data.clone(),
        show,
        select.clone(),
        showing.clone(),
        long.clone(),
        ready.clone(),
    ]
    .concat();
    let expected = [data, message(b'C', b"SHOW\0"), select, showing, long, ready].concat();
    for cut in 1..=stream.len() {
        let mut filter = BackendFilter::default();
        let mut out = Vec::new();
        for piece in stream.chunks(cut) {
            filter.filter(piece, &mut out);
        }
        assert_eq!(out, expected, "pieces of {cut}");
    }
}

#[test]
fn a_requested_resume_sends_the_next_failed_ready_for_query_as_in_transaction() {
    let resume = std::sync::Arc::new(crate::Resume::default());
    let mut filter = BackendFilter::new(resume.clone());
    let failed = b"Z\0\0\0\x05E".to_vec();
    let mut out = Vec::new();
    filter.filter(&failed, &mut out);
    assert_eq!(out, failed, "no request: unchanged");
    resume.request();
    let stream = [b"C\0\0\0\x0dROLLBACK\0".as_slice(), &failed, &failed].concat();
    for cut in 1..=stream.len() {
        let resume = std::sync::Arc::new(crate::Resume::default());
        let mut filter = BackendFilter::new(resume.clone());
        resume.request();
        let mut out = Vec::new();
        for piece in stream.chunks(cut) {
            filter.filter(piece, &mut out);
        }
        let expected = [
            b"C\0\0\0\x0dROLLBACK\0".as_slice(),
            b"Z\0\0\0\x05T",
            &failed,
        ]
        .concat();
        assert_eq!(out, expected, "pieces of {cut}");
        assert!(resume.take(), "the loop learns the block went on");
        assert!(!resume.take());
    }
}

/// A backend message: `tag`, its length, `body`.
fn message(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![tag];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}
