//! The live consumers through the real AWS SDK clients, against the local stand-in of the
//! service (`common::standin`): every start selector, frames before their fragment
//! completes, exactly once across cuts (inside a Cluster, inside the trailing tags), a stall,
//! error statuses, throttling and a quiet period; in-band errors; giving up; checkpoints;
//! two streams at once.
#![cfg(feature = "aws")]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::build::*;
use common::standin::*;
use common::*;
use kinesis_video_parser::aws::{
    CheckpointStore, ConsumerBuilder, ConsumerError, FileCheckpoints, GetMediaConsumer, LiveConsumer, LiveItem,
    MultiStreamConsumer, StartSelector, StreamState,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn no_faults() -> Plan {
    Arc::new(|_| vec![])
}

fn one(stream: &str, frags: Vec<ServedFragment>) -> HashMap<String, Vec<ServedFragment>> {
    HashMap::from([(stream.to_owned(), frags)])
}

/// The capture's five fragments.
fn capture() -> Option<Vec<ServedFragment>> {
    let data = shared_file("kvs-java", "output_get_media.mkv")?;
    let frags = fragments(&events(&data));
    Some(
        frags
            .iter()
            .map(|f| ServedFragment::from_chunk(data[f.meta.offset as usize..f.meta.end_offset as usize].to_vec()))
            .collect(),
    )
}

fn builder(s: &StandIn, stream: &str, start: StartSelector) -> ConsumerBuilder {
    LiveConsumer::builder(stream)
        .endpoint_url(&s.url)
        .start(start)
        .backoff(Duration::from_millis(5), Duration::from_millis(40))
        .read_timeout(Duration::from_millis(400))
        .max_failures(4)
}

/// (fragment number, position, pts) of every frame, and the fragment numbers, in order.
#[derive(Debug, Default, PartialEq)]
struct Got {
    frames: Vec<(String, u64, i64)>,
    fragments: Vec<String>,
    errors: Vec<ConsumerError>,
}

fn want(frags: &[ServedFragment]) -> Got {
    let mut g = Got::default();
    for f in frags {
        g.frames.extend(f.pts_ns.iter().enumerate().map(|(i, p)| (f.number.clone(), i as u64, *p)));
        g.fragments.push(f.number.clone());
    }
    g
}

/// Items of `c` until `n` fragments came (or it ended).
async fn take(c: &mut LiveConsumer, n: usize) -> Got {
    let mut got = Got::default();
    while got.fragments.len() < n {
        match tokio::time::timeout(Duration::from_secs(20), c.next()).await.expect("consumer stalled") {
            Some(Ok(LiveItem::Frame(f))) => {
                assert_eq!(&*f.stream, c.stream().as_ref());
                let number = f.fragment.fragment_number.as_ref().unwrap().to_string();
                got.frames.push((number, f.position, f.frame.info.pts_ns));
            }
            Some(Ok(LiveItem::Fragment(f))) => {
                assert!(f.meta.complete && f.meta.is_kvs_complete(), "{:?}", f.meta);
                assert_eq!(f.meta.index, got.fragments.len() as u64);
                got.fragments.push(f.meta.kvs.fragment_number.unwrap().to_string());
            }
            Some(Err(e)) => got.errors.push(e),
            None => break,
        }
    }
    got
}

#[test]
fn the_capture_through_the_fragment_api() {
    let Some(cap) = capture() else { return };
    rt().block_on(async move {
        let s = StandIn::start(one("test-stream", cap.clone()), no_faults()).await;
        let sdk = sdk_config().await;
        let mut c: GetMediaConsumer = builder(&s, "test-stream", StartSelector::Earliest).build(&sdk);
        for f in &cap {
            let got = c.next_fragment().await.unwrap().unwrap();
            assert_eq!(got.meta.kvs.fragment_number.unwrap().as_str(), f.number);
            assert_eq!(got.frames.iter().map(|f| f.info.pts_ns).collect::<Vec<_>>(), f.pts_ns);
            assert!(got.meta.complete);
        }
        assert_eq!(c.resume_point(), StartSelector::ContinuationToken(cap[4].number.clone()));
        let log = s.log.lock().unwrap();
        assert_eq!(log[0].0, "/getDataEndpoint");
        assert_eq!(log[0].1["APIName"], "GET_MEDIA");
        assert_eq!(log[0].1["StreamName"], "test-stream");
        assert_eq!(log[1].1["StartSelector"]["StartSelectorType"], "EARLIEST");
    });
}

#[test]
fn every_start_selector_starts_where_it_says() {
    let frags = synthetic(6, 4, 250, 1_000_000);
    rt().block_on(async move {
        let s = StandIn::start(one("s", frags.clone()), no_faults()).await;
        let sdk = sdk_config().await;
        let cases = [
            (StartSelector::Earliest, 0),
            (StartSelector::Now, 5),
            (StartSelector::AfterFragment(frags[1].number.parse().unwrap()), 2),
            (StartSelector::ContinuationToken(frags[2].number.clone()), 3),
            (StartSelector::ProducerTimestamp(frags[4].producer_ms as i64 + 10), 4),
            (StartSelector::ServerTimestamp(frags[1].server_ms as i64), 1),
        ];
        for (start, first) in cases {
            let mut c = builder(&s, "s", start.clone()).live(&sdk);
            let got = take(&mut c, 1).await;
            assert_eq!(got.fragments, [frags[first].number.clone()], "{start}");
        }
    });
}

#[test]
fn frames_come_before_their_fragment_completes() {
    let frags = synthetic(2, 10, 100, 500);
    rt().block_on(async move {
        // Every frame of fragment 0 is sent, then the trailing tags stall for a minute.
        let plan: Plan =
            Arc::new(|_| vec![Fault::Stall { fragment: 0, at: At::MidTrailingTags, pause: Duration::from_secs(60) }]);
        let s = StandIn::start(one("s", frags.clone()), plan).await;
        let sdk = sdk_config().await;
        let mut c = builder(&s, "s", StartSelector::Earliest).read_timeout(Duration::from_secs(120)).live(&sdk);
        for i in 0..10u64 {
            match tokio::time::timeout(Duration::from_secs(20), c.next()).await.expect("frame held back") {
                Some(Ok(LiveItem::Frame(f))) => {
                    assert_eq!(f.position, i);
                    assert_eq!(f.fragment.fragment_number.as_ref().unwrap().as_str(), frags[0].number);
                    assert_eq!(f.fragment.producer_timestamp_ms, Some(frags[0].producer_ms));
                    assert_eq!(f.fragment.server_timestamp_ms, Some(frags[0].server_ms));
                }
                other => panic!("expected frame {i}, got {other:?}"),
            }
        }
        assert_eq!(c.status().state, StreamState::Streaming);
        assert_eq!(c.status().frames, 10);
    });
}

#[test]
fn every_frame_exactly_once_across_cuts_stalls_errors_throttling_and_quiet() {
    let frags = synthetic(12, 8, 125, 99_999_990_000);
    rt().block_on(async move {
        let plan: Plan = Arc::new(|call: &Call| match call.n {
            1 => vec![Fault::Cut { fragment: 2, at: At::MidCluster }],
            2 => vec![Fault::Cut { fragment: 4, at: At::MidTrailingTags }],
            3 => vec![Fault::Status(500, "InternalFailure")],
            4 => vec![Fault::throttle()],
            5 => vec![Fault::Stall { fragment: 6, at: At::MidCluster, pause: Duration::from_secs(3) }],
            // A producer pausing (longer than the read timeout, between fragments), then
            // a response that ends early.
            6 => vec![
                Fault::Quiet { fragment: 8, pause: Duration::from_millis(1200) },
                Fault::EndBefore { fragment: 10 },
            ],
            _ => vec![],
        });
        let s = StandIn::start(one("s", frags.clone()), plan).await;
        let sdk = sdk_config().await;
        let mut c = builder(&s, "s", StartSelector::Earliest).live(&sdk);
        let got = take(&mut c, 12).await;
        assert_eq!(got.errors, []);
        assert_eq!(got.frames, want(&frags).frames, "no frame twice, none missing");
        assert_eq!(got.fragments, want(&frags).fragments);
        let calls = s.media_calls("s");
        assert_eq!(calls.len(), 7, "{calls:?}");
        assert_eq!(calls[0]["StartSelectorType"], "EARLIEST");
        // Each reconnect resumes after the last fragment delivered whole.
        let tokens: Vec<&str> = calls[1..].iter().map(|c| c["ContinuationToken"].as_str().unwrap()).collect();
        let n = |i: usize| frags[i].number.as_str();
        assert_eq!(tokens, [n(1), n(3), n(3), n(3), n(5), n(9)]);
        let st = c.status();
        assert_eq!((st.fragments, st.frames, st.reconnects, st.failures), (12, 96, 4, 0), "7 calls, 2 failed");
        assert_eq!(st.last_fragment.unwrap().as_str(), n(11));
        assert_eq!(st.millis_behind_now, Some(1011));
    });
}

#[test]
fn in_band_error_chunk_is_a_typed_error_and_consuming_goes_on() {
    let Some(cap) = capture() else { return };
    let error_chunk = [
        ebml_header("matroska"),
        unknown(
            kinesis_video_parser::mkv::ids::SEGMENT,
            8,
            &tags(&[
                ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &cap[1].number),
                ("AWS_KINESISVIDEO_ERROR_CODE", "FRAGMENT_NOT_FOUND"),
                ("AWS_KINESISVIDEO_ERROR_ID", "4000"),
            ]),
        ),
    ]
    .concat();
    let mut served = cap.clone();
    served.insert(1, ServedFragment { frame_ends: vec![], pts_ns: vec![], trailing_tags: 0, ..cap[1].clone() });
    served[1].bytes = error_chunk;
    rt().block_on(async move {
        let s = StandIn::start(one("s", served), no_faults()).await;
        let sdk = sdk_config().await;
        let mut c = builder(&s, "s", StartSelector::Earliest).live(&sdk);
        let got = take(&mut c, 5).await;
        assert_eq!(
            got.errors,
            [ConsumerError::InBand {
                code: Some("FRAGMENT_NOT_FOUND".into()),
                id: Some("4000".into()),
                message: None,
                fragment_number: Some(cap[1].number.parse().unwrap())
            }]
        );
        assert_eq!(got.fragments, want(&cap).fragments);
        assert_eq!(got.frames, want(&cap).frames);
    });
}

