//! Ground truth from `../shared/testdata/README.md`, `pic-producer/SOURCE.md` and
//! `generated/MANIFEST.md`, asserted exactly.

mod common;

use common::*;
use kinesis_video_parser::{ErrorKind, Fragment, TagPosition, TagValue, TrackKind};

/// (fragment number, server ts, producer ts, ms behind, cluster, frames, keyframes)
type Row = (&'static str, &'static str, &'static str, Option<u64>, u64, u64, u64);

fn ms(s: &str) -> u64 {
    // Independent of the crate's parser: digits with the dot removed (3 decimals here).
    let (a, b) = s.split_once('.').unwrap();
    assert_eq!(b.len(), 3);
    format!("{a}{b}").parse().unwrap()
}

fn check_rows(name: &str, frags: &[Fragment], rows: &[Row]) {
    assert_eq!(frags.len(), rows.len(), "{name}: fragment count");
    for (i, (f, r)) in frags.iter().zip(rows).enumerate() {
        let k = &f.meta.kvs;
        assert_eq!(f.meta.index, i as u64);
        assert_eq!(k.fragment_number.as_ref().unwrap().as_str(), r.0, "{name} #{i} number");
        assert_eq!(k.server_timestamp.as_ref().unwrap().as_str(), r.1, "{name} #{i} server");
        assert_eq!(k.server_timestamp.as_ref().unwrap().millis(), ms(r.1), "{name} #{i} server ms");
        assert_eq!(k.producer_timestamp.as_ref().unwrap().millis(), ms(r.2), "{name} #{i} producer ms");
        assert_eq!(k.millis_behind_now, r.3, "{name} #{i} ms behind");
        // Where the token is present it equals the fragment number in these captures.
        match r.3 {
            Some(_) => assert_eq!(k.continuation_token.as_deref(), Some(r.0), "{name} #{i} token"),
            None => assert_eq!(k.continuation_token, None, "{name} #{i} token"),
        }
        assert_eq!(f.meta.cluster_timestamp, Some(r.4), "{name} #{i} cluster");
        assert_eq!(f.meta.frames, r.5, "{name} #{i} frames");
        assert_eq!(f.frames.len() as u64, r.5, "{name} #{i} frames delivered");
        assert_eq!(f.meta.keyframes, r.6, "{name} #{i} keyframes");
        assert_eq!(f.frames.iter().filter(|x| x.info.keyframe).count() as u64, r.6);
        assert!(f.frames[0].info.keyframe, "{name} #{i} starts with its keyframe");
        assert_eq!(f.meta.is_kvs_complete(), r.3.is_some(), "{name} #{i} kvs complete");
        assert!(k.error_code.is_none() && k.error_id.is_none());
        // Frame times are the cluster time plus block offsets: at or after the cluster.
        let base = r.4 as i64 * 1_000_000;
        assert!(f.frames.iter().all(|x| x.info.pts_ns >= base && x.info.fragment == i as u64));
    }
    // Fragment numbers strictly increase (numerically).
    for w in frags.windows(2) {
        assert!(w[0].meta.kvs.fragment_number < w[1].meta.kvs.fragment_number);
    }
}

fn user_tags(f: &Fragment) -> Vec<(String, String)> {
    f.meta.user_tags().map(|t| (t.name.clone(), t.value.as_str().unwrap_or("<binary>").to_owned())).collect()
}

const GET_MEDIA: &[Row] = &[
    ("91343852333181432392682062607743920146159169392", "1511852109.126", "1511852108.513", Some(15858), 0, 60, 1),
    ("91343852333181432397633822764885441725874549018", "1511852110.915", "1511852110.513", Some(14155), 2000, 60, 1),
    ("91343852333181432402585582922026963247510532162", "1511852112.487", "1511852112.513", Some(12940), 4000, 60, 1),
    ("91343852333181432407537343079168484595829378270", "1511852113.414", "1511852114.513", Some(12414), 6000, 60, 1),
    ("91343852333181432412489103236310005892133364608", "1511852114.147", "1511852116.513", Some(12093), 8000, 60, 1),
];

#[test]
fn output_get_media() {
    let Some(data) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    let evs = events(&data);
    assert!(truncations(&evs).is_empty() && damages(&evs).is_empty());
    let frags = fragments(&evs);
    check_rows("output_get_media", &frags, GET_MEDIA);
    let starts: Vec<u64> = frags.iter().map(|f| f.meta.offset).collect();
    assert_eq!(starts, [0, 547925, 1040439, 1523373, 2012579]);
    assert_eq!(frags[0].meta.cluster_offset, Some(1159));
    let payload: usize = frags.iter().flat_map(|f| &f.frames).map(|f| f.len()).sum();
    assert_eq!(payload, 2_494_505);
    let expected_user = [
        ("COMPATIBLE_BRANDS", "isomavc1mp42"),
        ("MAJOR_BRAND", "M4V "),
        ("MINOR_VERSION", "1"),
        ("ENCODER", "Lavf57.71.100"),
        ("HANDLER_NAME", "ETI ISO Video Media Handler"),
        ("ENCODER", "Elemental H.264"),
        ("DURATION", "00:00:10.000000000"),
    ];
    let tag_names: usize =
        frags.iter().map(|f| f.meta.tags.iter().map(|t| t.tag.simple_tags.len()).sum::<usize>()).sum();
    assert_eq!(tag_names, 60);
    assert_eq!(frags.iter().map(|f| f.meta.tags.len()).sum::<usize>(), 25);
    for f in &frags {
        let got = user_tags(f);
        let want: Vec<_> = expected_user.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want);
        assert!(f.meta.complete);
        let t = &f.meta.tracks[0];
        assert_eq!((t.number, t.kind, t.codec_id.as_str()), (1, TrackKind::Video, "V_MPEG4/ISO/AVC"));
        let v = t.video.as_ref().unwrap();
        assert_eq!((v.pixel_width, v.pixel_height), (Some(640), Some(360)));
        assert_eq!(t.default_duration_ns, Some(33_333_333));
        assert_eq!(
            hex(t.codec_private.as_ref().unwrap()),
            "014d401e03010027274d401eb9101405ff2e02d4040407c0000003004000000f38a0003d090007a13bdee03e1108d401000428fe3c80"
        );
        // Leading KVS tags come before the Cluster, trailing ones after it.
        let kvs_positions: Vec<_> = f
            .meta
            .tags
            .iter()
            .filter(|t| t.tag.simple_tags.iter().any(|s| s.name.starts_with("AWS_KINESISVIDEO_")))
            .map(|t| t.position)
            .collect();
        assert_eq!(kvs_positions, [TagPosition::BeforeCluster, TagPosition::AfterCluster]);
    }
    // One Track event for five identical Tracks elements.
    let announced = evs.iter().filter(|e| matches!(e, Ok(kinesis_video_parser::Event::Track(_)))).count();
    assert_eq!(announced, 1);
}

