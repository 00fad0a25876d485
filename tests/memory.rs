//! Memory bounds, measured with a counting global allocator: hostile declared sizes never
//! allocate, memory stays flat in stream length, and the frame path does not allocate per
//! frame. One test function runs the cases in sequence so that measurements do not overlap.

mod common;

use std::sync::atomic::Ordering::Relaxed;

use bytes::Bytes;
use common::build::*;
use common::*;
use kinesis_video_parser::ebml::writer::{self, Size};
use kinesis_video_parser::mkv::ids;
use kinesis_video_parser::{Demuxer, ErrorKind, Event, EventRef, Limit, ReadDemuxer, Status};

#[path = "../examples/common/alloc.rs"]
mod alloc;

use alloc::{ALLOCS, CURRENT, PEAK};

#[global_allocator]
static A: alloc::Counting = alloc::Counting;

/// Peak bytes allocated above the starting level while `f` runs.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

/// A 2 KB stream whose second SimpleBlock declares `declared` bytes, followed by a good
/// Cluster.
fn hostile(declared: u64) -> Vec<u8> {
    let mut huge = Vec::new();
    writer::id(&mut huge, ids::SIMPLE_BLOCK);
    writer::size(&mut huge, declared, Size::Width(8));
    huge.extend_from_slice(&block_body(1, 1, 0x80, &[7; 1500]));
    let c1 = unknown(ids::CLUSTER, 1, &[uint(ids::TIMESTAMP, 0), simple_block(1, 0, 0x80, b"first"), huge].concat());
    let c2 = cluster(100, &[simple_block(1, 0, 0x80, b"after")]);
    [ebml_header("matroska"), unknown(ids::SEGMENT, 1, &[tracks(&[track(1, 1, "V_X", &[])]), c1, c2].concat())].concat()
}

/// An endless-looking stream: `copies` GetMedia chunks produced on the fly, never held whole.
struct Repeat {
    chunk: Vec<u8>,
    left: usize,
    pos: usize,
}

impl std::io::Read for Repeat {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.chunk.len() {
            self.pos = 0;
            self.left -= 1;
        }
        Ok(n)
    }
}

/// A document whose one unknown-size Cluster holds `blocks` SimpleBlocks of 64 KiB, produced
/// on the fly.
struct EndlessCluster {
    head: Vec<u8>,
    block: Vec<u8>,
    left: usize,
    pos: usize,
}

impl EndlessCluster {
    fn new(blocks: usize) -> Self {
        let body = [
            tracks(&[track(1, 1, "V_X", &[])]),
            tags(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "91343852333181432392682062607743920146159169390")]),
            unknown(ids::CLUSTER, 1, &uint(ids::TIMESTAMP, 0)),
        ];
        let head = [ebml_header("matroska"), unknown(ids::SEGMENT, 1, &body.concat())].concat();
        // The Cluster's unknown size is the last byte of `head`: blocks follow it.
        EndlessCluster { head, block: simple_block(1, 0, 0x80, &[9; 64 << 10]), left: blocks, pos: 0 }
    }
}

