//! [`Guarded`]: a socket whose read side releases only validated messages.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::frames::Frames;
use crate::limits::Violation;

/// How much is read from the inner stream at a time.
const READ_CHUNK: usize = 16 * 1024;

/// A stream whose `AsyncRead` side releases only complete messages that
/// [`Frames`] accepted, and whose `AsyncWrite` side passes through.
///
/// A read fails with an `io::Error` of kind `InvalidData` wrapping the
/// [`Violation`] (get it back with [`violation`]) once every message before
/// the offending one has been read; every later read fails the same way. An
/// end of stream in the middle of a message reads as a plain end of stream.
///
/// To put the guard behind pgwire's `negotiate_tls`, take the `Framed`'s
/// parts, push any bytes already in its `read_buf` into a
/// [`Frames::awaiting_startup`] (and clear `read_buf`), then rebuild the
/// `Framed` around `Guarded::new(parts.io, frames)`.
#[derive(Debug)]
pub struct Guarded<T> {
    inner: T,
    frames: Frames,
    /// Validated bytes not yet handed to the reader.
    ready: Bytes,
    scratch: Box<[u8]>,
    eof: bool,
    /// Frames the server's messages to drop pgwire's CopyFail.
    backend: BackendFilter,
    /// Server bytes taken from the writer and not yet written.
    out: Vec<u8>,
}

impl<T> Guarded<T> {
    /// Wraps `inner`; `frames` may already hold bytes pushed into it.
    pub fn new(inner: T, mut frames: Frames) -> Self {
        let ready = frames.take_ready();
        Guarded {
            inner,
            frames,
            ready,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
            eof: false,
            backend: BackendFilter::new(Arc::new(Resume::default())),
            out: Vec::new(),
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The connection's [`Resume`] flag, shared with its output filter.
    pub fn resume(&self) -> Arc<Resume> {
        self.backend.resume.clone()
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The validator, e.g. to see how many bytes of an incomplete message it
    /// holds back.
    pub fn frames(&self) -> &Frames {
        &self.frames
    }

    /// The validator, to lift its pre-authentication limits once the
    /// connection is authenticated.
    pub fn frames_mut(&mut self) -> &mut Frames {
        &mut self.frames
    }

    /// The inner stream. Bytes read from it but not yet read from the guard
    /// are lost.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

/// The [`Violation`] inside an error returned by [`Guarded`]'s reads, if
/// that is what it is.
pub fn violation(err: &io::Error) -> Option<&Violation> {
    err.get_ref()?.downcast_ref::<Violation>()
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if !this.ready.is_empty() {
                let n = this.ready.len().min(out.remaining());
                out.put_slice(&this.ready[..n]);
                this.ready.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(v) = this.frames.violation() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, v.clone())));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut buf = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let got = buf.filled();
            if got.is_empty() {
                // A message cut short by the end of the stream is not a
                // violation: the client went away.
                this.eof = true;
                continue;
            }
            // A violation is kept in `frames` and reported once the messages
            // before it have been read.
            let _ = this.frames.push(got);
            this.ready = this.frames.take_ready();
        }
    }
}

/// The server's side of the stream, read message by message, with two
/// fixes of what pgwire 0.41 sends:
///
/// - It answers an error in a COPY … TO STDOUT stream with a CopyFail (`f`),
///   which is a frontend message that clients cannot parse (tokio-postgres
///   reports "error parsing response"), before the ErrorResponse that
///   PostgreSQL sends alone. The filter drops backend `f` messages.
/// - It appends a row count to every row-returning command's tag, so SHOW
///   completes as `SHOW 1`; PostgreSQL's tag is `SHOW` (asyncpg returns it
///   from `execute()`, psycopg from `statusmessage`). The filter holds each
///   CommandComplete whole and drops the count after `SHOW`.
///
/// Everything else passes as it came.
/// - It keeps a transaction block failed until ROLLBACK: its simple-query
///   loop sends ReadyForQuery `E` even after a ROLLBACK TO SAVEPOINT that
///   PostgreSQL resumes the block with. When the server [requested](Resume)
///   it, the next ReadyForQuery `E` goes out as `T`.
#[derive(Debug)]
pub struct BackendFilter {
    header: Vec<u8>,
    body_left: usize,
    dropping: bool,
    /// A CommandComplete or ReadyForQuery being collected (header included)
    /// until its end.
    tag: Option<Vec<u8>>,
    resume: Arc<Resume>,
}

impl Default for BackendFilter {
    fn default() -> Self {
        BackendFilter::new(Arc::new(Resume::default()))
    }
}