#[test]
fn a_service_that_keeps_failing_ends_in_a_clear_error_after_backoff() {
    rt().block_on(async {
        let s = StandIn::start(one("s", synthetic(1, 1, 10, 1)), Arc::new(|_| vec![Fault::throttle()])).await;
        let sdk = sdk_config().await;
        let mut c = builder(&s, "s", StartSelector::Now).live(&sdk);
        let t = Instant::now();
        let first = tokio::time::timeout(Duration::from_secs(30), c.next()).await.unwrap();
        let elapsed = t.elapsed();
        match first {
            Some(Err(ConsumerError::GaveUp { attempts, last })) => {
                assert_eq!(attempts, 4);
                assert!(last.contains("GetMedia") && last.contains("ClientLimitExceededException"), "{last}");
            }
            other => panic!("expected GaveUp, got {other:?}"),
        }
        assert!(c.next().await.is_none());
        assert_eq!(c.status().state, StreamState::GaveUp);
        // Backoff between the 4 attempts: at least half of 5 + 10 + 20 ms (jittered).
        assert!(elapsed >= Duration::from_millis(17), "{elapsed:?}");
        assert_eq!(s.media_calls("s").len(), 4, "one call per attempt: the SDK's own retries are off");
    });
}

#[test]
fn an_unknown_stream_gives_up_at_once() {
    rt().block_on(async {
        let s = StandIn::start(one("s", synthetic(1, 1, 10, 1)), no_faults()).await;
        let sdk = sdk_config().await;
        let mut c = builder(&s, "nope", StartSelector::Now).live(&sdk);
        match c.next().await {
            Some(Err(ConsumerError::GaveUp { attempts: 1, last })) => {
                assert!(last.contains("ResourceNotFoundException"), "{last}")
            }
            other => panic!("expected GaveUp, got {other:?}"),
        }
        assert!(c.next().await.is_none());
    });
}

