//! PutMedia through `aws::PutMediaClient` and the `put_media` CLI against the local stand-in,
//! which reads the chunked upload as it arrives, acknowledges each fragment, stores it and
//! serves it back through GetMedia: the round trip gives back every frame (bytes, order,
//! times, key flags), through an ERROR acknowledgement, a dropped connection, throttling and
//! slow acknowledgements, each persisted fragment sent once.
#![cfg(feature = "aws")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::standin::*;
use common::*;
use kinesis_video_parser::aws::{GetMediaConsumer, PutError, PutMediaClient, StartSelector};
use kinesis_video_parser::producer::{AckEvent, FragmenterOptions};
use kinesis_video_parser::Event;

const START: u64 = 1_700_000_000_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn standin(plan: Plan) -> StandIn {
    StandIn::start(HashMap::from([("cam".to_owned(), Vec::new())]), plan).await
}

async fn client(s: &StandIn, target_ms: u64) -> PutMediaClient {
    PutMediaClient::builder("cam")
        .endpoint_url(&s.url)
        .fragmenter(FragmenterOptions { target_duration_ms: target_ms, ..FragmenterOptions::starting_at(START) })
        .backoff(Duration::from_millis(5), Duration::from_millis(40))
        .ack_timeout(Duration::from_secs(5))
        .build(&sdk_config().await)
}

/// (track, payload, ms, key) of a frame.
type Seen = (u64, Bytes, i64, bool);

/// A source's frames, their times moved to start at `start` ms (as ABSOLUTE timecodes do).
fn source_frames(data: &[u8], start: u64) -> Vec<Seen> {
    events(data)
        .into_iter()
        .filter_map(|e| if let Ok(Event::Frame(f)) = e { Some(f) } else { None })
        .map(|f| (f.info.track, f.data.clone(), f.info.pts_ns.div_euclid(1_000_000) + start as i64, f.info.keyframe))
        .collect()
}

/// Every frame GetMedia serves back from the start, `fragments` fragments of them.
async fn read_back(s: &StandIn, fragments: u64) -> Vec<Seen> {
    let sdk = sdk_config().await;
    let mut c: GetMediaConsumer = GetMediaConsumer::builder("cam")
        .endpoint_url(&s.url)
        .start(StartSelector::Earliest)
        .backoff(Duration::from_millis(5), Duration::from_millis(40))
        .build(&sdk);
    let mut out = Vec::new();
    for _ in 0..fragments {
        let f = tokio::time::timeout(Duration::from_secs(20), c.next_fragment()).await.unwrap().unwrap().unwrap();
        out.extend(
            f.frames
                .iter()
                .map(|x| (x.info.track, x.data.clone(), x.info.pts_ns.div_euclid(1_000_000), x.info.keyframe)),
        );
    }
    out
}

/// No fragment persisted on one call is received again on a later one; every call began
/// with a fresh header.
fn check_no_resend_of_persisted(s: &StandIn) {
    let puts = s.puts.lock().unwrap();
    let mut persisted = std::collections::HashSet::new();
    for (i, call) in puts.iter().enumerate() {
        assert!(call.fresh_header, "call {i} begins with an EBML header");
        for tc in &call.received {
            assert!(!persisted.contains(tc), "call {i} sent again fragment {tc}, persisted before");
        }
        persisted.extend(call.persisted.iter().copied());
        assert_eq!(call.header("x-amzn-fragment-timecode-type"), Some("ABSOLUTE"));
        assert_eq!(call.header("x-amzn-producer-start-timestamp"), Some("1700000000.000"));
        let auth = call.header("authorization").expect("signed");
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTESTTESTTEST/"), "{auth}");
        assert!(auth.contains("/us-east-1/kinesisvideo/aws4_request"), "{auth}");
    }
}

