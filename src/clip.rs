//! Clips: the frames between two times, as a standalone Matroska file that starts at a
//! keyframe, with track headers and timestamps rebased to 0 (the local equivalent of KVS
//! GetClip). Streaming: at most one GOP is held before the start point, and one Cluster
//! while writing.

use std::io::{self, Read, Write};
use std::sync::Arc;

use crate::demux::{DemuxOptions, Event};
use crate::ebml::writer::{self, Size};
use crate::frame::Frame;
use crate::io::read::ReadDemuxer;
use crate::mkv::ids;
use crate::mkv::{SegmentInfo, Track, TrackKind};
use crate::mux;

/// Which clock `from`/`to` refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClipTime {
    /// Frame presentation time in the stream (ns).
    #[default]
    Pts,
    /// KVS producer time: the fragment's `PRODUCER_TIMESTAMP` plus the frame's offset from
    /// its Cluster (ns since the Unix epoch).
    Producer,
    /// KVS server time, likewise from `SERVER_TIMESTAMP`.
    Server,
}

/// What to clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClipOptions {
    /// Start (inclusive), in ns of [`time`](Self::time); `None` = from the first keyframe.
    pub from_ns: Option<i64>,
    /// End (exclusive); `None` = to the end of the input.
    pub to_ns: Option<i64>,
    /// The clock of `from_ns` and `to_ns`.
    pub time: ClipTime,
    /// How the input is parsed (limits, CRC-32 checking).
    pub demux: DemuxOptions,
}

/// What a clip contains.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClipReport {
    /// Frames written.
    pub frames: u64,
    /// Clusters written.
    pub clusters: u64,
    /// Output pts of the first and last frame written (ns, rebased).
    pub first_pts_ns: i64,
    /// See `first_pts_ns`.
    pub last_pts_ns: i64,
    /// Damage was skipped in the part of the input read.
    pub damaged: bool,
    /// The input was truncated.
    pub truncated: bool,
}

struct Writer<W: Write> {
    out: W,
    scale: u64,
    tracks: Arc<[Arc<Track>]>,
    base_pts: i64,
    cluster: Vec<Frame>,
    report: ClipReport,
}

impl<W: Write> Writer<W> {
    fn flush_cluster(&mut self) -> io::Result<()> {
        if self.cluster.is_empty() {
            return Ok(());
        }
        let frames = std::mem::take(&mut self.cluster);
        let track_of = |n: u64| self.tracks.iter().find(|t| t.number == n).map(|t| &**t);
        let ticks: Vec<i64> = frames.iter().map(|f| mux::frame_ticks(f, track_of(f.info.track), self.scale)).collect();
        let cts = ticks.iter().copied().min().unwrap_or(0).max(0);
        let mut c = Vec::new();
        writer::uint(&mut c, ids::TIMESTAMP, cts as u64);
        let mut at = 0;
        for b in mux::blocks(&frames) {
            let rel = (ticks[at] - cts).clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16;
            mux::block(&mut c, b, rel, track_of(b[0].info.track), self.scale);
            at += b.len();
        }
        let mut buf = Vec::new();
        writer::element(&mut buf, ids::CLUSTER, Size::Minimal, &c);
        self.report.clusters += 1;
        self.out.write_all(&buf)
    }

    fn frame(&mut self, mut f: Frame, new_cluster: bool) -> io::Result<()> {
        f.info.pts_ns -= self.base_pts;
        let span_ticks = |a: i64, b: i64| (b - a) / self.scale.max(1) as i64;
        let too_long = self.cluster.first().is_some_and(|c| span_ticks(c.info.pts_ns, f.info.pts_ns).abs() > 30_000);
        if (new_cluster || too_long) && f.info.lace_index == 0 {
            self.flush_cluster()?;
        }
        if self.report.frames == 0 {
            self.report.first_pts_ns = f.info.pts_ns;
        }
        self.report.frames += 1;
        self.report.last_pts_ns = f.info.pts_ns;
        self.cluster.push(f);
        Ok(())
    }
}

