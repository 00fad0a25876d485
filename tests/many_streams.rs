//! 1,000 concurrent streams in one process: every stream complete and correct, and an idle
//! stream costs well under 64 KiB (measured with a counting allocator).
#![cfg(feature = "tokio")]

mod common;

use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use kinesis_video_parser::AsyncDemuxer;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};

#[path = "../examples/common/alloc.rs"]
mod alloc;

use alloc::CURRENT;

#[global_allocator]
static A: alloc::Counting = alloc::Counting;

/// A connection with nothing to say yet.
struct Idle;

impl AsyncRead for Idle {
    fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

#[test]
fn a_thousand_streams() {
    let data = Arc::new(common::own_file("kvs_like.mkv"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        // Correctness: 1,000 streams fed concurrently in uneven pieces.
        let mut tasks = Vec::new();
        for i in 0..1000usize {
            let data = data.clone();
            let (mut tx, rx) = tokio::io::duplex(4096);
            tokio::spawn(async move {
                let mut pos = 0;
                let mut step = 1 + i % 3000;
                while pos < data.len() {
                    let n = step.min(data.len() - pos);
                    tx.write_all(&data[pos..pos + n]).await.unwrap();
                    pos += n;
                    step = 1 + (step * 7 + 13) % 5000;
                    tokio::task::yield_now().await;
                }
            });
            tasks.push(tokio::spawn(async move {
                let frags: Vec<_> = AsyncDemuxer::new(rx).fragments().collect().await;
                let frags: Vec<_> = frags.into_iter().map(Result::unwrap).collect();
                (
                    frags.len(),
                    frags.iter().map(|f| f.frames.len()).sum::<usize>(),
                    frags.iter().all(|f| f.meta.is_kvs_complete()),
                )
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), (3, 81, true));
        }

        // Memory per idle stream: 1,000 streams each waiting inside `next()`.
        let before = CURRENT.load(Relaxed);
        let mut idle = Vec::new();
        for _ in 0..1000 {
            idle.push(tokio::spawn(async move {
                let mut s = AsyncDemuxer::new(Idle);
                s.next().await
            }));
        }
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let per_stream = (CURRENT.load(Relaxed).saturating_sub(before)) / 1000;
        println!("memory per idle stream: {per_stream} bytes (task included)");
        assert!(per_stream < 64 * 1024, "{per_stream} bytes per idle stream");
        for t in idle {
            t.abort();
        }
    });
}

/// A reader that is slow: every other poll is Pending until a timer fires.
struct Slow {
    data: Vec<u8>,
    pos: usize,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Slow {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(std::time::Duration::from_millis(3))));
        if sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.sleep = None;
        let n = buf.remaining().min(997).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

use std::future::Future;

#[test]
fn cancelled_next_futures_lose_nothing() {
    let data = common::own_file("kvs_like.mkv");
    let want = common::events(&data);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut s = AsyncDemuxer::new(Slow { data: data.clone(), pos: 0, sleep: None });
        let mut got = Vec::new();
        let mut cancelled = 0;
        loop {
            // Most `next()` futures are dropped before they finish.
            match tokio::time::timeout(std::time::Duration::from_millis(1), s.next()).await {
                Ok(Some(item)) => got.push(item),
                Ok(None) => break,
                Err(_) => cancelled += 1,
            }
        }
        assert!(cancelled > 10, "the test did not cancel anything ({cancelled})");
        assert!(got == want, "events lost or changed by cancellation");
    });
}