#[test]
fn round_trip_through_every_fault() {
    let Some(dir) = shared("generated") else { return };
    let data = std::fs::read(dir.join("h264_aac.mkv")).unwrap();
    let want = source_frames(&data, START);
    rt().block_on(async {
        // h264_aac: 4 fragments at 1 s (video keyframes every second).
        let plan: Plan = Arc::new(|c: &Call| match (c.api, c.n) {
            ("PutMedia", 1) => vec![Fault::AckError { fragment: 1, id: 5000 }],
            ("PutMedia", 2) => vec![Fault::Cut { fragment: 1, at: At::Byte(0) }],
            ("PutMedia", 3) => vec![Fault::throttle()],
            ("PutMedia", 4) => vec![Fault::SlowAcks(Duration::from_millis(100))],
            _ => vec![],
        });
        let s = standin(plan).await;
        let acks = Arc::new(Mutex::new(Vec::new()));
        let seen = acks.clone();
        let report = client(&s, 1_000)
            .await
            .put(std::io::Cursor::new(data.clone()), move |a| seen.lock().unwrap().push(a.clone()))
            .await
            .unwrap();
        assert_eq!((report.frames, report.fragments, report.persisted), (289, 4, 4), "{report:?}");
        assert_eq!(report.reconnects, 3);
        let acks = acks.lock().unwrap().clone();
        let persisted: Vec<u64> =
            acks.iter().filter(|a| a.event == AckEvent::Persisted).map(|a| a.fragment_timecode.unwrap()).collect();
        assert_eq!(persisted.len(), 4, "each fragment persisted once");
        assert!(
            acks.iter().any(|a| a.event == AckEvent::Error && a.error_id == Some(5000)),
            "{acks:?} {:?}",
            s.puts.lock().unwrap()
        );
        assert_eq!(report.last_persisted.as_ref().map(|n| n.as_str().len()), Some(42));
        check_no_resend_of_persisted(&s);
        let got = read_back(&s, 4).await;
        assert!(got == want, "every frame back: {} of {}", got.len(), want.len());
    });
}

#[test]
fn h265_and_gstreamer_live_style_sources_round_trip() {
    let Some(dir) = shared("generated") else { return };
    for (name, fragments) in [("h265.mkv", 3), ("live_unknown_clusters.mkv", 6)] {
        let data = std::fs::read(dir.join(name)).unwrap();
        let want = source_frames(&data, START);
        rt().block_on(async {
            let s = standin(Arc::new(|_| vec![])).await;
            let report = client(&s, 1_000).await.put(std::io::Cursor::new(data.clone()), |_| {}).await.unwrap();
            assert_eq!(report.persisted, fragments, "{name}: {report:?}");
            assert_eq!(report.reconnects, 0);
            let got = read_back(&s, fragments).await;
            assert!(got == want, "{name}: every frame back");
        });
    }
}

#[test]
fn a_rejected_fragment_ends_the_upload_naming_the_error() {
    let Some(data) = shared_file("generated", "h264_gop1s.mkv") else { return };
    rt().block_on(async {
        let plan: Plan = Arc::new(|c: &Call| match c.api {
            "PutMedia" => vec![Fault::AckError { fragment: 2, id: 4004 }],
            _ => vec![],
        });
        let s = standin(plan).await;
        let failed = client(&s, 1_000).await.put(std::io::Cursor::new(data), |_| {}).await.unwrap_err();
        match &failed.error {
            PutError::Rejected { error, fragment_timecode } => {
                assert_eq!((error.id, error.retriable), (4004, false));
                assert_eq!(*fragment_timecode, Some(START + 2_000));
            }
            other => panic!("{other}"),
        }
        assert_eq!(failed.report.persisted, 2);
        let text = failed.to_string();
        assert!(text.contains("4004 FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS") && text.contains("2 of"), "{text}");
        assert_eq!(s.puts.lock().unwrap().len(), 1, "not sent again");
    });
}

