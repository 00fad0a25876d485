//! Edge cases the corpus does not cover, on streams built with the element writer.

mod common;

use common::build::*;
use common::*;
use kinesis_video_parser::ebml::writer::Size;
use kinesis_video_parser::mkv::ids;
use kinesis_video_parser::{ErrorKind, Event};

fn doc(segment_body: &[Vec<u8>]) -> Vec<u8> {
    [ebml_header("matroska"), unknown(ids::SEGMENT, 1, &segment_body.concat())].concat()
}

fn video() -> Vec<u8> {
    track(1, 1, "V_MPEG4/ISO/AVC", &[])
}

#[test]
fn unknown_size_at_every_width() {
    for w in 1..=8u8 {
        let c1 = unknown(
            ids::CLUSTER,
            w,
            &[uint(ids::TIMESTAMP, 0), simple_block(1, 0, 0x80, b"a"), simple_block(1, 40, 0, b"bb")].concat(),
        );
        let c2 = unknown(ids::CLUSTER, w, &[uint(ids::TIMESTAMP, 80), simple_block(1, 0, 0x80, b"ccc")].concat());
        let body = [info(1_000_000), tracks(&[video()]), c1, tags(&[("AFTER", "1")]), c2].concat();
        let data = [ebml_header("matroska"), unknown(ids::SEGMENT, w, &body)].concat();
        let evs = events(&data);
        assert!(truncations(&evs).is_empty() && damages(&evs).is_empty(), "width {w}");
        let frags = fragments(&evs);
        assert_eq!(frags.len(), 2, "width {w}");
        let sizes: Vec<Vec<usize>> = frags.iter().map(|f| f.frames.iter().map(|x| x.len()).collect()).collect();
        assert_eq!(sizes, [vec![1, 2], vec![3]]);
        let pts: Vec<i64> = frags.iter().flat_map(|f| &f.frames).map(|x| x.info.pts_ns / 1_000_000).collect();
        assert_eq!(pts, [0, 40, 80]);
        // The Tags closed the first unknown-size Cluster and belong to its fragment.
        assert_eq!(frags[0].meta.user_tags().count(), 1);
        // A known-size Segment around the same clusters gives the same frames.
        let known = [ebml_header("matroska"), el_sized(ids::SEGMENT, Size::Width(w.max(3)), &body)].concat();
        let strip = |f: Vec<kinesis_video_parser::Frame>| -> Vec<_> {
            f.into_iter().map(|x| (x.info.pts_ns, x.data, x.info.keyframe)).collect()
        };
        assert_eq!(strip(frames(&events(&known))), strip(frames(&evs)), "width {w} known segment");
    }
}

#[test]
fn non_minimal_sizes_and_8_byte_values() {
    let mut sb = Vec::new();
    kinesis_video_parser::ebml::writer::id(&mut sb, ids::SIMPLE_BLOCK);
    let body = block_body(1, 5, 0x80, b"xyz");
    kinesis_video_parser::ebml::writer::size(&mut sb, body.len() as u64, Size::Width(8));
    sb.extend_from_slice(&body);
    let mut ts = Vec::new();
    kinesis_video_parser::ebml::writer::uint_width(&mut ts, ids::TIMESTAMP, 1_700_000_000_000, 8);
    let data = doc(&[info(1_000_000), tracks(&[video()]), unknown(ids::CLUSTER, 1, &[ts, sb].concat())]);
    let f = frames(&events(&data));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].info.pts_ns, 1_700_000_000_005 * 1_000_000);
    assert_eq!(&f[0].data[..], b"xyz");
}

