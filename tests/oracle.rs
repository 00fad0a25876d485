//! Frame-by-frame agreement with `ffprobe -show_packets` on H.264/AAC Matroska files made by
//! ffmpeg (live and not), and with the generated corpus.
//!
//! Needs `ffmpeg`/`ffprobe` on the PATH (`.ci/run` installs them). Without them the tests
//! print a loud SKIPPED notice, or fail when `KVS_REQUIRE_TOOLS=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use kinesis_video_parser::Event;

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("-version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !ok {
        if std::env::var("KVS_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
            panic!("{tool} is required (KVS_REQUIRE_TOOLS=1) but not found");
        }
        eprintln!("\n!!!!!!!! SKIPPED: {tool} not found on PATH !!!!!!!!\n");
    }
    ok
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kvp-oracle-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (stream index, pts in ms, size, key) per packet, in demux order.
fn ffprobe_packets(path: &Path) -> Vec<(usize, i64, usize, bool)> {
    let out = Command::new("timeout")
        .args(["60", "ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts,size,flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].contains('K'))
        })
        .collect()
}

/// The same from this crate: stream index = position of the track in the first Tracks.
fn our_packets(data: &[u8]) -> Vec<(usize, i64, usize, bool)> {
    let evs = events(data);
    let mut order: Vec<u64> = Vec::new();
    let mut out = Vec::new();
    for e in &evs {
        match e {
            Ok(Event::Track(t)) if !order.contains(&t.number) => order.push(t.number),
            Ok(Event::Frame(f)) => {
                let idx = order.iter().position(|&n| n == f.info.track).expect("frame of a declared track");
                // ffprobe shows pts in the 1 ms stream time base, rounded to nearest.
                let ms = (f.info.pts_ns as f64 / 1e6).round() as i64;
                out.push((idx, ms, f.len(), f.info.keyframe));
            }
            _ => {}
        }
    }
    out
}

fn compare(path: &Path) {
    let data = std::fs::read(path).unwrap();
    let theirs = ffprobe_packets(path);
    let ours = our_packets(&data);
    assert!(!theirs.is_empty(), "{}", path.display());
    assert_eq!(ours.len(), theirs.len(), "{}: packet count", path.display());
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "{}: packet {i} (stream, pts ms, size, key)", path.display());
    }
}

fn ffmpeg(args: &str, out: &Path, live: bool) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"]);
    cmd.args(args.split_whitespace());
    if live {
        cmd.args(["-live", "1", "-f", "matroska", "-"]);
        cmd.stdout(std::fs::File::create(out).unwrap());
    } else {
        cmd.arg(out);
    }
    let st = cmd.status().expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg {args}");
}

const AV: &str = "-f lavfi -i testsrc2=size=160x120:rate=25 -f lavfi -i sine=frequency=300:sample_rate=48000 -t 2 \
    -c:v libx264 -preset ultrafast -crf 35 -pix_fmt yuv420p -threads 1 -c:a aac -b:a 32k -ac 2";

#[test]
fn ffmpeg_made_h264_aac_files_match_ffprobe() {
    if !have("ffmpeg") || !have("ffprobe") {
        return;
    }
    let dir = tmpdir("h264aac");
    let cases = [
        ("bframes.mkv", format!("{AV} -preset medium -bf 2"), false),
        ("bframes_live.mkv", format!("{AV} -bf 2"), true),
        ("nob_crc_small_clusters.mkv", format!("{AV} -bf 0 -write_crc32 1 -cluster_time_limit 300"), false),
        ("live_crc.mkv", format!("{AV} -bf 0 -write_crc32 1 -cluster_size_limit 2000"), true),
        (
            "video_only_keyint7.mkv",
            "-f lavfi -i testsrc2=size=64x48:rate=30 -t 2 -c:v libx264 -preset ultrafast -g 7 -pix_fmt yuv420p".into(),
            false,
        ),
    ];
    for (name, args, live) in cases {
        let path = dir.join(name);
        ffmpeg(&args, &path, live);
        compare(&path);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn corpus_files_match_ffprobe() {
    if !have("ffprobe") {
        return;
    }
    compare(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/kvs_like.mkv"));
    let Some(dir) = shared("generated") else { return };
    for f in ["h264_gop1s.mkv", "h264_aac.mkv", "live_unknown_segment.mkv", "crc_void.mkv", "small_clusters.mkv"] {
        compare(&dir.join(f));
    }
    let Some(dir) = shared("kvs-java") else { return };
    for f in ["vogels_480.mkv", "bezos_vogels.mkv", "clusters.mkv"] {
        compare(&dir.join(f));
    }
}