#[test]
fn a_restart_with_the_same_checkpoint_store_resumes_after_the_last_processed_fragment() {
    let frags = synthetic(6, 3, 100, 42);
    let dir = std::env::temp_dir().join(format!("kvp-ckpt-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("points");
    rt().block_on(async move {
        let s = StandIn::start(one("s", frags.clone()), no_faults()).await;
        let sdk = sdk_config().await;
        let run = |path: &std::path::Path| {
            let store = Arc::new(FileCheckpoints::open(path).unwrap());
            builder(&s, "s", StartSelector::Earliest).checkpoints(store).live(&sdk)
        };
        let mut c = run(&path);
        assert_eq!(take(&mut c, 2).await.fragments, want(&frags[..2]).fragments);
        // Fragment 1 was handed out but the caller did not come back: not saved.
        drop(c);
        let saved = FileCheckpoints::open(&path).unwrap().load("s").unwrap();
        assert_eq!(saved, Some(StartSelector::ContinuationToken(frags[0].number.clone())));
        let mut c = run(&path);
        assert_eq!(take(&mut c, 3).await.fragments, want(&frags[1..4]).fragments, "at least once");
        c.save_checkpoint().await.unwrap();
        drop(c);
        let mut c = run(&path);
        assert_eq!(take(&mut c, 2).await, want(&frags[4..]), "resumed after fragment 3");
    });
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn two_streams_at_once_each_in_its_own_order() {
    let a = synthetic(20, 5, 100, 7_000);
    let b = synthetic(20, 5, 100, 9_000_000);
    rt().block_on(async move {
        let streams = HashMap::from([("a".to_owned(), a.clone()), ("b".to_owned(), b.clone())]);
        // Stream a is cut twice on the way.
        let plan: Plan = Arc::new(|call: &Call| match (call.stream.as_str(), call.n) {
            ("a", 1) => vec![Fault::Cut { fragment: 3, at: At::MidCluster }],
            ("a", 2) => vec![Fault::Cut { fragment: 9, at: At::MidTrailingTags }],
            _ => vec![],
        });
        let s = StandIn::start(streams, plan).await;
        let sdk = sdk_config().await;
        let builders = ["a", "b"].map(|n| builder(&s, n, StartSelector::Earliest));
        let mut all = MultiStreamConsumer::new(builders, &sdk, 4);
        let mut got: HashMap<String, Got> = HashMap::new();
        while got.values().map(|g| g.fragments.len()).sum::<usize>() < 40 {
            let (stream, item) = tokio::time::timeout(Duration::from_secs(20), all.next()).await.unwrap().unwrap();
            let g = got.entry(stream.to_string()).or_default();
            match item.unwrap() {
                LiveItem::Frame(f) => {
                    assert_eq!(f.stream, stream);
                    let n = f.fragment.fragment_number.as_ref().unwrap().to_string();
                    g.frames.push((n, f.position, f.frame.info.pts_ns));
                }
                LiveItem::Fragment(f) => {
                    g.fragments.push(f.meta.kvs.fragment_number.unwrap().to_string());
                }
            }
        }
        assert_eq!(got["a"], want(&a));
        assert_eq!(got["b"], want(&b));
        let status = all.status();
        assert_eq!(
            status.iter().map(|(s, st)| (s.to_string(), st.fragments)).collect::<Vec<_>>(),
            [("a".to_owned(), 20), ("b".to_owned(), 20)]
        );
        assert_eq!(status[0].1.reconnects, 2);
    });
}

#[test]
fn streams_with_items_ready_are_served_in_turn() {
    let frags = synthetic(30, 2, 100, 1);
    rt().block_on(async move {
        let streams = HashMap::from([("x".to_owned(), frags.clone()), ("y".to_owned(), frags.clone())]);
        let s = StandIn::start(streams, no_faults()).await;
        let sdk = sdk_config().await;
        let mut all = MultiStreamConsumer::new(["x", "y"].map(|n| builder(&s, n, StartSelector::Earliest)), &sdk, 2);
        // A slow caller: both queues fill up (waited for, not timed: CI machines are busy).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while all.status().iter().any(|(_, st)| st.frames < 2) {
            assert!(std::time::Instant::now() < deadline, "the lanes never filled: {:?}", all.status());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // In turn: whenever the other stream had an item ready, it is served next. Items only
        // arrive between the look at the queues and the call, so "ready" stays true.
        let (mut last, mut served, mut contested) = (None::<Arc<str>>, 0, 0);
        while served < 120 {
            let ready: Vec<Arc<str>> = all.queued().into_iter().filter(|(_, n)| *n > 0).map(|(s, _)| s).collect();
            let (stream, item) = all.next().await.unwrap();
            item.unwrap();
            if let Some(prev) = &last {
                if let Some(other) = ready.iter().find(|s| *s != prev) {
                    assert_eq!(&stream, other, "{prev} was served twice while {other} had items ready");
                    contested += 1;
                }
            }
            last = Some(stream);
            served += 1;
        }
        // The queues were full at the start, so the rule was put to the test.
        assert!(contested > 0);
    });
}
