//! The I/O-free core: element events in, Matroska/KVS events out.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::{Damage, HotCluster};
use crate::ebml::vint::{self, BlockHeader};
use crate::ebml::{value, ElementEvent, ElementHeader, ElementReader};
use crate::error::{Error, ErrorKind, Limit};
use crate::frame::{Fragment, FragmentMeta, FragmentTag, Frame, FrameRef, TagPosition};
use crate::kvs::KvsMetadata;
use crate::limits::Limits;
use crate::mkv::block::{self, FLAG_DISCARDABLE, FLAG_INVISIBLE, FLAG_KEY};
use crate::mkv::ids;
use crate::mkv::{EbmlHeader, HeaderBuilder, InfoBuilder, SegmentInfo, TagBuilder, Track, TrackBuilder};
use crate::Status;

/// Demuxer settings.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemuxOptions {
    /// Memory and structure bounds.
    pub limits: Limits,
    /// Verify CRC-32 elements (off by default); a mismatch is reported as damage.
    pub verify_crc: bool,
}

impl DemuxOptions {
    /// Sets the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns CRC-32 verification on or off.
    pub fn with_crc_verification(mut self, on: bool) -> Self {
        self.verify_crc = on;
        self
    }
}

/// One demuxer event, in stream order.
///
/// `D` is how a frame's payload is held: [`Bytes`] (the default) everywhere but in
/// [`Demuxer::poll_ref`], whose [`EventRef`] lends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<D = Bytes> {
    /// An EBML header ended: a new document.
    Header(Arc<EbmlHeader>),
    /// A Segment Info ended.
    Info(Arc<SegmentInfo>),
    /// A track was seen for the first time, or its definition changed (emitted when its
    /// Tracks element ends; repeated identical definitions are not announced again).
    Track(Arc<Track>),
    /// A fragment opened.
    FragmentStart {
        /// Its index.
        index: u64,
        /// Byte offset where it starts.
        offset: u64,
    },
    /// A frame, as soon as its block is complete.
    Frame(Frame<D>),
    /// A fragment closed; its frames were delivered before.
    FragmentEnd(Box<FragmentMeta>),
    /// Bytes that could not be parsed and were skipped, or a block that could not be split.
    Damage(Damage),
}

/// An event whose frame payload is lent until the next poll; see [`Demuxer::poll_ref`].
pub type EventRef<'a> = Event<&'a [u8]>;

impl<D> Event<D> {
    /// The same event, a frame changed by `f` (for instance, to another payload type).
    pub fn map_frame<E>(self, f: impl FnOnce(Frame<D>) -> Frame<E>) -> Event<E> {
        self.non_frame().unwrap_or_else(|frame| Event::Frame(f(frame)))
    }

    /// The event itself when it is not a frame (whatever the payload type), else the frame.
    fn non_frame<E>(self) -> Result<Event<E>, Frame<D>> {
        Ok(match self {
            Event::Frame(f) => return Err(f),
            Event::Header(h) => Event::Header(h),
            Event::Info(i) => Event::Info(i),
            Event::Track(t) => Event::Track(t),
            Event::FragmentStart { index, offset } => Event::FragmentStart { index, offset },
            Event::FragmentEnd(m) => Event::FragmentEnd(m),
            Event::Damage(d) => Event::Damage(d),
        })
    }
}

impl EventRef<'_> {
    /// An owned event: a lent frame's payload is copied (see [`FrameRef::to_owned_frame`]).
    pub fn to_owned_event(&self) -> Event {
        self.clone().map_frame(|f| f.to_owned_frame())
    }
}

#[derive(Debug)]
struct FragState {
    /// Boxed from the start: closing hands the box to the event, without a copy.
    meta: Box<FragmentMeta>,
    segment_seen: bool,
    tags: usize,
    /// Damage was reported after this fragment's Cluster started.
    damage_after_cluster: bool,
    /// Where the input that its frames may hold starts (see [`Demuxer::held_at`]).
    held_from: u64,
    /// Damage reports in it.
    damages: u64,
}

/// What a block needs from its track, copied out whenever the tracks change so that the
/// per-block lookup is one scan of a short vector.
#[derive(Debug, Clone)]
struct BlockTrack {
    number: u64,
    timestamp_scale: f64,
    codec_delay_ns: u64,
    default_duration_ns: Option<u64>,
    prefix: Option<Bytes>,
    encoded: bool,
}

