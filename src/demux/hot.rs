//! The fast path: a SimpleBlock in the open Cluster straight from the reader to a frame.

use crate::ebml::ElementHeader;
use crate::mkv::block::{self, FLAG_KEY};
use crate::mkv::BlockHeader;

use super::{BlockTiming, Demuxer, Event};

/// What [`Demuxer::hot_block`] found at the front of the input.
pub(super) enum Hot {
    /// An unlaced SimpleBlock, peeked but not consumed.
    Unlaced(ElementHeader, BlockHeader),
    /// A SimpleBlock was consumed: its lace started, or damage was queued.
    Taken,
    /// Nothing for the hot path: the general path reads the next element.
    Miss,
}

impl Demuxer {
    /// The hot path's look at the input: a SimpleBlock in the open fragment's Cluster goes
    /// straight from the reader to a frame, without an element event or the queue. An
    /// unlaced one is left for the caller to take; a laced one is taken and its lace
    /// started (a header that makes no sense: damage).
    #[inline(always)]
    pub(super) fn hot_block(&mut self) -> Hot {
        if self.hot.is_none() && self.frag.is_some() && self.fast_path {
            self.hot = self.reader.hot_cluster().map(|hot| hot.ending_by(self.hold_horizon()));
        }
        let Some(hot) = &self.hot else { return Hot::Miss };
        let peeked = self.reader.peek_simple_block(hot).map(|(h, body)| (h, block::header(body)));
        let Some((h, bh)) = peeked else { return Hot::Miss };
        if let Some(bh) = bh.as_ref().ok().filter(|bh| bh.flags & block::LACING == 0) {
            return Hot::Unlaced(h, *bh);
        }
        let body = self.reader.take_simple_block(&h, 0);
        // A lace of at most a frame per 6 bytes (its count is the byte after the header) ends
        // before the horizon like any block here: the fragment bound holds without a check.
        let within = bh.is_ok_and(|bh| body.get(bh.len).is_some_and(|&n| (usize::from(n) + 1) * 6 <= body.len()));
        if let Some(frame) = self.block_frames(&h, body, None, within) {
            self.out.push_back(Event::Frame(frame));
        }
        Hot::Taken
    }

    /// The timing of the unlaced SimpleBlock that [`hot_block`](Self::hot_block) found, its
    /// frame counted; `None` (the block consumed, damage queued) when its time overflows.
    #[inline(always)]
    pub(super) fn hot_timing(&mut self, h: &ElementHeader, bh: BlockHeader) -> Option<BlockTiming> {
        let Some(t) = self.block_timing(h, bh, None) else {
            self.reader.take_simple_block(h, 0);
            return None;
        };
        self.count_frames(1, bh.flags & FLAG_KEY != 0);
        Some(t)
    }

    /// Where the hot path must hand over to the general one, which checks the bound exactly:
    /// no unlaced SimpleBlock ending before it can take the open fragment past
    /// [`Limits::max_fragment_bytes`] (one takes at least 6 input bytes, so each byte adds at
    /// most 1 + 128 / 6 < 23 held bytes; a denser lace starts the horizon anew).
    #[inline]
    pub(super) fn hold_horizon(&self) -> u64 {
        let pos = self.reader.position();
        let room = self.limits.max_fragment_bytes.saturating_sub(self.held_at(pos));
        pos.saturating_add(room / 23)
    }
}