#[test]
fn sparse_fragments_are_chunks_0_2_4() {
    let Some(data) = shared_file("kvs-java", "output_get_media_sparse_fragments.mkv") else { return };
    let frags = fragments(&events(&data));
    let rows: Vec<Row> = [0, 2, 4].iter().map(|&i| GET_MEDIA[i]).collect();
    check_rows("sparse", &frags, &rows);
}

#[test]
fn merged_output_reads_back() {
    let Some(data) = shared_file("kvs-java", "output_get_media_sparse_fragments_merged.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let clusters: Vec<_> = frags.iter().map(|f| f.meta.cluster_timestamp.unwrap()).collect();
    assert_eq!(clusters, [0, 2000, 4000]);
    assert_eq!(frames(&evs).len(), 180);
    let tag_names: usize = frags.iter().flat_map(|f| &f.meta.tags).map(|t| t.tag.simple_tags.len()).sum();
    assert_eq!(tag_names, 36);
    let mut tags_elements: Vec<u64> = frags.iter().flat_map(|f| &f.meta.tags).map(|t| t.tags_offset).collect();
    tags_elements.dedup();
    assert_eq!(tags_elements.len(), 9);
}

#[test]
fn renderer_example() {
    let Some(data) = shared_file("kvs-java", "kinesis_video_renderer_example_output.mkv") else { return };
    let frags = fragments(&events(&data));
    let rows: &[Row] = &[
        (
            "91343852333181432392682062609776234230823574155",
            "1519423069.070",
            "1519423067.997",
            Some(7336747),
            0,
            59,
            1,
        ),
        (
            "91343852333181432397633822766917755336254238380",
            "1519423069.091",
            "1519423069.996",
            Some(7336858),
            1999,
            59,
            1,
        ),
        (
            "91343852333181432402585582924059276442495538010",
            "1519423069.116",
            "1519423071.996",
            Some(7336941),
            3999,
            59,
            1,
        ),
        (
            "91343852333181432407537343081200797550166190101",
            "1519423069.146",
            "1519423073.995",
            Some(7337034),
            5998,
            59,
            1,
        ),
        (
            "91343852333181432412489103238342318653675228707",
            "1519423069.161",
            "1519423075.995",
            Some(7337313),
            7998,
            59,
            1,
        ),
        (
            "91343852333181432417440863395483839757491686017",
            "1519423069.176",
            "1519423077.995",
            Some(7337410),
            9998,
            59,
            1,
        ),
        (
            "91343852333181432422392623552625360860731813472",
            "1519423069.190",
            "1519423079.994",
            Some(7337494),
            11997,
            59,
            1,
        ),
        (
            "91343852333181432427344383709766881962776549716",
            "1519423069.199",
            "1519423081.994",
            Some(7337577),
            13997,
            31,
            1,
        ),
    ];
    check_rows("renderer", &frags, rows);
    for f in &frags {
        assert_eq!(user_tags(f), vec![]);
        let t = &f.meta.tracks[0];
        assert_eq!(
            hex(t.codec_private.as_ref().unwrap()),
            "01640028ffe1000e27640028ac2b40501ed00f1226a001000428ee1f2c"
        );
        assert_eq!(t.name.as_deref(), Some("kinesis_video"));
        assert_eq!(f.meta.info.title.as_deref(), Some("Kinesis Video SDK"));
        assert_eq!(f.meta.info.muxing_app.as_deref(), Some("Lavf56.40.101"));
    }
}

#[test]
fn mixed_tags_producer_stream() {
    let Some(data) = shared_file("kvs-java", "test_mixed_tags.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let numbers = [
        "91343852333713038908964877623801423530396737899",
        "91343852333713038913916637780942944683031040297",
        "91343852333713038918868397938084465802887066670",
        "91343852333713038923820158095225986915711326403",
        "91343852333713038928771918252367508026640589178",
        "91343852333713038933723678409509029132346185461",
        "91343852333713038938675438566650550295562402559",
        "91343852333713038943627198723792071401813780459",
        "91343852333713038948578958880933592508004495778",
        "91343852333713038953530719038075113645398559869",
    ];
    let server = ["281", "478", "554", "603", "645", "668", "905", "930", "955", "095"];
    let behind = [910, 723, 658, 633, 609, 602, 377, 395, 385, 274];
    let rows: Vec<Row> = (0..10)
        .map(|i| {
            let s: &'static str =
                Box::leak(format!("15375749{}.{}", if i < 9 { 15 } else { 16 }, server[i]).into_boxed_str());
            let p: &'static str = Box::leak(format!("{}.000", 5 * i).into_boxed_str());
            (numbers[i], s, p, Some(behind[i]), 5000 * i as u64, 10, 1)
        })
        .collect();
    check_rows("mixed_tags", &frags, &rows);
    let counts: Vec<usize> = frags.iter().map(|f| user_tags(f).len()).collect();
    assert_eq!(counts, [10, 5, 5, 5, 5, 5, 5, 5, 5, 5]);
    let first: Vec<_> = user_tags(&frags[0]);
    for (i, (n, v)) in first.iter().enumerate() {
        assert_eq!(n, &format!("testTag_{}", i % 5));
        assert_eq!(v, &format!("testTag_{}_Value", i % 5));
    }
    // Five before Info (before the Cluster), five after the Cluster.
    let pos: Vec<_> = frags[0]
        .meta
        .tags
        .iter()
        .filter(|t| !t.tag.simple_tags[0].name.starts_with("AWS"))
        .map(|t| t.position)
        .collect();
    assert_eq!(pos, [[TagPosition::BeforeCluster; 5], [TagPosition::AfterCluster; 5]].concat());
    let total_simple: usize = frags.iter().flat_map(|f| &f.meta.tags).map(|t| t.tag.simple_tags.len()).sum();
    assert_eq!(total_simple, 105);
    assert_eq!(frags.iter().map(|f| f.meta.tags.len()).sum::<usize>(), 75);
    for f in &frags {
        assert!(f.frames.iter().all(|x| x.len() == 100));
        let t = &f.meta.tracks[0];
        assert_eq!(t.codec_id, "V_MS/VFW/FOURCC");
        assert_eq!(t.name.as_deref(), Some("test track"));
        assert_eq!(
            hex(t.codec_private.as_ref().unwrap()),
            "2800000080020000e0010000010018004d4a504700100e0000000000000000000000000000000000"
        );
        assert_eq!(f.meta.info.title.as_deref(), Some("Kinesis Video SDK"));
    }
    let headers: Vec<_> = evs
        .iter()
        .filter_map(|e| match e {
            Ok(kinesis_video_parser::Event::Header(h)) => Some(h.doc_type.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(headers, vec!["matroska"; 10]);
}

#[test]
fn equal_timecode_truncated() {
    let Some(data) = shared_file("kvs-java", "output-get-media-equal-timecode.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let rows: &[Row] = &[
        (
            "91343852338381417542203754135250098963782391502",
            "1519074132.668",
            "1518814932.515",
            Some(909335),
            0,
            120,
            1,
        ),
        ("91343852338381422498915671433912930725530893291", "1519074918.949", "1518815718.647", None, 0, 119, 1),
    ];
    check_rows("equal_timecode", &frags, rows);
    assert_eq!(data.len(), 1_274_359);
    let t = truncations(&evs);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].kind(), t[0].offset()), (ErrorKind::Truncated, 1_272_988));
    assert_eq!(t[0].element(), Some(kinesis_video_parser::mkv::ids::SIMPLE_BLOCK));
    assert!(frags[0].meta.complete && !frags[1].meta.complete && frags[1].meta.truncated);
    assert_eq!(frags[1].meta.offset, 639_613);
    let t = &frags[0].meta.tracks[0];
    assert_eq!(
        hex(t.codec_private.as_ref().unwrap()),
        "0164001fffe100236764001facb200a00aff11808800001f480005dc03030007a12000f427359803c60c9201000568ebccb22c"
    );
    assert_eq!(t.video.as_ref().unwrap().pixel_height, Some(674));
    assert_eq!(t.default_duration_ns, Some(41_708_333));
    for f in &frags {
        let names: Vec<_> = user_tags(f).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["MAJOR_BRAND", "MINOR_VERSION", "COMPATIBLE_BRANDS", "ENCODER", "HANDLER_NAME", "ENCODER", "DURATION"]
        );
        assert_eq!(user_tags(f)[6].1, "00:00:05.005000000");
    }
}

