//! A Matroska source's frames as a PutMedia body: one Segment, Info at 1 ms, the source's
//! Tracks, then one Cluster per fragment, each opened on a video keyframe (by duration when
//! there is no video), bounded in duration and bytes.
//!
//! Segment and Clusters are written with unknown size, as AWS's producer SDK does: a frame's
//! block leaves as soon as the frame is read, so a live source's latency is one frame, not
//! one fragment, and nothing has to be rewritten when the fragment ends. A fragment ends
//! where the next Cluster starts, or with the body.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::writer::{self, Size};
use crate::mkv::{ids, SegmentInfo, Track};
use crate::mux;
use crate::{Event, Frame};

/// PutMedia's `x-amzn-fragment-timecode-type`, and where fragment timecodes start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timecodes {
    /// `ABSOLUTE`: Cluster timecodes are ms since the Unix epoch: `start_ms` plus the
    /// frame's time in the source.
    Absolute {
        /// The producer's start, ms since the Unix epoch.
        start_ms: u64,
    },
    /// `RELATIVE`: Cluster timecodes are the source's times, in ms; the service adds the
    /// `x-amzn-producer-start-timestamp` header (`start_ms`).
    Relative {
        /// The producer's start, ms since the Unix epoch.
        start_ms: u64,
    },
}

impl Timecodes {
    /// The header value.
    pub fn kind(self) -> &'static str {
        match self {
            Timecodes::Absolute { .. } => "ABSOLUTE",
            Timecodes::Relative { .. } => "RELATIVE",
        }
    }

    /// The producer's start, ms since the Unix epoch.
    pub fn start_ms(self) -> u64 {
        match self {
            Timecodes::Absolute { start_ms } | Timecodes::Relative { start_ms } => start_ms,
        }
    }
}

/// How a source is cut into fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmenterOptions {
    /// A fragment is closed at the first video keyframe (any frame, without video) at least
    /// this long after its start (default 2 s, as the producer SDK).
    pub target_duration_ms: u64,
    /// A fragment is closed before a frame that would make it longer than this even when
    /// the frame is not a keyframe (default 10 s, the service's limit: error 4002).
    pub max_duration_ms: u64,
    /// A fragment is closed before a frame that would make it larger than this (default
    /// 50 MB, the service's limit: error 4001).
    pub max_fragment_bytes: usize,
    /// The timecode type and the producer's start.
    pub timecodes: Timecodes,
}

impl FragmenterOptions {
    /// The defaults, with ABSOLUTE timecodes from `start_ms`.
    pub fn starting_at(start_ms: u64) -> FragmenterOptions {
        FragmenterOptions {
            target_duration_ms: 2_000,
            max_duration_ms: 10_000,
            max_fragment_bytes: 50_000_000,
            timecodes: Timecodes::Absolute { start_ms },
        }
    }
}

/// A source PutMedia cannot carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FragmenterError {
    /// More than the three tracks a stream may have (error 4012 otherwise).
    TooManyTracks(usize),
    /// A track was added or changed after frames were sent: one PutMedia body has one
    /// Segment, with one Tracks.
    TracksChanged {
        /// The track's number.
        track: u64,
    },
    /// A frame of a track the source never declared.
    UnknownTrack {
        /// The block's track number.
        track: u64,
    },
    /// A frame's time is before the producer's start (ABSOLUTE) or before 0 (RELATIVE).
    NegativeTime {
        /// The frame's time in ms.
        ms: i64,
    },
    /// A frame more than 32 s before the start of its fragment (a block cannot reach it).
    TimeOutOfOrder {
        /// The frame's time in ms.
        ms: i64,
    },
}

impl fmt::Display for FragmenterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FragmenterError::TooManyTracks(n) => write!(f, "the source has {n} tracks; a stream takes at most 3"),
            FragmenterError::TracksChanged { track } => {
                write!(f, "track {track} was added or changed after the first frame (one Tracks per upload)")
            }
            FragmenterError::UnknownTrack { track } => {
                write!(f, "a frame of track {track}, which the source never declared")
            }
            FragmenterError::NegativeTime { ms } => write!(f, "a frame at {ms} ms, before the start of the timeline"),
            FragmenterError::TimeOutOfOrder { ms } => {
                write!(f, "a frame at {ms} ms, more than 32 s before the fragment it falls in")
            }
        }
    }
}

impl std::error::Error for FragmenterError {}