impl BlockTrack {
    fn of(t: &Track) -> Self {
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
/// first frame (all but the per-frame fields), the time step per frame, the next frame's
/// index and the number of frames (`next == count`: none left; the body is then empty, or,
/// after `poll_ref` lent the last frame, released by the next poll).
#[derive(Debug, Default)]
struct Lace {
    body: Bytes,
    body_offset: u64,
    first: Frame,
    step: Option<u64>,
    next: usize,
    count: usize,
}

impl Lace {
    #[inline(always)]
    fn is_open(&self) -> bool {
        self.next < self.count
    }

    /// Frame `i` of the `n` in the lace, at `off` in the body, payload `data`.
    #[inline(always)]
    fn frame<D>(&self, i: usize, n: usize, off: usize, data: D) -> Frame<D> {
        let f = &self.first;
        Frame {
            track: f.track,
            pts_ns: self.step.map_or(f.pts_ns, |s| f.pts_ns.saturating_add((s as i64).saturating_mul(i as i64))),
            duration_ns: if n > 1 { self.step } else { f.duration_ns },
            keyframe: f.keyframe,
            invisible: f.invisible,
            discardable: f.discardable,
            discard_padding_ns: f.discard_padding_ns,
            data,
            prefix: f.prefix.clone(),
            offset: self.body_offset + off as u64,
            fragment: f.fragment,
            lace_index: i as u16,
            lace_count: n as u16,
            encoded: f.encoded,
        }
    }
}

/// What [`Demuxer::hot_block`] found at the front of the input.
enum Hot {
    /// An unlaced SimpleBlock, peeked but not consumed.
    Unlaced(ElementHeader, BlockHeader),
    /// A SimpleBlock was consumed: its lace started, or damage was queued.
    Taken,
    /// Nothing for the hot path: the general path reads the next element.
    Miss,
}

/// What [`Demuxer::block_timing`] works out for a block's frame.
struct BlockTiming {
    pts_ns: i64,
    /// The track's DefaultDuration.
    default_duration_ns: Option<u64>,
    /// The BlockGroup's BlockDuration.
    block_duration_ns: Option<u64>,
    fragment: u64,
    prefix: Option<Bytes>,
    encoded: bool,
}

impl BlockTiming {
    /// The frame of the block (its lace fields those of an unlaced block), payload `data`.
    #[inline(always)]
    fn frame<D>(self, h: &ElementHeader, bh: BlockHeader, data: D, group: Option<&GroupState>) -> Frame<D> {
        Frame {
            track: bh.track,
            pts_ns: self.pts_ns,
            duration_ns: self.block_duration_ns.or(self.default_duration_ns),
            keyframe: match group {
                Some(g) => g.references == 0,
                None => bh.flags & FLAG_KEY != 0,
            },
            invisible: bh.flags & FLAG_INVISIBLE != 0,
            discardable: group.is_none() && bh.flags & FLAG_DISCARDABLE != 0,
            discard_padding_ns: group.and_then(|g| g.discard_padding),
            data,
            prefix: self.prefix,
            offset: h.data_offset() + bh.len as u64,
            fragment: self.fragment,
            lace_index: 0,
            lace_count: 1,
            encoded: self.encoded,
        }
    }
}

#[derive(Debug, Default)]
struct GroupState {
    block: Option<(ElementHeader, Bytes)>,
    duration: Option<u64>,
    references: u32,
    discard_padding: Option<std::num::NonZeroI64>,
}

/// The I/O-free core: push bytes, poll events, finish.
///
/// ```
/// use kinesis_video_parser::{Demuxer, Event, Status};
/// let mut d = Demuxer::new();
/// // An EBML header, then an unknown-size Segment and Cluster holding one SimpleBlock.
/// let stream: &[u8] = &[
///     0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, b'x',
///     0x18, 0x53, 0x80, 0x67, 0xFF,
///     0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x81, 0x0A,
///     0xA3, 0x86, 0x81, 0x00, 0x05, 0x80, 0xCA, 0xFE,
/// ];
/// for b in stream {
///     d.push(vec![*b]); // one byte at a time works too
/// }
/// d.finish();
/// let mut frames = vec![];
/// while let Status::Ready(ev) = d.poll()? {
///     if let Event::Frame(f) = ev {
///         frames.push(f);
///     }
/// }
/// assert_eq!(frames.len(), 1);
/// assert_eq!(frames[0].pts_ns, 15_000_000); // (10 + 5) ticks × 1 ms
/// assert_eq!(&frames[0].data[..], &[0xCA, 0xFE]);
/// # Ok::<(), kinesis_video_parser::Error>(())
/// ```
#[derive(Debug)]
pub struct Demuxer {
    reader: ElementReader,
    limits: Limits,
    out: VecDeque<Event>,
    /// The laced block whose frames are being handed out (after `out`, before any input).
    lace: Lace,
    /// Where each frame of that block lies in its body: (offset, length).
    lace_spans: Vec<(usize, usize)>,
    /// Bytes of input that the frame last lent by `poll_ref` still occupies: consumed at
    /// the next poll, so that the frame could borrow them in place.
    lent: usize,
    /// The payload of a queued frame that `poll_ref` lent (released at the next poll).
    held: Bytes,
    /// The open Cluster while the reader is quiet in it (cleared by every element event).
    hot: Option<HotCluster>,
    /// The input ended inside an element: open elements are being closed.
    cut: bool,
    /// That truncation error, held back while what had fully arrived before it is handed out.
    truncation: Option<Error>,
    done: bool,
    header: Option<HeaderBuilder>,
    info_builder: Option<InfoBuilder>,
    info: Arc<SegmentInfo>,
    tracks_building: Option<Vec<Arc<Track>>>,
    track_builder: Option<TrackBuilder>,
    /// Damage happened while the current TrackEntry was open: it is not used.
    track_damaged: bool,
    tracks: Arc<[Arc<Track>]>,
    /// `tracks` as the block path needs them (kept in step by `set_tracks`).
    block_tracks: Vec<BlockTrack>,
    announced: Vec<Arc<Track>>,
    cluster_open: bool,
    cluster_timestamp: u64,
    group: Option<GroupState>,
    tag_builder: TagBuilder,
    tags_offset: u64,
    frag: Option<FragState>,
    next_index: u64,
}

impl Default for Demuxer {
    fn default() -> Self {
        Demuxer::new()
    }
}

impl Demuxer {
    /// A demuxer with default [`DemuxOptions`].
    pub fn new() -> Self {
        Demuxer::with_options(DemuxOptions::default())
    }

    /// A demuxer with the given options.
    pub fn with_options(options: DemuxOptions) -> Self {
        Demuxer {
            reader: ElementReader::new(options.limits)
                .with_crc_verification(options.verify_crc)
                .with_skipped_subtrees(&[ids::CUES, ids::SEEK_HEAD]),
            limits: options.limits,
            out: VecDeque::new(),
            lace: Lace::default(),
            lace_spans: Vec::new(),
            lent: 0,
            held: Bytes::new(),
            hot: None,
            cut: false,
            truncation: None,
            done: false,
            header: None,
            info_builder: None,
            info: Arc::new(SegmentInfo::default()),
            tracks_building: None,
            track_builder: None,
            track_damaged: false,
            tracks: Arc::from(Vec::new()),
            block_tracks: Vec::new(),
            announced: Vec::new(),
            cluster_open: false,
            cluster_timestamp: 0,
            group: None,
            tag_builder: TagBuilder::default(),
            tags_offset: 0,
            frag: None,
            next_index: 0,
        }
    }

    /// Appends input: any size, down to one byte. Bodies inside one piece are handed out
    /// as zero-copy slices of it.
    pub fn push(&mut self, bytes: impl Into<Bytes>) {
        self.reader.push(bytes.into());
    }

    /// Declares the end of input. After this, a shortfall is reported as truncation.
    pub fn finish(&mut self) {
        self.reader.finish();
    }

    /// Absolute offset of the next byte the parser will read.
    pub fn position(&self) -> u64 {
        self.reader.position() + self.lent as u64
    }

    /// Bytes pushed but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.reader.buffered() - self.lent
    }

    /// The tracks of the current document.
    pub fn tracks(&self) -> &[Arc<Track>] {
        &self.tracks
    }

    /// The same list, shared (a cheap clone that outlives a borrow of the demuxer).
    pub(crate) fn shared_tracks(&self) -> &Arc<[Arc<Track>]> {
        &self.tracks
    }

    /// Metadata of the fragment being read (KVS tags seen so far), if one is open.
    pub fn current_fragment(&self) -> Option<&FragmentMeta> {
        self.frag.as_ref().map(|f| &*f.meta)
    }

    /// The next event; `NeedMore` when the input runs short; `Done` at the end.
    ///
    /// # Errors
    /// Only [`ErrorKind::Truncated`], once, after [`finish`](Self::finish) when the input
    /// ended inside an element. Polling may continue after it: the cut fragment is then
    /// closed (incomplete) and `Done` follows. Damage is not an error: it is an
    /// [`Event::Damage`], and parsing resumes after it.
    #[inline]
    pub fn poll(&mut self) -> Result<Status<Event>, Error> {
        // The frames of a lace after its first take this small path, which inlines into
        // the caller: nothing to read, one frame to build where it is consumed.
        if self.lace.is_open() && self.out.is_empty() {
            return Ok(Status::Ready(Event::Frame(self.next_laced())));
        }
        self.poll_input()
    }

    /// [`poll`](Self::poll) past the lace: queued events, the SimpleBlock fast path, the
    /// general path.
    #[inline(never)]
    fn poll_input(&mut self) -> Result<Status<Event>, Error> {
        // What `poll_ref` left lent or held (a lace it finished keeps its body until then).
        if self.lent != 0 || !self.held.is_empty() || (!self.lace.body.is_empty() && !self.lace.is_open()) {
            self.settle();
        }
        loop {
            if let Some(ev) = self.out.pop_front() {
                return Ok(Status::Ready(ev));
            }
            if self.lace.is_open() {
                return Ok(Status::Ready(Event::Frame(self.next_laced())));
            }
            if self.done {
                return Ok(Status::Done);
            }
            // The hot path: an unlaced SimpleBlock takes one reference count on the input,
            // for its payload.
            match self.hot_block() {
                Hot::Unlaced(h, bh) => {
                    let Some(t) = self.hot_timing(&h, bh) else { continue };
                    let payload = self.reader.take_simple_block(&h, bh.len);
                    // Built where it is returned: no copy of the frame on the way.
                    return Ok(Status::Ready(Event::Frame(t.frame(&h, bh, payload, None))));
                }
                Hot::Taken => continue,
                Hot::Miss => {}
            }
            if let Some(n) = self.next_element()? {
                return Ok(Status::NeedMore(n));
            }
        }
    }

    /// Like [`poll`](Self::poll), but a frame's payload is lent instead of handed out as
    /// [`Bytes`]: it borrows the input in place, and is valid until the next call on this
    /// demuxer (the borrow checker enforces it). No reference count is taken or dropped
    /// per frame (but for the shared `prefix` of a track that strips headers), which makes
    /// this the fastest way through input already in memory, for a
    /// caller that uses each frame (decodes, hashes, copies it) before asking for the next.
    /// [`FrameRef::to_owned_frame`](crate::FrameRef::to_owned_frame) keeps one.
    ///
    /// Events, their order and their values are exactly those of `poll`, and the two may
    /// be mixed. The bytes a lent frame occupies stay queued until the next poll consumes
    /// them; [`position`](Self::position) and [`buffered`](Self::buffered) already count
    /// them as consumed.
    ///
    /// ```
    /// use kinesis_video_parser::{Demuxer, Event, Status};
    /// let mut d = Demuxer::new();
    /// d.push(vec![
    ///     0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xFF, // EBML header, Segment
    ///     0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x81, 0x00, // Cluster, Timestamp 0
    ///     0xA3, 0x86, 0x81, 0x00, 0x00, 0x80, 0xCA, 0xFE, // SimpleBlock: track 1, key
    /// ]);
    /// d.finish();
    /// let mut payloads = vec![];
    /// while let Status::Ready(ev) = d.poll_ref()? {
    ///     if let Event::Frame(f) = ev {
    ///         payloads.push(f.data.to_vec()); // f.data: &[u8], borrowed from the input
    ///     }
    /// }
    /// assert_eq!(payloads, [vec![0xCA, 0xFE]]);
    /// # Ok::<(), kinesis_video_parser::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    #[inline]
    pub fn poll_ref(&mut self) -> Result<Status<EventRef<'_>>, Error> {
        if self.lace.is_open() && self.out.is_empty() {
            return Ok(Status::Ready(Event::Frame(self.next_laced_ref())));
        }
        self.poll_ref_input()
    }

