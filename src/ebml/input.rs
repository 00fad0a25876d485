//! The input queue: the `Bytes` pieces pushed so far, consumed from the front.
//!
//! Bodies that lie inside one piece are handed out as zero-copy slices of it. A body that
//! spans pieces is gathered once into a new buffer (the only copy the parser ever makes);
//! the adapters make this rare: they read in large blocks, and the sync one reads the rest
//! of a leaf whose start is queued into one buffer after that start (see [`Input::drain`]),
//! so that only the start is copied. Skipped bytes are dropped without being gathered.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

#[derive(Debug, Default)]
pub(crate) struct Input {
    chunks: VecDeque<Bytes>,
    len: usize,
    /// Absolute offset of the first byte in the queue.
    pos: u64,
}

impl Input {
    pub fn push(&mut self, b: Bytes) {
        if !b.is_empty() {
            self.len += b.len();
            self.chunks.push_back(b);
        }
    }

    /// Bytes available.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Absolute offset of the next byte.
    #[inline]
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// Up to `max` bytes from the front, contiguous: straight from the first piece when it
    /// is long enough, else copied into `scratch`.
    #[inline]
    pub fn peek<'a>(&'a self, scratch: &'a mut [u8; 16], max: usize) -> &'a [u8] {
        let max = max.min(16).min(self.len);
        match self.chunks.front() {
            Some(c) if c.len() >= max => &c[..max],
            _ => {
                let mut n = 0;
                for c in &self.chunks {
                    let k = (max - n).min(c.len());
                    scratch[n..n + k].copy_from_slice(&c[..k]);
                    n += k;
                    if n == max {
                        break;
                    }
                }
                &scratch[..n]
            }
        }
    }

    /// Up to 16 bytes starting `at` bytes past the front, contiguous (copied into `scratch`
    /// when they span pieces).
    pub fn peek_at<'a>(&'a self, at: usize, scratch: &'a mut [u8; 16]) -> &'a [u8] {
        let want = 16.min(self.len.saturating_sub(at));
        let mut skip = at;
        let mut n = 0;
        for c in &self.chunks {
            if skip >= c.len() {
                skip -= c.len();
                continue;
            }
            let avail = &c[skip..];
            skip = 0;
            if n == 0 && avail.len() >= want {
                return &avail[..want];
            }
            let k = (want - n).min(avail.len());
            scratch[n..n + k].copy_from_slice(&avail[..k]);
            n += k;
            if n == want {
                break;
            }
        }
        &scratch[..n]
    }

    /// Positions (relative to the front) in `from..to` holding `byte`, in order, at most
    /// until `f` returns `true`; returns that position.
    pub fn find_byte(&self, byte: u8, from: usize, to: usize, mut f: impl FnMut(usize) -> bool) -> Option<usize> {
        let mut base = 0;
        for c in &self.chunks {
            let (lo, hi) = (from.max(base), to.min(base + c.len()));
            if lo < hi {
                let mut i = lo - base;
                while let Some(k) = memchr::memchr(byte, &c[i..hi - base]) {
                    let at = base + i + k;
                    if f(at) {
                        return Some(at);
                    }
                    i += k + 1;
                }
            }
            base += c.len();
            if base >= to {
                break;
            }
        }
        None
    }

    /// The first piece, as much as is contiguous.
    #[inline]
    pub fn front(&self) -> &[u8] {
        self.chunks.front().map_or(&[], |c| &c[..])
    }

    /// Makes the first `n` queued bytes one piece (copying them once if they span pieces),
    /// so that [`front`](Self::front) holds them. Does nothing when fewer are queued.
    pub fn make_contiguous(&mut self, n: usize) {
        if n > self.len || self.chunks.front().is_some_and(|c| c.len() >= n) {
            return;
        }
        let mut out = BytesMut::with_capacity(n);
        while out.len() < n {
            let mut c = self.chunks.pop_front().expect("n within len");
            let k = (n - out.len()).min(c.len());
            out.extend_from_slice(&c.split_to(k));
            if !c.is_empty() {
                self.chunks.push_front(c);
            }
        }
        self.chunks.push_front(out.freeze());
    }

    /// Hands every queued byte to `to`, in order, and empties the queue; the position is
    /// kept (the next byte pushed is the first of those again).
    pub fn drain(&mut self, mut to: impl FnMut(&[u8])) {
        self.chunks.drain(..).for_each(|c| to(&c));
        self.len = 0;
    }

    /// Removes and returns the first `n` bytes (`n <= len`).
    pub fn take(&mut self, n: usize) -> Bytes {
        debug_assert!(n <= self.len);
        if n == 0 {
            return Bytes::new();
        }
        self.len -= n;
        self.pos += n as u64;
        let front = self.chunks.front_mut().expect("take within len");
        if front.len() > n {
            return front.split_to(n);
        }
        if front.len() == n {
            return self.chunks.pop_front().expect("front exists");
        }
        let mut out = BytesMut::with_capacity(n);
        while out.len() < n {
            let c = self.chunks.front_mut().expect("take within len");
            let k = (n - out.len()).min(c.len());
            out.extend_from_slice(&c[..k]);
            if k == c.len() {
                self.chunks.pop_front();
            } else {
                let _ = c.split_to(k);
            }
        }
        out.freeze()
    }