#[test]
fn header_stripping_is_applied_as_a_prefix() {
    let comp = el(
        ids::CONTENT_COMPRESSION,
        &[uint(ids::CONTENT_COMP_ALGO, 3), el(ids::CONTENT_COMP_SETTINGS, &[0, 0, 0, 1])].concat(),
    );
    let enc =
        el(ids::CONTENT_ENCODINGS, &el(ids::CONTENT_ENCODING, &[uint(ids::CONTENT_ENCODING_SCOPE, 1), comp].concat()));
    let t = track(1, 1, "V_MPEG4/ISO/AVC", &enc);
    let laced = [vec![0x81, 0, 0, 0x82, 1, 2], b"ab".to_vec(), b"cde".to_vec()].concat(); // Xiph: 2 frames
    let data =
        doc(&[tracks(&[t]), cluster(0, &[simple_block(1, 0, 0x80, b"\x65\x88"), el(ids::SIMPLE_BLOCK, &laced)])]);
    let evs = events(&data);
    let f = frames(&evs);
    assert_eq!(f.len(), 3);
    for x in &f {
        assert_eq!(x.prefix.as_deref(), Some(&[0, 0, 0, 1][..]));
        assert!(!x.info.encoded);
    }
    assert_eq!(&f[0].payload()[..], &[0, 0, 0, 1, 0x65, 0x88]);
    assert_eq!(f[0].len(), 6);
    assert_eq!((&f[1].data[..], &f[2].data[..]), (&b"ab"[..], &b"cde"[..]));
    // Other compressions are flagged, not passed off as plain frames.
    let zlib = el(
        ids::CONTENT_ENCODINGS,
        &el(ids::CONTENT_ENCODING, &el(ids::CONTENT_COMPRESSION, &uint(ids::CONTENT_COMP_ALGO, 0))),
    );
    let data = doc(&[tracks(&[track(1, 1, "V_X", &zlib)]), cluster(0, &[simple_block(1, 0, 0x80, b"zz")])]);
    let f = frames(&events(&data));
    assert!(f[0].info.encoded && f[0].prefix.is_none());
}

#[test]
fn block_groups_references_durations_padding_negative_times() {
    let g1 =
        el(ids::BLOCK_GROUP, &[el(ids::BLOCK, &block_body(1, -5, 0, b"key")), uint(ids::BLOCK_DURATION, 20)].concat());
    let g2 =
        el(ids::BLOCK_GROUP, &[el(ids::BLOCK, &block_body(1, 15, 0, b"p")), int(ids::REFERENCE_BLOCK, -20)].concat());
    let g3 = el(
        ids::BLOCK_GROUP,
        &[
            int(ids::DISCARD_PADDING, -2_500_000),
            el(ids::BLOCK, &block_body(2, 30, 0x08, b"opus")),
            uint(ids::BLOCK_DURATION, 20),
        ]
        .concat(),
    );
    let a = track(
        2,
        2,
        "A_OPUS",
        &[
            uint(ids::CODEC_DELAY, 6_500_000),
            el(ids::AUDIO, &[float(ids::SAMPLING_FREQUENCY, 48000.0), uint(ids::CHANNELS, 2)].concat()),
        ]
        .concat(),
    );
    let v = track(1, 1, "V_X", &uint(ids::DEFAULT_DURATION, 40_000_000));
    let data = doc(&[info(1_000_000), tracks(&[v, a]), cluster(10, &[g1, g2, g3])]);
    let f = frames(&events(&data));
    assert_eq!(f.len(), 3);
    assert_eq!((f[0].info.pts_ns, f[0].info.keyframe, f[0].info.duration_ns), (5_000_000, true, Some(20_000_000)));
    assert_eq!((f[1].info.pts_ns, f[1].info.keyframe, f[1].info.duration_ns), (25_000_000, false, Some(40_000_000)));
    assert_eq!((f[2].info.pts_ns, f[2].info.keyframe, f[2].info.invisible), (40_000_000 - 6_500_000, true, true));
    assert_eq!(f[2].info.discard_padding_ns, -2_500_000);
    assert!(f.iter().all(|x| !x.info.discardable));
}

#[test]
fn simple_block_flags_and_track_timestamp_scale() {
    let t = track(1, 2, "A_X", &float(ids::TRACK_TIMESTAMP_SCALE, 2.0));
    let data = doc(&[info(1000), tracks(&[t]), cluster(100, &[simple_block(1, 3, 0x09, b"q")])]);
    let f = frames(&events(&data));
    // (100 + 3 × 2.0) × 1000 ns
    assert_eq!(f[0].info.pts_ns, 106_000);
    assert!(f[0].info.invisible && f[0].info.discardable && !f[0].info.keyframe);
}

