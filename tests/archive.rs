//! The archive reader and `get_archived` through the real AWS SDK clients against the local
//! stand-in: ListFragments pages short and in no order with a repeat, a change in the count
//! of digits of fragment numbers, equal timestamps, both clocks, throttling on list and on
//! get, a body cut in the middle of a fragment, an error status, a fragment gone between
//! list and get, a re-run from a checkpoint, the CLI's lines and exit codes.
#![cfg(feature = "aws")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::standin::*;
use common::*;
use kinesis_video_parser::aws::{ArchiveBuilder, ArchiveReader, ConsumerError, FileCheckpoints, LiveItem, TimeKind};
use serde_json::Value;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// 30 fragments whose numbers go from 7 to 8 digits at index 11, and whose producer
/// timestamps of 10 and 11 are equal (so the tie is broken by number: as strings, 11's
/// "10000000" would sort before 10's "9992081").
fn served() -> Vec<ServedFragment> {
    let mut frags = synthetic(30, 5, 40, 9_912_891);
    assert_eq!((frags[10].number.len(), frags[11].number.len()), (7, 8));
    frags[11].producer_ms = frags[10].producer_ms;
    frags
}

fn reader(s: &StandIn, from: u64, to: u64) -> ArchiveBuilder {
    ArchiveReader::builder("cam", from, to)
        .endpoint_url(&s.url)
        .batch(4)
        .parallel(3)
        .calls_per_second(500.0)
        .backoff(Duration::from_millis(5), Duration::from_millis(40))
        .read_timeout(Duration::from_millis(500))
        .max_failures(6)
}

/// (fragment number, position, pts) of every frame, the fragment numbers, the errors.
#[derive(Debug, Default)]
struct Got {
    frames: Vec<(String, u64, i64)>,
    fragments: Vec<String>,
    missing: Vec<String>,
}

async fn read_all(mut r: ArchiveReader) -> Got {
    let mut got = Got::default();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(30), r.next()).await.expect("reader stalled") {
        match item {
            Ok(LiveItem::Frame(f)) => {
                assert_eq!(f.frame.info.fragment, got.fragments.len() as u64);
                let n = f.fragment.fragment_number.as_ref().unwrap().to_string();
                got.frames.push((n, f.position, f.frame.info.pts_ns));
            }
            Ok(LiveItem::Fragment(f)) => {
                assert!(f.meta.complete, "{:?}", f.meta);
                assert_eq!(f.meta.index, got.fragments.len() as u64);
                got.fragments.push(f.meta.kvs.fragment_number.unwrap().to_string());
            }
            Err(ConsumerError::Missing { fragment_number, .. }) => got.missing.push(fragment_number.to_string()),
            Err(e) => panic!("{e}"),
        }
    }
    got
}

fn frames_of(frags: &[ServedFragment]) -> Vec<(String, u64, i64)> {
    frags.iter().flat_map(|f| f.pts_ns.iter().enumerate().map(|(i, p)| (f.number.clone(), i as u64, *p))).collect()
}

fn numbers(frags: &[ServedFragment]) -> Vec<String> {
    frags.iter().map(|f| f.number.clone()).collect()
}

#[test]
fn a_range_in_time_order_each_frame_once_through_every_fault() {
    let frags = served();
    rt().block_on(async {
        let plan: Plan = Arc::new(|c: &Call| match (c.api, c.n) {
            ("ListFragments", 2) => vec![Fault::throttle()],
            ("GetMediaForFragmentList", 1) => vec![Fault::throttle()],
            ("GetMediaForFragmentList", 4) => vec![Fault::Status(500, "InternalFailure")],
            // Every early call that holds fragment 7 is cut inside its Cluster.
            ("GetMediaForFragmentList", n) if n <= 6 => vec![Fault::Cut { fragment: 7, at: At::MidCluster }],
            _ => vec![],
        });
        let s = StandIn::start(HashMap::from([("cam".to_owned(), frags.clone())]), plan).await;
        s.gone.lock().unwrap().insert(frags[15].number.clone());
        let sdk = sdk_config().await;
        let (from, to) = (frags[3].producer_ms, frags[20].producer_ms); // inclusive ends
        let got = read_all(reader(&s, from, to).build(&sdk)).await;
        let delivered: Vec<ServedFragment> =
            frags[3..=20].iter().filter(|f| f.number != frags[15].number).cloned().collect();
        assert_eq!(got.fragments, numbers(&delivered));
        assert_eq!(got.frames, frames_of(&delivered));
        assert_eq!(got.missing, [frags[15].number.clone()]);
        let log = s.log.lock().unwrap();
        let pages = log.iter().filter(|(p, _)| p.starts_with("/listFragments")).count();
        assert!(pages >= 4, "short pages followed to the end ({pages} calls)");
    });
}

