//! Async adapters (feature `tokio`): the same core, fed from a tokio `AsyncRead`.
//!
//! [`AsyncDemuxer`] is a `futures::Stream` of events (and, through [`AsyncDemuxer::frames`]
//! and [`AsyncDemuxer::fragments`], of frames or whole fragments). [`KvsCodec`] is a
//! `tokio_util::codec::Decoder` for `FramedRead`. Neither holds parsing logic.
//!
//! Back-pressure: input is read only when the core needs more, into a buffer that starts at
//! 8 KiB and adapts to the stream's rate (up to 256 KiB, by the adapters' one rule, see
//! [`ReadSize`]), so an idle stream holds about one such read (8 to 16 KiB) plus the core's
//! state.
//! Cancel-safety: everything read is pushed into the core before `poll_next` returns, so
//! dropping a `next()` future loses nothing.

use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use tokio::io::AsyncRead;
use tokio_util::codec::Decoder;

use crate::demux::{DemuxOptions, Demuxer, Event, Pull};
use crate::error::Error;
use crate::io::buffers::ReadBuffers;
use crate::io::items::{Fragments, Frames};
use crate::io::read_size::ReadSize;
use crate::Status;

const MIN_READ: usize = 8 * 1024;
const MAX_READ: usize = 256 * 1024;

/// A [`Demuxer`] fed from a tokio `AsyncRead`, as a `Stream` of events.
///
/// Items are the same as [`ReadDemuxer`](crate::ReadDemuxer)'s: truncation is an `Err` item
/// after which the stream goes on to close the cut fragment; I/O errors end the stream.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kinesis_video_parser::Error> {
/// use futures::StreamExt;
/// use kinesis_video_parser::AsyncDemuxer;
/// let file = tokio::fs::File::open("testdata/kvs_like.mkv").await?;
/// let mut fragments = AsyncDemuxer::new(file).fragments();
/// while let Some(fragment) = fragments.next().await {
///     let fragment = fragment?;
///     println!("{:?}: {} frames", fragment.meta.kvs.fragment_number, fragment.frames.len());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncDemuxer<R> {
    demux: Demuxer,
    source: Source<R>,
}

/// What feeds the core as its input runs out: the reader, its read rule, and whether a
/// read failed.
#[derive(Debug)]
struct Source<R> {
    read: R,
    read_size: ReadSize,
    bufs: ReadBuffers,
    failed: bool,
}

/// A [`Source`] polled within one task context.
struct Polling<'a, 'c, R> {
    source: &'a mut Source<R>,
    cx: &'a mut Context<'c>,
}

impl<R: AsyncRead + Unpin> Pull for Polling<'_, '_, R> {
    type Out = Poll<Option<Result<Event, Error>>>;

    #[inline(always)]
    fn ready(ev: Event) -> Self::Out {
        Poll::Ready(Some(Ok(ev)))
    }

    /// Reads once, if the reader has bytes (at its end, finishes the core). Everything read
    /// is pushed before this returns, so a dropped `next()` future loses nothing.
    #[inline(never)]
    fn need_more(&mut self, d: &mut Demuxer, _: usize) -> ControlFlow<Self::Out> {
        let src = &mut *self.source;
        let want = src.read_size.next();
        match tokio_util::io::poll_read_buf(Pin::new(&mut src.read), self.cx, src.bufs.spare(want)) {
            Poll::Pending => return ControlFlow::Break(Poll::Pending),
            Poll::Ready(Err(e)) => {
                src.failed = true;
                return ControlFlow::Break(Poll::Ready(Some(Err(Error::io(&e, d.pushed())))));
            }
            Poll::Ready(Ok(0)) => d.finish(),
            Poll::Ready(Ok(got)) => {
                src.read_size.after(got, want);
                d.push(src.bufs.spare_piece(want));
            }
        }
        ControlFlow::Continue(())
    }

    #[inline(always)]
    fn done() -> Self::Out {
        Poll::Ready(None)
    }

    #[inline(always)]
    fn error(e: Error) -> Self::Out {
        Poll::Ready(Some(Err(e)))
    }
}

impl<R: AsyncRead + Unpin> AsyncDemuxer<R> {
    /// Reads `read` with default options.
    pub fn new(read: R) -> Self {
        Self::with_options(read, DemuxOptions::default())
    }

    /// Reads `read` with the given options.
    pub fn with_options(read: R, options: DemuxOptions) -> Self {
        AsyncDemuxer {
            demux: Demuxer::with_options(options),
            source: Source {
                read,
                read_size: ReadSize::new(MIN_READ, MAX_READ),
                bufs: ReadBuffers::default(),
                failed: false,
            },
        }
    }

    /// The core, for its accessors (position, tracks, current fragment).
    pub fn demuxer(&self) -> &Demuxer {
        &self.demux
    }

    /// Only the frames (truncation is still an `Err` item).
    pub fn frames(self) -> Frames<Self> {
        Frames::new(self)
    }

    /// Whole fragments.
    pub fn fragments(self) -> Fragments<Self> {
        Fragments::new(self)
    }
}

impl<R: AsyncRead + Unpin> Stream for AsyncDemuxer<R> {
    type Item = Result<Event, Error>;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.source.failed {
            return Poll::Ready(None);
        }
        this.demux.pull(&mut Polling { source: &mut this.source, cx })
    }
}

/// A `tokio_util::codec::Decoder` over the same core, for `FramedRead`.
///
/// Items are the core's events; errors are the crate's [`Error`]. Truncation is held back
/// until the events that close the cut fragment are out, then ends the stream as its last
/// item, so that `FramedRead` (which ends at a decoder's first error) delivers them. I/O
/// errors of the reader come out as [`ErrorKind::Io`](crate::ErrorKind::Io), message kept.
/// Bytes handed to `decode` are taken whole (zero-copy: frames are slices of them).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kinesis_video_parser::Error> {
/// use futures::StreamExt;
/// use kinesis_video_parser::{Event, KvsCodec};
/// let file = tokio::fs::File::open("testdata/kvs_like.mkv").await?;
/// let mut events = tokio_util::codec::FramedRead::new(file, KvsCodec::new());
/// let mut frames = 0;
/// while let Some(event) = events.next().await {
///     if let Event::Frame(_) = event? {
///         frames += 1;
///     }
/// }
/// assert_eq!(frames, 81);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct KvsCodec {
    demux: Demuxer,
    finished: bool,
    /// The truncation error, handed out once the closing events are.
    truncation: Option<Error>,
}

impl KvsCodec {
    /// A codec with default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// A codec with the given options.
    pub fn with_options(options: DemuxOptions) -> Self {
        KvsCodec { demux: Demuxer::with_options(options), finished: false, truncation: None }
    }

    fn next_item(&mut self) -> Result<Option<Event>, Error> {
        loop {
            match self.demux.poll() {
                Ok(Status::Ready(ev)) => return Ok(Some(ev)),
                Ok(Status::NeedMore(_)) => return Ok(None),
                Ok(Status::Done) => return self.truncation.take().map_or(Ok(None), Err),
                Err(e) => self.truncation = Some(e),
            }
        }
    }
}

impl Decoder for KvsCodec {
    type Item = Event;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Error> {
        if !src.is_empty() {
            let b: Bytes = src.split().freeze();
            self.demux.push(b);
        }
        self.next_item()
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Error> {
        if !src.is_empty() {
            let b: Bytes = src.split().freeze();
            self.demux.push(b);
        }
        if !self.finished {
            self.finished = true;
            self.demux.finish();
        }
        self.next_item()
    }
}
