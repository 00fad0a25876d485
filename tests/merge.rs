//! Merge and clip: byte-exact compatibility with AWS's Java merger, playable output, clips,
//! round trips through the writer, streaming.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bytes::Bytes;
use common::players::tool_ok;
use common::*;
use kinesis_video_parser::clip::{clip, ClipOptions, ClipTime};
use kinesis_video_parser::merge::{merge, MergeOptions, MergeReport, Merger, Progress};
use kinesis_video_parser::mux::Remuxer;
use kinesis_video_parser::{Event, Fragment};
use sha2::{Digest, Sha256};

fn sha(b: &[u8]) -> String {
    Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn merged(data: &[u8], opts: MergeOptions) -> (Vec<u8>, MergeReport) {
    let mut out = Vec::new();
    let r = merge(data, &mut out, opts).unwrap();
    (out, r)
}

fn pack() -> MergeOptions {
    MergeOptions { pack_clusters: true, ..MergeOptions::default() }
}
fn stop() -> MergeOptions {
    MergeOptions { stop_at_mismatch: true, ..MergeOptions::default() }
}

#[test]
fn byte_exact_with_the_java_merger() {
    let Some(get_media) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    let (out, r) = merged(&get_media, MergeOptions::default());
    assert_eq!(out.len(), 2_501_281);
    assert_eq!(sha(&out), "2b72e9ca4e69abd796b8fec469d1ae3fa7d4d90e703f9f225f9464fdc3c1481e");
    assert_eq!((r.documents, r.segments, r.clusters, r.damaged, r.truncated), (5, 1, 5, false, false));
    // It is the input with bytes [0, 551) of chunks 1-4 removed.
    let starts = [0usize, 547925, 1040439, 1523373, 2012579, get_media.len()];
    let mut expected = get_media[..starts[1]].to_vec();
    for w in starts[1..].windows(2) {
        expected.extend_from_slice(&get_media[w[0] + 551..w[1]]);
    }
    assert!(out == expected);

    let twice = [get_media.clone(), get_media.clone()].concat();
    let (out2, r2) = merged(&twice, MergeOptions::default());
    assert_eq!(out2.len(), 5_002_562);
    assert_eq!(sha(&out2), "98305e24369b26c57f9643fa4009cf1c050dc3aca6626b983ffb8fa882f459a6");
    assert!(out2 == [out.clone(), out].concat());
    assert_eq!(r2.segments, 2);

    let sparse = shared_file("kvs-java", "output_get_media_sparse_fragments.mkv").unwrap();
    let (plain, _) = merged(&sparse, MergeOptions::default());
    assert_eq!(
        (plain.len(), sha(&plain).as_str()),
        (1_520_663, "3b997b5e51e40916fe04ac23bd5fc7de9c7cc534dcfc91136c80f4f30677d620")
    );
    let (packed, _) = merged(&sparse, pack());
    let want = shared_file("kvs-java", "output_get_media_sparse_fragments_merged.mkv").unwrap();
    assert!(packed == want, "packed merge differs from the Java merger's file");
    assert_eq!(sha(&packed), "91cbe9bac051ed0f0be96d945496bf333e14fb6d36233fa6097970d4f977bf10");
    assert_eq!(plain.iter().zip(&packed).filter(|(a, b)| a != b).count(), 4);

    // With the stop option: the first chunk alone, unchanged.
    for (name, len, hash) in [
        (
            "output-get-media-non-increasing-timecode.mkv",
            162_454,
            "0c48898a161fe739ccdb828c849c0917454405a9ceb580765c2ca2b7c8ff5350",
        ),
        (
            "output-get-media-equal-timecode.mkv",
            639_613,
            "d94bda591e56a9e8102f532b9d51346a2b6eeaf7c4c20f53f4970e40b11b87ae",
        ),
    ] {
        let (out, r) = merged(&shared_file("kvs-java", name).unwrap(), stop());
        assert_eq!((out.len(), sha(&out).as_str()), (len, hash), "{name}");
        assert_eq!(r.stopped_at, Some(len as u64), "{name}");
    }
}

#[test]
fn merged_output_reads_back_and_streams_in_any_pieces() {
    let mut inputs = vec![own_file("kvs_like.mkv")];
    if let Some(d) = shared_file("kvs-java", "output_get_media.mkv") {
        inputs.push(d);
        inputs.push(shared_file("kvs-java", "test_mixed_tags.mkv").unwrap());
        inputs.push(shared_file("kvs-java", "kinesis_video_renderer_example_output.mkv").unwrap());
    }
    let mut rng = Rng(77);
    for data in inputs {
        let (out, r) = merged(&data, MergeOptions::default());
        assert_eq!(r.segments, 1);
        // Same frames, one document.
        let before = frames(&events(&data));
        let evs = events(&out);
        let after = frames(&evs);
        let key = |f: &kinesis_video_parser::Frame| (f.info.track, f.info.pts_ns, f.info.keyframe, f.data.clone());
        assert_eq!(after.iter().map(key).collect::<Vec<_>>(), before.iter().map(key).collect::<Vec<_>>());
        assert_eq!(evs.iter().filter(|e| matches!(e, Ok(Event::Header(_)))).count(), 1);
        assert!(damages(&evs).is_empty() && truncations(&evs).is_empty());
        // The I/O-free core gives the same bytes for any chunking.
        for _ in 0..3 {
            let sizes = random_sizes(&mut rng, 16);
            let mut m = Merger::new(MergeOptions::default());
            let (mut pos, mut k, mut got) = (0, 0, Vec::new());
            loop {
                let st = m.process();
                for p in m.take_output() {
                    got.extend_from_slice(&p);
                }
                if st == Progress::Done {
                    break;
                }
                if pos == data.len() {
                    m.finish();
                } else {
                    let n = sizes[k % sizes.len()].min(data.len() - pos);
                    k += 1;
                    m.push(Bytes::copy_from_slice(&data[pos..pos + n]));
                    pos += n;
                }
            }
            assert!(got == out, "chunked merge differs");
        }
    }
}

#[test]
fn self_appended_stream_gives_two_segments() {
    let Some(data) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    let (out, _) = merged(&[data.clone(), data].concat(), MergeOptions::default());
    let evs = events(&out);
    let frags = fragments(&evs);
    assert_eq!(frags.len(), 10);
    assert_eq!(frames(&evs).len(), 600);
    assert_eq!(frags.iter().filter(|f| f.meta.starts_document).count(), 2);
    assert!(damages(&evs).is_empty());
}

#[test]
fn damaged_input_merges_what_is_valid() {
    let data = own_file("kvs_like.mkv");
    let (clean, _) = merged(&data, MergeOptions::default());
    let second = fragments(&events(&data))[1].meta.offset as usize;
    let bad = [&data[..second], &[0x42u8; 16][..], &data[second..]].concat();
    let (out, r) = merged(&bad, MergeOptions::default());
    assert!(r.damaged && !r.truncated);
    assert!(out == clean, "junk must not reach the output");
    // Truncated: the cut block is not written; everything before it is.
    let cut = data.len() - 300;
    let (out, r) = merged(&data[..cut], MergeOptions::default());
    assert!(r.truncated);
    let evs = events(&out);
    let whole_frames = frames(&events(&data[..cut]));
    assert_eq!(frames(&evs).len(), whole_frames.len());
}

/// A clip between two stream times (ms), from a GetMedia capture in memory.
fn clip_ms(data: &[u8], from: i64, to: i64) -> (Vec<u8>, kinesis_video_parser::clip::ClipReport) {
    let mut out = Vec::new();
    let opts = ClipOptions {
        from_ns: Some(from * 1_000_000),
        to_ns: Some(to * 1_000_000),
        time: ClipTime::Pts,
        ..ClipOptions::default()
    };
    let r = clip(data, &mut out, opts).unwrap();
    (out, r)
}

/// Packets per stream as ffprobe counts them, and whether mkvinfo reads the file.
fn oracles(path: &Path) -> Vec<u64> {
    let out = Command::new("timeout")
        .args([
            "60",
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let st = Command::new("timeout").args(["60", "mkvinfo"]).arg(path).stdout(Stdio::null()).status().unwrap();
    assert!(st.success(), "mkvinfo failed on {}", path.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kvp-merge-{}-{name}", std::process::id()))
}

#[test]
fn players_read_merged_and_clipped_output() {
    if !tool_ok("ffprobe") || !tool_ok("mkvinfo") {
        return;
    }
    let own = own_file("kvs_like.mkv");
    let p = tmp("own.mkv");
    std::fs::write(&p, merged(&own, MergeOptions::default()).0).unwrap();
    assert_eq!(oracles(&p), [30, 51]);
    let Some(data) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    let cases: Vec<(&str, Vec<u8>, Vec<u64>)> = vec![
        ("get_media.mkv", merged(&data, MergeOptions::default()).0, vec![300]),
        (
            "sparse_packed.mkv",
            merged(&shared_file("kvs-java", "output_get_media_sparse_fragments.mkv").unwrap(), pack()).0,
            vec![180],
        ),
        (
            "mixed_tags.mkv",
            merged(&shared_file("kvs-java", "test_mixed_tags.mkv").unwrap(), MergeOptions::default()).0,
            vec![100],
        ),
        (
            "stopped.mkv",
            merged(&shared_file("kvs-java", "output-get-media-equal-timecode.mkv").unwrap(), stop()).0,
            vec![120],
        ),
    ];
    for (name, bytes, counts) in cases {
        let p = tmp(name);
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(oracles(&p), counts, "{name}");
    }
    // Clips.
    let (out, r) = clip_ms(&data, 3000, 7000);
    assert_eq!(r.frames, 150);
    let p = tmp("clip.mkv");
    std::fs::write(&p, &out).unwrap();
    assert_eq!(oracles(&p), [150]);
    let vogels = shared_file("kvs-java", "vogels_480.mkv").unwrap();
    let mut out = Vec::new();
    clip(
        &vogels[..],
        &mut out,
        ClipOptions {
            from_ns: Some(10_000_000_000),
            to_ns: Some(20_000_000_000),
            time: ClipTime::Pts,
            ..ClipOptions::default()
        },
    )
    .unwrap();
    let p = tmp("clip_av.mkv");
    std::fs::write(&p, &out).unwrap();
    let counts = oracles(&p);
    let clipped = frames(&events(&out));
    assert_eq!(
        counts,
        [
            clipped.iter().filter(|f| f.info.track == 1).count() as u64,
            clipped.iter().filter(|f| f.info.track == 2).count() as u64
        ]
    );
}

#[test]
fn clips_start_at_a_keyframe_and_are_rebased() {
    let Some(data) = shared_file("kvs-java", "output_get_media.mkv") else { return };
    let src = frames(&events(&data));
    let (out, r) = clip_ms(&data, 3000, 7000);
    assert_eq!((r.first_pts_ns, r.damaged, r.truncated), (0, false, false));
    let got = frames(&events(&out));
    // The keyframe at 2 s opens the clip; frames up to (not including) 7 s follow.
    let want: Vec<_> = src.iter().filter(|f| f.info.pts_ns >= 2_000_000_000 && f.info.pts_ns < 7_000_000_000).collect();
    assert_eq!(got.len(), want.len());
    assert!(got[0].info.keyframe);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (g.info.pts_ns, &g.data, g.info.keyframe),
            (w.info.pts_ns - 2_000_000_000, &w.data, w.info.keyframe)
        );
    }
    // By producer time: fragment 2 starts at producer time 1511852112.513.
    let mut out = Vec::new();
    let r = clip(
        &data[..],
        &mut out,
        ClipOptions {
            from_ns: Some(1_511_852_112_600_000_000),
            to_ns: Some(1_511_852_114_000_000_000),
            time: ClipTime::Producer,
            ..ClipOptions::default()
        },
    )
    .unwrap();
    let got = frames(&events(&out));
    assert_eq!(got.len() as u64, r.frames);
    let first_src = src.iter().position(|f| f.info.pts_ns == 4_000_000_000).unwrap();
    assert_eq!(got[0].data, src[first_src].data);
    // 1511852114.000 - 1511852112.513 = 1487 ms after the keyframe: 45 frames at 33.3 ms.
    assert_eq!(got.len(), 45);
    // Nothing to clip: an error, not an empty file.
    let mut out = Vec::new();
    assert!(clip(
        &data[..],
        &mut out,
        ClipOptions { from_ns: Some(99_000_000_000), to_ns: None, time: ClipTime::Pts, ..ClipOptions::default() }
    )
    .is_err());
}

fn comparable(f: &Fragment) -> impl PartialEq + std::fmt::Debug {
    let frames: Vec<_> = f
        .frames
        .iter()
        .map(|x| {
            (
                x.info.track,
                x.info.pts_ns,
                x.info.duration_ns,
                x.info.keyframe,
                x.info.invisible,
                x.info.discardable,
                x.info.discard_padding_ns,
                x.data.clone(),
                x.prefix.clone(),
            )
        })
        .collect();
    let tracks: Vec<_> =
        f.meta.tracks.iter().map(|t| kinesis_video_parser::Track { offset: 0, ..(**t).clone() }).collect();
    let tags: Vec<_> =
        f.meta.tags.iter().map(|t| (kinesis_video_parser::Tag { offset: 0, ..t.tag.clone() }, t.position)).collect();
    (
        frames,
        tracks,
        tags,
        f.meta.kvs.clone(),
        f.meta.cluster_timestamp,
        f.meta.info.timestamp_scale,
        f.meta.starts_document,
    )
}

#[test]
fn parse_write_parse_round_trips() {
    let mut inputs: Vec<(String, Vec<u8>)> = vec![("kvs_like.mkv".into(), own_file("kvs_like.mkv"))];
    for sub in ["kvs-java", "pic-producer", "generated", "libwebm"] {
        let Some(dir) = shared(sub) else { continue };
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if matches!(p.extension().and_then(|x| x.to_str()), Some("mkv" | "mka" | "webm")) {
                inputs.push((p.file_name().unwrap().to_string_lossy().into(), std::fs::read(&p).unwrap()));
            }
        }
    }
    for (name, data) in inputs {
        let evs = events(&data);
        let doc_type = evs
            .iter()
            .find_map(|e| match e {
                Ok(Event::Header(h)) => Some(h.doc_type.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let frags = fragments(&evs);
        let mut rm = Remuxer::new(Vec::new());
        for f in &frags {
            rm.write_fragment(f, &doc_type).unwrap();
        }
        let written = rm.into_inner();
        let back_evs = events(&written);
        assert!(damages(&back_evs).is_empty() && truncations(&back_evs).is_empty(), "{name}: {:?}", damages(&back_evs));
        let back = fragments(&back_evs);
        assert_eq!(back.len(), frags.len(), "{name}");
        for (i, (a, b)) in frags.iter().zip(&back).enumerate() {
            assert_eq!(comparable(a), comparable(b), "{name}: fragment {i}");
        }
    }
}

#[test]
fn merge_through_stdin_and_stdout_equals_file_to_file() {
    let bin = example_bin("merge");
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/kvs_like.mkv");
    let file_out = tmp("file_out.mkv");
    let st = Command::new(&bin).arg(&input).arg(&file_out).status().unwrap();
    assert_eq!(st.code(), Some(0));
    let piped = Command::new(&bin).args(["-", "-"]).stdin(std::fs::File::open(&input).unwrap()).output().unwrap();
    assert_eq!(piped.status.code(), Some(0));
    assert!(piped.stdout == std::fs::read(&file_out).unwrap());
    // Usage errors exit 2; a damaged input exits 1 with the valid part written.
    assert_eq!(Command::new(&bin).arg("only-one").status().unwrap().code(), Some(2));
    let data = std::fs::read(&input).unwrap();
    let cut = tmp("cut.mkv");
    std::fs::write(&cut, &data[..data.len() - 100]).unwrap();
    assert_eq!(Command::new(&bin).arg(&cut).arg(tmp("cut_out.mkv")).status().unwrap().code(), Some(1));
}