#[test]
fn server_time_and_a_rerun_from_the_checkpoint() {
    let frags = served();
    let dir = std::env::temp_dir().join(format!("kvp-archive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("points");
    rt().block_on(async {
        let s = StandIn::start(HashMap::from([("cam".to_owned(), frags.clone())]), Arc::new(|_| vec![])).await;
        let sdk = sdk_config().await;
        // Server timestamps are 150 ms after the producer's: this range holds 5..=24.
        let (from, to) = (frags[5].server_ms - 10, frags[24].server_ms);
        let store = Arc::new(FileCheckpoints::open(&path).unwrap());
        let first = reader(&s, from, to).time(TimeKind::Server).checkpoints(store).max_fragments(7).build(&sdk);
        let got = read_all(first).await;
        assert_eq!(got.fragments, numbers(&frags[5..12]));
        let store = Arc::new(FileCheckpoints::open(&path).unwrap());
        let again = reader(&s, from, to).time(TimeKind::Server).checkpoints(store).build(&sdk);
        let got = read_all(again).await;
        assert_eq!(got.fragments, numbers(&frags[12..25]), "the re-run goes on after the last delivered");
        assert_eq!(got.frames, frames_of(&frags[12..25]));
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn get_archived_prints_the_range_in_order_and_names_what_it_could_not_deliver() {
    let frags = served();
    rt().block_on(async {
        let plan: Plan = Arc::new(|c: &Call| match (c.api, c.n) {
            ("GetMediaForFragmentList", 2) => vec![Fault::Cut { fragment: 9, at: At::MidCluster }],
            _ => vec![],
        });
        let s = StandIn::start(HashMap::from([("cam".to_owned(), frags.clone())]), plan).await;
        s.gone.lock().unwrap().insert(frags[4].number.clone());
        let (from, to) = (frags[0].producer_ms.to_string(), frags[29].producer_ms.to_string());
        let out = tokio::process::Command::new(example_bin("get_archived"))
            .args(["--stream", "cam", "--region", "us-east-1", "--endpoint-url", &s.url, "--from", &from, "--to", &to])
            .args(["--json", "--frames", "--parallel", "2", "--batch", "6", "--calls-per-second", "500"])
            .args(["--backoff-initial-ms", "5", "--backoff-max-ms", "40", "--read-timeout-ms", "500"])
            .envs(cli_env())
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("fragment {} could not be delivered", frags[4].number)), "{stderr}");
        let lines: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let delivered: Vec<ServedFragment> = frags.iter().filter(|f| f.number != frags[4].number).cloned().collect();
        assert_eq!(check_cli_lines(&lines, "cam", &delivered), numbers(&delivered));

        for bad in [
            &["--stream", "cam"][..],
            &["--stream", "cam", "--from", "5", "--to", "4"],
            &["--from", "1", "--to", "2"],
            &["--stream", "c", "--from", "1", "--to", "2", "--output", "-", "--json"],
        ] {
            let st = tokio::process::Command::new(example_bin("get_archived")).args(bad).output().await.unwrap();
            assert_eq!(st.status.code(), Some(2), "{bad:?}");
        }
    });
}

/// `--output FILE`: the range, a body cut in the middle of a fragment included, comes out as
/// one Matroska file in which the crate, ffprobe and GStreamer each find every frame once, in
/// order: the crate byte for byte with its time and key flag, ffprobe with the same times and
/// key flags, GStreamer the same count.
#[test]
fn get_archived_output_is_one_file_with_every_frame() {
    // Real H.264 (the players decode what they read): 6 fragments of 25 frames, 1 s each.
    let Some(source) = shared_file("generated", "h264_gop1s.mkv") else { return };
    let frags = from_source(&source, 9_999_990);
    assert_eq!(frags.len(), 6);
    let dir = players::scratch_dir("archive-output");
    let path = dir.join("range.mkv");
    rt().block_on(async {
        let plan: Plan = Arc::new(|c: &Call| match (c.api, c.n) {
            ("GetMediaForFragmentList", 1 | 2) => vec![Fault::Cut { fragment: 2, at: At::MidCluster }],
            _ => vec![],
        });
        let s = StandIn::start(HashMap::from([("cam".to_owned(), frags.clone())]), plan).await;
        let (from, to) = (frags[0].producer_ms.to_string(), frags[5].producer_ms.to_string());
        let out = tokio::process::Command::new(example_bin("get_archived"))
            .args(["--stream", "cam", "--region", "us-east-1", "--endpoint-url", &s.url, "--from", &from, "--to", &to])
            .args(["--parallel", "2", "--batch", "2", "--calls-per-second", "500", "--backoff-initial-ms", "5"])
            .arg("--output")
            .arg(&path)
            .envs(cli_env())
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    });
    // Ground truth: the served fragments as the crate reads them.
    let want: Vec<(Vec<u8>, i64, bool)> = frags
        .iter()
        .flat_map(|f| frames(&events(&f.bytes)))
        .map(|fr| (fr.data.to_vec(), fr.info.pts_ns, fr.info.keyframe))
        .collect();
    assert_eq!(want.len(), 150);
    let file = std::fs::read(&path).unwrap();
    let evs = events(&file);
    assert!(damages(&evs).is_empty() && truncations(&evs).is_empty(), "a clean file");
    let got: Vec<(Vec<u8>, i64, bool)> =
        frames(&evs).into_iter().map(|fr| (fr.data.to_vec(), fr.info.pts_ns, fr.info.keyframe)).collect();
    assert!(got == want, "the crate reads back every frame: {} of {}", got.len(), want.len());
    assert_eq!(fragments(&evs).len(), 6, "one cluster per fragment");

    if players::tool_ok("ffprobe") {
        let packets = players::ffprobe_packets(&path);
        let times: Vec<(i64, bool)> = want.iter().map(|(_, pts, key)| (pts / 1_000_000, *key)).collect();
        assert_eq!(packets, times, "ffprobe: every frame, its time and key flag");
    }
    if players::tool_ok("gst-launch-1.0") {
        assert_eq!(players::gst_buffers(&path), want.len(), "GStreamer: every frame");
    }
    // With a checkpoint, a re-run does not write over the first run's file.
    let st = std::process::Command::new(example_bin("get_archived"))
        .args(["--stream", "cam", "--from", "1", "--to", "2", "--checkpoint"])
        .arg(dir.join("points"))
        .arg("--output")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(2), "{}", String::from_utf8_lossy(&st.stderr));
    assert_eq!(std::fs::read(&path).unwrap(), file, "the file is kept");
    std::fs::remove_dir_all(dir).unwrap();
}
