//! The async adapters, driven like the sync core in the shared helpers: a reader that hands
//! out the given piece sizes and returns `Pending` before every other piece.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use kinesis_video_parser::{AsyncDemuxer, DemuxOptions, Error, Event, KvsCodec};
use tokio::io::{AsyncRead, ReadBuf};

pub struct Pieces {
    data: Vec<u8>,
    sizes: Vec<usize>,
    pos: usize,
    k: usize,
    pending: bool,
}

impl Pieces {
    pub fn new(data: &[u8], sizes: &[usize]) -> Self {
        Pieces { data: data.to_vec(), sizes: sizes.to_vec(), pos: 0, k: 0, pending: false }
    }
}

impl AsyncRead for Pieces {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.pending {
            self.pending = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.pending = self.k.is_multiple_of(2);
        let size = self.sizes[self.k % self.sizes.len()].max(1);
        self.k += 1;
        let n = size.min(buf.remaining()).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf.put_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

type Events = Vec<Result<Event, Error>>;

/// Events through `AsyncDemuxer` and through `FramedRead<_, KvsCodec>`.
pub fn events(data: &[u8], sizes: &[usize], opts: DemuxOptions) -> (Events, Events) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        let stream: Vec<_> = AsyncDemuxer::with_options(Pieces::new(data, sizes), opts).collect().await;
        let framed = tokio_util::codec::FramedRead::new(Pieces::new(data, sizes), KvsCodec::with_options(opts));
        // The codec hands truncation out last (so that `FramedRead` delivers the closing
        // events): put it back where the core reports it, right after the last frame.
        let mut codec: Vec<_> = framed.collect().await;
        if let Some(Err(e)) = codec.last() {
            assert!(e.is_truncation(), "no I/O error from memory: {e}");
            let e = codec.pop().unwrap();
            let at = stream.iter().position(Result::is_err).expect("the core reports the truncation too");
            codec.insert(at, e);
        }
        (stream, codec)
    })
}