#[test]
fn non_increasing_timecode_truncated() {
    let Some(data) = shared_file("kvs-java", "output-get-media-non-increasing-timecode.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let raw = [
        (
            "91343852338381293673923423239754896920603583280",
            "1517789296.298",
            "1517530105.907",
            Some(1483915),
            10014,
            30,
        ),
        ("91343852338381298581117738967002310959581833860", "1517789312.462", "1517530112.387", Some(1468004), 0, 30),
        (
            "91343852338381298586069499124143832064522347461",
            "1517789312.482",
            "1517530113.388",
            Some(1468092),
            1001,
            30,
        ),
        (
            "91343852338381298591021259281285353167411810240",
            "1517789312.494",
            "1517530114.390",
            Some(1468156),
            2003,
            30,
        ),
        (
            "91343852338381298595973019438426874278919130790",
            "1517789312.538",
            "1517530115.391",
            Some(1468249),
            3004,
            30,
        ),
        (
            "91343852338381298600924779595568395381773541972",
            "1517789312.551",
            "1517530116.392",
            Some(1468334),
            4005,
            30,
        ),
        (
            "91343852338381298605876539752709916486567964627",
            "1517789312.570",
            "1517530117.394",
            Some(1468394),
            5007,
            30,
        ),
        (
            "91343852338381298610828299909851437589062773285",
            "1517789312.581",
            "1517530118.395",
            Some(1468491),
            6008,
            30,
        ),
        (
            "91343852338381298615780060066992958691570573719",
            "1517789312.592",
            "1517530119.397",
            Some(1468593),
            7010,
            30,
        ),
        (
            "91343852338381298620731820224134479800643425492",
            "1517789312.627",
            "1517530120.398",
            Some(1468654),
            8011,
            30,
        ),
        (
            "91343852338381298625683580381276000903592396386",
            "1517789312.639",
            "1517530121.399",
            Some(1468751),
            9012,
            30,
        ),
        ("91343852338381298630635340538417522006416018997", "1517789312.651", "1517530122.401", None, 10014, 28),
    ];
    let rows: Vec<Row> = raw.iter().map(|r| (r.0, r.1, r.2, r.3, r.4, r.5, 1)).collect();
    check_rows("non_increasing", &frags, &rows);
    assert_eq!(frames(&evs).len(), 358);
    let t = truncations(&evs);
    assert_eq!((t.len(), t[0].offset()), (1, 1_912_925));
    assert_eq!(frags[1].meta.offset, 162_454);
    assert_eq!(user_tags(&frags[0]).len(), 54);
    assert!(frags[1..].iter().all(|f| user_tags(f).is_empty()));
    assert_eq!(frags.iter().filter(|f| f.meta.complete).count(), 11);
}

