//! `many_streams [--streams N] [--copies K] [FILE]`: N concurrent async streams in one
//! process (default 1,000), each reading FILE (default `testdata/kvs_like.mkv`) K times over
//! (default 20) from memory through `AsyncDemuxer`. Prints one JSON line with the memory
//! per idle stream and the aggregate throughput:
//! `{"streams":u64,"idle_bytes_per_stream":u64,"bytes":u64,"frames":u64,"seconds":f64,"mb_per_s":f64,"frames_per_s":f64}`.

use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::StreamExt;
use kinesis_video_parser::{AsyncDemuxer, Event};
use tokio::io::{AsyncRead, ReadBuf};

#[path = "common/alloc.rs"]
mod alloc;

use alloc::CURRENT;

#[global_allocator]
static A: alloc::Counting = alloc::Counting;

/// The same bytes `copies` times, at most 64 KiB per read, yielding to the scheduler
/// between reads like a network socket would.
struct Repeat {
    data: Arc<Vec<u8>>,
    copies: usize,
    pos: usize,
    yielded: bool,
}

impl AsyncRead for Repeat {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        if self.copies == 0 {
            return Poll::Ready(Ok(()));
        }
        let n = buf.remaining().min(64 * 1024).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        if self.pos == self.data.len() {
            self.pos = 0;
            self.copies -= 1;
        }
        Poll::Ready(Ok(()))
    }
}

struct Idle;

impl AsyncRead for Idle {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

/// Many concurrent streams on one runtime: memory per idle stream, aggregate throughput.
#[derive(clap::Parser)]
#[command(name = "many_streams")]
struct Args {
    /// How many concurrent streams.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    streams: usize,
    /// How many copies of the input each stream reads.
    #[arg(long, value_name = "K", default_value_t = 20)]
    copies: usize,
    /// The input each stream reads.
    #[arg(value_name = "FILE", default_value = "testdata/kvs_like.mkv")]
    file: String,
}

fn main() {
    let Args { streams, copies, file } = <Args as clap::Parser>::parse();
    let data = Arc::new(std::fs::read(&file).expect("input file"));
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let before = CURRENT.load(Relaxed);
        let idle: Vec<_> = (0..streams).map(|_| tokio::spawn(async { AsyncDemuxer::new(Idle).next().await })).collect();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let idle_per_stream = CURRENT.load(Relaxed).saturating_sub(before) / streams;
        idle.iter().for_each(|t| t.abort());

        let start = Instant::now();
        let tasks: Vec<_> = (0..streams)
            .map(|_| {
                let r = Repeat { data: data.clone(), copies, pos: 0, yielded: false };
                tokio::spawn(async move {
                    let mut frames = 0u64;
                    let mut s = AsyncDemuxer::new(r);
                    while let Some(ev) = s.next().await {
                        if let Ok(Event::Frame(f)) = ev {
                            frames += u64::from(!f.data.is_empty());
                        }
                    }
                    frames
                })
            })
            .collect();
        let mut frames = 0;
        for t in tasks {
            frames += t.await.unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let bytes = (data.len() * copies * streams) as u64;
        println!(
            "{{\"streams\":{streams},\"idle_bytes_per_stream\":{idle_per_stream},\"bytes\":{bytes},\"frames\":{frames},\"seconds\":{secs:?},\"mb_per_s\":{:?},\"frames_per_s\":{:?}}}",
            bytes as f64 / 1e6 / secs,
            frames as f64 / secs
        );
    });
}