    /// Consumes `skip + n` bytes that lie in the first piece and returns the last `n` of
    /// them as a zero-copy slice of it (at most one reference-count increment).
    #[inline(always)]
    pub fn take_after(&mut self, skip: usize, n: usize) -> Bytes {
        let front = self.chunks.front_mut().expect("take_after within the first piece");
        debug_assert!(skip + n <= front.len());
        let mut out = if skip + n == front.len() {
            self.chunks.pop_front().expect("front exists")
        } else {
            front.split_to(skip + n)
        };
        bytes::Buf::advance(&mut out, skip);
        self.len -= skip + n;
        self.pos += (skip + n) as u64;
        out
    }

    /// Drops up to `n` bytes from the front; returns how many were dropped.
    #[inline]
    pub fn skip(&mut self, n: u64) -> u64 {
        // The common case, inside the first piece, without the general walk.
        if let Some(front) = self.chunks.front_mut().filter(|c| c.len() as u64 > n) {
            bytes::Buf::advance(front, n as usize);
            self.len -= n as usize;
            self.pos += n;
            return n;
        }
        self.skip_with(n, |_| {})
    }

    /// Like [`skip`](Self::skip), showing each dropped run of bytes to `seen` first.
    pub fn skip_with(&mut self, n: u64, mut seen: impl FnMut(&[u8])) -> u64 {
        let mut left = n.min(self.len as u64) as usize;
        let done = left;
        while left > 0 {
            let c = self.chunks.front_mut().expect("skip within len");
            if c.len() <= left {
                left -= c.len();
                seen(c);
                self.chunks.pop_front();
            } else {
                seen(&c[..left]);
                bytes::Buf::advance(c, left);
                left = 0;
            }
        }
        self.len -= done;
        self.pos += done as u64;
        done as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_within_and_across_pieces() {
        let mut q = Input::default();
        q.push(Bytes::from_static(b"abc"));
        q.push(Bytes::from_static(b""));
        q.push(Bytes::from_static(b"defg"));
        let mut s = [0u8; 16];
        assert_eq!(q.peek(&mut s, 5), b"abcde");
        assert_eq!(&q.take(2)[..], b"ab");
        assert_eq!(&q.take(3)[..], b"cde");
        assert_eq!(q.pos(), 5);
        assert_eq!(q.skip(10), 2);
        assert_eq!(q.len(), 0);
        assert_eq!(q.pos(), 7);
        assert!(q.take(0).is_empty());
    }

    #[test]
    fn peek_at_and_find_byte_across_pieces() {
        let mut q = Input::default();
        for p in [&b"xx\x1a"[..], b"E", b"yy\x1az"] {
            q.push(Bytes::copy_from_slice(p));
        }
        let mut s = [0u8; 16];
        assert_eq!(q.peek_at(2, &mut s), b"\x1aEyy\x1az");
        assert_eq!(q.peek_at(6, &mut s), b"\x1az");
        let mut seen = vec![];
        assert_eq!(
            q.find_byte(0x1a, 0, 8, |p| {
                seen.push(p);
                false
            }),
            None
        );
        assert_eq!(seen, [2, 6]);
        assert_eq!(q.find_byte(0x1a, 3, 8, |_| true), Some(6));
        assert_eq!(q.find_byte(0x1a, 0, 6, |_| true), Some(2));
    }

    #[test]
    fn make_contiguous_joins_pieces_without_moving() {
        let mut i = Input::default();
        for c in [&b"ab"[..], b"cde", b"fg"] {
            i.push(Bytes::copy_from_slice(c));
        }
        i.make_contiguous(4);
        assert_eq!(i.front(), b"abcd");
        assert_eq!((i.len(), i.pos()), (7, 0));
        assert_eq!(&i.take(7)[..], b"abcdefg");
        i.push(Bytes::from_static(b"xy"));
        i.make_contiguous(3);
        assert_eq!(i.front(), b"xy", "more than is queued: unchanged");
    }

    #[test]
    fn take_after_slices_the_first_piece() {
        let src = Bytes::from_static(b"0123456789");
        let mut q = Input::default();
        q.push(src.clone());
        q.push(Bytes::from_static(b"ab"));
        let t = q.take_after(2, 3);
        assert_eq!((&t[..], t.as_ptr()), (&b"234"[..], src[2..].as_ptr()));
        assert_eq!((q.pos(), q.len()), (5, 7));
        assert_eq!(&q.take_after(1, 4)[..], b"6789");
        assert_eq!((q.front(), q.pos()), (&b"ab"[..], 10));
    }

    #[test]
    fn take_inside_one_piece_is_zero_copy() {
        let src = Bytes::from_static(b"0123456789");
        let mut q = Input::default();
        q.push(src.clone());
        let _ = q.take(3);
        let t = q.take(4);
        assert_eq!(t.as_ptr(), src[3..].as_ptr());
    }
}
