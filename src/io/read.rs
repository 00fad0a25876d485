//! The sync adapter: a [`Demuxer`] fed from a `std::io::Read`, as an `Iterator`.

use std::collections::VecDeque;
use std::io::{ErrorKind as IoKind, Read};
use std::ops::ControlFlow;

use bytes::{Bytes, BytesMut};

use crate::demux::{DemuxOptions, Demuxer, Event, Pull};
use crate::error::Error;
use crate::io::items::{Fragments, Frames};
use crate::io::read_size::{is_short, ReadSize};

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
        match self.pieces.next_piece() {
            Ok(Some(piece)) => d.push(piece),
            Ok(None) => d.finish(),
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
}

/// Read buffers reused whole, so that a steady stream reads into memory it used before
/// (still in cache, already mapped and initialized) instead of a fresh buffer per read.
///
/// Each read goes into a buffer of its own, which stays initialized from one use to the
/// next: a buffer is zeroed once, when it is allocated, never again when it is reused
/// (safe code cannot read into memory it has not initialized, and `BytesMut` forgets that
/// its spare capacity was). A read of `n` bytes is handed out as a zero-copy slice of its
/// buffer; the buffer is reused once every such slice is gone (frames dropped, bytes
/// parsed). A few buffers are kept; when none is free a new one is allocated and the oldest
/// is let go (it is freed when its last slice goes), so a consumer that keeps frames never
/// makes the adapter hold more than `KEPT` buffers besides them.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffers {
    /// Buffers (frozen, initialized over their whole length), oldest first.
    kept: VecDeque<Bytes>,
    /// The buffer being read into, between `window` and `piece`.
    cur: BytesMut,
}

/// How many read buffers are kept for reuse.
const KEPT: usize = 3;

impl ReadBuffers {
    /// A window of `want` bytes to read into.
    pub fn window(&mut self, want: usize) -> &mut [u8] {
        if self.cur.len() < want {
            self.cur = self.free(want).unwrap_or_else(|| BytesMut::zeroed(want));
        }
        &mut self.cur[..want]
    }

    /// A kept buffer of at least `want` bytes that nothing else refers to any more, taken
    /// out of the list (writable again, its bytes as they were).
    fn free(&mut self, want: usize) -> Option<BytesMut> {
        let i = self.kept.iter().position(|b| b.len() >= want && b.is_unique())?;
        let buf = self.kept.remove(i)?;
        buf.try_into_mut().ok()
    }

    /// The first `n` bytes of the window just read into, as a piece for the core. A read
    /// much shorter than `want` is copied to its size (the buffer is reused as it is), so
    /// that a trickling stream never pins a buffer.
    pub fn piece(&mut self, n: usize, want: usize) -> Bytes {
        if is_short(n, want) {
            return Bytes::copy_from_slice(&self.cur[..n]);
        }
        let buf = std::mem::take(&mut self.cur).freeze();
        let piece = buf.slice(..n);
        if self.kept.len() == KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(buf);
        piece
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `fill` into a window of `want` bytes, `n` of them kept.
    fn read(bufs: &mut ReadBuffers, want: usize, n: usize, fill: u8) -> Bytes {
        bufs.window(want)[..n].fill(fill);
        bufs.piece(n, want)
    }

    #[test]
    fn buffers_are_reused_once_their_pieces_are_gone() {
        let mut bufs = ReadBuffers::default();
        let a = read(&mut bufs, 1000, 1000, 1);
        let first = a.as_ptr();
        drop(a);
        let b = read(&mut bufs, 1000, 900, 2);
        assert_eq!(b.as_ptr(), first, "a free buffer is read into again");
        // While `b` is held, its buffer is not written: the next read goes elsewhere.
        let c = read(&mut bufs, 1000, 1000, 3);
        assert_ne!(c.as_ptr(), b.as_ptr());
        assert!(b.iter().all(|&x| x == 2) && b.len() == 900);
        assert!(c.iter().all(|&x| x == 3));
        // A larger read than any kept buffer gets a new one.
        let d = read(&mut bufs, 4000, 4000, 4);
        assert_eq!(d.len(), 4000);
        assert!(b.iter().all(|&x| x == 2) && c.iter().all(|&x| x == 3));
    }

    #[test]
    fn short_reads_are_copied_and_held_buffers_are_let_go() {
        let mut bufs = ReadBuffers::default();
        let short = read(&mut bufs, 1000, 10, 7);
        assert_eq!(&short[..], &[7; 10]);
        let full = read(&mut bufs, 1000, 1000, 8);
        assert_ne!(short.as_ptr(), full.as_ptr(), "the short read was copied out of the buffer");
        // Pieces held forever: the adapter keeps at most KEPT buffers of its own.
        let held: Vec<Bytes> = (0..10).map(|i| read(&mut bufs, 1000, 1000, i)).collect();
        assert!(bufs.kept.len() <= KEPT);
        for (i, p) in held.iter().enumerate() {
            assert!(p.iter().all(|&x| x == i as u8), "a held piece was overwritten");
        }
    }
}