#[test]
fn ebml_and_fixed_lacing_with_default_duration() {
    // EBML lacing of sizes 700, 690, 40 and a fixed lace of 4 × 100.
    let ebml = [vec![0x81, 0, 0, 0x86, 2, 0x42, 0xBC, 0xB5], vec![1; 700], vec![2; 690], vec![3; 40]].concat();
    let fixed = [vec![0x81, 0, 100, 0x84, 3], vec![9; 400]].concat();
    let t = track(1, 2, "A_AAC", &uint(ids::DEFAULT_DURATION, 21_333_333));
    let data = doc(&[tracks(&[t]), cluster(0, &[el(ids::SIMPLE_BLOCK, &ebml), el(ids::SIMPLE_BLOCK, &fixed)])]);
    let f = frames(&events(&data));
    let got: Vec<(usize, i64, u16, u16)> =
        f.iter().map(|x| (x.len(), x.info.pts_ns, x.info.lace_index, x.info.lace_count)).collect();
    assert_eq!(
        got,
        [
            (700, 0, 0, 3),
            (690, 21_333_333, 1, 3),
            (40, 42_666_666, 2, 3),
            (100, 100_000_000, 0, 4),
            (100, 121_333_333, 1, 4),
            (100, 142_666_666, 2, 4),
            (100, 163_999_999, 3, 4)
        ]
    );
    assert!(f[..3].iter().enumerate().all(|(i, x)| x.data.iter().all(|&b| b == i as u8 + 1)));
}

#[test]
fn bad_lace_is_reported_and_parsing_goes_on() {
    let bad = [vec![0x81, 0, 0, 0x84, 255], vec![0; 383]].concat();
    let data = doc(&[tracks(&[video()]), cluster(0, &[el(ids::SIMPLE_BLOCK, &bad), simple_block(1, 1, 0x80, b"ok")])]);
    let evs = events(&data);
    let d = damages(&evs);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].error.kind(), ErrorKind::InvalidLacing);
    let f = frames(&evs);
    assert_eq!(f.len(), 1);
    assert_eq!(&f[0].data[..], b"ok");
}

#[test]
fn void_and_crc_anywhere_never_close_unknown_sizes() {
    let void = el(ids::VOID, &[0; 5]);
    let crc = el(ids::CRC32, &[1, 2, 3, 4]);
    let t = el(
        ids::TRACK_ENTRY,
        &[crc.clone(), uint(ids::TRACK_NUMBER, 1), void.clone(), string(ids::CODEC_ID, "V_X")].concat(),
    );
    let body = [
        void.clone(),
        info(1_000_000),
        el(ids::TRACKS, &[crc.clone(), t, void.clone()].concat()),
        unknown(
            ids::CLUSTER,
            1,
            &[crc.clone(), uint(ids::TIMESTAMP, 7), void.clone(), simple_block(1, 0, 0x80, b"v"), el(ids::VOID, &[])]
                .concat(),
        ),
    ];
    let data =
        [el(ids::VOID, &[0; 3]), ebml_header("webm"), void.clone(), unknown(ids::SEGMENT, 8, &body.concat())].concat();
    let evs = events(&data);
    assert!(damages(&evs).is_empty() && truncations(&evs).is_empty());
    let f = frames(&evs);
    assert_eq!((f.len(), f[0].info.pts_ns), (1, 7_000_000));
    assert_eq!(fragments(&evs)[0].meta.tracks[0].codec_id, "V_X");
}

