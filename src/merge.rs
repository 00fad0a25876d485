//! Merging a GetMedia body (one EBML document per fragment) into one continuous Matroska
//! stream that players open, streaming, byte-compatible with AWS's Java merger.
//!
//! For each document after the first whose EBML header and Tracks are byte-identical to the
//! previous ones and whose Cluster Timestamp increases, the leading bytes from its EBML header
//! through the end of its Tracks are dropped and everything after them is kept byte for byte
//! (its Tags, Cluster, trailing Tags). Otherwise a new Segment starts (the whole document is
//! kept), or, with [`MergeOptions::stop_at_mismatch`], the output ends there. A known-size
//! Segment is written with unknown size (same width). Optionally, sparse clusters are
//! re-timed ([`MergeOptions::pack_clusters`]).
//!
//! Only a document's header region (up to its Cluster Timestamp) is held while deciding;
//! everything else is passed through as soon as it has been parsed, as zero-copy slices of
//! the input.

use std::collections::VecDeque;
use std::io::{Read, Write};

use bytes::Bytes;

use crate::demux::DemuxOptions;
use crate::ebml::{value, ElementEvent, ElementHeader, ElementReader};
use crate::io::read::{Pieces, DEFAULT_READ_SIZE};
use crate::mkv::ids::{self, Matroska};
use crate::Status;

/// Merge settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeOptions {
    /// Re-time clusters so that sparse fragments play back to back: the first Cluster at 0,
    /// each next one at the previous packed timestamp plus the span of the previous
    /// Cluster's block timestamps plus that Cluster's average frame interval (integer
    /// division). Each Timestamp is rewritten in its original byte width. (Like the Java
    /// merger, CRC-32 elements of re-timed Clusters are not recomputed.)
    pub pack_clusters: bool,
    /// End the output at the first document whose EBML header or Tracks differ from the
    /// previous ones, or whose Cluster Timestamp does not increase, instead of starting a
    /// new Segment there.
    pub stop_at_mismatch: bool,
    /// The reader's limits and CRC-32 checking (a mismatch is damage, left out).
    pub demux: DemuxOptions,
}

/// What a merge did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// EBML documents read.
    pub documents: u64,
    /// Segments written (1 + each restart).
    pub segments: u64,
    /// Clusters written.
    pub clusters: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Damage was skipped in the input (the output holds everything valid).
    pub damaged: bool,
    /// The input was truncated (the cut element is not written).
    pub truncated: bool,
    /// With `stop_at_mismatch`: input offset of the document where the output ended.
    pub stopped_at: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Keep the whole document (first one, or a new Segment).
    Full,
    /// Drop the document's bytes before this offset (end of its Tracks).
    DropHeaderTo(u64),
    Stop,
}

#[derive(Debug, Default)]
struct Doc {
    start: u64,
    ebml: Option<Bytes>,
    tracks: Option<Bytes>,
    tracks_end: Option<u64>,
    /// Offset and width of a known Segment size to rewrite as unknown.
    segment_size: Option<(u64, usize)>,
    decision: Option<Decision>,
}

/// Block timestamps of one Cluster (for packing).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    min: i64,
    max: i64,
    blocks: i64,
}

/// The I/O-free merger: push input, take output pieces, finish.
#[derive(Debug)]
pub struct Merger {
    reader: ElementReader<Matroska>,
    opts: MergeOptions,
    /// Input bytes from `raw_start` on, as pushed.
    raw: VecDeque<Bytes>,
    raw_start: u64,
    /// Everything before this input offset has been written or dropped.
    emitted: u64,
    /// Input ranges to leave out (damage).
    drops: Vec<(u64, u64)>,
    out: VecDeque<Bytes>,
    doc: Option<Doc>,
    prev_ebml: Option<Bytes>,
    prev_tracks: Option<Bytes>,
    last_cluster_ts: Option<u64>,
    cluster_open: bool,
    span: Option<Span>,
    prev_span: Option<Span>,
    packed: Option<u64>,
    truncated_at: Option<u64>,
    done: bool,
    report: MergeReport,
}