/// A failed transaction block that the server resumed (ROLLBACK TO
/// SAVEPOINT): the statement's handler [requests](Resume::request) it, the
/// output filter sends the ReadyForQuery that follows as `T` (in a
/// transaction block) instead of `E`, and the connection loop
/// [takes](Resume::take) it to set the connection's status to match.
#[derive(Debug, Default)]
pub struct Resume(AtomicU8);

const RESUME_NONE: u8 = 0;
const RESUME_REQUESTED: u8 = 1;
const RESUME_SENT: u8 = 2;

impl Resume {
    /// Asks for the failed transaction block to go on.
    pub fn request(&self) {
        self.0.store(RESUME_REQUESTED, Ordering::Release);
    }

    /// Whether a resume was requested since the last call; clears it.
    pub fn take(&self) -> bool {
        self.0.swap(RESUME_NONE, Ordering::AcqRel) != RESUME_NONE
    }

    fn rewrite_ready(&self) -> bool {
        self.0
            .compare_exchange(
                RESUME_REQUESTED,
                RESUME_SENT,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }
}

/// The longest CommandComplete held to rewrite its tag; longer ones pass.
const MAX_HELD_TAG: usize = 64;

impl BackendFilter {
    /// A filter that answers `resume`'s requests.
    pub fn new(resume: Arc<Resume>) -> Self {
        BackendFilter {
            header: Vec::new(),
            body_left: 0,
            dropping: false,
            tag: None,
            resume,
        }
    }

    /// Appends to `out` the bytes of `input` that are not part of a dropped
    /// message, keeping the framing state across calls.
    pub fn filter(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            if self.body_left > 0 {
                let n = self.body_left.min(input.len() - i);
                if let Some(tag) = self.tag.as_mut() {
                    tag.extend_from_slice(&input[i..i + n]);
                } else if !self.dropping {
                    out.extend_from_slice(&input[i..i + n]);
                }
                self.body_left -= n;
                i += n;
                if self.body_left == 0
                    && let Some(tag) = self.tag.take()
                {
                    if tag[0] == b'Z' {
                        out.extend_from_slice(&self.ready(tag));
                    } else {
                        out.extend_from_slice(&postgres_tag(tag));
                    }
                }
                continue;
            }
            self.header.push(input[i]);
            i += 1;
            if self.header.len() == 5 {
                let len = i32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                self.body_left = usize::try_from(len).unwrap_or(4).saturating_sub(4);
                self.dropping = self.header[0] == b'f';
                let held = match self.header[0] {
                    b'C' => self.body_left <= MAX_HELD_TAG,
                    b'Z' => self.body_left == 1,
                    _ => false,
                };
                if held && self.body_left > 0 {
                    self.tag = Some(std::mem::take(&mut self.header));
                } else if !self.dropping {
                    out.extend_from_slice(&self.header);
                }
                self.header.clear();
            }
        }
    }
}

impl BackendFilter {
    /// A whole ReadyForQuery: `E` becomes `T` when a resume was requested.
    fn ready(&self, mut message: Vec<u8>) -> Vec<u8> {
        if message.get(5) == Some(&b'E') && self.resume.rewrite_ready() {
            message[5] = b'T';
        }
        message
    }
}

/// A whole CommandComplete message as PostgreSQL words it: `SHOW n` → `SHOW`.
fn postgres_tag(message: Vec<u8>) -> Vec<u8> {
    let body = &message[5..];
    let counted_show = body
        .strip_prefix(b"SHOW ")
        .and_then(|rest| rest.strip_suffix(b"\0"))
        .is_some_and(|count| !count.is_empty() && count.iter().all(u8::is_ascii_digit));
    if !counted_show {
        return message;
    }
    let mut fixed = vec![b'C'];
    fixed.extend_from_slice(&(4 + 5i32).to_be_bytes());
    fixed.extend_from_slice(b"SHOW\0");
    fixed
}

impl<T: AsyncWrite + Unpin> Guarded<T> {
    /// Writes what the filter let through and has not been written yet.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.out) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the connection accepts no more bytes",
                    )));
                }
                Poll::Ready(Ok(n)) => {
                    self.out.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    /// Takes all of `buf` once the previous write is out (so at most one
    /// caller buffer is held), filtered by [`BackendFilter`].
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        let mut out = std::mem::take(&mut this.out);
        this.backend.filter(buf, &mut out);
        this.out = out;
        // Written or not yet, the bytes are taken; poll_flush finishes them.
        if let Poll::Ready(Err(e)) = this.poll_pending(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_pending(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
