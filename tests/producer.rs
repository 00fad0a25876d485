//! The producer side without the network: sources cut into PutMedia bodies, read back with
//! the crate: every frame byte for byte with its track, time and key flag, one Cluster per
//! fragment, each opened on a video keyframe (by duration without video), within the
//! limits, timecodes never going back; the same body whatever the source's chunking.

mod common;

use bytes::Bytes;
use common::*;
use kinesis_video_parser::producer::{Fragmenter, FragmenterOptions, Piece, Timecodes};
use kinesis_video_parser::{Event, Frame};

const START: u64 = 1_700_000_000_000;

/// The body cut from `events`, and the fragment timecodes announced.
fn body(events: &[Event], opts: FragmenterOptions) -> (Vec<u8>, Vec<u64>) {
    let mut cut = Fragmenter::new(opts);
    let (mut out, mut timecodes) = (Vec::new(), Vec::new());
    for ev in events {
        cut.push(ev).unwrap();
        while let Some(p) = cut.next_piece() {
            if let Piece::FragmentStart { timecode, .. } = p {
                timecodes.push(timecode);
            }
            p.parts().iter().for_each(|b| out.extend_from_slice(b));
        }
    }
    (out, timecodes)
}

fn ok_events(data: &[u8], sizes: &[usize]) -> Vec<Event> {
    events_chunked(data, sizes).into_iter().map(|e| e.expect("a clean source")).collect()
}

type Seen = (u64, Bytes, i64, bool);

/// (track, payload, ms, key flag): times at the body's 1 ms TimestampScale (laced frames
/// between two ms are written at the ms they fall in).
fn seen(frames: &[Frame], shift_ns: i64) -> Vec<Seen> {
    let ms = |ns: i64| (ns + shift_ns).div_euclid(1_000_000);
    frames.iter().map(|f| (f.info.track, f.data.clone(), ms(f.info.pts_ns), f.info.keyframe)).collect()
}

/// Cuts `name` and checks the body against the source.
fn check(data: &[u8], name: &str, opts: FragmenterOptions) -> Vec<u64> {
    let source = ok_events(data, &[data.len()]);
    let src_frames: Vec<Frame> =
        source.iter().filter_map(|e| if let Event::Frame(f) = e { Some(f.clone()) } else { None }).collect();
    let (out, timecodes) = body(&source, opts);
    // Any chunking of the source gives the same body.
    for sizes in [&[1usize, 7, 4096][..], &[65_536]] {
        assert!(body(&ok_events(data, sizes), opts).0 == out, "{name}: the body depends on the chunking");
    }
    let back = events(&out);
    assert!(damages(&back).is_empty() && truncations(&back).is_empty(), "{name}: a clean body");
    let shift = match opts.timecodes {
        Timecodes::Absolute { start_ms } => start_ms as i64 * 1_000_000,
        Timecodes::Relative { .. } => 0,
    };
    let got = frames(&back);
    assert!(seen(&got, 0) == seen(&src_frames, shift), "{name}: every frame, byte for byte, its time kept");
    let frags = fragments(&back);
    assert_eq!(frags.len(), timecodes.len(), "{name}: one Cluster per fragment");
    let has_video = frags[0].meta.tracks.iter().any(|t| t.track_type == 1);
    assert!(frags[0].meta.tracks.len() <= 3 && frags[0].meta.info.timestamp_scale == 1_000_000);
    for (i, f) in frags.iter().enumerate() {
        assert_eq!(f.meta.cluster_timestamp, Some(timecodes[i]), "{name}");
        if i > 0 {
            assert!(timecodes[i] > timecodes[i - 1], "{name}: timecodes go up");
        }
        let first_video = f.frames.iter().find(|x| !has_video || x.info.track == video_track(f));
        assert!(first_video.is_some_and(|x| x.info.keyframe), "{name}: fragment {i} opens on a keyframe");
        let span = f.frames.iter().map(|x| x.info.pts_ns).max().unwrap()
            - f.frames.iter().map(|x| x.info.pts_ns).min().unwrap();
        assert!(span < opts.max_duration_ms as i64 * 1_000_000, "{name}: fragment {i} lasts {span} ns");
    }
    timecodes
}

fn video_track(f: &kinesis_video_parser::Fragment) -> u64 {
    f.meta.tracks.iter().find(|t| t.track_type == 1).map_or(0, |t| t.number)
}

fn opts(target_ms: u64) -> FragmenterOptions {
    FragmenterOptions { target_duration_ms: target_ms, ..FragmenterOptions::starting_at(START) }
}

#[test]
fn ffmpeg_gstreamer_and_mkvmerge_sources_cut_on_keyframes() {
    let Some(dir) = shared("generated") else { return };
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
    // Keyframes every second (h264_gop1s, GStreamer's live_unknown_clusters: 0..5 s).
    for name in ["h264_gop1s.mkv", "live_unknown_clusters.mkv"] {
        let tc = check(&read(name), name, opts(2_000));
        assert_eq!(tc, [START, START + 2_000, START + 4_000], "{name}");
        assert_eq!(check(&read(name), name, opts(1)).len(), 6, "{name}: one fragment per keyframe");
    }
    // H.264 + AAC: the audio starts before the first video keyframe; video keyframes at
    // 0, 1, 2, 3 s (shown at +21 ms: B-frames).
    let tc = check(&read("h264_aac.mkv"), "h264_aac.mkv", opts(2_000));
    assert_eq!(tc.len(), 2, "{tc:?}");
    check(&read("h265.mkv"), "h265.mkv", opts(1_000));
    check(&read("blockgroups.mkv"), "blockgroups.mkv", opts(1_000));
    // Audio only: cut by duration (20 ms Opus frames, their times counted with the codec
    // delay, as the muxer writes them): a new fragment at the first frame 1 s or more after
    // the open one began.
    let tc = check(&read("opus.webm"), "opus.webm", opts(1_000));
    assert_eq!(tc, [START, START + 1_001, START + 2_001, START + 3_001]);
    // Relative timecodes: the source's own times.
    let rel = FragmenterOptions { timecodes: Timecodes::Relative { start_ms: START }, ..opts(2_000) };
    assert_eq!(check(&read("h264_gop1s.mkv"), "relative", rel), [0, 2_000, 4_000]);
}

#[test]
fn limits_force_a_cut_between_keyframes() {
    let Some(data) = shared_file("generated", "h264_gop1s.mkv") else { return };
    let source = ok_events(&data, &[data.len()]);
    // 300 ms at most: the 1 s GOPs are cut inside, never above the limit.
    let short = FragmenterOptions { max_duration_ms: 300, ..opts(2_000) };
    let mut cut = Fragmenter::new(short);
    for ev in &source {
        cut.push(ev).unwrap();
    }
    let stats = cut.stats();
    assert_eq!(stats.frames, 150);
    // 40 ms frames: 8 to a fragment (0..=280 ms), a cut before the 9th, keyframe or not.
    assert_eq!(stats.fragments, 19, "{stats:?}");
    assert_eq!(stats.forced_cuts, 18, "{stats:?}");
    // 20 KB at most per fragment.
    let small = FragmenterOptions { max_fragment_bytes: 20_000, ..opts(2_000) };
    let (out, timecodes) = body(&source, small);
    let back = events(&out);
    assert_eq!(frames(&back).len(), 150);
    for f in fragments(&back) {
        let bytes: usize = f.frames.iter().map(|x| x.data.len()).sum();
        assert!(bytes <= 20_000 || f.frames.len() == 1, "{bytes}");
    }
    assert!(timecodes.windows(2).all(|w| w[0] < w[1]));
}
