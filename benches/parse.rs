//! Parse throughput of this crate next to the other Rust Matroska crates, on the same inputs
//! doing the same work: every frame handed out, its payload length read.
//!
//! `bash benches/run.sh` makes the inputs, runs this bench and prints the README table.
//! By hand: `benches/make_inputs.sh && cargo bench --features tokio --bench parse`
//! (`-- small` for one input). Inputs come from `benches/data/` (`KVS_BENCH_DATA` overrides).
//!
//! What each entry does per iteration, the file already in memory:
//! - `ours/memory`: [`Demuxer::poll`] over one `Bytes` (frames are zero-copy slices of it);
//! - `ours/borrowed`: [`Demuxer::poll_ref`] over the same `Bytes` (each payload lent in
//!   place until the next poll: no reference count per frame);
//! - `ours/stream`: [`ReadDemuxer`]'s events over a `std::io::Read` giving at most 64 KiB
//!   per call;
//! - `ours/async` (feature `tokio`): `AsyncDemuxer`'s events over a tokio `AsyncRead`
//!   giving at most 64 KiB per call, on a current-thread runtime;
//! - `copy_floor`: no parse, only the copy a streamed parse cannot avoid: the input read
//!   through the same 64 KiB `Read` into three rotating 64 KiB buffers. What `ours/stream`
//!   and `ours/async` add over `ours/memory` is compared with it;
//! - `stream_adds`, `async_adds`: that addition measured directly, each iteration an
//!   in-memory parse and a streamed one back to back, only the difference counted;
//! - `matroska-demuxer`: `MatroskaFile::next_frame` over a `Cursor` (copies each payload into
//!   a reused `Vec`);
//! - `webm-iterable`: the tag iterator, then `SimpleBlock`/`Block::read_frame_data` for lacing;
//! - `symphonia-format-mkv`: `MkvReader::next_packet` (an owned buffer per packet);
//! - `mkvparser`: `parse_element` over the slice, counting SimpleBlocks and Blocks (it does
//!   not split lacing nor hand out payloads: each block counts as one frame, its body size as
//!   the payload).
//!
//! Before measuring, each entry's frame count is compared with ours: a peer that delivers a
//! different number (it stops at the first document of a GetMedia stream, say) is reported
//! on stderr and its line in the table says so.

use std::cell::RefCell;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kinesis_video_parser::{Demuxer, Event, EventRef, ReadDemuxer, Status};

#[path = "../examples/common/chunked.rs"]
mod chunked;
use chunked::Chunked;

/// The inputs made by `benches/make_inputs.sh`.
const INPUTS: [&str; 5] = ["small", "large", "opus", "opus_laced", "getmedia"];

/// What one parse produced: frames and the sum of their payload lengths.
type Work = (u64, u64);

/// One bench entry: its name and one whole parse of the input.
type Entry<'a> = (&'static str, Box<dyn Fn() -> Work + 'a>);

fn ours_memory(data: &Bytes) -> Work {
    let mut d = Demuxer::new();
    d.push(data.clone());
    d.finish();
    let mut work = (0, 0);
    loop {
        match d.poll() {
            Ok(Status::Ready(Event::Frame(f))) => {
                work.0 += 1;
                work.1 += f.data.len() as u64;
            }
            Ok(Status::Ready(_)) | Err(_) => {}
            Ok(_) => return work,
        }
    }
}

fn ours_borrowed(data: &Bytes) -> Work {
    let mut d = Demuxer::new();
    d.push(data.clone());
    d.finish();
    let mut work = (0, 0);
    loop {
        match d.poll_ref() {
            Ok(Status::Ready(EventRef::Frame(f))) => {
                work.0 += 1;
                work.1 += f.data.len() as u64;
            }
            Ok(Status::Ready(_)) | Err(_) => {}
            Ok(_) => return work,
        }
    }
}