#[test]
fn track_definitions_change_between_documents() {
    let avc = |cp: &[u8]| tracks(&[track(1, 1, "V_MPEG4/ISO/AVC", &el(ids::CODEC_PRIVATE, cp))]);
    let d = |cp: &[u8], n: u64| doc(&[info(1_000_000), avc(cp), cluster(n, &[simple_block(1, 0, 0x80, b"f")])]);
    let data = [d(&[1, 2], 0), d(&[1, 2], 1), d(&[1, 3], 2), d(&[1, 3], 3)].concat();
    let evs = events(&data);
    let announced: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Ok(Event::Track(t)) => Some(t.codec_private.clone().unwrap().to_vec()),
            _ => None,
        })
        .collect();
    assert_eq!(announced, [vec![1, 2], vec![1, 3]]);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 4);
    assert_eq!(&frags[2].meta.tracks[0].codec_private.as_ref().unwrap()[..], &[1, 3]);
}

#[test]
fn in_band_error_chunks_both_spellings() {
    let get_media = doc(&[tags(&[
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "91343852333181432392682062607743920146159169392"),
        ("AWS_KINESISVIDEO_ERROR_CODE", "FRAGMENT_NOT_FOUND"),
        ("AWS_KINESISVIDEO_ERROR_ID", "4000"),
    ])]);
    let gmffl = doc(&[tags(&[
        ("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", "1519423069.070"),
        ("AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP", "1519423067.997"),
        ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "3000"),
        ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "not found"),
    ])]);
    let data = [kvs_chunk("1", 0, &[simple_block(1, 0, 0x80, b"k")], true), get_media, gmffl].concat();
    let frags = fragments(&events(&data));
    assert_eq!(frags.len(), 3);
    assert!(!frags[0].meta.kvs.is_error() && frags[0].meta.is_kvs_complete());
    let e = &frags[1].meta.kvs;
    assert_eq!((e.error_code.as_deref(), e.error_id.as_deref()), (Some("FRAGMENT_NOT_FOUND"), Some("4000")));
    assert_eq!(frags[1].frames.len(), 0);
    let g = &frags[2].meta.kvs;
    assert_eq!((g.error_code.as_deref(), g.error_message.as_deref()), (Some("3000"), Some("not found")));
    assert_eq!(g.server_timestamp.as_ref().unwrap().millis(), 1_519_423_069_070);
    assert_eq!(g.producer_timestamp.as_ref().unwrap().millis(), 1_519_423_067_997);
    assert!(frags.iter().all(|f| f.meta.complete));
}

#[test]
fn ebml_max_size_length_is_honoured() {
    let mut header = ebml_header("matroska");
    // EBMLMaxSizeLength 4: rewrite its value byte (the header was written with 8).
    let pos = header.windows(3).position(|w| w == [0x42, 0xF3, 0x81]).unwrap();
    header[pos + 3] = 4;
    let mut sb = Vec::new();
    kinesis_video_parser::ebml::writer::id(&mut sb, ids::SIMPLE_BLOCK);
    let body = block_body(1, 0, 0x80, b"wide");
    kinesis_video_parser::ebml::writer::size(&mut sb, body.len() as u64, Size::Width(5));
    sb.extend_from_slice(&body);
    let cl = cluster(0, &[simple_block(1, 0, 0x80, b"ok"), sb]);
    let data = [
        header,
        unknown(ids::SEGMENT, 1, &[tracks(&[video()]), cl, cluster(5, &[simple_block(1, 0, 0x80, b"next")])].concat()),
    ]
    .concat();
    let evs = events(&data);
    // The wider size is reported once for the document, and still decoded (it is
    // unambiguous): no frame is lost.
    let d = damages(&evs);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].error.kind(), d[0].length), (ErrorKind::InvalidVint, 0));
    assert_eq!(d[0].error.detail(), Some("size wider than EBMLMaxSizeLength"));
    let names: Vec<_> = frames(&evs).iter().map(|f| f.data.to_vec()).collect();
    assert_eq!(names, [b"ok".to_vec(), b"wide".to_vec(), b"next".to_vec()]);
}

#[test]
fn blocks_of_undeclared_tracks_are_still_delivered() {
    let data = doc(&[tracks(&[video()]), cluster(0, &[simple_block(7, 0, 0x80, b"who")])]);
    let f = frames(&events(&data));
    assert_eq!((f.len(), f[0].info.track), (1, 7));
}

