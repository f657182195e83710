//! [`Guarded`]: a socket whose read side releases only validated messages.

use std::io;
use std::pin::Pin;
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
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The validator, e.g. to see how many bytes of an incomplete message it
    /// holds back.
    pub fn frames(&self) -> &Frames {
        &self.frames
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

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