/// A piece of the body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// EBML header, Segment (unknown size), Info, Tracks: what every connection sends first.
    Header(Bytes),
    /// A fragment begins: its Cluster (unknown size) and Timestamp, `timecode` as written
    /// (what acknowledgements call `FragmentTimecode`).
    FragmentStart {
        /// The Cluster's Timestamp, ms.
        timecode: u64,
        /// The Cluster's ID, size and Timestamp.
        bytes: Bytes,
    },
    /// One frame's block, in the fragment begun last: the block's bytes before the payload,
    /// the payload itself (a view of the source's buffer: not copied), the bytes after it
    /// (empty for a SimpleBlock).
    Frame {
        /// Block ID, size and header (BlockGroup and Block for a BlockGroup).
        head: Bytes,
        /// The frame's payload.
        payload: Bytes,
        /// What follows the payload in a BlockGroup (BlockDuration, ReferenceBlock, …).
        tail: Bytes,
    },
}

impl Piece {
    /// The piece's bytes, in order, as up to three slices (empty ones included).
    pub fn parts(&self) -> [&Bytes; 3] {
        static EMPTY: Bytes = Bytes::new();
        match self {
            Piece::Header(b) | Piece::FragmentStart { bytes: b, .. } => [b, &EMPTY, &EMPTY],
            Piece::Frame { head, payload, tail } => [head, payload, tail],
        }
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.parts().iter().map(|b| b.len()).sum()
    }

    /// Whether it holds no byte (never, for a piece a [`Fragmenter`] made).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What was cut so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragmenterStats {
    /// Frames written.
    pub frames: u64,
    /// Fragments begun.
    pub fragments: u64,
    /// Fragments begun on a frame that is not a video keyframe, because of
    /// `max_duration_ms`, `max_fragment_bytes` or a time jump a block cannot span.
    pub forced_cuts: u64,
    /// Damage events of the source (their frames could not be read).
    pub source_damage: u64,
}

/// Cuts a source's events into a PutMedia body ([`Piece`]s): feed every [`Event`] of a
/// [`Demuxer`](crate::Demuxer) over the source to [`push`](Self::push), take the pieces with
/// [`next_piece`](Self::next_piece). No I/O; frame payloads are not copied.
///
/// ```
/// use kinesis_video_parser::producer::{Fragmenter, FragmenterOptions, Piece};
/// use kinesis_video_parser::{Demuxer, Status};
/// let mut d = Demuxer::new();
/// d.push(std::fs::read("testdata/kvs_like.mkv")?);
/// d.finish();
/// let mut cut = Fragmenter::new(FragmenterOptions::starting_at(1_700_000_000_000));
/// let mut fragments = 0;
/// while let Status::Ready(event) = d.poll()? {
///     cut.push(&event)?;
///     while let Some(piece) = cut.next_piece() {
///         fragments += usize::from(matches!(piece, Piece::FragmentStart { .. }));
///     }
/// }
/// assert_eq!(cut.stats().frames, 81);
/// assert!(fragments >= 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Fragmenter {
    opts: FragmenterOptions,
    tracks: Vec<Arc<Track>>,
    has_video: bool,
    header_sent: bool,
    open: Option<OpenFragment>,
    /// The last Cluster timecode written: the next one is never below it (error 4004).
    last_timecode: Option<u64>,
    pieces: VecDeque<Piece>,
    stats: FragmenterStats,
}

#[derive(Debug)]
struct OpenFragment {
    /// Its Cluster's time on the source's timeline, ms: blocks are relative to it.
    start: i64,
    /// Bytes of its blocks so far.
    bytes: usize,
}

/// The block header's 16-bit relative time.
const REL_RANGE: std::ops::RangeInclusive<i64> = i16::MIN as i64..=i16::MAX as i64;

impl Fragmenter {
    /// A fragmenter cutting by `opts`.
    pub fn new(opts: FragmenterOptions) -> Self {
        Fragmenter {
            opts,
            tracks: Vec::new(),
            has_video: false,
            header_sent: false,
            open: None,
            last_timecode: None,
            pieces: VecDeque::new(),
            stats: FragmenterStats::default(),
        }
    }

    /// What was cut so far.
    pub fn stats(&self) -> FragmenterStats {
        self.stats
    }

    /// The options.
    pub fn options(&self) -> &FragmenterOptions {
        &self.opts
    }

    /// The next piece of the body, in order.
    pub fn next_piece(&mut self) -> Option<Piece> {
        self.pieces.pop_front()
    }

