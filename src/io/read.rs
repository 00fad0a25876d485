//! The sync adapter: a [`Demuxer`] fed from a `std::io::Read`, as an `Iterator`.

use std::io::{ErrorKind as IoKind, Read};

use bytes::BytesMut;

use crate::demux::{Demuxer, Event, FragmentAssembler, Options};
use crate::error::Error;
use crate::frame::{Fragment, Frame};
use crate::Status;

/// Default size of one read: 64 KiB.
pub const DEFAULT_READ_SIZE: usize = 64 * 1024;

/// Reads a stream through a [`Demuxer`], yielding its events.
///
/// Each read (64 KiB by default, growing up to 16 times that while reads come back full)
/// goes into one of two buffers used in turn and is pushed whole: frames are slices of it.
/// A short read is copied to its exact size instead, so that a trickling stream never pins
/// large buffers.
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
    read: R,
    read_size: usize,
    cur_read: usize,
    bufs: ReadBuffers,
    failed: bool,
}

/// A read buffer as a piece for the core: whole (zero-copy) when it is mostly full, copied
/// to its exact size when a short read would otherwise pin a large allocation.
#[cfg(feature = "tokio")]
pub(crate) fn right_sized(buf: BytesMut) -> bytes::Bytes {
    if buf.len() * 4 < buf.capacity() {
        bytes::Bytes::copy_from_slice(&buf)
    } else {
        buf.freeze()
    }
}

/// Two read buffers used in turn, so that a steady stream reads into memory it used before
/// (still in cache, already mapped and zeroed) instead of a fresh buffer per read.
///
/// A buffer is zeroed once when it is (re)gained; each read fills a window at its front,
/// which is split off as a zero-copy piece. When the current buffer has too little left,
/// the other one is taken back whole if every piece cut from it is gone (frames dropped,
/// bytes parsed), else a new allocation replaces it; so at most two allocations are held
/// besides the pieces still in use.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffers {
    /// The unused, initialized rest of the current buffer.
    cur: BytesMut,
    other: BytesMut,
}

impl ReadBuffers {
    /// A window of `want` bytes to read into.
    pub fn window(&mut self, want: usize) -> &mut [u8] {
        if self.cur.len() < want {
            std::mem::swap(&mut self.cur, &mut self.other);
            self.cur.clear();
            if !self.cur.try_reclaim(want) {
                self.cur = BytesMut::with_capacity(2 * want);
            }
            let all = self.cur.capacity();
            self.cur.resize(all, 0);
        }
        &mut self.cur[..want]
    }

    /// The first `n` bytes of the window just read into, as a piece for the core. A read
    /// much shorter than `want` is copied to its size (the window is reused), so that a
    /// trickling stream never pins a buffer.
    pub fn piece(&mut self, n: usize, want: usize) -> bytes::Bytes {
        if n * 4 < want {
            bytes::Bytes::copy_from_slice(&self.cur[..n])
        } else {
            self.cur.split_to(n).freeze()
        }
    }
}

impl<R: Read> ReadDemuxer<R> {
    /// Reads `read` with default options.
    pub fn new(read: R) -> Self {
        Self::with_options(read, Options::default())
    }

    /// Reads `read` with the given options.
    pub fn with_options(read: R, options: Options) -> Self {
        ReadDemuxer {
            demux: Demuxer::with_options(options),
            read,
            read_size: DEFAULT_READ_SIZE,
            cur_read: DEFAULT_READ_SIZE,
            bufs: ReadBuffers::default(),
            failed: false,
        }
    }

    /// Sets the size of one read (at least 1 byte).
    pub fn with_read_size(mut self, bytes: usize) -> Self {
        self.read_size = bytes.max(1);
        self.cur_read = self.read_size;
        self
    }

    /// The core, for its accessors (position, tracks, current fragment).
    pub fn demuxer(&self) -> &Demuxer {
        &self.demux
    }

    /// Only the frames (other events are dropped; truncation is still an `Err`).
    pub fn frames(self) -> Frames<R> {
        Frames(self)
    }

    /// Whole fragments.
    pub fn fragments(self) -> Fragments<R> {
        Fragments { inner: self, asm: FragmentAssembler::new() }
    }

    /// Reads once (at end of input, finishes the core). Out of line: `next` stays small
    /// enough to inline into the caller's loop, where a frame is built where it is used.
    #[inline(never)]
    fn fill(&mut self) -> Result<(), Error> {
        // Declared sizes are not trusted for allocation: the read size adapts to what
        // actually arrives, from the configured size up to 16 times it.
        let size = self.cur_read;
        loop {
            match self.read.read(self.bufs.window(size)) {
                Ok(0) => {
                    self.demux.finish();
                    return Ok(());
                }
                Ok(n) => {
                    self.cur_read = if n == size { (size * 2).min(self.read_size * 16) } else { self.read_size };
                    let piece = self.bufs.piece(n, size);
                    self.demux.push(piece);
                    return Ok(());
                }
                Err(e) if e.kind() == IoKind::Interrupted => continue,
                Err(e) => {
                    let err = Error::from(e);
                    return Err(Error::new(err.kind(), self.demux.position()));
                }
            }
        }
    }
}

impl<R: Read> Iterator for ReadDemuxer<R> {
    type Item = Result<Event, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            match self.demux.poll() {
                Ok(Status::Ready(ev)) => return Some(Ok(ev)),
                Ok(Status::Done) => return None,
                Ok(Status::NeedMore(_)) => {
                    if let Err(e) = self.fill() {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Frame-at-a-time iterator; see [`ReadDemuxer::frames`].
#[derive(Debug)]
pub struct Frames<R>(ReadDemuxer<R>);

impl<R: Read> Iterator for Frames<R> {
    type Item = Result<Frame, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.0.next()? {
                Ok(Event::Frame(f)) => return Some(Ok(f)),
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Whole-fragment iterator; see [`ReadDemuxer::fragments`].
#[derive(Debug)]
pub struct Fragments<R> {
    inner: ReadDemuxer<R>,
    asm: FragmentAssembler,
}

impl<R: Read> Iterator for Fragments<R> {
    type Item = Result<Fragment, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.inner.next()? {
                Ok(ev) => {
                    if let Some(f) = self.asm.push(ev) {
                        return Some(Ok(f));
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
