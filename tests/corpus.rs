//! Every file of the libwebm and Matroska conformance corpora ends in events or typed
//! errors, never a panic; the invalid ones give the error a careful reader expects.

mod common;

use bytes::Bytes;
use common::*;
use kinesis_video_parser::mkv::ids;
use kinesis_video_parser::{Damage, DemuxOptions, ElementEvent, ElementReader, ErrorKind, Limits, Status};

/// (Clusters, SimpleBlocks, BlockGroups) counted with the element reader.
fn element_counts(data: &[u8]) -> (usize, usize, usize) {
    let mut r = ElementReader::new(Limits::default());
    r.push(Bytes::copy_from_slice(data));
    r.finish();
    let (mut c, mut sb, mut bg) = (0, 0, 0);
    let mut budget = 10 * data.len() + 1000;
    loop {
        budget = budget.checked_sub(1).expect("element reader made no progress");
        match r.poll() {
            Ok(Status::Ready(ElementEvent::Start(h))) if h.id == ids::CLUSTER => c += 1,
            Ok(Status::Ready(ElementEvent::Start(h))) if h.id == ids::BLOCK_GROUP => bg += 1,
            Ok(Status::Ready(ElementEvent::Data(h, _))) if h.id == ids::SIMPLE_BLOCK => sb += 1,
            Ok(Status::Done) => break,
            Ok(Status::NeedMore(_)) => panic!("needs more after finish"),
            _ => {}
        }
    }
    (c, sb, bg)
}

#[test]
fn libwebm_valid_files_parse_cleanly_with_their_counts() {
    let Some(dir) = shared("libwebm") else { return };
    let table: &[(&str, usize, usize, usize)] = &[
        ("accurate_cluster_duration.webm", 3, 2, 2),
        ("accurate_cluster_duration_last_frame.webm", 3, 1, 3),
        ("accurate_cluster_duration_two_tracks.webm", 2, 8, 4),
        ("bbb_480p_vp9_opus_1second.webm", 1, 74, 1),
        ("block_with_additional.webm", 1, 0, 2),
        ("chapters.webm", 1, 1, 0),
        ("colour.webm", 1, 1, 0),
        ("cues_before_clusters.webm", 2, 4, 0),
        ("discard_padding.webm", 1, 0, 3),
        ("estimate_duration.webm", 1, 6, 0),
        ("fixed_size_cluster_timecode.webm", 3, 3, 0),
        ("force_new_cluster.webm", 3, 4, 0),
        ("long_tag_string.webm", 1, 1, 0),
        ("matroska_doctype.mkv", 1, 1, 0),
        ("max_cluster_duration.webm", 3, 6, 0),
        ("max_cluster_size.webm", 3, 6, 0),
        ("metadata_block.webm", 1, 0, 2),
        ("output_cues.webm", 2, 4, 0),
        ("projection.webm", 1, 1, 0),
        ("segment_duration.webm", 1, 3, 1),
        ("segment_info.webm", 1, 1, 0),
        ("set_cues_track_number.webm", 2, 6, 0),
        ("set_pixelwidth_pixelheight.webm", 1, 2, 0),
        ("set_segment_duration.webm", 1, 2, 0),
        ("simple_block.webm", 1, 2, 0),
        ("test_stereo_left_right.webm", 1, 26, 0),
        ("tracks.webm", 1, 1, 0),
        ("tracks_with_block_addition_mapping.webm", 1, 1, 0),
        ("webm_doctype.webm", 1, 1, 0),
    ];
    assert_eq!(table.len(), 29);
    for &(name, clusters, sb, bg) in table {
        let data = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(element_counts(&data), (clusters, sb, bg), "{name}");
        let evs = events(&data);
        assert!(damages(&evs).is_empty() && truncations(&evs).is_empty(), "{name}: {:?}", damages(&evs));
        assert_eq!(frames(&evs).len(), sb + bg, "{name} frames");
        assert_eq!(fragments(&evs).iter().filter(|f| f.meta.cluster_offset.is_some()).count(), clusters, "{name}");
    }
    let frags = |n: &str| fragments(&events(&std::fs::read(dir.join(n)).unwrap()));
    let tracks = frags("set_cues_track_number.webm")[0].meta.tracks.clone();
    assert!(tracks.iter().any(|t| t.number == 10));
    let f = frags("matroska_doctype.mkv");
    assert_eq!(f[0].meta.tracks[0].codec_id, "V_SOMETHING_NOT_IN_WEBM");
    let f = frags("tracks.webm");
    assert_eq!(f[0].meta.tracks.len(), 2);
    let padding: Vec<_> = frags("discard_padding.webm")[0]
        .frames
        .iter()
        .filter_map(|x| (x.info.discard_padding_ns != 0).then_some(x.info.discard_padding_ns))
        .collect();
    assert!(!padding.is_empty() && padding.iter().any(|&p| p != 0));
    let bbb = frags("bbb_480p_vp9_opus_1second.webm");
    let opus = bbb[0].meta.tracks.iter().find(|t| t.codec_id == "A_OPUS").unwrap();
    assert!(opus.codec_delay_ns > 0 && opus.seek_pre_roll_ns > 0);
}