    /// Takes one event of the source: tracks are collected until the first frame, frames
    /// are written, the rest is ignored (damage counted).
    ///
    /// # Errors
    /// A source PutMedia cannot carry ([`FragmenterError`]); the fragmenter is unusable after.
    pub fn push(&mut self, event: &Event) -> Result<(), FragmenterError> {
        match event {
            Event::Track(t) => self.track(t),
            Event::Frame(f) => self.frame(f),
            Event::Damage(_) => {
                self.stats.source_damage += 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn track(&mut self, t: &Arc<Track>) -> Result<(), FragmenterError> {
        match self.tracks.iter().position(|x| x.number == t.number) {
            Some(i) if self.tracks[i] == *t => return Ok(()),
            _ if self.header_sent => return Err(FragmenterError::TracksChanged { track: t.number }),
            Some(i) => self.tracks[i] = t.clone(),
            None => self.tracks.push(t.clone()),
        }
        if self.tracks.len() > 3 {
            return Err(FragmenterError::TooManyTracks(self.tracks.len()));
        }
        self.has_video = self.tracks.iter().any(|t| t.track_type == 1);
        Ok(())
    }

    fn header(&mut self) {
        let mut b = Vec::new();
        mux::ebml_header(&mut b, "matroska");
        mux::segment_start(&mut b);
        mux::info(&mut b, &SegmentInfo { timestamp_scale: 1_000_000, ..SegmentInfo::default() });
        mux::tracks(&mut b, &self.tracks);
        self.pieces.push_back(Piece::Header(b.into()));
        self.header_sent = true;
    }

    fn frame(&mut self, f: &Frame) -> Result<(), FragmenterError> {
        let Some(track) = self.tracks.iter().find(|t| t.number == f.info.track).cloned() else {
            return Err(FragmenterError::UnknownTrack { track: f.info.track });
        };
        if !self.header_sent {
            self.header();
        }
        let ms = mux::frame_ticks(f, Some(&track), 1_000_000);
        let block_bytes = f.data.len() + 32;
        let cut = match &self.open {
            None => Cut::Clean,
            Some(o) => {
                let age = ms.saturating_sub(o.start);
                let key = !self.has_video || (track.track_type == 1 && f.info.keyframe);
                if key && age >= self.opts.target_duration_ms as i64 {
                    Cut::Clean
                } else if age >= self.opts.max_duration_ms as i64
                    || o.bytes + block_bytes > self.opts.max_fragment_bytes
                    || !REL_RANGE.contains(&ms.saturating_sub(o.start))
                {
                    Cut::Forced
                } else {
                    Cut::None
                }
            }
        };
        if cut != Cut::None {
            self.begin(ms, cut == Cut::Forced)?;
        }
        let open = self.open.as_mut().expect("a fragment is open");
        let rel = i16::try_from(ms - open.start).map_err(|_| FragmenterError::TimeOutOfOrder { ms })?;
        let (head, tail) = mux::block_around(std::slice::from_ref(f), rel, Some(&track), 1_000_000);
        open.bytes += head.len() + f.data.len() + tail.len();
        self.stats.frames += 1;
        self.pieces.push_back(Piece::Frame { head: head.into(), payload: f.data.clone(), tail: tail.into() });
        Ok(())
    }

    /// Opens a fragment at `ms` on the source's timeline; its Cluster timecode never goes
    /// below the previous one's.
    fn begin(&mut self, ms: i64, forced: bool) -> Result<(), FragmenterError> {
        let base = match self.opts.timecodes {
            Timecodes::Absolute { start_ms } => i64::try_from(start_ms).unwrap_or(i64::MAX),
            Timecodes::Relative { .. } => 0,
        };
        let written = ms.checked_add(base).ok_or(FragmenterError::NegativeTime { ms })?;
        let mut timecode = u64::try_from(written).map_err(|_| FragmenterError::NegativeTime { ms })?;
        if let Some(last) = self.last_timecode {
            timecode = timecode.max(last + 1);
        }
        let mut c = Vec::with_capacity(24);
        writer::id(&mut c, ids::CLUSTER);
        writer::size(&mut c, 0, Size::Unknown(8));
        writer::uint(&mut c, ids::TIMESTAMP, timecode);
        self.pieces.push_back(Piece::FragmentStart { timecode, bytes: c.into() });
        self.open = Some(OpenFragment { start: timecode as i64 - base, bytes: 0 });
        self.last_timecode = Some(timecode);
        self.stats.fragments += 1;
        self.stats.forced_cuts += u64::from(forced);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// The frame goes into the open fragment.
    None,
    /// A new fragment, on a keyframe (or the first frame).
    Clean,
    /// A new fragment because the open one cannot take the frame.
    Forced,
}
