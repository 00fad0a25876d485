//! Writing Matroska from what the demuxer produced: headers, tracks, tags, and blocks
//! (re-laced where the frames came from one lace), plus [`Remuxer`], which rewrites whole
//! fragments in the structure they were read in (parse → write → parse gives the same
//! frames, tracks and tags).

use std::io::{self, Write};
use std::sync::Arc;

use crate::ebml::writer::{self, Size};
use crate::frame::{Fragment, Frame, TagPosition};
use crate::mkv::ids;
use crate::mkv::{SegmentInfo, SimpleTag, Tag, TagValue, Track};

/// Appends an EBML header for `doc_type` (`matroska` or `webm`).
pub fn ebml_header(out: &mut Vec<u8>, doc_type: &str) {
    let mut b = Vec::new();
    writer::uint(&mut b, ids::EBML_VERSION, 1);
    writer::uint(&mut b, ids::EBML_READ_VERSION, 1);
    writer::uint(&mut b, ids::EBML_MAX_ID_LENGTH, 4);
    writer::uint(&mut b, ids::EBML_MAX_SIZE_LENGTH, 8);
    writer::string(&mut b, ids::DOC_TYPE, if doc_type.is_empty() { "matroska" } else { doc_type });
    writer::uint(&mut b, ids::DOC_TYPE_VERSION, 4);
    writer::uint(&mut b, ids::DOC_TYPE_READ_VERSION, 2);
    writer::element(out, ids::EBML, Size::Minimal, &b);
}

/// Appends a Segment header with unknown size (its children follow, streamed).
pub fn segment_start(out: &mut Vec<u8>) {
    writer::id(out, ids::SEGMENT);
    writer::size(out, 0, Size::Unknown(8));
}

/// Appends an Info element.
pub fn info(out: &mut Vec<u8>, i: &SegmentInfo) {
    let mut b = Vec::new();
    writer::uint(&mut b, ids::TIMESTAMP_SCALE, i.timestamp_scale);
    if let Some(t) = &i.title {
        writer::string(&mut b, ids::TITLE, t);
    }
    if let Some(d) = i.date_utc {
        writer::element(&mut b, ids::DATE_UTC, Size::Minimal, &d.to_be_bytes());
    }
    writer::string(&mut b, ids::MUXING_APP, "kinesis-video-parser");
    writer::string(&mut b, ids::WRITING_APP, i.writing_app.as_deref().unwrap_or("kinesis-video-parser"));
    writer::element(out, ids::INFO, Size::Minimal, &b);
}