// The streamed entries take the adapters' events, as `ours/memory` takes the core's, and
// match each in place: binding it first (`for ev in`, `while let Some(ev)`) moves its 128
// bytes once more before the body sees them, and so does the `frames()` filter (about 10 ns
// per frame on the bench VM, each: a store-forwarding stall), a cost of the caller's loop,
// not of the adapter.
fn ours_stream(data: &[u8]) -> Work {
    let mut work = (0, 0);
    let mut events = ReadDemuxer::new(Chunked(data));
    loop {
        match events.next() {
            Some(Ok(Event::Frame(f))) => {
                work.0 += 1;
                work.1 += f.data.len() as u64;
            }
            Some(_) => {}
            None => return work,
        }
    }
}

/// The copy every streamed parse must pay: the input read through the same 64 KiB
/// `Read` into three rotating 64 KiB buffers (allocated once, outside the timing).
fn copy_floor(data: &[u8], bufs: &mut [Vec<u8>; 3]) -> u64 {
    use std::io::Read;
    let mut read = Chunked(data);
    let (mut copied, mut i) = (0, 0);
    loop {
        let buf = &mut bufs[i % 3];
        let n = read.read(buf).expect("memory reads do not fail");
        if n == 0 {
            return copied;
        }
        std::hint::black_box(&buf[..n]);
        copied += n as u64;
        i += 1;
    }
}

#[cfg(feature = "tokio")]
fn ours_async(rt: &tokio::runtime::Runtime, data: &[u8]) -> Work {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures::StreamExt;
    use tokio::io::{AsyncRead, ReadBuf};

    struct AsyncChunked<'a>(&'a [u8]);
    impl AsyncRead for AsyncChunked<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = buf.remaining().min(64 * 1024).min(self.0.len());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }
    rt.block_on(async {
        let mut events = kinesis_video_parser::AsyncDemuxer::new(AsyncChunked(data));
        let mut work = (0, 0);
        loop {
            match events.next().await {
                Some(Ok(Event::Frame(f))) => {
                    work.0 += 1;
                    work.1 += f.data.len() as u64;
                }
                Some(_) => {}
                None => return work,
            }
        }
    })
}

fn matroska_demuxer(data: &[u8]) -> Work {
    let mut work = (0, 0);
    let Ok(mut file) = matroska_demuxer::MatroskaFile::open(Cursor::new(data)) else { return work };
    let mut frame = matroska_demuxer::Frame::default();
    while let Ok(true) = file.next_frame(&mut frame) {
        work.0 += 1;
        work.1 += frame.data.len() as u64;
    }
    work
}

fn webm_iterable(data: &[u8]) -> Work {
    use webm_iterable::matroska_spec::{Block, Frame, MatroskaSpec, SimpleBlock};
    let mut work = (0, 0);
    let mut count = |frames: Result<Vec<Frame>, _>| {
        for f in frames.iter().flatten() {
            work.0 += 1;
            work.1 += f.data.len() as u64;
        }
    };
    for tag in webm_iterable::WebmIterator::new(data, &[]) {
        let Ok(tag) = tag else { break };
        match &tag {
            MatroskaSpec::SimpleBlock(_) => {
                if let Ok(b) = SimpleBlock::try_from(&tag) {
                    count(b.read_frame_data());
                }
            }
            MatroskaSpec::Block(_) => {
                if let Ok(b) = Block::try_from(&tag) {
                    count(b.read_frame_data());
                }
            }
            _ => {}
        }
    }
    work
}

fn symphonia(data: &[u8]) -> Work {
    use symphonia_core::formats::{FormatOptions, FormatReader};
    use symphonia_core::io::MediaSourceStream;
    let mut work = (0, 0);
    // MediaSource wants 'static-free Send + Sync data: a Cursor over the borrowed slice.
    let mss = MediaSourceStream::new(Box::new(Cursor::new(data)), Default::default());
    let Ok(mut reader) = symphonia_format_mkv::MkvReader::try_new(mss, FormatOptions::default()) else { return work };
    while let Ok(Some(p)) = reader.next_packet() {
        work.0 += 1;
        work.1 += p.data.len() as u64;
    }
    work
}

