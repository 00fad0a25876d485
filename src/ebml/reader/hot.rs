//! The block fast path: a block (Matroska: SimpleBlock) in the open Cluster peeked and
//! taken without an event.

use bytes::Bytes;

use crate::ebml::vint;
use crate::ebml::Schema;

use super::{ElementHeader, ElementReader, State};

/// The open Cluster as the SimpleBlock fast path sees it (see
/// [`ElementReader::hot_cluster`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HotCluster {
    /// Where the Cluster ends (`u64::MAX` for an unknown size).
    end: u64,
    /// No known size bounds it: bodies are watched for a new EBML header.
    unbounded: bool,
    /// The largest body the limits allow.
    max_size: u64,
    /// The document's EBMLMaxSizeLength.
    max_size_len: usize,
}

impl HotCluster {
    /// The same, handing over to [`ElementReader::poll`] at `end` at the latest (the
    /// demuxer's own bound on what a fragment may hold).
    #[inline]
    pub(crate) fn ending_by(mut self, end: u64) -> Self {
        self.end = self.end.min(end);
        self
    }
}

impl<S: Schema> ElementReader<S> {
    /// The open Cluster as the SimpleBlock fast path needs it, when the reader is quiet in
    /// it: between elements, nothing queued, no CRC running, no resync pending. This stays
    /// true while only [`take_simple_block`](Self::take_simple_block) consumes input; any
    /// [`poll`](Self::poll) may change it.
    #[inline]
    pub(crate) fn hot_cluster(&self) -> Option<HotCluster> {
        let quiet = matches!(self.state, State::Header)
            && self.pending.is_empty()
            && self.crcs.is_empty()
            && self.pop_to == usize::MAX
            && self.implied_segment.is_none();
        let clusters = S::CLUSTERS?;
        let cluster = self.stack.last().filter(|c| quiet && c.id == clusters.cluster)?;
        Some(HotCluster {
            end: cluster.end().unwrap_or(u64::MAX),
            unbounded: self.stack.iter().all(|o| o.size.is_none()),
            max_size: self.limits.max_element_size,
            max_size_len: self.max_size_len,
        })
    }

    /// The fast path for the element that makes up almost all of a stream: a SimpleBlock
    /// directly inside the open Cluster `hot` (from [`hot_cluster`](Self::hot_cluster)),
    /// with header and body in the first input piece.
    ///
    /// When every check [`poll`](Self::poll) makes would pass without an event of its own
    /// (a plain header that fits the Cluster and the limits, no new EBML header inside the
    /// body of an unbounded one), returns the block's header and body, which
    /// [`take_simple_block`](Self::take_simple_block) then consumes exactly as `poll` would
    /// have returned it as [`ElementEvent::Data`]. Otherwise `None` sends the caller to
    /// `poll`, which handles every case (and reports what is wrong).
    #[inline(always)]
    pub(crate) fn peek_simple_block(&self, hot: &HotCluster) -> Option<(ElementHeader, &[u8])> {
        // A constant: the schema's one-byte block ID (`hot_cluster` needs `CLUSTERS`).
        let block = S::CLUSTERS?.block;
        let front = self.input.front();
        if front.first() != Some(&(block.0 as u8)) {
            return None;
        }
        // An unknown size (damage) goes to `poll`, which reports it.
        let raw = vint::read_header(front, hot.max_size_len)?;
        let (header_len, size) = (usize::from(raw.len), raw.size?);
        // A 0x1A among the size bytes might start a new document: `poll` decides.
        if front[1..header_len].contains(&0x1A) {
            return None;
        }
        let in_front = size <= (front.len() - header_len) as u64;
        if !in_front || size > hot.max_size {
            return None;
        }
        let pos = self.input.pos();
        if pos >= hot.end || pos + (header_len as u64 + size) > hot.end {
            return None;
        }
        if hot.unbounded && !self.body_is_clear(front, header_len, size as usize) {
            return None;
        }
        Self::prefetch(front, header_len + size as usize);
        let h = ElementHeader { id: block, offset: pos, header_len: header_len as u8, size: Some(size) };
        Some((h, &front[header_len..header_len + size as usize]))
    }

    /// Asks the CPU to load the cache line holding byte `next` of the queue front (the
    /// next element's header), and the lines 1 and 2 KiB further (where the headers after
    /// it are likely to be), while this block is worked on.
    ///
    /// Frames are sliced, not read, so the parse loads little more than the block headers,
    /// and the next header's place is known only once this one is read: when the input is
    /// not in cache, every header would wait for memory in turn. A prefetch does not wait;
    /// a plain load would (it cannot retire before its data arrives). The distances were
    /// chosen by measurement (`benches/run.sh`): one line only, or 2 and 4 KiB, were slower.
    #[inline]
    pub(super) fn prefetch(front: &[u8], next: usize) {
        #[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse"))]
        for ahead in [0, 1024, 2048] {
            if let Some(b) = front.get(next + ahead) {
                safe_arch::prefetch_t0(b);
            }
        }
        #[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse")))]
        let _ = (front, next);
    }

    /// Consumes the SimpleBlock that [`peek_simple_block`](Self::peek_simple_block) just
    /// returned as `h`, and returns its body from byte `from` on (a zero-copy slice).
    #[inline(always)]
    pub(crate) fn take_simple_block(&mut self, h: &ElementHeader, from: usize) -> Bytes {
        let (start, end) = Self::peeked_body(h, from);
        self.input.take_after(start, end - start)
    }

    /// The body of the SimpleBlock that [`peek_simple_block`](Self::peek_simple_block) just
    /// returned as `h`, from byte `from` on, in place, and the bytes the whole block
    /// occupies, which the caller consumes later with [`skip_lent`](Self::skip_lent).
    #[inline(always)]
    pub(crate) fn peeked_simple_block(&self, h: &ElementHeader, from: usize) -> (&[u8], usize) {
        let (start, end) = Self::peeked_body(h, from);
        (&self.input.front()[start..end], end)
    }

    /// Where the body of a peeked SimpleBlock lies in the queue front, from byte `from` of
    /// it on: (start, end), the end also that of the block.
    #[inline(always)]
    pub(super) fn peeked_body(h: &ElementHeader, from: usize) -> (usize, usize) {
        let header_len = usize::from(h.header_len);
        let size = h.size.expect("a peeked SimpleBlock has a size") as usize;
        (header_len + from, header_len + size)
    }

    /// Consumes the `n` bytes of a block lent in place by
    /// [`peeked_simple_block`](Self::peeked_simple_block).
    #[inline(always)]
    pub(crate) fn skip_lent(&mut self, n: usize) {
        self.input.skip(n as u64);
    }
}