/// Appends a Tracks element describing `tracks`.
pub fn tracks(out: &mut Vec<u8>, tracks: &[Arc<Track>]) {
    let mut all = Vec::new();
    for t in tracks {
        let mut b = Vec::new();
        writer::uint(&mut b, ids::TRACK_NUMBER, t.number);
        writer::uint(&mut b, ids::TRACK_UID, t.uid);
        writer::uint(&mut b, ids::TRACK_TYPE, t.track_type);
        for (id, flag) in [
            (ids::FLAG_ENABLED, t.flag_enabled),
            (ids::FLAG_DEFAULT, t.flag_default),
            (ids::FLAG_LACING, t.flag_lacing),
        ] {
            if !flag {
                writer::uint(&mut b, id, 0);
            }
        }
        if let Some(d) = t.default_duration_ns {
            writer::uint(&mut b, ids::DEFAULT_DURATION, d);
        }
        if t.track_timestamp_scale != 1.0 {
            writer::float(&mut b, ids::TRACK_TIMESTAMP_SCALE, t.track_timestamp_scale);
        }
        for (id, v) in [(ids::NAME, &t.name), (ids::LANGUAGE, &t.language), (ids::LANGUAGE_BCP47, &t.language_bcp47)] {
            if let Some(v) = v {
                writer::string(&mut b, id, v);
            }
        }
        writer::string(&mut b, ids::CODEC_ID, &t.codec_id);
        if let Some(cp) = &t.codec_private {
            writer::element(&mut b, ids::CODEC_PRIVATE, Size::Minimal, cp);
        }
        if let Some(n) = &t.codec_name {
            writer::string(&mut b, ids::CODEC_NAME, n);
        }
        if t.codec_delay_ns != 0 {
            writer::uint(&mut b, ids::CODEC_DELAY, t.codec_delay_ns);
        }
        if t.seek_pre_roll_ns != 0 {
            writer::uint(&mut b, ids::SEEK_PRE_ROLL, t.seek_pre_roll_ns);
        }
        if let Some(v) = &t.video {
            let mut e = Vec::new();
            for (id, x) in [
                (ids::PIXEL_WIDTH, v.pixel_width),
                (ids::PIXEL_HEIGHT, v.pixel_height),
                (ids::DISPLAY_WIDTH, v.display_width),
                (ids::DISPLAY_HEIGHT, v.display_height),
            ] {
                if let Some(x) = x {
                    writer::uint(&mut e, id, x);
                }
            }
            for (id, x) in [
                (ids::DISPLAY_UNIT, v.display_unit),
                (ids::FLAG_INTERLACED, v.flag_interlaced),
                (ids::STEREO_MODE, v.stereo_mode),
            ] {
                if x != 0 {
                    writer::uint(&mut e, id, x);
                }
            }
            writer::element(&mut b, ids::VIDEO, Size::Minimal, &e);
        }
        if let Some(a) = &t.audio {
            let mut e = Vec::new();
            writer::float(&mut e, ids::SAMPLING_FREQUENCY, a.sampling_frequency);
            if let Some(o) = a.output_sampling_frequency {
                writer::float(&mut e, ids::OUTPUT_SAMPLING_FREQUENCY, o);
            }
            writer::uint(&mut e, ids::CHANNELS, a.channels);
            if let Some(d) = a.bit_depth {
                writer::uint(&mut e, ids::BIT_DEPTH, d);
            }
            writer::element(&mut b, ids::AUDIO, Size::Minimal, &e);
        }
        if !t.content_encodings.is_empty() {
            let mut encs = Vec::new();
            for c in &t.content_encodings {
                let mut e = Vec::new();
                writer::uint(&mut e, ids::CONTENT_ENCODING_ORDER, c.order);
                writer::uint(&mut e, ids::CONTENT_ENCODING_SCOPE, c.scope);
                writer::uint(&mut e, ids::CONTENT_ENCODING_TYPE, c.encoding_type);
                let mut comp = Vec::new();
                writer::uint(&mut comp, ids::CONTENT_COMP_ALGO, c.comp_algo);
                if let Some(s) = &c.comp_settings {
                    writer::element(&mut comp, ids::CONTENT_COMP_SETTINGS, Size::Minimal, s);
                }
                writer::element(&mut e, ids::CONTENT_COMPRESSION, Size::Minimal, &comp);
                writer::element(&mut encs, ids::CONTENT_ENCODING, Size::Minimal, &e);
            }
            writer::element(&mut b, ids::CONTENT_ENCODINGS, Size::Minimal, &encs);
        }
        writer::element(&mut all, ids::TRACK_ENTRY, Size::Minimal, &b);
    }
    writer::element(out, ids::TRACKS, Size::Minimal, &all);
}

fn simple_tag(out: &mut Vec<u8>, s: &SimpleTag) {
    let mut b = Vec::new();
    writer::string(&mut b, ids::TAG_NAME, &s.name);
    if let Some(l) = &s.language {
        writer::string(&mut b, ids::TAG_LANGUAGE, l);
    }
    if let Some(l) = &s.language_bcp47 {
        writer::string(&mut b, ids::TAG_LANGUAGE_BCP47, l);
    }
    if !s.default {
        writer::uint(&mut b, ids::TAG_DEFAULT, 0);
    }
    match &s.value {
        TagValue::String(v) => writer::string(&mut b, ids::TAG_STRING, v),
        TagValue::Binary(v) => writer::element(&mut b, ids::TAG_BINARY, Size::Minimal, v),
        TagValue::None => {}
    }
    for c in &s.children {
        simple_tag(&mut b, c);
    }
    writer::element(out, ids::SIMPLE_TAG, Size::Minimal, &b);
}

