//! The I/O-free core: element events in, Matroska/KVS events out.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::HotCluster;
use crate::ebml::{ElementEvent, ElementReader};
use crate::error::Error;
use crate::frame::FragmentMeta;
use crate::limits::Limits;
use crate::mkv::ids::{self, Matroska};
use crate::mkv::{HeaderBuilder, InfoBuilder, SegmentInfo, TagBuilder, Track, TrackBuilder};
use crate::Status;

mod assembler;
mod blocks;
mod driver;
mod event;
mod fragment;
mod hot;

pub use assembler::FragmentAssembler;
use blocks::{whole_element, BlockTiming, BlockTrack, GroupState, Lace};
pub(crate) use driver::Pull;
use event::Held;
pub use event::{Event, EventRef};
use fragment::FragState;

/// Demuxer settings.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DemuxOptions {
    /// Memory and structure bounds.
    pub limits: Limits,
    /// Verify CRC-32 elements (off by default); a mismatch is reported as damage.
    pub verify_crc: bool,
    /// Every block takes the general path (element events), the SimpleBlock fast path
    /// switched off. Slower, same events: for differential tests of the two paths.
    pub general_path_only: bool,
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

    /// Switches the SimpleBlock fast path off (see [`general_path_only`](Self::general_path_only)).
    pub fn with_general_path_only(mut self, on: bool) -> Self {
        self.general_path_only = on;
        self
    }
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
/// assert_eq!(frames[0].info.pts_ns, 15_000_000); // (10 + 5) ticks × 1 ms
/// assert_eq!(&frames[0].data[..], &[0xCA, 0xFE]);
/// # Ok::<(), kinesis_video_parser::Error>(())
/// ```
#[derive(Debug)]
pub struct Demuxer {
    reader: ElementReader<Matroska>,
    limits: Limits,
    out: VecDeque<Event>,
    /// The laced block whose frames are being handed out (after `out`, before any input).
    lace: Lace,
    /// Where each frame of that block lies in its body: (offset, length).
    lace_spans: Vec<(usize, usize)>,
    /// Bytes of input that the frame last lent by `poll_ref` still occupies: consumed at
    /// the next poll, so that the frame could borrow them in place.
    lent: usize,
    /// What `poll_ref` lent that is not input in place: a queued frame's payload, a
    /// header-stripping track's prefix (released at the next poll).
    held: Held,
    /// The open Cluster while the reader is quiet in it (cleared by every element event).
    hot: Option<HotCluster>,
    /// The fast path may be taken (see [`DemuxOptions::general_path_only`]).
    fast_path: bool,
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
            held: Held::default(),
            hot: None,
            fast_path: !options.general_path_only,
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

    /// A leaf whose start is queued and whose rest is still to come: `(queued, needed)`.
    /// An adapter that reads the rest into one buffer after its start (moved there with
    /// [`unqueue`](Self::unqueue)) spares the core gathering it from two reads: the start is
    /// copied once instead of the whole leaf.
    pub(crate) fn unfinished_leaf(&self) -> Option<(usize, usize)> {
        self.reader.unfinished_leaf().filter(|&(queued, _)| queued > 0 && self.lent == 0)
    }

    /// Hands the queued input (the start of the [`unfinished_leaf`](Self::unfinished_leaf))
    /// to `to` and takes it out of the queue; the caller pushes it again, first.
    pub(crate) fn unqueue(&mut self, to: impl FnMut(&[u8])) {
        self.reader.unqueue(to);
    }

    /// Bytes pushed so far: the offset at which the next piece starts (where an adapter's
    /// failed read would have gone).
    pub(crate) fn pushed(&self) -> u64 {
        self.position() + self.buffered() as u64
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
    /// Only [`ErrorKind::Truncated`](crate::ErrorKind::Truncated), once, after
    /// [`finish`](Self::finish) when the input ended inside an element. Polling may continue
    /// after it: the cut fragment is then closed (incomplete) and `Done` follows. Damage is
    /// not an error: it is an [`Event::Damage`], and parsing resumes after it.
    #[inline(always)]
    pub fn poll(&mut self) -> Result<Status<Event>, Error> {
        if self.lace_frame_next() {
            return Ok(Status::Ready(Event::Frame(self.next_laced())));
        }
        self.poll_input()
    }

    /// Like [`poll`](Self::poll), but a frame's payload is lent instead of handed out as
    /// [`Bytes`]: it borrows the input in place, and is valid until the next call on this
    /// demuxer (the borrow checker enforces it). The fast path (unlaced SimpleBlocks, and
    /// laced frames after a block's first) takes no reference count per frame, unless the
    /// track strips headers (its shared prefix is then held), which makes this the fastest
    /// way through input already in memory, for a caller that uses each frame (decodes,
    /// hashes, copies it) before asking for the next.
    /// [`FrameRef::into_owned`](crate::FrameRef::into_owned) keeps one.
    ///
    /// Events, their order and their values are exactly those of `poll` (see
    /// [`EventRef::into_owned`]), and the two may be mixed. The bytes a lent frame occupies
    /// stay queued until the next poll consumes them; [`position`](Self::position) and
    /// [`buffered`](Self::buffered) already count them as consumed.
    ///
    /// ```
    /// use kinesis_video_parser::{Demuxer, EventRef, Status};
    /// let mut d = Demuxer::new();
    /// d.push(vec![
    ///     0x1A, 0x45, 0xDF, 0xA3, 0x80, 0x18, 0x53, 0x80, 0x67, 0xFF, // EBML header, Segment
    ///     0x1F, 0x43, 0xB6, 0x75, 0xFF, 0xE7, 0x81, 0x00, // Cluster, Timestamp 0
    ///     0xA3, 0x86, 0x81, 0x00, 0x00, 0x80, 0xCA, 0xFE, // SimpleBlock: track 1, key
    /// ]);
    /// d.finish();
    /// let mut payloads = vec![];
    /// while let Status::Ready(ev) = d.poll_ref()? {
    ///     if let EventRef::Frame(f) = ev {
    ///         payloads.push(f.data.to_vec()); // f.data: &[u8], borrowed from the input
    ///     }
    /// }
    /// assert_eq!(payloads, [vec![0xCA, 0xFE]]);
    /// # Ok::<(), kinesis_video_parser::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    #[inline(always)]
    pub fn poll_ref(&mut self) -> Result<Status<EventRef<'_>>, Error> {
        if self.lace_frame_next() {
            return Ok(Status::Ready(EventRef::Frame(self.next_laced_ref())));
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
            self.held = Held::default();
        }
        if !self.lace.is_open() && !self.lace.body.is_empty() {
            self.lace.body = Bytes::new();
        }
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

    fn on_element(&mut self, ev: ElementEvent) {
        match ev {
            ElementEvent::Start(h) => self.on_start(h),
            ElementEvent::End(h, end) => self.on_end(h, end),
            ElementEvent::Data(h, data) => self.on_data(h, data),
            ElementEvent::Skipped(_) => {}
            ElementEvent::Damage(d) => self.damage(d),
        }
    }
}
