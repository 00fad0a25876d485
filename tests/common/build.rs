//! Builds Matroska/KVS streams for tests, on the crate's element writer.
#![allow(dead_code)]

use kinesis_video_parser::ebml::writer::{self, Size};
use kinesis_video_parser::mkv::ids;
use kinesis_video_parser::ElementId;

pub fn el(id: ElementId, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    writer::element(&mut v, id, Size::Minimal, body);
    v
}

pub fn el_sized(id: ElementId, size: Size, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    writer::element(&mut v, id, size, body);
    v
}

/// A master with unknown size at `width`: header then body, nothing closes it.
pub fn unknown(id: ElementId, width: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    writer::id(&mut v, id);
    writer::size(&mut v, 0, Size::Unknown(width));
    v.extend_from_slice(body);
    v
}

pub fn uint(id: ElementId, x: u64) -> Vec<u8> {
    let mut v = Vec::new();
    writer::uint(&mut v, id, x);
    v
}

pub fn int(id: ElementId, x: i64) -> Vec<u8> {
    let mut v = Vec::new();
    writer::int(&mut v, id, x);
    v
}

pub fn float(id: ElementId, x: f64) -> Vec<u8> {
    let mut v = Vec::new();
    writer::float(&mut v, id, x);
    v
}

pub fn string(id: ElementId, s: &str) -> Vec<u8> {
    el(id, s.as_bytes())
}

pub fn ebml_header(doc_type: &str) -> Vec<u8> {
    let body = [
        uint(ids::EBML_VERSION, 1),
        uint(ids::EBML_READ_VERSION, 1),
        uint(ids::EBML_MAX_ID_LENGTH, 4),
        uint(ids::EBML_MAX_SIZE_LENGTH, 8),
        string(ids::DOC_TYPE, doc_type),
        uint(ids::DOC_TYPE_VERSION, 4),
        uint(ids::DOC_TYPE_READ_VERSION, 2),
    ]
    .concat();
    el(ids::EBML, &body)
}

pub fn info(scale: u64) -> Vec<u8> {
    el(ids::INFO, &[uint(ids::TIMESTAMP_SCALE, scale), string(ids::MUXING_APP, "test")].concat())
}

/// A TrackEntry: number, type, codec, and extra children.
pub fn track(number: u64, kind: u64, codec: &str, extra: &[u8]) -> Vec<u8> {
    el(
        ids::TRACK_ENTRY,
        &[
            uint(ids::TRACK_NUMBER, number),
            uint(ids::TRACK_UID, number + 1000),
            uint(ids::TRACK_TYPE, kind),
            string(ids::CODEC_ID, codec),
            extra.to_vec(),
        ]
        .concat(),
    )
}

pub fn tracks(entries: &[Vec<u8>]) -> Vec<u8> {
    el(ids::TRACKS, &entries.concat())
}

pub fn block_body(track: u64, ts: i16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    writer::block_header(&mut b, track, ts, flags);
    b.extend_from_slice(payload);
    b
}

pub fn simple_block(track: u64, ts: i16, flags: u8, payload: &[u8]) -> Vec<u8> {
    el(ids::SIMPLE_BLOCK, &block_body(track, ts, flags, payload))
}

pub fn cluster(ts: u64, children: &[Vec<u8>]) -> Vec<u8> {
    el(ids::CLUSTER, &[vec![uint(ids::TIMESTAMP, ts)], children.to_vec()].concat().concat())
}

pub fn simple_tag(name: &str, value: &str) -> Vec<u8> {
    el(ids::SIMPLE_TAG, &[string(ids::TAG_NAME, name), string(ids::TAG_STRING, value)].concat())
}

/// One Tags element holding one Tag with these name/value pairs.
pub fn tags(pairs: &[(&str, &str)]) -> Vec<u8> {
    let st: Vec<u8> = pairs.iter().flat_map(|(n, v)| simple_tag(n, v)).collect();
    el(ids::TAGS, &el(ids::TAG, &st))
}

/// A GetMedia chunk: EBML header, unknown-size Segment (8-byte form), Info, Tracks, leading
/// KVS tags, one Cluster, trailing KVS tags.
pub fn kvs_chunk(number: &str, cluster_ts: u64, frames: &[Vec<u8>], complete: bool) -> Vec<u8> {
    let mut body = vec![
        info(1_000_000),
        tracks(&[track(
            1,
            1,
            "V_MPEG4/ISO/AVC",
            &el(ids::VIDEO, &[uint(ids::PIXEL_WIDTH, 64), uint(ids::PIXEL_HEIGHT, 48)].concat()),
        )]),
        tags(&[
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number),
            ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1700000000.123"),
            ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "1700000000.000"),
        ]),
        cluster(cluster_ts, frames),
    ];
    if complete {
        body.push(tags(&[
            ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "42"),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number),
        ]));
    }
    [ebml_header("matroska"), unknown(ids::SEGMENT, 8, &body.concat())].concat()
}