/// Appends a Tags element holding `tags`.
pub fn tags<'a>(out: &mut Vec<u8>, tags: impl IntoIterator<Item = &'a Tag>) {
    let mut all = Vec::new();
    for t in tags {
        let mut b = Vec::new();
        if t.has_targets {
            let mut tg = Vec::new();
            let g = &t.targets;
            writer::uint(&mut tg, ids::TARGET_TYPE_VALUE, g.type_value);
            if let Some(tt) = &g.target_type {
                writer::string(&mut tg, ids::TARGET_TYPE, tt);
            }
            for (id, list) in [
                (ids::TAG_TRACK_UID, &g.track_uids),
                (ids::TAG_EDITION_UID, &g.edition_uids),
                (ids::TAG_CHAPTER_UID, &g.chapter_uids),
                (ids::TAG_ATTACHMENT_UID, &g.attachment_uids),
            ] {
                for &u in list {
                    writer::uint(&mut tg, id, u);
                }
            }
            writer::element(&mut b, ids::TARGETS, Size::Minimal, &tg);
        }
        for s in &t.simple_tags {
            simple_tag(&mut b, s);
        }
        writer::element(&mut all, ids::TAG, Size::Minimal, &b);
    }
    writer::element(out, ids::TAGS, Size::Minimal, &all);
}

/// Appends one block holding `frames` (one frame, or every frame of one lace, in order) at
/// `rel` ticks from its Cluster: a SimpleBlock, or a BlockGroup when a duration other than
/// the track's default or a DiscardPadding must be kept.
pub fn block(out: &mut Vec<u8>, frames: &[Frame], rel: i16, track: Option<&Track>, scale: u64) {
    let (head, tail) = block_around(frames, rel, track, scale);
    out.extend_from_slice(&head);
    for x in frames {
        out.extend_from_slice(&x.data);
    }
    out.extend_from_slice(&tail);
}

/// The bytes of [`block`] before and after the frames' payloads, which go between them as
/// they are (so that a writer can send the payloads without copying them).
pub fn block_around(frames: &[Frame], rel: i16, track: Option<&Track>, scale: u64) -> (Vec<u8>, Vec<u8>) {
    let f = &frames[0];
    let n = frames.len();
    let lacing = if n > 1 { 0x02 } else { 0 };
    let default = track.and_then(|t| t.default_duration_ns);
    let needs_group = f.info.discard_padding_ns != 0 || (f.info.duration_ns.is_some() && f.info.duration_ns != default);
    let flags = if needs_group { 0 } else { u8::from(f.info.keyframe) << 7 | u8::from(f.info.discardable) };
    // The Block's body up to the payloads: its header and the lace sizes.
    let mut lead = Vec::new();
    writer::block_header(&mut lead, f.info.track, rel, flags | u8::from(f.info.invisible) << 3 | lacing);
    if n > 1 {
        lead.push((n - 1) as u8);
        for x in &frames[..n - 1] {
            let mut l = x.data.len();
            while l >= 255 {
                lead.push(255);
                l -= 255;
            }
            lead.push(l as u8);
        }
    }
    let body_len = (lead.len() + frames.iter().map(|x| x.data.len()).sum::<usize>()) as u64;
    let mut head = Vec::with_capacity(lead.len() + 24);
    if !needs_group {
        writer::id(&mut head, ids::SIMPLE_BLOCK);
        writer::size(&mut head, body_len, Size::Minimal);
        head.extend_from_slice(&lead);
        return (head, Vec::new());
    }
    let mut tail = Vec::new();
    if let Some(d) = f.info.duration_ns.filter(|_| f.info.duration_ns != default) {
        let tts = track.map_or(1.0, |t| t.track_timestamp_scale);
        let ticks = (d as f64 * n as f64 / (scale as f64 * tts)).round() as u64;
        writer::uint(&mut tail, ids::BLOCK_DURATION, ticks);
    }
    if !f.info.keyframe {
        writer::int(&mut tail, ids::REFERENCE_BLOCK, -1);
    }
    if f.info.discard_padding_ns != 0 {
        writer::int(&mut tail, ids::DISCARD_PADDING, f.info.discard_padding_ns);
    }
    let mut block_head = Vec::new();
    writer::id(&mut block_head, ids::BLOCK);
    writer::size(&mut block_head, body_len, Size::Minimal);
    let group_len = block_head.len() as u64 + body_len + tail.len() as u64;
    writer::id(&mut head, ids::BLOCK_GROUP);
    writer::size(&mut head, group_len, Size::Minimal);
    head.extend_from_slice(&block_head);
    head.extend_from_slice(&lead);
    (head, tail)
}

