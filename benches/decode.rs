//! Decode speed: full decode to RGB, keyframes only, and decode with scaling, next to the
//! ffmpeg CLI decoding the same file to raw RGB with the same thread count.
//!
//! `benches/make_inputs.sh && cargo bench --features decode --bench decode`. Input:
//! `KVS_BENCH_DECODE_FILE`, else `benches/data/gop2s.mkv` (640x360, 2-second GOP, made by the
//! script), else the GetMedia capture `../shared/testdata/kvs-java/output_get_media.mkv`.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kinesis_video_parser::decode::{DecodeOptions, ImageExtractor, Mode};

const THREADS: usize = 2;

fn input() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("KVS_BENCH_DECODE_FILE").map(PathBuf::from).unwrap_or_else(|| {
        let made = root.join("benches/data/gop2s.mkv");
        if made.exists() {
            made
        } else {
            root.join("../shared/testdata/kvs-java/output_get_media.mkv")
        }
    })
}

fn run(data: &[u8], opts: DecodeOptions) -> usize {
    ImageExtractor::new(data, opts).filter(Result::is_ok).count()
}

fn bench(c: &mut Criterion) {
    let path = input();
    let Ok(data) = std::fs::read(&path) else {
        eprintln!("SKIPPED: {} not found", path.display());
        return;
    };
    let full = DecodeOptions { threads: THREADS, ..Default::default() };
    let frames = run(&data, full) as u64;
    let mut g = c.benchmark_group("decode");
    g.sample_size(10).measurement_time(Duration::from_secs(6)).throughput(Throughput::Elements(frames));
    g.bench_function("full_rgb", |b| b.iter(|| run(&data, full)));
    g.bench_function("keyframes_only_rgb", |b| b.iter(|| run(&data, DecodeOptions { mode: Mode::Keyframes, ..full })));
    g.bench_function("full_rgb_scaled_320", |b| b.iter(|| run(&data, DecodeOptions { width: Some(320), ..full })));
    let cli_ok = Command::new("ffmpeg").arg("-version").output().is_ok();
    if cli_ok {
        g.bench_function("ffmpeg_cli_rgb", |b| {
            b.iter(|| {
                let st = Command::new("ffmpeg")
                    .args(["-v", "error", "-threads", &THREADS.to_string(), "-i"])
                    .arg(&path)
                    .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-y", "/dev/null"])
                    .status()
                    .unwrap();
                assert!(st.success());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
