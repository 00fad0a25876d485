//! Frames and whole fragments from any source of events: a sync `Iterator` or an async
//! `Stream` (the adapters, `FramedRead<_, KvsCodec>`, or one of your own), defined once.

use crate::demux::{Event, FragmentAssembler};
use crate::error::Error;
use crate::frame::{Fragment, Frame};

/// Only the frames of an event source (other events are dropped; errors are kept).
///
/// ```
/// use kinesis_video_parser::{Frames, ReadDemuxer};
/// let file = std::fs::File::open("testdata/kvs_like.mkv")?;
/// let frames = Frames::new(ReadDemuxer::new(file)).collect::<Result<Vec<_>, _>>()?;
/// assert_eq!(frames.len(), 81);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Frames<S>(S);

impl<S> Frames<S> {
    /// The frames of `events`.
    pub fn new(events: S) -> Self {
        Frames(events)
    }

    /// The event source, for its accessors.
    pub fn get_ref(&self) -> &S {
        &self.0
    }
}

impl<I: Iterator<Item = Result<Event, Error>>> Iterator for Frames<I> {
    type Item = Result<Frame, Error>;

    // Each item matched where it is returned, not passed through a helper: moving a frame
    // out of one 128-byte item into another costs a store-forwarding stall per frame
    // (twice the time of the whole match on a streamed `opus` parse, under `perf`).
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.0.next() {
                Some(Ok(Event::Frame(f))) => return Some(Ok(f)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            }
        }
    }
}

/// Whole fragments of an event source (see [`FragmentAssembler`]); errors are kept.
#[derive(Debug)]
pub struct Fragments<S> {
    events: S,
    asm: FragmentAssembler,
}

impl<S> Fragments<S> {
    /// The fragments of `events`.
    pub fn new(events: S) -> Self {
        Fragments { events, asm: FragmentAssembler::new() }
    }

    /// The event source, for its accessors.
    pub fn get_ref(&self) -> &S {
        &self.events
    }

    /// What one event completes, if anything.
    fn fragment_of(&mut self, item: Result<Event, Error>) -> Option<Result<Fragment, Error>> {
        match item {
            Ok(ev) => self.asm.push(ev).map(Ok),
            Err(e) => Some(Err(e)),
        }
    }
}

impl<I: Iterator<Item = Result<Event, Error>>> Iterator for Fragments<I> {
    type Item = Result<Fragment, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let item = self.events.next()?;
            if let Some(out) = self.fragment_of(item) {
                return Some(out);
            }
        }
    }
}

#[cfg(feature = "tokio")]
mod streams {
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};

    use futures_core::Stream;

    use super::{Fragments, Frames};
    use crate::demux::Event;
    use crate::error::Error;
    use crate::frame::{Fragment, Frame};

    impl<S: Stream<Item = Result<Event, Error>> + Unpin> Stream for Frames<S> {
        type Item = Result<Frame, Error>;

        #[inline]
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            loop {
                match ready!(Pin::new(&mut self.0).poll_next(cx)) {
                    Some(Ok(Event::Frame(f))) => return Poll::Ready(Some(Ok(f))),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None => return Poll::Ready(None),
                }
            }
        }
    }

    impl<S: Stream<Item = Result<Event, Error>> + Unpin> Stream for Fragments<S> {
        type Item = Result<Fragment, Error>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            let this = self.get_mut();
            loop {
                let Some(item) = ready!(Pin::new(&mut this.events).poll_next(cx)) else { return Poll::Ready(None) };
                if let Some(out) = this.fragment_of(item) {
                    return Poll::Ready(Some(out));
                }
            }
        }
    }
}