/// Expected damage: (kind, offset, length) in order.
type Expected = &'static [(ErrorKind, u64, u64)];

fn only_damage(evs: &[Result<kinesis_video_parser::Event, kinesis_video_parser::Error>]) -> Vec<(ErrorKind, u64, u64)> {
    damages(evs).iter().map(|d: &Damage| (d.error.kind(), d.offset, d.length)).collect()
}

#[test]
fn libwebm_invalid_files_give_the_expected_errors() {
    let Some(dir) = shared("libwebm") else { return };
    let read = |n: &str| std::fs::read(dir.join("invalid").join(n)).unwrap();
    use ErrorKind::*;
    // name, frames before the defect, damage (kind, offset, length), truncation offset
    let cases: &[(&str, usize, Expected, Option<u64>)] = &[
        ("block_ends_beyond_cluster.mkv", 1, &[(ChildExceedsParent, 10479, 9)], Some(24)),
        ("blockgroup_block_ends_beyond_blockgroup.mkv", 1, &[(ChildExceedsParent, 10921, 28)], Some(24)),
        ("chapters_truncated_chapter_string.mkv", 0, &[(ChildExceedsParent, 6973, 20)], Some(24)),
        ("chapters_truncated_chapter_string_2.mkv", 0, &[(ChildExceedsParent, 6973, 123)], Some(7109)),
        ("fixed_lacing_bad_lace_size.mkv", 0, &[(InvalidLacing, 47408, 391)], Some(24)),
        ("invalid_vp9_bitstream-bug_1416.webm", 5, &[(ChildExceedsParent, 4093, 8754)], Some(43)),
        ("invalid_vp9_bitstream-bug_1417.webm", 3, &[(ChildExceedsParent, 1624, 9824)], Some(43)),
        (
            "primarychromaticity_fieldtoolarge.webm",
            0,
            &[(InvalidElementId, 48, 132), (ChildExceedsParent, 267, 77)],
            Some(36),
        ),
        ("projection_float_overflow.webm", 0, &[(InvalidElementId, 55, 28), (ChildExceedsParent, 139, 33)], Some(43)),
    ];
    for &(name, n_frames, damage, truncated) in cases {
        let data = read(name);
        let evs = events(&data);
        assert_eq!(frames(&evs).len(), n_frames, "{name}");
        assert_eq!(only_damage(&evs), damage, "{name}");
        let t: Vec<u64> = truncations(&evs).iter().map(|e| e.offset()).collect();
        assert_eq!(t, truncated.into_iter().collect::<Vec<_>>(), "{name}");
        // Chunking does not change any of it.
        assert!(events_chunked(&data, &[1]) == evs, "{name}");
    }
    // The BlockGroup frame before the bad Block keeps its BlockDuration.
    let evs = events(&read("blockgroup_block_ends_beyond_blockgroup.mkv"));
    assert!(frames(&evs)[0].info.duration_ns.is_some());
    // No usable track from a damaged TrackEntry.
    let evs = events(&read("primarychromaticity_fieldtoolarge.webm"));
    assert!(fragments(&evs).iter().all(|f| f.meta.tracks.is_empty()));
}