impl std::io::Read for EndlessCluster {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let src = if !self.head.is_empty() {
            &mut self.head
        } else if self.left > 0 {
            &mut self.block
        } else {
            return Ok(0);
        };
        let n = buf.len().min(src.len() - self.pos);
        buf[..n].copy_from_slice(&src[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == src.len() {
            self.pos = 0;
            if self.head.is_empty() {
                self.left -= 1;
            } else {
                self.head.clear();
            }
        }
        Ok(n)
    }
}

#[test]
fn memory_is_bounded() {
    // 1. Hostile sizes in a 2 KB stream: a limit error (then resync), no big allocation.
    for declared in [1_500_000_000u64, (1 << 56) - 2, (64 << 20) * 3] {
        let data = hostile(declared);
        assert!(data.len() < 2100);
        let (evs, peak) = peak_during(|| events_chunked(&data, &[64]));
        let d = damages(&evs);
        assert_eq!(d.len(), 1, "declared {declared}");
        assert_eq!(d[0].error.kind(), ErrorKind::LimitExceeded(Limit::ElementSize));
        let f: Vec<_> = frames(&evs).iter().map(|f| f.data.to_vec()).collect();
        assert_eq!(f, [b"first".to_vec(), b"after".to_vec()], "declared {declared}");
        assert!(peak < 4 << 20, "declared {declared}: peak {peak} bytes");
    }
    // A declared size within the limits is not allocated before its bytes arrive: the
    // input simply ends (truncation), with memory near the input size.
    let data = hostile(100 << 20);
    let (evs, peak) = peak_during(|| events_chunked(&data, &[64]));
    assert_eq!(truncations(&evs).len(), 1);
    // (With the `tokio` feature this also runs both async adapters, runtime included.)
    assert!(peak < if cfg!(feature = "tokio") { 2 << 20 } else { 1 << 20 }, "peak {peak}");
    // The same through the sync adapter from a reader that trickles 64 bytes per read: no
    // read buffer is sized from the declared 100 MiB, and short reads pin nothing large.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(64).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let (n, peak) = peak_during(|| ReadDemuxer::new(Trickle(&data)).count());
    assert!(n > 0);
    assert!(peak < 256 << 10, "sync adapter, trickling input: peak {peak}");

    // 2. Flat in stream length: 200 GetMedia chunks through the sync adapter.
    let chunk = own_file("kvs_like.mkv");
    let run = |copies: usize| {
        peak_during(|| {
            let r = Repeat { chunk: chunk.clone(), left: copies, pos: 0 };
            let mut frames = 0;
            for ev in ReadDemuxer::new(r) {
                if let Event::Frame(_) = ev.unwrap() {
                    frames += 1;
                }
            }
            frames
        })
    };
    let (f10, peak10) = run(10);
    let (f200, peak200) = run(200);
    assert_eq!(f200, f10 * 20);
    assert!(peak200 < 2 << 20, "peak {peak200} bytes for 200 chunks");
    assert!(peak200 < peak10 + (256 << 10), "memory grows with length: {peak10} -> {peak200}");

    // 3. An endless Cluster (a producer that never starts a new one): 400 MB of frames in
    //    one unknown-size Cluster, collected into fragments with an 8 MiB bound, arrive as
    //    parts of at most that much, all of them, with the fragment's KVS number; memory
    //    stays near the bound instead of growing with the stream.
    let cap = 8u64 << 20;
    let opts = kinesis_video_parser::DemuxOptions::default()
        .with_limits(kinesis_video_parser::Limits::default().with_max_fragment_bytes(cap));
    let (parts, peak) = peak_during(|| {
        let mut parts = Vec::new();
        for f in ReadDemuxer::with_options(EndlessCluster::new(6400), opts).fragments() {
            let f = f.unwrap();
            let held: u64 =
                f.frames.iter().map(|x| x.data.len() as u64 + kinesis_video_parser::Limits::FRAME_COST).sum();
            assert!(held <= cap, "part {} holds {held} bytes", f.meta.part);
            assert_eq!(
                f.meta.kvs.fragment_number.as_ref().map(|n| n.as_str()),
                Some("91343852333181432392682062607743920146159169390")
            );
            parts.push((f.meta.part, f.meta.split, f.meta.complete, f.frames.len()));
        }
        parts
    });
    assert_eq!(parts.iter().map(|p| p.3).sum::<usize>(), 6400, "every frame delivered");
    assert!(parts.len() >= 50, "{} parts", parts.len());
    for (i, &(part, split, complete, _)) in parts.iter().enumerate() {
        assert_eq!(part as usize, i);
        assert_eq!(split, i + 1 < parts.len(), "all but the last part are split");
        assert!(!complete, "a part is not a complete fragment");
    }
    assert!(peak < 4 * cap as usize, "endless Cluster: peak {peak} bytes for 400 MB");

    // 4. The frame path does not allocate per frame: frames are slices of the pushed
    //    buffer and the event queue reuses its capacity. One fragment, 20,000 frames
    //    (plain, laced, and in BlockGroups).
    let mut blocks = Vec::new();
    for i in 0..5000i16 {
        blocks.push(simple_block(1, i % 1000, if i % 30 == 0 { 0x80 } else { 0 }, &[i as u8; 100]));
        blocks.push(el(ids::SIMPLE_BLOCK, &[vec![0x82, 0, 1, 0x82, 1, 10], vec![1; 25]].concat())); // Xiph, 2 frames
        blocks.push(el(
            ids::BLOCK_GROUP,
            &[el(ids::BLOCK, &block_body(1, 2, 0, b"grp")), int(ids::REFERENCE_BLOCK, -1)].concat(),
        ));
    }
    let body = [
        tracks(&[track(1, 1, "V_X", &[]), track(2, 2, "A_X", &uint(ids::DEFAULT_DURATION, 1000))]),
        unknown(ids::CLUSTER, 1, &[vec![uint(ids::TIMESTAMP, 0)], blocks].concat().concat()),
    ]
    .concat();
    let stream = Bytes::from([ebml_header("matroska"), unknown(ids::SEGMENT, 1, &body)].concat());
    let count = |data: &Bytes| {
        let mut d = Demuxer::new();
        d.push(data.clone());
        d.finish();
        let before = ALLOCS.load(Relaxed);
        let mut frames = 0usize;
        while let Ok(Status::Ready(ev)) = d.poll() {
            if let Event::Frame(f) = ev {
                frames += usize::from(!f.data.is_empty());
            }
        }
        (frames, ALLOCS.load(Relaxed) - before)
    };
    let (frames, allocs) = count(&stream);
    assert_eq!(frames, 20_000);
    println!("{allocs} allocations for {frames} frames");
    assert!(allocs < 40, "{allocs} allocations for {frames} frames");
    // The same through the lending `poll_ref`.
    let mut d = Demuxer::new();
    d.push(stream.clone());
    d.finish();
    let before = ALLOCS.load(Relaxed);
    let mut lent = 0usize;
    while let Ok(Status::Ready(ev)) = d.poll_ref() {
        if let EventRef::Frame(f) = ev {
            lent += usize::from(!f.data.is_empty());
        }
    }
    let allocs = ALLOCS.load(Relaxed) - before;
    assert_eq!(lent, 20_000);
    assert!(allocs < 40, "poll_ref: {allocs} allocations for {lent} frames");

    // Per fragment, metadata (tracks, tags, KVS values) costs a bounded number of
    // allocations, whatever the number of frames.
    let many = Bytes::from((0..50).flat_map(|_| chunk.iter().copied()).collect::<Vec<u8>>());
    let (frames, allocs) = count(&many);
    println!("{allocs} allocations for {frames} frames in 150 GetMedia chunks");
    assert!(allocs < 150 * 100);
}