#[test]
fn unknown_elements_are_skipped_inside_masters_and_damage_at_segment_level() {
    let unknown_child = el(kinesis_video_parser::ElementId(0x4242), &[0xAA; 10]);
    let data = doc(&[
        tracks(&[el(
            ids::TRACK_ENTRY,
            &[uint(ids::TRACK_NUMBER, 1), unknown_child.clone(), string(ids::CODEC_ID, "V_X")].concat(),
        )]),
        cluster(0, &[unknown_child.clone(), simple_block(1, 0, 0x80, b"a")]),
    ]);
    let evs = events(&data);
    assert!(damages(&evs).is_empty());
    assert_eq!(frames(&evs).len(), 1);
    // The same element directly inside the Segment is junk: damage, then resync.
    let data = doc(&[tracks(&[video()]), unknown_child, cluster(0, &[simple_block(1, 0, 0x80, b"b")])]);
    let evs = events(&data);
    let d = damages(&evs);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].error.kind(), ErrorKind::InvalidElementId);
    assert_eq!(d[0].length, 13);
    assert_eq!(frames(&evs).len(), 1);
}

#[test]
fn new_ebml_header_inside_unknown_cluster_starts_a_new_fragment() {
    let a = [
        ebml_header("matroska"),
        unknown(
            ids::SEGMENT,
            1,
            &[
                tracks(&[video()]),
                unknown(ids::CLUSTER, 1, &[uint(ids::TIMESTAMP, 0), simple_block(1, 0, 0x80, b"1")].concat()),
            ]
            .concat(),
        ),
    ]
    .concat();
    let data = [a.clone(), a].concat();
    let frags = fragments(&events(&data));
    assert_eq!(frags.len(), 2);
    assert!(frags.iter().all(|f| f.meta.complete && f.frames.len() == 1));
    assert_eq!(frags[1].meta.offset, data.len() as u64 / 2);
}

/// The demuxer skips a well-formed Cues subtree whole (waiting for all of it when it
/// arrives in pieces); anything wrong inside it is still read element by element and
/// reported exactly as when the bytes arrive one at a time.
#[test]
fn cues_are_skipped_only_when_clean() {
    let point = |t: u64| {
        let positions =
            el(ids::CUE_TRACK_POSITIONS, &[uint(ids::CUE_TRACK, 1), uint(ids::CUE_CLUSTER_POSITION, 99)].concat());
        el(ids::CUE_POINT, &[uint(ids::CUE_TIME, t), positions].concat())
    };
    let mut oversized = el(ids::CUE_POINT, &uint(ids::CUE_TIME, 5));
    let last = oversized.len() - 2; // CueTime claims one byte more than its CuePoint holds
    oversized[last] += 1;
    let nested_too_far = el(ids::CUE_POINT, &[el(ids::CUE_TRACK_POSITIONS, &el(ids::CUE_POINT, &[]))].concat());
    let bad_crc = el(ids::CUE_POINT, &[el(ids::CRC32, &[1, 2, 3]), uint(ids::CUE_TIME, 1)].concat());
    let with_1a = el(ids::CUE_POINT, &el_sized(ids::CUE_TIME, Size::Width(4), &[0x1A; 2]));
    let unknown_id = el(ids::CUE_POINT, &el(kinesis_video_parser::ElementId(0xFE), b"x"));
    let cases: [(&str, Vec<u8>, usize); 6] = [
        ("clean", [point(0), point(1), el(ids::VOID, &[0; 3])].concat(), 0),
        ("child exceeds its parent", [point(0), oversized].concat(), 1),
        ("child where it does not belong", nested_too_far, 1),
        ("CRC-32 of 3 bytes", bad_crc, 1),
        ("0x1A in a size", with_1a, 0),
        ("unknown ID", unknown_id, 0),
    ];
    for (what, cues, damaged) in cases {
        let data = doc(&[
            tracks(&[video()]),
            cluster(0, &[simple_block(1, 0, 0x80, b"a")]),
            el(ids::CUES, &cues),
            cluster(40, &[simple_block(1, 0, 0x80, b"b")]),
        ]);
        let whole = events(&data);
        assert_eq!(whole, events_chunked(&data, &[1]), "{what}");
        assert_eq!(damages(&whole).len(), damaged, "{what}: {:?}", damages(&whole));
        let f: Vec<_> = frames(&whole).iter().map(|f| f.data.to_vec()).collect();
        assert_eq!(f, [b"a".to_vec(), b"b".to_vec()], "{what}");
    }
}