#[test]
fn matroska_header_conformance_variants() {
    let Some(dir) = shared("matroska-test-files") else { return };
    use ErrorKind::*;
    let expected: &[(&str, Expected)] = &[
        ("reference.mkv", &[]),
        ("no_DocType.mkv", &[]),
        ("empty_DocType.mkv", &[]),
        ("docTypeReadVersion_greaterthan_docTypeVersion.mkv", &[]),
        ("EBMLReadVersion_greaterthan_EBMLVersion.mkv", &[]),
        ("currently_undefined_EBMLVersion.mkv", &[]),
        ("currently_undefined_DocTypeVersion.mkv", &[]),
        ("level_0_crc.mkv", &[]),
        ("level_0_void.mkv", &[]),
        ("too_many_copies_of_DocTypeVersion.mkv", &[]),
        ("too_many_copies_of_DocTypeVersion_and_conflicting_values.mkv", &[]),
        ("invalid_EBML_ElementDataSize_in_EBMLHeader.mkv", &[]),
        ("really_invalid_EBML_ElementDataSize_in_EBMLHeader.mkv", &[(InvalidVint, 28, 27)]),
        ("invalid_EBMLMaxIDLength.mkv", &[]),
        ("higher_EBMLMaxSizeLength_than_matroska_allows.mkv", &[]),
        ("lower_EBMLMaxSizeLength_than_elements_are_using.mkv", &[(InvalidVint, 47, 0), (InvalidVint, 278, 4)]),
        ("inefficient_elementid.mkv", &[]),
        ("unknown_element.mkv", &[]),
        ("unknown_sized_non_master_element.mkv", &[(UnknownSizeNotAllowed, 28, 19)]),
        ("crc_element_has_invalid_hash.mkv", &[]),
        ("crc_element_is_not_first.mkv", &[]),
        ("non_ascii_in_string_element.mkv", &[]),
        ("invalid_boolean.mkv", &[]),
        ("element_outside_of_size_range.mkv", &[]),
    ];
    for &(name, damage) in expected {
        let data = std::fs::read(dir.join("invalid_ebml").join(name)).unwrap();
        let evs = events(&data);
        assert_eq!(only_damage(&evs), damage, "{name}");
        assert!(truncations(&evs).is_empty(), "{name}");
        // Every variant that can be read has the reference body: 2 Clusters, 13 + 5 frames.
        let f = frames(&evs);
        assert_eq!(
            (f.iter().filter(|x| x.info.track == 1).count(), f.iter().filter(|x| x.info.track == 2).count()),
            (13, 5),
            "{name}"
        );
        assert_eq!(fragments(&evs).iter().filter(|x| x.meta.cluster_offset.is_some()).count(), 2, "{name}");
    }
    let read = |n: &str| std::fs::read(dir.join("invalid_ebml").join(n)).unwrap();
    // Header values: the first of repeated elements wins; defaults where missing.
    let header = |n: &str| {
        events(&read(n))
            .into_iter()
            .find_map(|e| match e {
                Ok(kinesis_video_parser::Event::Header(h)) => Some(h),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!(header("too_many_copies_of_DocTypeVersion_and_conflicting_values.mkv").doc_type_version, 4);
    assert_eq!(header("inefficient_elementid.mkv").version, 1);
    assert_eq!(header("no_DocType.mkv").doc_type, "");
    assert_eq!(header("currently_undefined_EBMLVersion.mkv").version, 255);
    // CRC-32 checking on request: the bad hash is damage over the EBML header; all good
    // CRCs of the reference pass.
    let opts = || DemuxOptions::default().with_crc_verification(true);
    let evs = events_chunked_with(&read("crc_element_has_invalid_hash.mkv"), &[4096], opts());
    let d = damages(&evs);
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].error.kind(), d[0].offset, d[0].error.element()), (ChecksumMismatch, 0, Some(ids::EBML)));
    assert_eq!(frames(&evs).len(), 18);
    assert!(damages(&events_chunked_with(&read("reference.mkv"), &[1000], opts())).is_empty());
    // Non-ASCII in a string element is kept (replaced where not UTF-8), never fatal.
    let t = fragments(&events(&read("non_ascii_in_string_element.mkv")))[0].meta.tracks.clone();
    assert!(t.iter().any(|t| t.language.as_deref().is_some_and(|l| l.starts_with('\u{19}'))));

    let side = std::fs::read(dir.join("test_files/timecode_side_data.mkv")).unwrap();
    let evs = events(&side);
    assert!(damages(&evs).is_empty());
    assert_eq!(frames(&evs).len(), 2);
}

#[test]
fn crc_verification_on_the_captures() {
    let opts = || DemuxOptions::default().with_crc_verification(true);
    if let Some(data) = shared_file("kvs-java", "output_get_media.mkv") {
        let evs = events_chunked_with(&data, &[777], opts());
        assert!(damages(&evs).is_empty());
        assert_eq!(frames(&evs).len(), 300);
        // One flipped payload byte inside the second Cluster: that Cluster fails its CRC,
        // nothing else does, and every frame is still delivered.
        let mut bad = data.clone();
        bad[547925 + 1159 + 5000] ^= 0x20;
        let evs = events_chunked_with(&bad, &[777], opts());
        let d = damages(&evs);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].error.kind(), d[0].error.element()), (ErrorKind::ChecksumMismatch, Some(ids::CLUSTER)));
        assert_eq!(d[0].offset, 547925 + 1159);
        assert_eq!(frames(&evs).len(), 300);
        let frags = fragments(&evs);
        let complete: Vec<bool> = frags.iter().map(|f| f.meta.complete).collect();
        assert_eq!(complete, [true, false, true, true, true]);
    }
    if let Some(data) = shared_file("generated", "crc_void.mkv") {
        assert!(damages(&events_chunked_with(&data, &[1], opts())).is_empty());
    }
}
