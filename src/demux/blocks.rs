//! Blocks to frames: the block header, lacing, timing and BlockGroups.

use bytes::Bytes;

use crate::ebml::reader::Damage;
use crate::ebml::ElementHeader;
use crate::error::{Error, ErrorKind};
use crate::frame::{Frame, FrameInfo, FrameRef};
use crate::limits::Limits;
use crate::mkv::block::{self, FLAG_DISCARDABLE, FLAG_INVISIBLE, FLAG_KEY};
use crate::mkv::BlockHeader;
use crate::mkv::Track;

use super::{Demuxer, Event};

/// What a block needs from its track, copied out whenever the tracks change so that the
/// per-block lookup is one scan of a short vector.
#[derive(Debug, Clone)]
pub(super) struct BlockTrack {
    pub(super) number: u64,
    pub(super) timestamp_scale: f64,
    pub(super) codec_delay_ns: u64,
    pub(super) default_duration_ns: Option<u64>,
    pub(super) prefix: Option<Bytes>,
    pub(super) encoded: bool,
}

impl BlockTrack {
    pub(super) fn of(t: &Track) -> Self {
        BlockTrack {
            number: t.number,
            timestamp_scale: t.track_timestamp_scale,
            codec_delay_ns: t.codec_delay_ns,
            default_duration_ns: t.default_duration_ns,
            prefix: t.stripped_header().filter(|p| !p.is_empty()).cloned(),
            encoded: t.has_unsupported_encoding(),
        }
    }
}

/// A laced block being handed out a frame per poll: its body and where that starts, its
/// first frame (all but the per-frame fields) and its track's prefix, the time step per
/// frame, the next frame's index and the number of frames (`next == count`: none left;
/// the body is then empty, or, after `poll_ref` lent the last frame, released by the next
/// poll).
#[derive(Debug, Default)]
pub(super) struct Lace {
    pub(super) body: Bytes,
    pub(super) body_offset: u64,
    pub(super) first: FrameInfo,
    pub(super) prefix: Option<Bytes>,
    pub(super) step: Option<u64>,
    pub(super) next: usize,
    pub(super) count: usize,
}

impl Lace {
    #[inline(always)]
    pub(super) fn is_open(&self) -> bool {
        self.next < self.count
    }

    /// Frame `i` of the `n` in the lace, at `off` in the body.
    #[inline(always)]
    pub(super) fn info(&self, i: usize, n: usize, off: usize) -> FrameInfo {
        let f = &self.first;
        FrameInfo {
            pts_ns: self.step.map_or(f.pts_ns, |s| f.pts_ns.saturating_add((s as i64).saturating_mul(i as i64))),
            duration_ns: if n > 1 { self.step } else { f.duration_ns },
            offset: self.body_offset + off as u64,
            lace_index: i as u16,
            lace_count: n as u16,
            ..*f
        }
    }
}

/// What [`Demuxer::block_timing`] works out for a block's frame.
pub(super) struct BlockTiming {
    pub(super) pts_ns: i64,
    /// The track's DefaultDuration.
    pub(super) default_duration_ns: Option<u64>,
    /// The BlockGroup's BlockDuration.
    pub(super) block_duration_ns: Option<u64>,
    pub(super) fragment: u64,
    pub(super) prefix: Option<Bytes>,
    pub(super) encoded: bool,
}