impl Merger {
    /// A merger with the given options.
    pub fn new(opts: MergeOptions) -> Self {
        Merger {
            reader: ElementReader::new(opts.demux.limits).with_crc_verification(opts.demux.verify_crc),
            opts,
            raw: VecDeque::new(),
            raw_start: 0,
            emitted: 0,
            drops: Vec::new(),
            out: VecDeque::new(),
            doc: None,
            prev_ebml: None,
            prev_tracks: None,
            last_cluster_ts: None,
            cluster_open: false,
            span: None,
            prev_span: None,
            packed: None,
            truncated_at: None,
            done: false,
            report: MergeReport::default(),
        }
    }

    /// Appends input.
    pub fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() && !self.done {
            self.raw.push_back(bytes.clone());
            self.reader.push(bytes);
        }
    }

    /// Declares the end of input.
    pub fn finish(&mut self) {
        self.reader.finish();
    }

    /// `true` once all output has been produced (end of input, or the stop point).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The report so far.
    pub fn report(&self) -> &MergeReport {
        &self.report
    }

    /// Output ready to be written, in order (zero-copy slices of the input, plus rewritten
    /// size and timestamp fields).
    pub fn take_output(&mut self) -> impl Iterator<Item = Bytes> + '_ {
        self.out.drain(..)
    }

    /// Parses as far as the input allows: how far that got.
    pub fn process(&mut self) -> Progress {
        while !self.done {
            match self.reader.poll() {
                Ok(Status::Ready(ev)) => self.on_event(ev),
                Ok(Status::NeedMore(n)) => {
                    self.flush_decided();
                    return Progress::NeedMore(n);
                }
                Ok(Status::Done) => self.end_of_input(),
                Err(e) => {
                    self.report.truncated = true;
                    self.truncated_at = Some(e.offset());
                }
            }
        }
        Progress::Done
    }

    fn on_event(&mut self, ev: ElementEvent) {
        match ev {
            ElementEvent::Start(h) => match h.id {
                ids::EBML => {
                    self.close_doc(h.offset);
                    if self.done {
                        return;
                    }
                    self.report.documents += 1;
                    self.doc = Some(Doc { start: h.offset, ..Doc::default() });
                }
                ids::SEGMENT => {
                    let doc = self.doc.get_or_insert_with(|| Doc { start: h.offset, ..Doc::default() });
                    if h.size.is_some() && h.header_len > 4 {
                        doc.segment_size = Some((h.offset + 4, usize::from(h.header_len) - 4));
                    }
                }
                ids::CLUSTER => {
                    self.cluster_open = true;
                    if let Some(s) = self.span.take() {
                        self.prev_span = Some(s);
                    }
                    self.span = Some(Span { min: i64::MAX, max: i64::MIN, blocks: 0 });
                }
                _ => {}
            },
            ElementEvent::End(h, end) => match h.id {
                ids::EBML => {
                    let raw = self.raw_range(h.offset, end);
                    if let Some(d) = &mut self.doc {
                        d.ebml = Some(raw);
                    }
                }
                ids::TRACKS => {
                    let raw = self.raw_range(h.offset, end);
                    if let Some(d) = &mut self.doc {
                        d.tracks = Some(raw);
                        d.tracks_end = Some(end);
                    }
                }
                ids::CLUSTER => self.cluster_open = false,
                _ => {}
            },
            ElementEvent::Data(h, data) => match h.id {
                ids::TIMESTAMP if self.cluster_open => self.cluster_timestamp(&h, &data),
                ids::SIMPLE_BLOCK | ids::BLOCK => {
                    if let (Some(s), Ok(bh)) = (&mut self.span, crate::mkv::block::header(&data)) {
                        let t = i64::from(bh.timestamp);
                        s.min = s.min.min(t);
                        s.max = s.max.max(t);
                        s.blocks += 1;
                    }
                }
                _ => {}
            },
            ElementEvent::Skipped(_) => {}
            ElementEvent::Damage(d) => {
                self.report.damaged = true;
                if d.length > 0 {
                    self.drops.push((d.offset, d.offset + d.length));
                }
            }
        }
    }

    fn cluster_timestamp(&mut self, h: &ElementHeader, data: &Bytes) {
        let ts = value::uint(data).unwrap_or(0);
        if self.doc.as_ref().is_some_and(|d| d.decision.is_none()) {
            self.decide(Some(ts));
            if self.done {
                return;
            }
        }
        self.report.clusters += 1;
        if self.opts.pack_clusters {
            let packed = match (self.packed, self.prev_span.take()) {
                (Some(p), Some(s)) if s.blocks > 0 => {
                    let span = (s.max - s.min).max(0) as u64;
                    let avg = if s.blocks > 1 { span / (s.blocks as u64 - 1) } else { 0 };
                    p + span + avg
                }
                (Some(p), _) => p,
                (None, _) => 0,
            };
            self.packed = Some(packed);
            // Write everything up to the value, then the new value in the same width.
            self.emit_to(h.data_offset());
            let width = data.len();
            if width > 0 && (width >= 8 || packed < 1u64 << (8 * width)) {
                self.push_out(Bytes::copy_from_slice(&packed.to_be_bytes()[8 - width..]));
                self.emitted = h.data_offset() + width as u64;
            }
        }
        self.last_cluster_ts = Some(ts);
    }

    /// Decides what to do with the open document, now that its first Cluster Timestamp is
    /// known (`None`: it has no Cluster).
    fn decide(&mut self, ts: Option<u64>) {
        let Some(doc) = &self.doc else { return };
        let first = self.report.segments == 0;
        let same =
            doc.ebml.is_some() && doc.tracks.is_some() && doc.ebml == self.prev_ebml && doc.tracks == self.prev_tracks;
        let increasing = match (ts, self.last_cluster_ts) {
            (Some(t), Some(p)) => t > p,
            _ => true,
        };
        let decision = if first {
            Decision::Full
        } else if same && increasing {
            Decision::DropHeaderTo(doc.tracks_end.expect("tracks present"))
        } else if self.opts.stop_at_mismatch {
            Decision::Stop
        } else {
            Decision::Full
        };
        let (start, segment_size) = (doc.start, doc.segment_size);
        self.prev_ebml = doc.ebml.clone();
        self.prev_tracks = doc.tracks.clone();
        if let Some(d) = &mut self.doc {
            d.decision = Some(decision);
        }
        match decision {
            Decision::Full => {
                self.report.segments += 1;
                self.packed = None;
                self.prev_span = None;
                if let Some((at, width)) = segment_size {
                    self.emit_to(at);
                    let unknown = ((1u64 << (7 * width as u32)) - 1) | (1u64 << (7 * width as u32));
                    self.push_out(Bytes::copy_from_slice(&unknown.to_be_bytes()[8 - width..]));
                    self.emitted = at + width as u64;
                }
            }
            Decision::DropHeaderTo(end) => {
                self.emit_to(start);
                self.emitted = end;
            }
            Decision::Stop => {
                self.emit_to(start);
                self.report.stopped_at = Some(start);
                self.finish_output();
            }
        }
    }

    /// A new document starts at `next`, or the input ended there: settle the open one.
    fn close_doc(&mut self, next: u64) {
        if self.doc.as_ref().is_some_and(|d| d.decision.is_none()) {
            self.decide(None);
        }
        if !self.done {
            self.emit_to(next);
        }
    }

    fn end_of_input(&mut self) {
        let end = self.truncated_at.unwrap_or_else(|| self.reader.position());
        self.close_doc(end);
        self.finish_output();
    }

    fn finish_output(&mut self) {
        self.done = true;
        self.raw.clear();
    }

    /// Writes what is decided so far (not the held header region of an undecided document).
    fn flush_decided(&mut self) {
        let held = self.doc.as_ref().filter(|d| d.decision.is_none()).map(|d| d.start);
        // Bytes the reader has consumed are settled, except an element whose body is still
        // arriving (it may be cut) and bytes being scanned after damage (they may be junk).
        let mut upto = held.unwrap_or_else(|| self.reader.position());
        for limit in [self.reader.pending_element().map(|h| h.offset), self.reader.resync_start(), self.truncated_at] {
            upto = limit.map_or(upto, |l| upto.min(l));
        }
        if upto > self.emitted {
            self.emit_to(upto);
        }
    }

    /// Writes input `emitted..to` (minus damaged ranges) and drops the raw bytes before it.
    fn emit_to(&mut self, to: u64) {
        let mut at = self.emitted;
        let mut drops = std::mem::take(&mut self.drops);
        drops.sort_unstable();
        for &(a, b) in &drops {
            if b <= at || a >= to {
                continue;
            }
            if a > at {
                self.copy_raw(at, a);
            }
            at = at.max(b);
        }
        if to > at {
            self.copy_raw(at, to);
        }
        drops.retain(|&(_, b)| b > to);
        self.drops = drops;
        self.emitted = self.emitted.max(to);
        self.trim_raw();
    }

    fn push_out(&mut self, b: Bytes) {
        if !b.is_empty() {
            self.report.bytes_out += b.len() as u64;
            self.out.push_back(b);
        }
    }

    /// Queues input bytes `a..b` for output, as slices of the pushed pieces.
    fn copy_raw(&mut self, a: u64, b: u64) {
        let mut base = self.raw_start;
        let mut pieces = Vec::new();
        for c in &self.raw {
            let end = base + c.len() as u64;
            if end > a && base < b {
                let lo = (a.max(base) - base) as usize;
                let hi = (b.min(end) - base) as usize;
                pieces.push(c.slice(lo..hi));
            }
            base = end;
            if base >= b {
                break;
            }
        }
        for p in pieces {
            self.push_out(p);
        }
    }

    /// Input bytes `a..b` as one buffer (for the small header elements compared).
    fn raw_range(&self, a: u64, b: u64) -> Bytes {
        let mut v = Vec::with_capacity((b - a) as usize);
        let mut base = self.raw_start;
        for c in &self.raw {
            let end = base + c.len() as u64;
            if end > a && base < b {
                v.extend_from_slice(&c[(a.max(base) - base) as usize..(b.min(end) - base) as usize]);
            }
            base = end;
        }
        Bytes::from(v)
    }

    /// Drops raw pieces nothing will need again.
    fn trim_raw(&mut self) {
        let keep_from = match &self.doc {
            Some(d) if d.decision.is_none() => d.start.min(self.emitted),
            _ => self.emitted,
        };
        while let Some(c) = self.raw.front() {
            if self.raw_start + c.len() as u64 <= keep_from {
                self.raw_start += c.len() as u64;
                self.raw.pop_front();
            } else {
                break;
            }
        }
    }
}

/// How far [`Merger::process`] got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// All input pushed so far is processed: push more (at least this many bytes, a hint),
    /// or finish.
    NeedMore(usize),
    /// The input is finished and all output is ready.
    Done,
}

/// Merges `input` into `output`, streaming.
///
/// # Errors
/// I/O errors of either side. Damage and truncation are not errors: they are in the report
/// (the output holds everything valid).
pub fn merge<R: Read, W: Write>(input: R, mut output: W, opts: MergeOptions) -> std::io::Result<MergeReport> {
    let mut m = Merger::new(opts);
    let mut pieces = Pieces::new(input, DEFAULT_READ_SIZE);
    loop {
        let st = m.process();
        for piece in m.take_output() {
            output.write_all(&piece)?;
        }
        match st {
            Progress::Done => break,
            _ => match pieces.next_piece()? {
                Some(piece) => m.push(piece),
                None => m.finish(),
            },
        }
    }
    output.flush()?;
    Ok(m.report.clone())
}
