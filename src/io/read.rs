//! The sync adapter: a [`Demuxer`] fed from a `std::io::Read`, as an `Iterator`.

use std::io::{ErrorKind as IoKind, Read};
use std::ops::ControlFlow;

use bytes::Bytes;

use crate::demux::{DemuxOptions, Demuxer, Event, Pull};
use crate::error::Error;
use crate::io::buffers::ReadBuffers;
use crate::io::items::{Fragments, Frames};
use crate::io::read_size::ReadSize;

/// Default size of one read: 64 KiB.
pub const DEFAULT_READ_SIZE: usize = 64 * 1024;

/// Reads a stream through a [`Demuxer`], yielding its events.
///
/// Each read (64 KiB by default, doubling up to 16 times that while reads come back full,
/// halving when they do not) goes into a reused buffer of its own and is pushed whole:
/// frames are slices of it. A short read is copied to its exact size instead, so that a
/// trickling stream never pins large buffers.
/// Truncation is yielded as an `Err` item; iteration may continue after it to receive the
/// closing events. I/O errors end the iteration.
///
/// ```
/// use kinesis_video_parser::{Event, ReadDemuxer};
/// let bytes: &[u8] = &[0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xFF];
/// let events: Vec<_> = ReadDemuxer::new(bytes).collect::<Result<_, _>>()?;
/// assert!(matches!(events.last(), Some(Event::FragmentEnd(m)) if m.complete && m.frames == 0));
/// # Ok::<(), kinesis_video_parser::Error>(())
/// ```
#[derive(Debug)]
pub struct ReadDemuxer<R> {
    demux: Demuxer,
    source: Source<R>,
}

/// What feeds the core as its input runs out: the pieces, and whether a read failed.
#[derive(Debug)]
struct Source<R> {
    pieces: Pieces<R>,
    failed: bool,
}

impl<R: Read> Pull for Source<R> {
    type Out = Option<Result<Event, Error>>;

    #[inline(always)]
    fn ready(ev: Event) -> Self::Out {
        Some(Ok(ev))
    }

    /// Reads once (at end of input, finishes the core). Out of line: the driver's loop
    /// stays small.
    #[inline(never)]
    fn need_more(&mut self, d: &mut Demuxer, _: usize) -> ControlFlow<Self::Out> {
        match self.pieces.push_next(d) {
            Ok(false) => {}
            Ok(true) => d.finish(),
            Err(e) => {
                self.failed = true;
                return ControlFlow::Break(Some(Err(Error::io(&e, d.pushed()))));
            }
        }
        ControlFlow::Continue(())
    }

    #[inline(always)]
    fn done() -> Self::Out {
        None
    }

    #[inline(always)]
    fn error(e: Error) -> Self::Out {
        Some(Err(e))
    }
}

/// A `std::io::Read` as pieces for a core, by the adapters' read rule (see [`crate::io`]):
/// the one read loop of the sync adapter (so of the clipper and the image extractor too)
/// and of the merger.
#[derive(Debug)]
pub(crate) struct Pieces<R> {
    read: R,
    size: ReadSize,
    bufs: ReadBuffers,
}

impl<R: Read> Pieces<R> {
    /// Pieces of `read`, reads starting at `base` bytes (growing to 16 times that).
    pub(crate) fn new(read: R, base: usize) -> Self {
        Pieces { read, size: ReadSize::new(base, base.saturating_mul(16)), bufs: ReadBuffers::default() }
    }

    /// The next piece read (an interrupted read is retried); `None` at the end of input.
    ///
    /// # Errors
    /// The source's I/O error, as it is.
    pub(crate) fn next_piece(&mut self) -> std::io::Result<Option<Bytes>> {
        let size = self.size.next();
        loop {
            match self.read.read(self.bufs.window(size)) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.size.after(n, size);
                    return Ok(Some(self.bufs.piece(n, size)));
                }
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads once into `d`: the rest of a leaf whose start it holds, when that fits in a
    /// read, else the next piece. `true` at the end of input.
    ///
    /// # Errors
    /// The source's I/O error, after what came before it was pushed.
    fn push_next(&mut self, d: &mut Demuxer) -> std::io::Result<bool> {
        match d.unfinished_leaf() {
            Some((queued, needed)) if needed <= self.size.next() => self.rest_of_leaf(d, queued, needed),
            _ => Ok(match self.next_piece()? {
                Some(piece) => {
                    d.push(piece);
                    false
                }
                None => true,
            }),
        }
    }

    /// Reads the rest of the leaf `d` is buffering (`needed` bytes after the `queued` ones)
    /// into one buffer after its start, taken out of `d`, and pushes it; the buffer has room
    /// for a read past the leaf too. The start is copied once rather than the whole leaf
    /// gathered from two reads. What was read is pushed whatever happens; `true` at the end
    /// of input.
    ///
    /// # Errors
    /// The source's I/O error, after what came before it was pushed.
    fn rest_of_leaf(&mut self, d: &mut Demuxer, queued: usize, needed: usize) -> std::io::Result<bool> {
        let whole = queued + needed;
        let window = self.bufs.window(whole.max(self.size.next()));
        let mut filled = 0;
        d.unqueue(|b| {
            window[filled..filled + b.len()].copy_from_slice(b);
            filled += b.len();
        });
        let mut end = Ok(false);
        while filled < whole {
            match self.read.read(&mut window[filled..]) {
                Ok(0) => {
                    end = Ok(true);
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == IoKind::Interrupted => {}
                Err(e) => {
                    end = Err(e);
                    break;
                }
            }
        }
        d.push(self.bufs.piece(filled, whole));
        end
    }
}

impl<R: Read> ReadDemuxer<R> {
    /// Reads `read` with default options.
    pub fn new(read: R) -> Self {
        Self::with_options(read, DemuxOptions::default())
    }

    /// Reads `read` with the given options.
    pub fn with_options(read: R, options: DemuxOptions) -> Self {
        ReadDemuxer {
            demux: Demuxer::with_options(options),
            source: Source { pieces: Pieces::new(read, DEFAULT_READ_SIZE), failed: false },
        }
    }

    /// Sets the size of one read (at least 1 byte).
    pub fn with_read_size(mut self, bytes: usize) -> Self {
        self.source.pieces = Pieces::new(self.source.pieces.read, bytes);
        self
    }

    /// The core, for its accessors (position, tracks, current fragment).
    pub fn demuxer(&self) -> &Demuxer {
        &self.demux
    }

    /// Only the frames (other events are dropped; truncation is still an `Err`).
    pub fn frames(self) -> Frames<Self> {
        Frames::new(self)
    }

    /// Whole fragments.
    pub fn fragments(self) -> Fragments<Self> {
        Fragments::new(self)
    }
}

impl<R: Read> Iterator for ReadDemuxer<R> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.source.failed {
            return None;
        }
        self.demux.pull(&mut self.source)
    }
}
