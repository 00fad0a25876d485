//! The decode stage against FFmpeg itself: frame counts, pixels, modes, metadata.
#![cfg(feature = "decode")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use kinesis_video_parser::decode::{DecodeError, DecodeOptions, DecodedImage, ImageExtractor, Mode, Output, Picture};

fn decode_all(path: &Path, opts: DecodeOptions) -> (Vec<DecodedImage>, Vec<DecodeError>) {
    let mut images = Vec::new();
    let mut errors = Vec::new();
    for item in ImageExtractor::new(std::fs::File::open(path).unwrap(), opts) {
        match item {
            Ok(i) => images.push(i),
            Err(e) => errors.push(e),
        }
    }
    (images, errors)
}

fn ffprobe_frames(path: &Path) -> u64 {
    let out = Command::new("timeout")
        .args([
            "120",
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8(out.stdout).unwrap().lines().next().unwrap().trim().parse().unwrap()
}

/// Frame `n` (output order) as raw RGB24 from the ffmpeg CLI.
fn ffmpeg_rgb(path: &Path, n: usize) -> Vec<u8> {
    let out = Command::new("timeout")
        .args(["120", "ffmpeg", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("select=eq(n\\,{n})"),
            "-vsync",
            "0",
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    out.stdout
}

fn have_ffmpeg() -> bool {
    let ok = Command::new("ffprobe").arg("-version").output().is_ok();
    if !ok {
        assert!(std::env::var("KVS_REQUIRE_TOOLS").map_or(true, |v| v != "1"), "ffprobe required");
        eprintln!("\n!!!!!!!! SKIPPED: ffmpeg/ffprobe not found !!!!!!!!\n");
    }
    ok
}

fn files() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(g) = shared("generated") {
        for f in ["h264_gop1s.mkv", "h264_aac.mkv", "h265.mkv", "mjpeg.mkv", "blockgroups.mkv"] {
            v.push(g.join(f));
        }
    }
    v
}

#[test]
fn frame_counts_equal_ffprobe() {
    if !have_ffmpeg() {
        return;
    }
    for path in files() {
        let (images, errors) = decode_all(&path, DecodeOptions::default());
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert_eq!(images.len() as u64, ffprobe_frames(&path), "{}", path.display());
        // Output order is presentation order.
        assert!(images.windows(2).all(|w| w[0].pts_ns < w[1].pts_ns), "{}", path.display());
    }
}

#[test]
fn every_capture_decodes_completely() {
    let Some(dir) = shared("kvs-java") else { return };
    // (file, frames, width, height)
    for (name, frames, w, h) in [
        ("output_get_media.mkv", 300, 640, 360),
        ("vogels_330.mkv", 909, 640, 330),
        ("kinesis_video_renderer_example_output.mkv", 444, 640, 480),
        ("bezos_vogels.mkv", 546, 1280, 720),
    ] {
        let (images, errors) = decode_all(&dir.join(name), DecodeOptions { threads: 2, ..Default::default() });
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(images.len(), frames, "{name}");
        assert!(images.iter().all(|i| i.picture.dimensions() == (w, h)), "{name}");
    }
    // The producer-SDK MJPEG capture: its track is recognised (V_MS/VFW/FOURCC, FourCC MJPG),
    // but its 100-byte payloads are not JPEG data (zeros and 0x7fff... values: a test
    // producer's uninitialised buffers), so each frame is reported corrupt, none skipped
    // silently, and decoding runs to the end.
    let (images, errors) = decode_all(&dir.join("test_mixed_tags.mkv"), DecodeOptions::default());
    assert!(images.is_empty());
    assert_eq!(errors.len(), 100);
    assert!(errors.iter().all(|e| matches!(e, DecodeError::Corrupt { .. })), "{errors:?}");
    let pic = shared("pic-producer").unwrap().join("pic-h265-3frag.mkv");
    let (images, errors) = decode_all(&pic, DecodeOptions::default());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(images.len(), 30);
}

fn mad(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (i32::from(*x) - i32::from(*y)).unsigned_abs() as u64).sum::<u64>() as f64
        / a.len() as f64
}

#[test]
fn pixels_match_the_ffmpeg_cli() {
    if !have_ffmpeg() {
        return;
    }
    let mut cases: Vec<(PathBuf, usize)> = files().into_iter().zip([37, 50, 40, 5, 70]).collect();
    if let Some(dir) = shared("kvs-java") {
        cases.push((dir.join("vogels_330.mkv"), 100));
    }
    for (path, n) in cases {
        let (images, _) = decode_all(&path, DecodeOptions::default());
        let Picture::Rgb(ours) = &images[n].picture else { panic!("RGB expected") };
        let theirs = ffmpeg_rgb(&path, n);
        let d = mad(ours.as_raw(), &theirs);
        assert!(d <= 2.0, "{}: frame {n}: mean absolute difference {d:.3}", path.display());
    }
}

#[test]
fn modes_formats_scaling_and_metadata() {
    let Some(dir) = shared("kvs-java") else { return };
    let path = dir.join("output_get_media.mkv");
    let frags = fragments(&events(&std::fs::read(&path).unwrap()));
    // Keyframes only: exactly the keyframes.
    let (keys, _) = decode_all(&path, DecodeOptions { mode: Mode::Keyframes, ..Default::default() });
    let want: Vec<i64> =
        frags.iter().flat_map(|f| &f.frames).filter(|f| f.info.keyframe).map(|f| f.info.pts_ns).collect();
    assert_eq!(keys.iter().map(|i| i.pts_ns).collect::<Vec<_>>(), want);
    assert!(keys.iter().all(|i| i.keyframe));
    // One per second of stream time.
    let (every, _) = decode_all(&path, DecodeOptions { mode: Mode::Every(1_000_000_000), ..Default::default() });
    assert_eq!(every.len(), 10);
    assert!(every.windows(2).all(|w| w[1].pts_ns - w[0].pts_ns >= 1_000_000_000));
    // Scaling keeps the aspect ratio; other layouts.
    let (small, _) = decode_all(
        &path,
        DecodeOptions { mode: Mode::Keyframes, width: Some(320), output: Output::Gray, ..Default::default() },
    );
    assert!(small.iter().all(|i| matches!(&i.picture, Picture::Gray(g) if g.dimensions() == (320, 180))));
    let (rgba, _) = decode_all(
        &path,
        DecodeOptions { mode: Mode::Keyframes, height: Some(90), output: Output::Rgba, ..Default::default() },
    );
    assert!(rgba.iter().all(|i| matches!(&i.picture, Picture::Rgba(g) if g.dimensions() == (160, 90))));
    let (raw, _) =
        decode_all(&path, DecodeOptions { mode: Mode::Keyframes, output: Output::Raw, ..Default::default() });
    match &raw[0].picture {
        Picture::Raw(r) => {
            assert_eq!((r.format.as_str(), r.width, r.height, r.planes.len()), ("yuv420p", 640, 360, 3));
            assert!(r.planes[0].1 >= 640);
        }
        _ => panic!("raw expected"),
    }
    // Each image carries its fragment's KVS metadata.
    for (i, img) in keys.iter().enumerate() {
        let m = &frags[i].meta;
        assert_eq!(img.fragment.index, i as u64);
        assert_eq!(img.fragment.fragment_number, m.kvs.fragment_number);
        assert_eq!(img.fragment.server_timestamp_ms, m.kvs.server_timestamp.as_ref().map(|t| t.millis()));
        assert_eq!(img.fragment.producer_timestamp_ms, m.kvs.producer_timestamp.as_ref().map(|t| t.millis()));
    }
}

#[test]
fn corrupt_frames_are_survived_and_unsupported_tracks_are_clear_errors() {
    let Some(g) = shared("generated") else { return };
    let path = g.join("h264_gop1s.mkv");
    let mut data = std::fs::read(&path).unwrap();
    // Garble the middle of a frame in the second GOP.
    let all = frames(&events(&data));
    let f = &all[30];
    for k in 0..f.data.len().min(200) {
        data[f.info.offset as usize + 4 + k] ^= 0x5A;
    }
    let (images, _errors) = {
        let mut images = Vec::new();
        let mut errors = Vec::new();
        for item in ImageExtractor::new(&data[..], DecodeOptions::default()) {
            match item {
                Ok(i) => images.push(i),
                Err(e) => errors.push(e),
            }
        }
        (images, errors)
    };
    // Decoding goes on: at least every frame outside the damaged GOP comes out.
    assert!(images.len() >= 150 - 25, "{}", images.len());
    assert!(images.iter().any(|i| i.pts_ns > 2_000_000_000));

    let opus = g.join("opus.webm");
    let (images, errors) = decode_all(&opus, DecodeOptions::default());
    assert!(images.is_empty());
    assert_eq!(errors, [DecodeError::NoVideoTrack]);
    let (_, errors) = decode_all(&opus, DecodeOptions { track: Some(1), ..Default::default() });
    assert!(matches!(&errors[..], [DecodeError::Unsupported { codec }] if codec == "A_OPUS"), "{errors:?}");
}

#[test]
fn extract_frames_writes_images_and_jsonl() {
    let bin = example_bin("extract_frames");
    let input = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/kvs_like.mkv");
    let out = std::env::temp_dir().join(format!("kvp-extract-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(&bin).arg("--json").arg(&input).arg(&out).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(run.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 30);
    let jsonl = std::fs::read_to_string(out.join("frames.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count(), 30);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["file"], format!("{i:06}.png"));
        assert_eq!(l["index"], i);
        assert!(out.join(format!("{i:06}.png")).exists());
        assert_eq!((l["width"].as_u64(), l["height"].as_u64()), (Some(160), Some(120)));
        let decoded = image::open(out.join(format!("{i:06}.png"))).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (160, 120));
    }
    assert_eq!(lines[0]["fragment_number"], "91343852333181432392682062607743920146159169390");
    assert_eq!(lines[10]["fragment"], 1);
    assert_eq!(lines.iter().filter(|l| l["keyframe"] == true).count(), 3);
    let keys = Command::new(&bin)
        .args(["--keyframes-only", "--format", "jpeg", "--width", "80"])
        .arg(&input)
        .arg(out.join("k"))
        .output()
        .unwrap();
    assert_eq!(keys.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(out.join("k/frames.jsonl")).unwrap().lines().count(), 3);
    assert!(out.join("k/000002.jpg").exists());
    // A stream without video: a clear message and exit 1.
    if let Some(g) = shared("generated") {
        let r = Command::new(&bin).arg(g.join("opus.webm")).arg(out.join("o")).output().unwrap();
        assert_eq!(r.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&r.stderr).contains("no video track"));
    }
    std::fs::remove_dir_all(&out).ok();
}

#[cfg(feature = "tokio")]
#[test]
fn async_decode_stream_gives_the_same_images() {
    use futures::StreamExt;
    let Some(dir) = shared("kvs-java") else { return };
    let path = dir.join("output_get_media.mkv");
    let opts = DecodeOptions { mode: Mode::Keyframes, width: Some(64), ..Default::default() };
    let (sync, _) = decode_all(&path, opts);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let got: Vec<_> = rt.block_on(async {
        let file = tokio::fs::File::open(&path).await.unwrap();
        kinesis_video_parser::decode::decode_stream(file, opts).map(Result::unwrap).collect().await
    });
    assert_eq!(got, sync);
}