fn mkvparser(data: &[u8]) -> Work {
    use mkvparser::elements::Id;
    let mut work = (0, 0);
    let mut input = data;
    while !input.is_empty() {
        let Ok((rest, element)) = mkvparser::parse_element(input) else { break };
        if matches!(element.header.id, Id::SimpleBlock | Id::Block) {
            work.0 += 1;
            work.1 += element.header.body_size.unwrap_or(0) as u64;
        }
        input = rest;
    }
    work
}

fn data_dir() -> PathBuf {
    std::env::var_os("KVS_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data"))
}

fn parse(c: &mut Criterion) {
    #[cfg(feature = "tokio")]
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let dir = data_dir();
    for name in INPUTS {
        let path = dir.join(format!("{name}.mkv"));
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("!!!!!!!! {}: missing, SKIPPED (run benches/make_inputs.sh) !!!!!!!!", path.display());
            continue;
        };
        let data = Bytes::from(bytes);
        let expected = ours_memory(&data);
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(expected.0));
        // Large inputs take long per iteration: fewer samples keep the run short.
        group.sample_size(if data.len() > 50 << 20 { 10 } else { 20 });
        group.measurement_time(Duration::from_secs(3));
        group.warm_up_time(Duration::from_secs(1));
        let mut entries: Vec<Entry> = vec![
            ("ours/memory", Box::new(|| ours_memory(&data))),
            ("ours/borrowed", Box::new(|| ours_borrowed(&data))),
            ("ours/stream", Box::new(|| ours_stream(&data))),
        ];
        #[cfg(feature = "tokio")]
        entries.push(("ours/async", Box::new(|| ours_async(&rt, &data))));
        entries.extend::<[Entry; 4]>([
            ("matroska-demuxer", Box::new(|| matroska_demuxer(&data))),
            ("webm-iterable", Box::new(|| webm_iterable(&data))),
            ("symphonia-format-mkv", Box::new(|| symphonia(&data))),
            ("mkvparser", Box::new(|| mkvparser(&data))),
        ]);
        for (who, run) in &entries {
            let got = run();
            if got != expected {
                eprintln!(
                    "{name}/{who}: {} frames, {} payload bytes (ours: {}, {})",
                    got.0, got.1, expected.0, expected.1
                );
            }
            // Recorded next to criterion's estimates for benches/report.py.
            let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/criterion").join(name);
            let _ = std::fs::create_dir_all(&out);
            let _ = std::fs::write(
                out.join(format!("{}.work", who.replace('/', "_"))),
                format!("{} {} {} {} {}\n", data.len(), got.0, got.1, expected.0, expected.1),
            );
            group.bench_function(BenchmarkId::from_parameter(who), |b| b.iter(run));
        }
        let bufs = RefCell::new([vec![0u8; 64 * 1024], vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]]);
        assert_eq!(copy_floor(&data, &mut bufs.borrow_mut()), data.len() as u64);
        group.bench_function(BenchmarkId::from_parameter("copy_floor"), |b| {
            b.iter(|| copy_floor(&data, &mut bufs.borrow_mut()))
        });
        // What an adapter adds, measured directly: each iteration parses in memory and
        // streamed, back to back, and only the difference is counted, so that the VM's drift
        // between two entries measured seconds apart does not land in it.
        let adapters: Vec<Entry> = vec![
            ("stream_adds", Box::new(|| ours_stream(&data))),
            #[cfg(feature = "tokio")]
            ("async_adds", Box::new(|| ours_async(&rt, &data))),
        ];
        for (who, streamed) in &adapters {
            group.bench_function(BenchmarkId::from_parameter(who), |b| {
                b.iter_custom(|iters| {
                    let (mut memory, mut stream) = (Duration::ZERO, Duration::ZERO);
                    for _ in 0..iters {
                        let t = Instant::now();
                        std::hint::black_box(ours_memory(&data));
                        memory += t.elapsed();
                        let t = Instant::now();
                        std::hint::black_box(streamed());
                        stream += t.elapsed();
                    }
                    // Criterion needs a positive time; a negative difference is reported as 1 ns.
                    stream.saturating_sub(memory).max(Duration::from_nanos(1))
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