/// Writes the clip of `input` described by `opts` to `output`.
///
/// The clip starts at the last keyframe (of the first video track, or of any track when
/// there is no video) at or before `from`, and holds every frame of the clip's tracks from
/// there whose time is before `to`, in stream order.
///
/// # Errors
/// I/O errors of either side.
pub fn clip<R: Read, W: Write>(input: R, output: W, opts: ClipOptions) -> io::Result<ClipReport> {
    let mut demux = ReadDemuxer::with_options(input, opts.demux);
    let mut doc_type = String::from("matroska");
    let mut info = SegmentInfo::default();
    let mut gop: Vec<Frame> = Vec::new();
    let mut w: Option<Writer<W>> = None;
    let mut output = Some(output);
    let mut damaged = false;
    let mut truncated = false;
    while let Some(item) = demux.next() {
        let ev = match item {
            Ok(ev) => ev,
            Err(e) if e.is_truncation() => {
                truncated = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let f = match ev {
            Event::Header(h) => {
                doc_type = h.doc_type.clone();
                continue;
            }
            Event::Info(i) => {
                info = (*i).clone();
                continue;
            }
            Event::Damage(_) => {
                damaged = true;
                continue;
            }
            Event::Frame(f) => f,
            _ => continue,
        };
        let core = demux.demuxer();
        let tracks = core.shared_tracks().clone();
        let anchor_kind = if tracks.iter().any(|t| t.kind == TrackKind::Video) { Some(TrackKind::Video) } else { None };
        let anchor_track = tracks.iter().find(|t| anchor_kind.is_none_or(|k| t.kind == k)).map(|t| t.number);
        let is_anchor = f.info.keyframe && (anchor_track.is_none() || anchor_track == Some(f.info.track));
        let t = match opts.time {
            ClipTime::Pts => Some(f.info.pts_ns),
            ClipTime::Producer | ClipTime::Server => core.current_fragment().and_then(|m| {
                let kvs =
                    if opts.time == ClipTime::Producer { &m.kvs.producer_timestamp } else { &m.kvs.server_timestamp };
                let start = i64::try_from(kvs.as_ref()?.nanos()).ok()?;
                Some(start + (f.info.pts_ns - m.cluster_timestamp_ns()?))
            }),
        };
        let Some(t) = t else { continue };
        if opts.to_ns.is_some_and(|to| t >= to) {
            if is_anchor && w.is_some() {
                break;
            }
            continue;
        }
        match &mut w {
            Some(wr) => {
                if wr.tracks.iter().any(|x| x.number == f.info.track) {
                    wr.frame(f, is_anchor)?;
                }
            }
            None => {
                if is_anchor {
                    gop.clear();
                }
                if gop.is_empty() && !is_anchor {
                    continue;
                }
                gop.push(f);
                if opts.from_ns.is_none_or(|from| t >= from) {
                    // Start: headers, then the held GOP from its keyframe.
                    let mut head = Vec::new();
                    mux::ebml_header(&mut head, &doc_type);
                    mux::segment_start(&mut head);
                    mux::info(&mut head, &info);
                    mux::tracks(&mut head, &tracks);
                    let mut out = output.take().expect("output once");
                    out.write_all(&head)?;
                    let base_pts = gop[0].info.pts_ns;
                    let mut wr = Writer {
                        out,
                        scale: info.timestamp_scale,
                        tracks,
                        base_pts,
                        cluster: Vec::new(),
                        report: ClipReport::default(),
                    };
                    for (i, g) in gop.drain(..).enumerate() {
                        if wr.tracks.iter().any(|x| x.number == g.info.track) {
                            let anchor = i == 0;
                            wr.frame(g, anchor)?;
                        }
                    }
                    w = Some(wr);
                }
            }
        }
    }
    let Some(mut wr) = w else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no keyframe found in the requested range"));
    };
    wr.flush_cluster()?;
    wr.out.flush()?;
    let mut report = wr.report;
    report.damaged = damaged;
    report.truncated = truncated;
    Ok(report)
}
