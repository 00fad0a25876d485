//! One stream, whole fragments: a [`LiveConsumer`] whose frames are collected.

use crate::frame::{Fragment, Frame};

use super::{ConsumerBuilder, ConsumerError, LiveConsumer, LiveItem, StartSelector};

/// A live consumer of whole fragments: each [`Fragment`] once it closed, with its frames,
/// under [`LiveConsumer`]'s guarantees (exactly once across reconnects). A fragment too long
/// to collect whole, past [`Limits::max_fragment_bytes`](crate::Limits::max_fragment_bytes)
/// (far above KVS's own 50 MB bound), comes in parts, each once.
#[derive(Debug)]
pub struct GetMediaConsumer {
    live: LiveConsumer,
    frames: Vec<Frame>,
}

impl GetMediaConsumer {
    /// A builder for `stream`; [`ConsumerBuilder::build`] makes this consumer.
    pub fn builder(stream: impl Into<String>) -> ConsumerBuilder {
        LiveConsumer::builder(stream)
    }

    /// Where the next connection will start.
    pub fn resume_point(&self) -> StartSelector {
        self.live.resume_point()
    }

    /// The frame-by-frame consumer underneath (status, checkpoint saving).
    pub fn live(&mut self) -> &mut LiveConsumer {
        &mut self.live
    }

    /// The next fragment, or an error; `None` once the consumer gave up.
    pub async fn next_fragment(&mut self) -> Option<Result<Fragment, ConsumerError>> {
        loop {
            match self.live.next().await? {
                Ok(LiveItem::Frame(f)) => self.frames.push(f.frame),
                Ok(LiveItem::Fragment(f)) => {
                    let frames = std::mem::take(&mut self.frames);
                    return Some(Ok(Fragment { meta: f.meta, frames, damage: f.damage }));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The consumer as a `futures::Stream`.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Fragment, ConsumerError>> {
        futures_util::stream::unfold(self, |mut c| async move { c.next_fragment().await.map(|item| (item, c)) })
    }
}

impl ConsumerBuilder {
    /// The whole-fragment consumer, with clients made from `sdk` (credentials, region, HTTP
    /// client).
    pub fn build(self, sdk: &aws_types::SdkConfig) -> GetMediaConsumer {
        GetMediaConsumer { live: self.live(sdk), frames: Vec::new() }
    }
}