    /// Consumes what the last lent frame occupied, and releases what was held for it
    /// (nothing, unless the last poll was a `poll_ref`).
    fn settle(&mut self) {
        if self.lent != 0 {
            self.reader.skip_lent(self.lent);
            self.lent = 0;
        }
        if !self.held.is_empty() {
            self.held = Bytes::new();
        }
        if !self.lace.is_open() && !self.lace.body.is_empty() {
            self.lace.body = Bytes::new();
        }
    }

    /// [`poll_ref`](Self::poll_ref) past the lace: as [`poll_input`](Self::poll_input), the
    /// SimpleBlock fast path lending the block's bytes in place.
    #[inline(never)]
    fn poll_ref_input(&mut self) -> Result<Status<EventRef<'_>>, Error> {
        self.settle();
        loop {
            if let Some(ev) = self.out.pop_front() {
                return Ok(Status::Ready(match ev.non_frame() {
                    Ok(ev) => ev,
                    Err(mut f) => {
                        self.held = std::mem::take(&mut f.data);
                        Event::Frame(f.map_data(|_| &self.held[..]))
                    }
                }));
            }
            if self.lace.is_open() {
                return Ok(Status::Ready(Event::Frame(self.next_laced_ref())));
            }
            if self.done {
                return Ok(Status::Done);
            }
            // The hot path: an unlaced SimpleBlock is lent in place, and consumed by the
            // next poll.
            match self.hot_block() {
                Hot::Unlaced(h, bh) => {
                    let Some(t) = self.hot_timing(&h, bh) else { continue };
                    let (data, occupied) = self.reader.peeked_simple_block(&h, bh.len);
                    self.lent = occupied;
                    return Ok(Status::Ready(Event::Frame(t.frame(&h, bh, data, None))));
                }
                Hot::Taken => continue,
                Hot::Miss => {}
            }
            if let Some(n) = self.next_element()? {
                return Ok(Status::NeedMore(n));
            }
        }
    }

    /// The hot path's look at the input: a SimpleBlock in the open fragment's Cluster goes
    /// straight from the reader to a frame, without an element event or the queue. An
    /// unlaced one is left for the caller to take; a laced one is taken and its lace
    /// started (a header that makes no sense: damage).
    #[inline(always)]
    fn hot_block(&mut self) -> Hot {
        if self.hot.is_none() && self.frag.is_some() {
            self.hot = self.reader.hot_cluster().map(|hot| hot.ending_by(self.hold_horizon()));
        }
        let Some(hot) = &self.hot else { return Hot::Miss };
        let peeked = self.reader.peek_simple_block(hot).map(|(h, body)| (h, vint::block_header(body)));
        let Some((h, bh)) = peeked else { return Hot::Miss };
        if let Some(bh) = bh.ok().filter(|bh| bh.flags & block::LACING == 0) {
            return Hot::Unlaced(h, bh);
        }
        let body = self.reader.take_simple_block(&h, 0);
        if let Some(frame) = self.block_frames(&h, body, None) {
            self.out.push_back(Event::Frame(frame));
        }
        Hot::Taken
    }

    /// The timing of the unlaced SimpleBlock that [`hot_block`](Self::hot_block) found, its
    /// frame counted; `None` (the block consumed, damage queued) when its time overflows.
    #[inline(always)]
    fn hot_timing(&mut self, h: &ElementHeader, bh: BlockHeader) -> Option<BlockTiming> {
        let Some(t) = self.block_timing(h, bh, None) else {
            self.reader.take_simple_block(h, 0);
            return None;
        };
        self.count_frames(1, bh.flags & FLAG_KEY != 0);
        Some(t)
    }

    /// The general path, kept out of line so that the hot path above stays small: one
    /// element event from the reader, applied. `Some(n)` when the reader needs more input
    /// (at least `n` bytes), which `poll` then returns as `NeedMore`.
    #[inline(never)]
    fn next_element(&mut self) -> Result<Option<usize>, Error> {
        self.hot = None;
        if let Some(e) = self.truncation.take() {
            return Err(e);
        }
        match self.reader.poll() {
            Ok(Status::Ready(ev)) => self.on_element(ev),
            Ok(Status::NeedMore(n)) => return Ok(Some(n)),
            Ok(Status::Done) => {
                let end = self.reader.position();
                self.close_fragment(end);
                self.done = true;
            }
            Err(e) => return self.on_truncation(e),
        }
        Ok(None)
    }

    /// The input ended inside an element. What had fully arrived before the cut (the Block
    /// of an open BlockGroup: its frames, or its damage) is handed out before the error;
    /// after it, open elements only close, and what they cut is not used.
    #[cold]
    fn on_truncation(&mut self, e: Error) -> Result<Option<usize>, Error> {
        self.cut = true;
        if let Some(f) = &mut self.frag {
            f.meta.truncated = true;
        }
        // A TrackEntry cut short is not a track (as one cut by damage).
        self.track_damaged |= self.track_builder.is_some();
        if let Some(mut g) = self.group.take() {
            if let Some((bh, data)) = g.block.take() {
                self.queue_block(&bh, data, Some(&g));
            }
        }
        if self.out.is_empty() && !self.lace.is_open() {
            return Err(e);
        }
        self.truncation = Some(e);
        Ok(None)
    }

    fn set_tracks(&mut self, tracks: Arc<[Arc<Track>]>) {
        self.block_tracks = tracks.iter().map(|t| BlockTrack::of(t)).collect();
        self.tracks = tracks;
    }

    fn open_fragment(&mut self, offset: u64) {
        let index = self.next_index;
        self.next_index += 1;
        self.frag = Some(FragState {
            meta: Box::new(FragmentMeta {
                index,
                offset,
                starts_document: false,
                end_offset: offset,
                kvs: KvsMetadata::default(),
                tags: Vec::new(),
                tracks: self.tracks.clone(),
                info: self.info.clone(),
                cluster_offset: None,
                cluster_timestamp: None,
                frames: 0,
                keyframes: 0,
                complete: false,
                part: 0,
                split: false,
                damaged: false,
                truncated: false,
            }),
            segment_seen: false,
            tags: 0,
            damage_after_cluster: false,
            held_from: offset,
            damages: 0,
        });
        self.out.push_back(Event::FragmentStart { index, offset });
    }

    fn ensure_fragment(&mut self, offset: u64) -> &mut FragState {
        if self.frag.is_none() {
            self.open_fragment(offset);
        }
        self.frag.as_mut().expect("opened above")
    }

    fn close_fragment(&mut self, end: u64) {
        if let Some(f) = self.frag.take() {
            let mut meta = f.meta;
            meta.end_offset = end;
            if !Arc::ptr_eq(&meta.tracks, &self.tracks) {
                meta.tracks = self.tracks.clone();
            }
            if !Arc::ptr_eq(&meta.info, &self.info) {
                meta.info = self.info.clone();
            }
            meta.complete = !meta.damaged && !meta.truncated && !meta.split && meta.part == 0;
            self.out.push_back(Event::FragmentEnd(meta));
        }
    }

    /// At most what collecting the open fragment's frames and damage reports holds once
    /// the input up to `at` is read: the input it spans (which holds every payload), plus
    /// [`Limits::FRAME_COST`] per frame and [`Limits::DAMAGE_COST`] per damage report.
    /// Computed from counts the demuxer keeps anyway, so the hot path pays nothing for it.
    fn held_at(&self, at: u64) -> u64 {
        let Some(f) = &self.frag else { return 0 };
        let span = at.saturating_sub(f.held_from);
        span.saturating_add(f.meta.frames.saturating_mul(Limits::FRAME_COST))
            .saturating_add(f.damages.saturating_mul(Limits::DAMAGE_COST))
    }

    /// Makes room for what an element ending at `end` adds (`extra`: its frame or damage
    /// report): when it would take the open fragment past [`Limits::max_fragment_bytes`] and
    /// the fragment holds something already, the fragment is first closed as a part and the
    /// next part opened at `offset`, with what is known of the fragment.
    fn hold(&mut self, offset: u64, end: u64, extra: u64) {
        let Some(f) = &self.frag else { return };
        let holds_something = f.meta.frames > 0 || f.damages > 0;
        if holds_something && self.held_at(end).saturating_add(extra) > self.limits.max_fragment_bytes {
            self.split_fragment(offset);
        }
    }

    /// Where the hot path must hand over to the general one, which checks the bound exactly:
    /// no unlaced SimpleBlock ending before it can take the open fragment past
    /// [`Limits::max_fragment_bytes`] (one takes at least 6 input bytes, so each byte adds at
    /// most 1 + 128 / 6 < 23 held bytes; a denser lace starts the horizon anew).
    fn hold_horizon(&self) -> u64 {
        let pos = self.reader.position();
        let room = self.limits.max_fragment_bytes.saturating_sub(self.held_at(pos));
        pos.saturating_add(room / 23)
    }

    #[cold]
    #[inline(never)]
    fn split_fragment(&mut self, offset: u64) {
        let Some(f) = &mut self.frag else { return };
        f.meta.split = true;
        let (kvs, tags, cluster_offset, cluster_timestamp) =
            (f.meta.kvs.clone(), f.meta.tags.clone(), f.meta.cluster_offset, f.meta.cluster_timestamp);
        let (part, damage_after_cluster, tag_count) = (f.meta.part.saturating_add(1), f.damage_after_cluster, f.tags);
        self.close_fragment(offset);
        self.open_fragment(offset);
        let f = self.frag.as_mut().expect("opened above");
        f.meta.kvs = kvs;
        f.meta.tags = tags;
        f.tags = tag_count;
        f.meta.part = part;
        f.meta.cluster_offset = cluster_offset;
        f.meta.cluster_timestamp = cluster_timestamp;
        f.segment_seen = true;
        f.damage_after_cluster = damage_after_cluster;
    }

    fn damage(&mut self, d: Damage) {
        self.hold(d.offset, d.offset, Limits::DAMAGE_COST);
        if let Some(f) = &mut self.frag {
            f.damages += 1;
        }
        self.track_damaged |= self.track_builder.is_some();
        if let Some(f) = &mut self.frag {
            if self.cluster_open || f.meta.cluster_offset.is_none() {
                f.meta.damaged = true;
            }
            f.damage_after_cluster |= f.meta.cluster_offset.is_some();
        }
        self.out.push_back(Event::Damage(d));
    }

    fn on_element(&mut self, ev: ElementEvent) {
        match ev {
            ElementEvent::Start(h) => self.on_start(h),
            ElementEvent::End(h, end) => self.on_end(h, end),
            ElementEvent::Data(h, data) => self.on_data(h, data),
            ElementEvent::Skipped(_) => {}
            ElementEvent::Damage(d) => self.damage(d),
        }
    }

    fn on_start(&mut self, h: ElementHeader) {
        match h.id {
            ids::EBML => {
                self.close_fragment(h.offset);
                self.header = Some(HeaderBuilder::new(h.offset));
                self.info = Arc::new(SegmentInfo::default());
                self.set_tracks(Arc::from(Vec::new()));
                self.open_fragment(h.offset);
                if let Some(f) = &mut self.frag {
                    f.meta.starts_document = true;
                }
            }
            ids::SEGMENT => {
                let restart = self.frag.as_ref().is_some_and(|f| f.segment_seen || f.meta.cluster_offset.is_some());
                if restart {
                    self.close_fragment(h.offset);
                    self.info = Arc::new(SegmentInfo::default());
                    self.set_tracks(Arc::from(Vec::new()));
                }
                self.ensure_fragment(h.offset).segment_seen = true;
            }
            ids::INFO | ids::TRACKS => {
                // Info and Tracks come before a document's Cluster: after one, they start a
                // new document whose EBML header and Segment were lost to damage.
                if self.frag.as_ref().is_some_and(|f| f.damage_after_cluster) {
                    self.close_fragment(h.offset);
                    self.ensure_fragment(h.offset).segment_seen = true;
                }
                if h.id == ids::INFO {
                    self.info_builder = Some(InfoBuilder::default());
                } else {
                    self.tracks_building = Some(Vec::new());
                }
            }
            ids::TRACK_ENTRY => {
                self.track_builder = Some(TrackBuilder::new(h.offset));
                self.track_damaged = false;
            }
            ids::VIDEO | ids::AUDIO | ids::CONTENT_ENCODING => {
                if let Some(t) = &mut self.track_builder {
                    t.start(h.id)
                }
            }
            ids::CLUSTER => {
                if self.frag.as_ref().is_some_and(|f| f.meta.cluster_offset.is_some()) {
                    self.close_fragment(h.offset);
                }
                let f = self.ensure_fragment(h.offset);
                f.meta.cluster_offset = Some(h.offset);
                self.cluster_open = true;
                self.cluster_timestamp = 0;
            }
            ids::BLOCK_GROUP => self.group = Some(GroupState::default()),
            ids::TAGS => self.tags_offset = h.offset,
            ids::TAG | ids::TARGETS | ids::SIMPLE_TAG => self.tag_builder.start(h.id, h.offset),
            _ => {}
        }
    }

    fn on_end(&mut self, h: ElementHeader, _end: u64) {
        match h.id {
            ids::EBML => {
                if let Some(b) = self.header.take() {
                    self.out.push_back(Event::Header(Arc::new(b.build())));
                }
            }
            ids::INFO => {
                if let Some(b) = self.info_builder.take() {
                    self.info = Arc::new(b.0);
                    self.out.push_back(Event::Info(self.info.clone()));
                }
            }
            ids::TRACK_ENTRY => {
                if let (Some(b), Some(list)) = (self.track_builder.take(), &mut self.tracks_building) {
                    if self.track_damaged {
                        // Cut by damage: a partial definition is not a track.
                    } else if list.len() < self.limits.max_tracks {
                        list.push(Arc::new(b.build()));
                    } else {
                        self.damage(whole_element(&h, ErrorKind::LimitExceeded(Limit::Tracks)));
                    }
                }
            }
            ids::TRACKS => {
                if let Some(list) = self.tracks_building.take() {
                    for t in &list {
                        match self.announced.iter_mut().find(|a| a.number == t.number) {
                            Some(a) if a.same_definition(t) => continue,
                            Some(a) => *a = t.clone(),
                            None => self.announced.push(t.clone()),
                        }
                        self.out.push_back(Event::Track(t.clone()));
                    }
                    self.set_tracks(Arc::from(list));
                    if let Some(f) = &mut self.frag {
                        f.meta.tracks = self.tracks.clone();
                    }
                }
            }
            ids::CLUSTER => self.cluster_open = false,
            ids::BLOCK_GROUP => {
                if let Some(mut g) = self.group.take() {
                    if let Some((bh, data)) = g.block.take() {
                        self.queue_block(&bh, data, Some(&g));
                    }
                }
            }
            ids::SIMPLE_TAG => {
                // A SimpleTag cut by the end of input is not a tag (nor counted).
                let keep = !self.cut
                    && match &mut self.frag {
                        Some(f) => {
                            f.tags += 1;
                            f.tags <= self.limits.max_tags_per_fragment
                        }
                        None => true,
                    };
                if !keep
                    && !self.cut
                    && self.frag.as_ref().is_some_and(|f| f.tags == self.limits.max_tags_per_fragment + 1)
                {
                    self.damage(whole_element(&h, ErrorKind::LimitExceeded(Limit::TagsPerFragment)));
                }
                self.tag_builder.end_simple_tag(keep);
            }
            ids::TAG => {
                // After a cut, a Tag belongs to the open fragment or to none (never a new one).
                let open = !self.cut || self.frag.is_some();
                if let Some(tag) = self.tag_builder.end_tag().filter(|_| open) {
                    let tags_offset = self.tags_offset;
                    let f = self.ensure_fragment(tags_offset);
                    for s in &tag.simple_tags {
                        if let Some(v) = s.value.as_str() {
                            f.meta.kvs.apply(&s.name, v);
                        }
                    }
                    let position = match f.meta.cluster_offset {
                        Some(_) => TagPosition::AfterCluster,
                        None => TagPosition::BeforeCluster,
                    };
                    f.meta.tags.push(FragmentTag { tag, position, tags_offset });
                }
            }
            _ => {}
        }
    }

    fn on_data(&mut self, h: ElementHeader, data: Bytes) {
        match h.id {
            ids::SIMPLE_BLOCK => self.queue_block(&h, data, None),
            ids::BLOCK => {
                if self.group.is_some() {
                    // Checked as it arrives, so that its damage is reported in input order;
                    // its frames wait for the BlockGroup's end, whose later children they need.
                    match self.block_error(&data) {
                        Some(kind) => self.damage(whole_element(&h, kind)),
                        None => self.group.as_mut().expect("checked above").block = Some((h, data)),
                    }
                }
            }
            ids::BLOCK_DURATION => {
                if let Some(g) = &mut self.group {
                    g.duration = value::uint(&data).ok();
                }
            }
            ids::REFERENCE_BLOCK => {
                if let Some(g) = &mut self.group {
                    g.references += 1;
                }
            }
            ids::DISCARD_PADDING => {
                if let Some(g) = &mut self.group {
                    g.discard_padding = value::int(&data).ok().and_then(std::num::NonZeroI64::new);
                }
            }
            ids::TIMESTAMP => {
                if self.cluster_open {
                    self.cluster_timestamp = value::uint(&data).unwrap_or(0);
                    if let Some(f) = &mut self.frag {
                        f.meta.cluster_timestamp = Some(self.cluster_timestamp);
                    }
                }
            }
            _ => {
                if let Some(b) = &mut self.header {
                    b.leaf(h.id, &data);
                } else if let Some(b) = &mut self.track_builder {
                    b.leaf(h.id, &data);
                } else if let Some(b) = &mut self.info_builder {
                    b.leaf(h.id, &data);
                } else {
                    self.tag_builder.leaf(h.id, &data);
                }
            }
        }
    }

    /// Splits a complete block into frames and queues them.
    fn queue_block(&mut self, h: &ElementHeader, data: Bytes, group: Option<&GroupState>) {
        if let Some(frame) = self.block_frames(h, data, group) {
            self.out.push_back(Event::Frame(frame));
        }
    }

    /// Splits a complete block into frames: the frame of an unlaced block is returned, the
    /// frames of a laced one are queued (as is damage, when the block makes no sense).
    fn block_frames(&mut self, h: &ElementHeader, mut data: Bytes, group: Option<&GroupState>) -> Option<Frame> {
        let bh = match vint::block_header(&data) {
            Ok(bh) => bh,
            Err(kind) => {
                self.damage(whole_element(h, kind));
                return None;
            }
        };
        self.ensure_fragment(h.offset);
        self.hold(h.offset, h.end().unwrap_or(h.offset), Limits::FRAME_COST);
        let t = self.block_timing(h, bh, group)?;
        if bh.flags & block::LACING == 0 {
            bytes::Buf::advance(&mut data, bh.len);
            let frame = t.frame(h, bh, data, group);
            self.count_frames(1, frame.keyframe);
            return Some(frame);
        }
        let durations = (t.default_duration_ns, t.block_duration_ns);
        let first = t.frame(h, bh, Bytes::new(), group);
        self.start_lace(h, data, bh, first, durations);
        None
    }

    /// Why [`block_frames`](Self::block_frames) would report a block as damage, if it would:
    /// its header, its time, its lacing.
    fn block_error(&mut self, data: &[u8]) -> Option<ErrorKind> {
        let bh = match vint::block_header(data) {
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
    fn block_timing(&mut self, h: &ElementHeader, bh: BlockHeader, group: Option<&GroupState>) -> Option<BlockTiming> {
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
    /// per-frame fields; nothing is handed out unless the whole lace is valid. Each frame
    /// after the first adds DefaultDuration (else an equal share of BlockDuration) to the
    /// time, when either of `durations` (default, block) is known.
    #[inline(never)]
    fn start_lace(
        &mut self,
        h: &ElementHeader,
        data: Bytes,
        bh: BlockHeader,
        first: Frame,
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

        self.lace = Lace { body: data, body_offset: h.data_offset(), first, step, next: 0, count: n };
    }

    /// The next frame of the lace being handed out (there is one). The last one takes the
    /// block body itself, the others a slice of it; the frame is built in place.
    #[inline(always)]
    fn next_laced(&mut self) -> Frame {
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
        lace.frame(i, n, off, data)
    }

    /// The next frame of the lace, lent from its body (which stays until the next poll).
    #[inline(always)]
    fn next_laced_ref(&mut self) -> FrameRef<'_> {
        let (i, n, off, len) = self.lace_step();
        self.lace.frame(i, n, off, &self.lace.body[off..off + len])
    }

    /// Advances the lace: the index and count of its next frame, and where that lies.
    #[inline(always)]
    fn lace_step(&mut self) -> (usize, usize, usize, usize) {
        let (i, n) = (self.lace.next, self.lace.count);
        self.lace.next += 1;
        let (off, len) = self.lace_spans[i];
        (i, n, off, len)
    }

    fn count_frames(&mut self, count: u64, keyframe: bool) {
        if let Some(f) = &mut self.frag {
            f.meta.frames += count;
            f.meta.keyframes += if keyframe { count } else { 0 };
        }
    }
}

/// Damage covering one whole element (its header and body), which was read but not used.
fn whole_element(h: &ElementHeader, kind: ErrorKind) -> Damage {
    Damage {
        offset: h.offset,
        length: h.size.unwrap_or(0) + u64::from(h.header_len),
        error: Error::new(kind, h.offset).in_element(h.id),
    }
}

/// `ticks × scale` in ns, rounded to the nearest ns.
#[inline]
fn ticks_to_ns(ticks: f64, scale: u64) -> u64 {
    (ticks * scale as f64).round() as u64
}

/// Presentation time of a block in ns: exact integer arithmetic when TrackTimestampScale is
/// 1.0, nearest-ns rounding otherwise. `None` on overflow.
#[inline]
fn block_pts_ns(cluster: u64, rel: i16, scale: u64, tts: f64, codec_delay: u64) -> Option<i64> {
    let t = if tts == 1.0 {
        (i128::from(cluster) + i128::from(rel)) * i128::from(scale)
    } else {
        ((cluster as f64 + f64::from(rel) * tts) * scale as f64).round() as i128
    };
    i64::try_from(t - i128::from(codec_delay)).ok()
}

/// Collects events into whole [`Fragment`]s.
///
/// ```
/// use kinesis_video_parser::{Demuxer, FragmentAssembler, Status};
/// let mut d = Demuxer::new();
/// d.push(std::fs::read("testdata/kvs_like.mkv").unwrap_or_default());
/// d.finish();
/// let mut asm = FragmentAssembler::new();
/// let mut fragments = vec![];
/// loop {
///     match d.poll() {
///         Ok(Status::Ready(ev)) => fragments.extend(asm.push(ev)),
///         Ok(_) => break,
///         Err(e) => eprintln!("{e}"), // truncation; the cut fragment still follows
///     }
/// }
/// # let _ = fragments;
/// ```
#[derive(Debug, Default)]
pub struct FragmentAssembler {
    frames: Vec<Frame>,
    damage: Vec<Damage>,
}

impl FragmentAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event; returns a fragment when one closes.
    pub fn push(&mut self, ev: Event) -> Option<Fragment> {
        match ev {
            Event::Frame(f) => self.frames.push(f),
            Event::Damage(d) => self.damage.push(d),
            Event::FragmentEnd(meta) => {
                return Some(Fragment {
                    meta: *meta,
                    frames: std::mem::take(&mut self.frames),
                    damage: std::mem::take(&mut self.damage),
                })
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pts_arithmetic() {
        assert_eq!(block_pts_ns(1_700_000_000_000, 0, 1_000_000, 1.0, 0), Some(1_700_000_000_000_000_000));
        assert_eq!(block_pts_ns(0, -7, 1_000_000, 1.0, 0), Some(-7_000_000));
        assert_eq!(block_pts_ns(0, 0, 1_000_000, 1.0, 6_500_000), Some(-6_500_000));
        assert_eq!(block_pts_ns(100, 1, 20832, 1.0, 0), Some(101 * 20832));
        assert_eq!(block_pts_ns(10, 1, 1_000_000, 0.5, 0), Some(10_500_000));
        assert_eq!(block_pts_ns(u64::MAX, 0, 1_000_000, 1.0, 0), None);
    }
}