#[test]
fn put_media_cli_uploads_stdin_and_prints_acks() {
    let Some(dir) = shared("generated") else { return };
    let path = dir.join("live_unknown_clusters.mkv");
    let data = std::fs::read(&path).unwrap();
    let at_zero = source_frames(&data, 0);
    rt().block_on(async {
        let s = standin(Arc::new(|c: &Call| match (c.api, c.n) {
            ("PutMedia", 1) => vec![Fault::Cut { fragment: 3, at: At::Byte(0) }],
            _ => vec![],
        }))
        .await;
        let mut child = tokio::process::Command::new(example_bin("put_media"))
            .args(["--stream", "cam", "--region", "us-east-1", "--endpoint-url", &s.url, "--json"])
            .args(["--fragment-duration", "1", "--backoff-initial-ms", "5", "-"])
            .envs(cli_env())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // Any chunking: the source arrives in 1000-byte writes.
        for piece in data.chunks(1000) {
            tokio::io::AsyncWriteExt::write_all(&mut stdin, piece).await.unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<serde_json::Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let persisted: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "PERSISTED").collect();
        assert_eq!(persisted.len(), 6);
        for l in &lines {
            assert_eq!(l["type"], "ack");
            assert!(l["fragment_timecode"].is_u64() && l["error_id"].is_null(), "{l}");
        }
        assert!(persisted.iter().all(|l| l["fragment_number"].is_string()));
        // The CLI starts the producer clock now: the first fragment's timecode says when.
        let start = persisted[0]["fragment_timecode"].as_u64().unwrap();
        let got = read_back(&s, 6).await;
        let want: Vec<Seen> = at_zero.iter().map(|(t, b, ms, k)| (*t, b.clone(), ms + start as i64, *k)).collect();
        assert!(got == want, "every frame back");

        // Usage errors exit 2; a stream that does not exist, 1.
        for bad in [&["--stream", "cam"][..], &["-", "--fragment-duration", "0", "--stream", "cam"]] {
            let st = tokio::process::Command::new(example_bin("put_media")).args(bad).output().await.unwrap();
            assert_eq!(st.status.code(), Some(2), "{bad:?}");
        }
        let st = tokio::process::Command::new(example_bin("put_media"))
            .args(["--stream", "nope", "--region", "us-east-1", "--endpoint-url", &s.url])
            .arg(&path)
            .envs(cli_env())
            .output()
            .await
            .unwrap();
        assert_eq!(st.status.code(), Some(1));
    });
}

/// A source of `fragments` 1 s fragments of 25 frames of `frame_bytes` (a keyframe first),
/// one Cluster each, in an unknown-size Segment (a live source's shape).
fn long_source(fragments: usize, frame_bytes: usize) -> Vec<u8> {
    use common::build::*;
    use kinesis_video_parser::mkv::ids;
    let video = el(ids::VIDEO, &[uint(ids::PIXEL_WIDTH, 64), uint(ids::PIXEL_HEIGHT, 48)].concat());
    let mut body = [info(1_000_000), tracks(&[track(1, 1, "V_MPEG4/ISO/AVC", &video)])].concat();
    for i in 0..fragments {
        let blocks: Vec<Vec<u8>> = (0..25)
            .map(|j| {
                simple_block(1, j * 40, if j == 0 { 0x80 } else { 0 }, &vec![(i * 25 + j as usize) as u8; frame_bytes])
            })
            .collect();
        body.extend(cluster(i as u64 * 1000, &blocks));
    }
    [ebml_header("matroska"), unknown(ids::SEGMENT, 8, &body)].concat()
}