impl BlockTiming {
    /// The frame of the block (its lace fields those of an unlaced block).
    #[inline(always)]
    pub(super) fn info(&self, h: &ElementHeader, bh: BlockHeader, group: Option<&GroupState>) -> FrameInfo {
        FrameInfo {
            track: bh.track,
            pts_ns: self.pts_ns,
            duration_ns: self.block_duration_ns.or(self.default_duration_ns),
            keyframe: match group {
                Some(g) => g.references == 0,
                None => bh.flags & FLAG_KEY != 0,
            },
            invisible: bh.flags & FLAG_INVISIBLE != 0,
            discardable: group.is_none() && bh.flags & FLAG_DISCARDABLE != 0,
            discard_padding_ns: group.map_or(0, |g| g.discard_padding),
            offset: h.data_offset() + bh.len as u64,
            fragment: self.fragment,
            lace_index: 0,
            lace_count: 1,
            encoded: self.encoded,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct GroupState {
    pub(super) block: Option<(ElementHeader, Bytes)>,
    pub(super) duration: Option<u64>,
    pub(super) references: u32,
    pub(super) discard_padding: i64,
}

impl Demuxer {
    /// Splits a complete block into frames and queues them.
    pub(super) fn queue_block(&mut self, h: &ElementHeader, data: Bytes, group: Option<&GroupState>) {
        if let Some(frame) = self.block_frames(h, data, group, false) {
            self.out.push_back(Event::Frame(frame));
        }
    }

    /// Splits a complete block into frames: the frame of an unlaced block is returned, the
    /// frames of a laced one are queued (as is damage, when the block makes no sense). Its
    /// fragment is first split if the block would take it past the bound on what it holds,
    /// unless the caller knows it cannot (`within_bound`: the fast path's horizon).
    pub(super) fn block_frames(
        &mut self,
        h: &ElementHeader,
        mut data: Bytes,
        group: Option<&GroupState>,
        within_bound: bool,
    ) -> Option<Frame> {
        let bh = match block::header(&data) {
            Ok(bh) => bh,
            Err(kind) => {
                self.damage(whole_element(h, kind));
                return None;
            }
        };
        if !within_bound {
            self.ensure_fragment(h.offset);
            self.hold(h.offset, h.end().unwrap_or(h.offset), Limits::FRAME_COST);
        }
        let t = self.block_timing(h, bh, group)?;
        if bh.flags & block::LACING == 0 {
            bytes::Buf::advance(&mut data, bh.len);
            let frame = Frame { info: t.info(h, bh, group), data, prefix: t.prefix };
            self.count_frames(1, frame.info.keyframe);
            return Some(frame);
        }
        let durations = (t.default_duration_ns, t.block_duration_ns);
        let first = t.info(h, bh, group);
        self.start_lace(h, data, bh, (first, t.prefix), durations);
        None
    }

    /// Why [`block_frames`](Self::block_frames) would report a block as damage, if it would:
    /// its header, its time, its lacing.
    pub(super) fn block_error(&mut self, data: &[u8]) -> Option<ErrorKind> {
        let bh = match block::header(data) {
            Ok(bh) => bh,
            Err(kind) => return Some(kind),
        };
        let track = self.block_tracks.iter().find(|t| t.number == bh.track);
        let (tts, delay) = track.map_or((1.0, 0), |t| (t.timestamp_scale, t.codec_delay_ns));
        if block_pts_ns(self.cluster_timestamp, bh.timestamp, self.info.timestamp_scale, tts, delay).is_none() {
            return Some(ErrorKind::InvalidValue);
        }
        if bh.flags & block::LACING == 0 {
            return None;
        }
        block::lace_spans(data, bh, &mut self.lace_spans).err()
    }

    /// What a block's frame takes from the fragment, its track and its BlockGroup. `None`,
    /// after reporting damage, when its time overflows.
    #[inline(always)]
    pub(super) fn block_timing(
        &mut self,
        h: &ElementHeader,
        bh: BlockHeader,
        group: Option<&GroupState>,
    ) -> Option<BlockTiming> {
        let fragment = self.ensure_fragment(h.offset).meta.index;
        let track = self.block_tracks.iter().find(|t| t.number == bh.track);
        let (tts, delay, default_duration) =
            track.map_or((1.0, 0, None), |t| (t.timestamp_scale, t.codec_delay_ns, t.default_duration_ns));
        let scale = self.info.timestamp_scale;
        let block_duration_ns = group.and_then(|g| g.duration).map(|d| ticks_to_ns(d as f64 * tts, scale));
        let Some(pts_ns) = block_pts_ns(self.cluster_timestamp, bh.timestamp, scale, tts, delay) else {
            self.damage(whole_element(h, ErrorKind::InvalidValue));
            return None;
        };
        Some(BlockTiming {
            pts_ns,
            default_duration_ns: default_duration,
            block_duration_ns,
            fragment,
            prefix: track.and_then(|t| t.prefix.clone()),
            encoded: track.is_some_and(|t| t.encoded),
        })
    }

    /// Starts handing out the frames of a laced block, `first` filled in but for the
    /// per-frame fields (with its track's prefix); nothing is handed out unless the whole
    /// lace is valid. Each frame after the first adds DefaultDuration (else an equal share
    /// of BlockDuration) to the time, when either of `durations` (default, block) is known.
    #[inline(never)]
    pub(super) fn start_lace(
        &mut self,
        h: &ElementHeader,
        data: Bytes,
        bh: BlockHeader,
        (first, prefix): (FrameInfo, Option<Bytes>),
        durations: (Option<u64>, Option<u64>),
    ) {
        let spans = &mut self.lace_spans;
        if let Err(kind) = block::lace_spans(&data, bh, spans) {
            return self.damage(whole_element(h, kind));
        }
        let (default_duration, block_duration_ns) = durations;
        let n = spans.len();
        if n * 6 > data.len() {
            // Denser than the hot path's horizon assumes (see `hold_horizon`).
            self.hot = None;
        }
        let step = default_duration.or(block_duration_ns.map(|d| d / n as u64));
        self.count_frames(n as u64, first.keyframe);

        self.lace = Lace { body: data, body_offset: h.data_offset(), first, prefix, step, next: 0, count: n };
    }

    /// The next frame of the lace being handed out (there is one). The last one takes the
    /// block body itself, the others a slice of it; the frame is built in place.
    #[inline(always)]
    pub(super) fn next_laced(&mut self) -> Frame {
        let (i, n, off, len) = self.lace_step();
        let lace = &mut self.lace;
        let data = if i + 1 == n {
            // The last frame takes the body itself: nothing of the block stays held.
            let mut body = std::mem::take(&mut lace.body);
            body.truncate(off + len);
            bytes::Buf::advance(&mut body, off);
            body
        } else {
            lace.body.slice(off..off + len)
        };
        Frame { info: lace.info(i, n, off), data, prefix: lace.prefix.clone() }
    }

    /// The next frame of the lace, lent from its body (which stays until the next poll).
    #[inline(always)]
    pub(super) fn next_laced_ref(&mut self) -> FrameRef<'_> {
        let (i, n, off, len) = self.lace_step();
        let lace = &self.lace;
        FrameRef { info: lace.info(i, n, off), data: &lace.body[off..off + len], prefix: lace.prefix.as_deref() }
    }

    /// Advances the lace: the index and count of its next frame, and where that lies.
    #[inline(always)]
    pub(super) fn lace_step(&mut self) -> (usize, usize, usize, usize) {
        let (i, n) = (self.lace.next, self.lace.count);
        self.lace.next += 1;
        let (off, len) = self.lace_spans[i];
        (i, n, off, len)
    }

    #[inline]
    pub(super) fn count_frames(&mut self, count: u64, keyframe: bool) {
        if let Some(f) = &mut self.frag {
            f.meta.frames += count;
            f.meta.keyframes += if keyframe { count } else { 0 };
        }
    }
}

/// Damage covering one whole element (its header and body), which was read but not used.
pub(super) fn whole_element(h: &ElementHeader, kind: ErrorKind) -> Damage {
    Damage {
        offset: h.offset,
        length: h.size.unwrap_or(0) + u64::from(h.header_len),
        // Named by `Demuxer::damage`, out of the block path.
        error: Error::new(kind, h.offset).in_element(h.id, None),
    }
}

/// `ticks × scale` in ns, rounded to the nearest ns.
#[inline]
pub(super) fn ticks_to_ns(ticks: f64, scale: u64) -> u64 {
    (ticks * scale as f64).round() as u64
}

/// Presentation time of a block in ns: exact integer arithmetic when TrackTimestampScale is
/// 1.0, nearest-ns rounding otherwise. `None` on overflow.
#[inline]
pub(super) fn block_pts_ns(cluster: u64, rel: i16, scale: u64, tts: f64, codec_delay: u64) -> Option<i64> {
    let t = if tts == 1.0 {
        (i128::from(cluster) + i128::from(rel)) * i128::from(scale)
    } else {
        ((cluster as f64 + f64::from(rel) * tts) * scale as f64).round() as i128
    };
    i64::try_from(t - i128::from(codec_delay)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn pts_arithmetic() {
        assert_eq!(block_pts_ns(1_700_000_000_000, 0, 1_000_000, 1.0, 0), Some(1_700_000_000_000_000_000));
        assert_eq!(block_pts_ns(0, -7, 1_000_000, 1.0, 0), Some(-7_000_000));
        assert_eq!(block_pts_ns(0, 0, 1_000_000, 1.0, 6_500_000), Some(-6_500_000));
        assert_eq!(block_pts_ns(100, 1, 20832, 1.0, 0), Some(101 * 20832));
        assert_eq!(block_pts_ns(10, 1, 1_000_000, 0.5, 0), Some(10_500_000));
        assert_eq!(block_pts_ns(u64::MAX, 0, 1_000_000, 1.0, 0), None);
    }
}
