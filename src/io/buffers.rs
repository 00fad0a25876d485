//! The adapters' read buffers: reused whole while a stream is fast, let go when it slows.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::io::read_size::is_short;

/// Read buffers reused whole, so that a steady stream reads into memory it used before
/// (still in cache, already mapped and initialized) instead of a fresh buffer per read:
/// the buffer policy of both adapters, sync and async.
///
/// Each read goes into a buffer of its own. For a `std::io::Read` it stays initialized from
/// one use to the next: a buffer is zeroed once, when it is allocated, never again when it
/// is reused (safe code cannot read into memory it has not initialized, and `BytesMut`
/// forgets that its spare capacity was); tokio reads into spare capacity, so the async
/// adapter's buffers are never zeroed. A fresh buffer per read costs more than the copy
/// into it: a large one is mapped anew by the allocator and faults in page by page. A read
/// of `n` bytes is handed out as a zero-copy slice of its buffer; the buffer is reused once
/// every such slice is gone (frames dropped, bytes parsed). A few buffers are kept; when
/// none is free a new one is allocated and the oldest is let go (it is freed when its last
/// slice goes), so a consumer that keeps frames never makes the adapter hold more than
/// `KEPT` buffers besides them.
///
/// When a stream slows (a read comes back short: it is copied to its size), the kept
/// buffers are let go, and a buffer much larger than the reads asked for is replaced by
/// one of their size, so that an idle stream holds about one read's worth.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffers {
    /// Buffers (frozen; a sync adapter's initialized over their whole length), oldest first.
    kept: VecDeque<Bytes>,
    /// The buffer being read into, between `window` and `piece`.
    cur: BytesMut,
}

/// How many read buffers are kept for reuse.
const KEPT: usize = 3;

/// A buffer more than this many times the size asked for is replaced by a smaller one.
const SLACK: usize = 2;

impl ReadBuffers {
    /// A window of `want` bytes to read into.
    #[inline]
    pub(crate) fn window(&mut self, want: usize) -> &mut [u8] {
        if self.cur.len() < want || self.cur.len() > want.saturating_mul(SLACK) {
            self.cur = self.free(want).unwrap_or_else(|| BytesMut::zeroed(want));
        }
        &mut self.cur[..want]
    }

    /// An empty buffer with room for `want` bytes to read into, for a reader that writes
    /// into spare capacity (tokio's `poll_read_buf`): a kept one with that room if one is
    /// free, else a fresh one, not zeroed (nothing reads it before it is written).
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn spare(&mut self, want: usize) -> &mut BytesMut {
        let room = self.cur.capacity();
        if room < want || room > want.saturating_mul(SLACK) {
            self.cur = self.free_room(want).unwrap_or_else(|| BytesMut::with_capacity(want));
        }
        self.cur.clear();
        &mut self.cur
    }

    /// A kept buffer with room for `want` to `SLACK` times `want` bytes that nothing else
    /// refers to any more, taken out of the list (the first free one is taken, and let go
    /// if its room does not fit).
    #[cfg(feature = "tokio")]
    fn free_room(&mut self, want: usize) -> Option<BytesMut> {
        let i = self.kept.iter().position(Bytes::is_unique)?;
        let buf = self.kept.remove(i)?.try_into_mut().ok()?;
        let room = buf.capacity();
        (room >= want && room <= want.saturating_mul(SLACK)).then_some(buf)
    }

    /// A kept buffer of `want` to `SLACK` times `want` bytes that nothing else refers to any
    /// more, taken out of the list (writable again, its bytes as they were).
    fn free(&mut self, want: usize) -> Option<BytesMut> {
        let fits = |b: &Bytes| b.len() >= want && b.len() <= want.saturating_mul(SLACK) && b.is_unique();
        let i = self.kept.iter().position(fits)?;
        let buf = self.kept.remove(i)?;
        buf.try_into_mut().ok()
    }

    /// What was just read into the [`spare`](Self::spare) buffer, as a piece for the core,
    /// by the same rule as [`piece`](Self::piece).
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn spare_piece(&mut self, want: usize) -> Bytes {
        let n = self.cur.len();
        self.piece(n, want)
    }

    /// The first `n` bytes of the window just read into, as a piece for the core. A read
    /// much shorter than `want` is copied to its size (the buffer is reused as it is, the
    /// kept ones let go), so that a trickling stream never pins a buffer.
    #[inline]
    pub(crate) fn piece(&mut self, n: usize, want: usize) -> Bytes {
        if is_short(n, want) {
            self.kept.clear();
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

    /// Bytes held by the buffers (kept or being read into), whether or not slices of them
    /// are still out.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.cur.len() + self.kept.iter().map(Bytes::len).sum::<usize>()
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

    /// Reads `fill` into spare room for `want` bytes, `n` of them.
    #[cfg(feature = "tokio")]
    fn read_spare(bufs: &mut ReadBuffers, want: usize, n: usize, fill: u8) -> Bytes {
        bufs.spare(want).extend_from_slice(&vec![fill; n]);
        bufs.spare_piece(want)
    }

    #[test]
    fn buffers_are_reused_once_their_pieces_are_gone() {
        check_reuse(read);
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn spare_buffers_are_reused_once_their_pieces_are_gone() {
        check_reuse(read_spare);
        let mut bufs = ReadBuffers::default();
        drop(read_spare(&mut bufs, 1000, 1000, 1));
        let short = read_spare(&mut bufs, 1000, 10, 4);
        assert_eq!(&short[..], &[4; 10]);
        assert!(bufs.kept.is_empty(), "a short read lets the kept buffers go");
    }

    /// The reuse rules, through either kind of read.
    fn check_reuse(read: fn(&mut ReadBuffers, usize, usize, u8) -> Bytes) {
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

    #[test]
    fn a_stream_that_slows_down_lets_its_buffers_go() {
        let mut bufs = ReadBuffers::default();
        // Fast: full reads of 256 KiB, their pieces dropped (buffers reused).
        for _ in 0..8 {
            drop(read(&mut bufs, 256 << 10, 256 << 10, 1));
        }
        assert!(bufs.held() >= 256 << 10);
        // Idle: short reads while the read size falls back to 8 KiB.
        for want in [128 << 10, 64 << 10, 32 << 10, 16 << 10, 8 << 10, 8 << 10] {
            let p = read(&mut bufs, want, 100, 2);
            assert_eq!(&p[..], &[2; 100]);
        }
        assert!(bufs.held() <= 16 << 10, "an idle stream holds {} bytes", bufs.held());
    }
}