#[test]
fn empty_mkv_with_tags() {
    let Some(data) = shared_file("kvs-java", "empty-mkv-with-tags.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 1);
    let m = &frags[0].meta;
    assert_eq!(m.frames, 0);
    assert_eq!(m.kvs.fragment_number.as_ref().unwrap().as_str(), "91343852338378294813695855977007281634605393997");
    assert_eq!(m.kvs.server_timestamp.as_ref().unwrap().millis(), 1_516_124_526_822);
    assert_eq!(m.kvs.producer_timestamp.as_ref().unwrap().millis(), 1_515_865_326_543);
    // It ends cleanly between elements, but the KVS trailing tags never came.
    assert!(truncations(&evs).is_empty());
    assert!(!m.is_kvs_complete());
    assert_eq!(m.cluster_timestamp, None);
    assert_eq!(m.tracks[0].video.as_ref().unwrap().pixel_width, Some(960));
}

#[test]
fn tags_without_cluster() {
    let Some(data) = shared_file("kvs-java", "test_tags_empty_cluster.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 1);
    assert!(frags[0].meta.tracks.is_empty());
    let want: Vec<_> = (0..5).map(|i| (format!("testTag_{i}"), format!("testTag_{i}_Value"))).collect();
    assert_eq!(user_tags(&frags[0]), want);
    assert!(truncations(&evs).is_empty() && damages(&evs).is_empty());
}

#[test]
fn clusters_plain_mkv() {
    let Some(data) = shared_file("kvs-java", "clusters.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let ts: Vec<_> = frags.iter().map(|f| f.meta.cluster_timestamp.unwrap()).collect();
    assert_eq!(ts, [0, 1999, 3999, 5998, 7998, 9998, 11997, 13997]);
    let all = frames(&evs);
    assert_eq!(all.len(), 444);
    assert_eq!(all.iter().filter(|f| f.info.keyframe).count(), 8);
    assert_eq!(all.iter().map(|f| f.len()).sum::<usize>(), 1_191_995);
    assert_eq!(all.iter().map(|f| f.info.pts_ns).max(), Some(14_985_000_000));
    assert!(frags.iter().all(|f| f.meta.kvs.aws_tags.is_empty()));
    let tags: Vec<_> = frags.iter().flat_map(user_tags).collect();
    let want = [
        ("COMPATIBLE_BRANDS", "isomavc1mp42"),
        ("MAJOR_BRAND", "M4V"),
        ("MINOR_VERSION", "1"),
        ("ENCODER", "Lavf57.71.100"),
    ];
    assert_eq!(tags, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
    let info = &frags[0].meta.info;
    assert_eq!((info.title.as_deref(), info.duration), (Some("Kinesis Video SDK"), Some(15018.0)));
    let t = &frags[0].meta.tracks[0];
    assert_eq!(t.name.as_deref(), Some("kinesis_video"));
    assert_eq!(t.codec_private.as_ref().unwrap().len(), 29);
}

fn vogels(name: &str, video_payload: usize, cp: &str, height: u64, created: &str) {
    let Some(data) = shared_file("kvs-java", name) else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let ts: Vec<_> = frags.iter().map(|f| f.meta.cluster_timestamp.unwrap()).collect();
    assert_eq!(ts, [0, 2155, 7147, 9792, 14784, 17131, 22123, 25024, 28821]);
    let all = frames(&evs);
    assert_eq!(all.len(), 2334);
    let (v, a): (Vec<_>, Vec<_>) = all.iter().partition(|f| f.info.track == 1);
    assert_eq!((v.len(), v.iter().filter(|f| f.info.keyframe).count()), (909, 6));
    assert_eq!((a.len(), a.iter().filter(|f| f.info.keyframe).count()), (1425, 1425));
    assert_eq!(v.iter().map(|f| f.len()).sum::<usize>(), video_payload);
    assert_eq!(a.iter().map(|f| f.len()).sum::<usize>(), 478_143);
    assert_eq!(v.iter().map(|f| f.info.pts_ns).max(), Some(30_297_000_000));
    assert_eq!(a.iter().map(|f| f.info.pts_ns).max(), Some(30_379_000_000));
    let tracks = &frags[0].meta.tracks;
    assert_eq!(hex(tracks[0].codec_private.as_ref().unwrap()), cp);
    assert_eq!(tracks[0].video.as_ref().unwrap().pixel_height, Some(height));
    assert_eq!(tracks[0].default_duration_ns, Some(33_366_666));
    let au = tracks[1].audio.as_ref().unwrap();
    assert_eq!((au.sampling_frequency, au.channels), (48000.0, 2));
    assert_eq!((tracks[1].codec_id.as_str(), tracks[1].name.as_deref()), ("A_AAC", Some("Stereo")));
    assert_eq!(hex(tracks[1].codec_private.as_ref().unwrap()), "1190");
    let tags: Vec<_> = frags.iter().flat_map(user_tags).collect();
    assert!(tags.contains(&("CREATION_TIME".into(), created.into())));
    assert!(tags.contains(&("ENCODER".into(), "Lavf57.7.2".into())));
}

#[test]
fn vogels_480() {
    vogels(
        "vogels_480.mkv",
        1_513_428,
        "0142c028ffe1001a6742c028db0280f6c05a808080a000000300200057e401e3065c01000468ca8cb2",
        480,
        "2019-01-15T22:45:11Z",
    );
}

#[test]
fn vogels_330() {
    vogels(
        "vogels_330.mkv",
        1_148_404,
        "0142c028ffe1001b6742c028db0280afe4c05a808080a000000300200057e401e3065c01000468ca8cb2",
        330,
        "2019-01-16T19:52:33Z",
    );
}

#[test]
fn bezos_vogels() {
    let Some(data) = shared_file("kvs-java", "bezos_vogels.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    let ts: Vec<_> = frags.iter().map(|f| f.meta.cluster_timestamp.unwrap()).collect();
    assert_eq!(ts, [834, 5839, 5873, 10878, 14214]);
    let all = frames(&evs);
    assert_eq!((all.len(), all.iter().filter(|f| f.info.keyframe).count()), (546, 3));
    assert_eq!(all.iter().map(|f| f.len()).sum::<usize>(), 2_262_559);
    let t = &frags[0].meta.tracks[0];
    assert_eq!(
        hex(t.codec_private.as_ref().unwrap()),
        "0164001fffe100166764001facb200a00b742000007d20001d4c01e3064901000668ebc3cb22c0"
    );
    assert_eq!(t.default_duration_ns, Some(33_366_666));
    let tags: Vec<_> = frags.iter().flat_map(user_tags).collect();
    assert_eq!(tags.len(), 7);
    assert!(tags.contains(&("DURATION".into(), "00:00:19.052000000".into())));
}

#[test]
fn pic_h264_tags() {
    let Some(data) = shared_file("pic-producer", "pic-h264-3frag-tags.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 3);
    let offsets: Vec<_> = frags.iter().map(|f| f.meta.cluster_offset.unwrap()).collect();
    assert_eq!(offsets, [364, 6253, 11700]);
    let payloads: Vec<usize> = frags.iter().map(|f| f.frames.iter().map(|x| x.len()).sum()).collect();
    assert_eq!(payloads, [5484, 5231, 5039]);
    for (i, f) in frags.iter().enumerate() {
        let rel: Vec<i64> =
            f.frames.iter().map(|x| x.info.pts_ns / 1_000_000 - 1_700_000_000_000 - 1000 * i as i64).collect();
        assert_eq!(rel, (0..10).map(|k| k * 100).collect::<Vec<_>>());
        assert_eq!(f.meta.keyframes, 1);
    }
    let tags = |f: &Fragment| -> Vec<(String, String, TagPosition)> {
        f.meta
            .tags
            .iter()
            .flat_map(|t| {
                t.tag
                    .simple_tags
                    .iter()
                    .map(move |s| (s.name.clone(), s.value.as_str().unwrap().to_owned(), t.position))
            })
            .collect()
    };
    use TagPosition::*;
    let s = |a: &str, b: &str, p| (a.to_owned(), b.to_owned(), p);
    assert_eq!(
        tags(&frags[0]),
        [
            s("GPS_LAT", "47.608013", BeforeCluster),
            s("GPS_LAT", "47.608013", AfterCluster),
            s("MOTION", "true", AfterCluster),
            s("AWS_KINESISVIDEO_NOTIFICATION", "", AfterCluster),
            s("CAMERA", "front-door", AfterCluster)
        ]
    );
    assert_eq!(tags(&frags[1]), [s("GPS_LAT", "47.608013", AfterCluster)]);
    assert_eq!(tags(&frags[2]), [s("AWS_KINESISVIDEO_END_OF_FRAGMENT", "", AfterCluster)]);
    assert_eq!(frags[2].meta.kvs.aws_tags, [("AWS_KINESISVIDEO_END_OF_FRAGMENT".to_owned(), String::new())]);
    let t = &frags[0].meta.tracks[0];
    assert_eq!(t.uid, 1);
    assert_eq!(
        hex(t.codec_private.as_ref().unwrap()),
        "0142c00affe100176742c00ad902847e5c0440000003004000000503c4899201000568cb83cb20"
    );
    let info = &frags[0].meta.info;
    assert_eq!(info.muxing_app.as_deref(), Some("Kinesis Video SDK 1.1.0 pic-driver"));
    assert_eq!(hex(info.segment_uuid.as_ref().unwrap()), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
}

#[test]
fn pic_h264_aac() {
    let Some(data) = shared_file("pic-producer", "pic-h264-aac-3frag.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 3);
    let all = frames(&evs);
    let (v, a): (Vec<_>, Vec<_>) = all.iter().partition(|f| f.info.track == 1);
    assert_eq!((v.len(), v.iter().filter(|f| f.info.keyframe).count()), (30, 3));
    assert_eq!((a.len(), a.iter().filter(|f| f.info.keyframe).count()), (48, 0));
    assert_eq!(v.iter().map(|f| f.len()).sum::<usize>(), 15754);
    assert_eq!(a.iter().map(|f| f.len()).sum::<usize>(), 9422);
    let audio_ms = |f: &Fragment| -> Vec<i64> {
        f.frames
            .iter()
            .filter(|x| x.info.track == 2)
            .map(|x| x.info.pts_ns / 1_000_000 - f.meta.cluster_timestamp.unwrap() as i64)
            .collect()
    };
    assert_eq!(audio_ms(&frags[0])[..3], [1, 64, 128]);
    assert!(audio_ms(&frags[1]).contains(&601));
    assert_eq!(*audio_ms(&frags[2]).last().unwrap(), 1008);
    assert_eq!(a.last().unwrap().info.pts_ns, 1_700_000_003_008_000_000);
    let t = &frags[0].meta.tracks[1];
    assert_eq!((t.codec_id.as_str(), t.name.as_deref(), t.uid), ("A_AAC", Some("kvs_audio_track"), 2));
    let au = t.audio.as_ref().unwrap();
    assert_eq!((au.sampling_frequency, au.channels), (16000.0, 1));
    assert_eq!(hex(t.codec_private.as_ref().unwrap()), "1408");
    assert_eq!(frags[0].meta.info.segment_uuid.as_deref(), Some(&[0x55u8; 16][..]));
}

#[test]
fn pic_h265_one_fragment() {
    let Some(data) = shared_file("pic-producer", "pic-h265-3frag.mkv") else { return };
    let evs = events(&data);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 1);
    assert_eq!((frags[0].meta.frames, frags[0].meta.keyframes), (30, 1));
    assert_eq!(frags[0].meta.cluster_offset, Some(368));
    assert_eq!(frags[0].frames.iter().map(|x| x.len()).sum::<usize>(), 15734);
    let t = &frags[0].meta.tracks[0];
    assert_eq!(t.codec_id, "V_MPEGH/ISO/HEVC");
    assert_eq!(t.codec_private.as_ref().unwrap().len(), 110);
    assert!(hex(t.codec_private.as_ref().unwrap()).starts_with("01010101600000009000000000f0"));
}

/// MANIFEST: per-track (frames, key frames, first..last block timestamp in ns).
fn manifest(name: &str, tracks: &[(u64, &str, usize, usize, i64, i64)], clusters: usize) {
    let Some(data) = shared_file("generated", name) else { return };
    let evs = events(&data);
    assert!(truncations(&evs).is_empty() && damages(&evs).is_empty(), "{name}");
    let frags = fragments(&evs);
    assert_eq!(frags.len(), clusters, "{name} clusters");
    let all = frames(&evs);
    for &(track, codec, n, keys, first, last) in tracks {
        let f: Vec<_> = all.iter().filter(|f| f.info.track == track).collect();
        assert_eq!(f.len(), n, "{name} track {track} frames");
        let key_blocks = f.iter().filter(|x| x.info.keyframe && x.info.lace_index == 0).count();
        assert_eq!(key_blocks, keys, "{name} track {track} key blocks");
        // Block timestamps: the first frame of each block.
        let blocks: Vec<i64> = f.iter().filter(|x| x.info.lace_index == 0).map(|x| x.info.pts_ns).collect();
        assert_eq!(blocks.iter().min().copied(), Some(first), "{name} first");
        assert_eq!(blocks.iter().max().copied(), Some(last), "{name} last");
        let t = frags[0].meta.tracks.iter().find(|t| t.number == track).unwrap();
        assert_eq!(t.codec_id, codec);
    }
}

const MS: i64 = 1_000_000;

#[test]
fn generated_manifest() {
    manifest("h264_gop1s.mkv", &[(1, "V_MPEG4/ISO/AVC", 150, 6, 0, 5960 * MS)], 6);
    manifest("h265.mkv", &[(1, "V_MPEGH/ISO/HEVC", 75, 3, 0, 2960 * MS)], 3);
    manifest(
        "h264_aac.mkv",
        &[(1, "V_MPEG4/ISO/AVC", 100, 4, 21 * MS, 3981 * MS), (2, "A_AAC", 189, 189, 0, 4010 * MS)],
        4,
    );
    manifest(
        "blockgroups.mkv",
        &[(1, "V_MPEG4/ISO/AVC", 100, 4, 21 * MS, 3981 * MS), (2, "A_AAC", 189, 24, 0, 3882 * MS)],
        4,
    );
    manifest("tags.mkv", &[(1, "V_MPEG4/ISO/AVC", 100, 4, 21 * MS, 3981 * MS), (2, "A_AAC", 189, 24, 0, 3882 * MS)], 4);
    manifest("live_unknown_segment.mkv", &[(1, "V_MPEG4/ISO/AVC", 75, 3, 0, 2960 * MS)], 3);
    manifest("live_unknown_clusters.mkv", &[(1, "V_MPEG4/ISO/AVC", 150, 6, 0, 5960 * MS)], 6);
    manifest("crc_void.mkv", &[(1, "V_MPEG4/ISO/AVC", 75, 3, 0, 2960 * MS)], 3);
    manifest("mjpeg.mkv", &[(1, "V_MJPEG", 20, 20, 0, 1900 * MS)], 20);
    manifest("small_clusters.mkv", &[(1, "V_MPEG4/ISO/AVC", 75, 3, 0, 2960 * MS)], 13);
    manifest(
        "kvs_like_fragments.mkv",
        &[(1, "V_MPEG4/ISO/AVC", 75, 3, 1_700_000_000_000 * MS, 1_700_000_002_960 * MS)],
        3,
    );
    // TimestampScale 20832: 2901.002 ms is tick 139257, 2816.007 ms is tick 135177.
    for f in ["lacing_xiph.mka", "lacing_ebml.mka"] {
        manifest(f, &[(1, "A_AAC", 142, 18, 0, 139_257 * 20_832)], 5);
    }
    manifest("lacing_fixed.mka", &[(1, "A_AC3", 94, 13, 0, 135_177 * 20_832)], 5);
}

#[test]
fn generated_lacing_and_opus_details() {
    let Some(data) = shared_file("generated", "lacing_xiph.mka") else { return };
    let xiph = frames(&events(&data));
    let ebml = frames(&events(&shared_file("generated", "lacing_ebml.mka").unwrap()));
    // Same frames whatever the lacing: sizes and timestamps agree one by one.
    let key = |f: &kinesis_video_parser::Frame| (f.info.pts_ns, f.len(), f.info.lace_index, f.info.lace_count);
    assert_eq!(xiph.iter().map(key).collect::<Vec<_>>(), ebml.iter().map(key).collect::<Vec<_>>());
    assert_eq!(xiph.iter().filter(|f| f.info.lace_count == 8).count(), 17 * 8);
    // Laced frames after the first are spaced by DefaultDuration.
    let dd = xiph[1].info.pts_ns - xiph[0].info.pts_ns;
    assert!(dd > 21_000_000 && dd < 21_500_000, "{dd}");
    let fixed = frames(&events(&shared_file("generated", "lacing_fixed.mka").unwrap()));
    assert!(fixed.iter().all(|f| f.len() == 384));

    let opus = events(&shared_file("generated", "opus.webm").unwrap());
    let frags = fragments(&opus);
    let t = &frags[0].meta.tracks[0];
    assert_eq!((t.codec_id.as_str(), t.seek_pre_roll_ns), ("A_OPUS", 80_000_000));
    assert!(t.codec_delay_ns > 0);
    let f = frames(&opus);
    assert_eq!(f.len(), 151);
    assert_eq!(f[0].info.pts_ns, -(t.codec_delay_ns as i64));
    let padded: Vec<_> =
        f.iter().filter_map(|x| (x.info.discard_padding_ns != 0).then_some(x.info.discard_padding_ns)).collect();
    assert_eq!(padded, [13_500_000]);
    let headers: Vec<_> = opus
        .iter()
        .filter_map(|e| match e {
            Ok(kinesis_video_parser::Event::Header(h)) => Some(h.doc_type.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(headers, ["webm"]);
}

#[test]
fn generated_tags_nested_and_binary() {
    let Some(data) = shared_file("generated", "tags.mkv") else { return };
    let frags = fragments(&events(&data));
    let tags: Vec<_> = frags.iter().flat_map(|f| &f.meta.tags).collect();
    let global = tags.iter().find(|t| t.tag.simple_tags.iter().any(|s| s.name == "TITLE")).unwrap();
    assert_eq!(global.tag.targets.type_value, 50);
    let artist = global.tag.simple_tags.iter().find(|s| s.name == "ARTIST").unwrap();
    assert_eq!(artist.children.len(), 1);
    assert_eq!(artist.children[0].name, "URL");
    let bin = global.tag.simple_tags.iter().find(|s| matches!(s.value, TagValue::Binary(_))).unwrap();
    assert_eq!(bin.value, TagValue::Binary(bytes::Bytes::from_static(&[0, 1, 2, 3, 0xFF])));
    let per_track: Vec<_> = tags.iter().filter(|t| !t.tag.targets.track_uids.is_empty()).collect();
    assert!(per_track.iter().any(|t| t
        .tag
        .simple_tags
        .iter()
        .any(|s| s.name == "CAMERA_ID" && s.value.as_str() == Some("cam-01"))));
    let cam = per_track.iter().flat_map(|t| &t.tag.simple_tags).find(|s| s.name == "CAMERA_ID").unwrap();
    assert_eq!(cam.language_bcp47.as_deref(), Some("und"));
    // KVS-style names in a plain file still feed the KVS metadata of their fragment.
    let last = frags.last().unwrap();
    assert!(last.meta.kvs.fragment_number.is_some());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