/// A fragment that collecting would hold past `max_fragment_bytes` arrives in parts: each
/// closed before the frame (or damage report) that would pass the bound, the next opened
/// with the fragment's KVS metadata; trailing tags land in the last. The same through every
/// API and chunking.
#[test]
fn long_fragment_arrives_in_parts() {
    let mut blocks = vec![uint(ids::TIMESTAMP, 0)];
    for i in 0..100i16 {
        blocks.push(simple_block(1, i, if i % 25 == 0 { 0x80 } else { 0 }, &[i as u8; 1000]));
        if i == 50 {
            // A laced block (Xiph, 3 frames of 10 bytes) and a BlockGroup.
            blocks.push(el(ids::SIMPLE_BLOCK, &[vec![0x81, 0, 50, 0x82, 2, 10, 10], vec![7; 30]].concat()));
            blocks.push(el(ids::BLOCK_GROUP, &el(ids::BLOCK, &block_body(1, 51, 0, &[8; 1000]))));
        }
    }
    let body = [
        tracks(&[video()]),
        tags(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "91343852333181432392682062607743920146159169390")]),
        unknown(ids::CLUSTER, 1, &blocks.concat()),
        tags(&[("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "42"), ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "x")]),
    ];
    let data = doc(&body);
    let limits = kinesis_video_parser::Limits::default().with_max_fragment_bytes(10_000);
    let opts = kinesis_video_parser::DemuxOptions::default().with_limits(limits);
    let evs = events_chunked_with(&data, &[data.len()], opts);
    for sizes in [&[1usize][..], &[7, 300], &[4096]] {
        assert!(events_chunked_with(&data, sizes, opts) == evs, "pieces {sizes:?}");
    }
    assert!(damages(&evs).is_empty() && truncations(&evs).is_empty());
    let frags = fragments(&evs);
    // 1000-byte frames cost 1128 each: 8 fit in 10,000 bytes.
    let counts: Vec<usize> = frags.iter().map(|f| f.frames.len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 104, "{counts:?}");
    assert!(counts[0] == 8 && frags.len() == 13, "{counts:?}");
    for (i, f) in frags.iter().enumerate() {
        assert_eq!(f.meta.part as usize, i);
        assert_eq!(f.meta.split, i + 1 < frags.len());
        assert!(!f.meta.complete);
        let held: usize = f.frames.iter().map(|x| x.len() + 128).sum();
        assert!(held <= 10_000, "part {i} holds {held}");
        assert_eq!(
            f.meta.kvs.fragment_number.as_ref().map(|n| n.as_str()),
            Some("91343852333181432392682062607743920146159169390")
        );
        assert_eq!(f.meta.kvs.millis_behind_now.is_some(), i + 1 == frags.len(), "trailing tags in the last part");
        assert!(f.frames.iter().all(|x| x.info.fragment == f.meta.index));
    }
    // Frames in order, none lost: the pts run 0..100 ms with the lace and the group inside.
    let pts: Vec<i64> = frags.iter().flat_map(|f| &f.frames).map(|x| x.info.pts_ns / 1_000_000).collect();
    assert_eq!(pts.len(), 104);
    assert!(pts.windows(2).all(|w| w[0] <= w[1]), "{pts:?}");
    // Without the bound: one fragment.
    assert_eq!(fragments(&events(&data)).len(), 1);
}