/// With acknowledgements slower than the source, what waits to be persisted stays within
/// `buffer_bytes` (plus the fragment being read): reading the source waits.
#[test]
fn held_fragments_stay_within_the_buffer() {
    let data = long_source(40, 20_000); // 20 MB
    let fragment = 25 * 20_000;
    rt().block_on(async {
        let s = standin(Arc::new(|c: &Call| match c.api {
            "PutMedia" => vec![Fault::SlowAcks(Duration::from_millis(20))],
            _ => vec![],
        }))
        .await;
        let report = PutMediaClient::builder("cam")
            .endpoint_url(&s.url)
            .fragmenter(FragmenterOptions { target_duration_ms: 1_000, ..FragmenterOptions::starting_at(START) })
            .buffer_bytes(2 << 20)
            .build(&sdk_config().await)
            .put(std::io::Cursor::new(data), |_| {})
            .await
            .unwrap();
        assert_eq!((report.fragments, report.persisted), (40, 40));
        assert!(report.max_held_bytes > 2 << 20, "the buffer filled: {}", report.max_held_bytes);
        assert!(report.max_held_bytes <= (2 << 20) + fragment + 1024, "bounded: {}", report.max_held_bytes);
    });
}

/// A source cut short (a producer killed mid-frame): what was read before is uploaded and
/// persisted, then the truncation is the error.
#[test]
fn a_truncated_source_uploads_what_came_before_then_fails() {
    let Some(data) = shared_file("generated", "h264_gop1s.mkv") else { return };
    let cut = &data[..data.len() * 7 / 10];
    let want = source_frames(cut, START);
    rt().block_on(async {
        let s = standin(Arc::new(|_| vec![])).await;
        let failed = client(&s, 1_000).await.put(std::io::Cursor::new(cut.to_vec()), |_| {}).await.unwrap_err();
        assert!(
            matches!(&failed.error, PutError::Source(e) if e.kind() == kinesis_video_parser::ErrorKind::Truncated),
            "{failed}"
        );
        assert_eq!(failed.report.persisted, failed.report.fragments);
        assert_eq!(failed.report.frames, want.len() as u64);
        let got = read_back(&s, failed.report.fragments).await;
        assert!(got == want, "every frame before the cut: {} of {}", got.len(), want.len());
        // Not Matroska at all: nothing to upload is an error too.
        let failed = client(&s, 1_000).await.put(&b"not a matroska file"[..], |_| {}).await.unwrap_err();
        assert!(matches!(failed.error, PutError::NoFrames), "{failed}");
    });
}

/// RELATIVE timecodes: Clusters carry the source's own times and the producer start goes in
/// its header; the stream serves them at start + time, as ABSOLUTE ones.
#[test]
fn relative_timecodes_round_trip() {
    let Some(data) = shared_file("generated", "h264_gop1s.mkv") else { return };
    let want = source_frames(&data, START);
    rt().block_on(async {
        let s = standin(Arc::new(|_| vec![])).await;
        let acks = Arc::new(Mutex::new(Vec::new()));
        let seen = acks.clone();
        let relative = FragmenterOptions {
            target_duration_ms: 2_000,
            timecodes: kinesis_video_parser::producer::Timecodes::Relative { start_ms: START },
            ..FragmenterOptions::starting_at(0)
        };
        let report = PutMediaClient::builder("cam")
            .endpoint_url(&s.url)
            .fragmenter(relative)
            .build(&sdk_config().await)
            .put(std::io::Cursor::new(data), move |a| seen.lock().unwrap().push(a.clone()))
            .await
            .unwrap();
        assert_eq!(report.persisted, 3);
        let timecodes: Vec<u64> = acks
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.event == AckEvent::Persisted)
            .map(|a| a.fragment_timecode.unwrap())
            .collect();
        assert_eq!(timecodes, [0, 2_000, 4_000], "the source's own times");
        {
            let puts = s.puts.lock().unwrap();
            assert_eq!(puts[0].header("x-amzn-fragment-timecode-type"), Some("RELATIVE"));
            assert_eq!(puts[0].header("x-amzn-producer-start-timestamp"), Some("1700000000.000"));
        }
        assert!(read_back(&s, 3).await == want, "served at start + time");
    });
}