/// Block time of a frame in track ticks: (pts + CodecDelay) / (TimestampScale × TrackTimestampScale).
pub fn frame_ticks(f: &Frame, track: Option<&Track>, scale: u64) -> i64 {
    let delay = track.map_or(0, |t| t.codec_delay_ns) as i128;
    let tts = track.map_or(1.0, |t| t.track_timestamp_scale);
    let ns = i128::from(f.info.pts_ns) + delay;
    if tts == 1.0 {
        (ns / i128::from(scale.max(1))) as i64
    } else {
        (ns as f64 / (scale as f64 * tts)).round() as i64
    }
}

/// Groups frames into blocks: a lace's frames (lace_index 0..count) stay together.
pub fn blocks(frames: &[Frame]) -> impl Iterator<Item = &[Frame]> {
    let mut rest = frames;
    std::iter::from_fn(move || {
        let f = rest.first()?;
        let n = if f.info.lace_index == 0 { usize::from(f.info.lace_count).clamp(1, rest.len()) } else { 1 };
        let n = rest[..n].iter().take_while(|x| x.info.track == f.info.track).count().max(1);
        let (b, r) = rest.split_at(n);
        rest = r;
        Some(b)
    })
}

/// Rewrites whole fragments in the structure they were read in: one document per fragment
/// that started one, its Tags before and after its Cluster, the Cluster at its original
/// Timestamp, frames re-laced as they were.
#[derive(Debug)]
pub struct Remuxer<W: Write> {
    out: W,
    scale: u64,
    tracks: Arc<[Arc<Track>]>,
    started: bool,
}

impl<W: Write> Remuxer<W> {
    /// A remuxer writing to `out`.
    pub fn new(out: W) -> Self {
        Remuxer { out, scale: 1_000_000, tracks: Arc::from(Vec::new()), started: false }
    }

    /// Writes one fragment.
    ///
    /// # Errors
    /// I/O errors of `out`.
    pub fn write_fragment(&mut self, f: &Fragment, doc_type: &str) -> io::Result<()> {
        let m = &f.meta;
        let mut buf = Vec::new();
        if m.starts_document || !self.started {
            ebml_header(&mut buf, doc_type);
            segment_start(&mut buf);
            info(&mut buf, &m.info);
            tracks(&mut buf, &m.tracks);
            self.scale = m.info.timestamp_scale;
            self.tracks = m.tracks.clone();
            self.started = true;
        }
        let at = |p: TagPosition| m.tags.iter().filter(move |t| t.position == p).map(|t| &t.tag);
        if at(TagPosition::BeforeCluster).next().is_some() {
            tags(&mut buf, at(TagPosition::BeforeCluster));
        }
        if let Some(cts) = m.cluster_timestamp {
            let mut c = Vec::new();
            writer::uint(&mut c, ids::TIMESTAMP, cts);
            for b in blocks(&f.frames) {
                let track = self.tracks.iter().find(|t| t.number == b[0].info.track).map(|t| &**t);
                let rel = frame_ticks(&b[0], track, self.scale) - cts as i64;
                let rel = i16::try_from(rel).map_err(|_| io::Error::other("block time outside its cluster"))?;
                block(&mut c, b, rel, track, self.scale);
            }
            writer::element(&mut buf, ids::CLUSTER, Size::Minimal, &c);
        }
        if at(TagPosition::AfterCluster).next().is_some() {
            tags(&mut buf, at(TagPosition::AfterCluster));
        }
        self.out.write_all(&buf)
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}
