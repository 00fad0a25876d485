//! Archive fetch speed on loopback: [`ArchiveReader`] against plain parallel downloads of the
//! same bodies, through the same SDK clients from the same stand-in (`tests/common/standin.rs`).
//!
//! `cargo bench --features aws --bench archive`, then `python3 benches/report.py` prints the
//! README's table (MB/s of GetMediaForFragmentList bodies, and the ratio).
//!
//! Per iteration, both entries get the data endpoints, list the whole range (every page) and
//! fetch it in the same batches with the same number in flight:
//! - `reader`: `ArchiveReader` (sorted listing, parsed bodies, frames in time order through
//!   the bounded reorder buffer), every frame's payload length read;
//! - `plain`: GetMediaForFragmentList for each batch, `parallel` at a time, each body read to
//!   its end and dropped: the network and the SDK, without parsing or ordering.
//!
//! The service's limits (5 calls/s, 25 MB/s) are off in both: what is measured is the cost
//! of the reader over the transfer itself.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_kinesisvideo::types::ApiName;
use common::standin::{sdk_config, synthetic_sized, Plan, ServedFragment, StandIn};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::StreamExt;
use kinesis_video_parser::aws::{ArchiveReader, LiveItem};

const FRAGMENTS: usize = 100;
const FRAMES: usize = 50;
const PAYLOAD: usize = 5_000;
const BATCH: usize = 10;
const PARALLEL: usize = 3;

struct Setup {
    served: Vec<ServedFragment>,
    standin: StandIn,
    sdk: aws_types::SdkConfig,
    client: tokio::runtime::Runtime,
    /// Keeps the stand-in's tasks running.
    _server: tokio::runtime::Runtime,
}

fn setup() -> Setup {
    let served = synthetic_sized(FRAGMENTS, FRAMES, 40, 9_000_000, PAYLOAD);
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let no_faults: Plan = Arc::new(|_| Vec::new());
    let standin = server.block_on(StandIn::start(HashMap::from([("bench".to_owned(), served.clone())]), no_faults));
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sdk = client.block_on(sdk_config());
    Setup { served, standin, sdk, client, _server: server }
}

fn range(served: &[ServedFragment]) -> (u64, u64) {
    (served[0].producer_ms, served[served.len() - 1].producer_ms)
}

/// Frames and payload bytes delivered by the reader.
async fn reader(s: &Setup) -> (u64, u64) {
    let (from, to) = range(&s.served);
    let mut r = ArchiveReader::builder("bench", from, to)
        .endpoint_url(&s.standin.url)
        .batch(BATCH)
        .parallel(PARALLEL)
        .calls_per_second(1e6)
        .bytes_per_second(None)
        .build(&s.sdk);
    let (mut frames, mut bytes) = (0, 0);
    while let Some(item) = r.next().await {
        if let LiveItem::Frame(f) = item.expect("no faults are planned") {
            frames += 1;
            bytes += f.frame.len() as u64;
        }
    }
    (frames, bytes)
}

/// Body bytes downloaded, the listing done with the same calls but not put in order.
async fn plain(s: &Setup) -> u64 {
    let control = aws_sdk_kinesisvideo::Client::from_conf(
        aws_sdk_kinesisvideo::config::Builder::from(&s.sdk).endpoint_url(&s.standin.url).build(),
    );
    let client_for = |api: ApiName| {
        let control = control.clone();
        async move {
            let ep = control.get_data_endpoint().stream_name("bench").api_name(api).send().await.unwrap();
            let conf = aws_sdk_kinesisvideoarchivedmedia::config::Builder::from(&s.sdk)
                .endpoint_url(ep.data_endpoint().unwrap())
                .build();
            aws_sdk_kinesisvideoarchivedmedia::Client::from_conf(conf)
        }
    };
    let lister = client_for(ApiName::ListFragments).await;
    let media = client_for(ApiName::GetMediaForFragmentList).await;
    let (from, to) = range(&s.served);
    let ts = |ms: u64| aws_sdk_kinesisvideoarchivedmedia::primitives::DateTime::from_millis(ms as i64);
    let selector = aws_sdk_kinesisvideoarchivedmedia::types::FragmentSelector::builder()
        .fragment_selector_type(aws_sdk_kinesisvideoarchivedmedia::types::FragmentSelectorType::ProducerTimestamp)
        .timestamp_range(
            aws_sdk_kinesisvideoarchivedmedia::types::TimestampRange::builder()
                .start_timestamp(ts(from))
                .end_timestamp(ts(to))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut numbers = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut call = lister.list_fragments().stream_name("bench").max_results(1000);
        call = match &token {
            Some(t) => call.next_token(t),
            None => call.fragment_selector(selector.clone()),
        };
        let page = call.send().await.unwrap();
        numbers.extend(page.fragments().iter().filter_map(|f| f.fragment_number().map(str::to_owned)));
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    numbers.sort();
    numbers.dedup();
    let batches: Vec<Vec<String>> = numbers.chunks(BATCH).map(<[String]>::to_vec).collect();
    futures::stream::iter(batches)
        .map(|batch| {
            let media = media.clone();
            async move {
                let out = media.get_media_for_fragment_list().stream_name("bench").set_fragments(Some(batch));
                let mut body = out.send().await.unwrap().payload;
                let mut n = 0u64;
                while let Some(chunk) = body.next().await {
                    n += chunk.unwrap().len() as u64;
                }
                n
            }
        })
        .buffer_unordered(PARALLEL)
        .fold(0, |sum, n| async move { sum + n })
        .await
}

fn archive(c: &mut Criterion) {
    let s = setup();
    let body_bytes: u64 = s.served.iter().map(|f| f.trailing_tags as u64).sum();
    let frames: u64 = s.served.iter().map(|f| f.pts_ns.len() as u64).sum();
    // Both deliver everything before anything is timed.
    assert_eq!(s.client.block_on(reader(&s)).0, frames);
    assert_eq!(s.client.block_on(plain(&s)), body_bytes);
    let mut g = c.benchmark_group("archive");
    g.sample_size(20).throughput(Throughput::Bytes(body_bytes));
    g.bench_function("reader", |b| b.iter(|| s.client.block_on(reader(&s))));
    g.bench_function("plain", |b| b.iter(|| s.client.block_on(plain(&s))));
    g.finish();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion/archive");
    let _ = std::fs::write(dir.join("bytes.work"), body_bytes.to_string());
}

criterion_group!(benches, archive);
criterion_main!(benches);
