//! What the demuxer hands out, one event at a time.

use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::Damage;
use crate::frame::{FragmentMeta, Frame};
use crate::mkv::{EbmlHeader, SegmentInfo, Track};

/// One demuxer event, in stream order.
///
/// `D` is how a frame's payload is held: [`Bytes`] (the default) everywhere but in
/// [`Demuxer::poll_ref`], whose [`EventRef`] lends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<D = Bytes> {
    /// An EBML header ended: a new document.
    Header(Arc<EbmlHeader>),
    /// A Segment Info ended.
    Info(Arc<SegmentInfo>),
    /// A track was seen for the first time, or its definition changed (emitted when its
    /// Tracks element ends; repeated identical definitions are not announced again).
    Track(Arc<Track>),
    /// A fragment opened.
    FragmentStart {
        /// Its index.
        index: u64,
        /// Byte offset where it starts.
        offset: u64,
    },
    /// A frame, as soon as its block is complete.
    Frame(Frame<D>),
    /// A fragment closed; its frames were delivered before.
    FragmentEnd(Box<FragmentMeta>),
    /// Bytes that could not be parsed and were skipped, or a block that could not be split.
    Damage(Damage),
}

/// An event whose frame payload is lent until the next poll; see [`Demuxer::poll_ref`].
pub type EventRef<'a> = Event<&'a [u8]>;

impl<D> Event<D> {
    /// The same event, a frame changed by `f` (for instance, to another payload type).
    pub fn map_frame<E>(self, f: impl FnOnce(Frame<D>) -> Frame<E>) -> Event<E> {
        self.non_frame().unwrap_or_else(|frame| Event::Frame(f(frame)))
    }

    /// The event itself when it is not a frame (whatever the payload type), else the frame.
    pub(super) fn non_frame<E>(self) -> Result<Event<E>, Frame<D>> {
        Ok(match self {
            Event::Frame(f) => return Err(f),
            Event::Header(h) => Event::Header(h),
            Event::Info(i) => Event::Info(i),
            Event::Track(t) => Event::Track(t),
            Event::FragmentStart { index, offset } => Event::FragmentStart { index, offset },
            Event::FragmentEnd(m) => Event::FragmentEnd(m),
            Event::Damage(d) => Event::Damage(d),
        })
    }
}

impl EventRef<'_> {
    /// An owned event: a lent frame's payload is copied (see [`FrameRef::to_owned_frame`]).
    pub fn to_owned_event(&self) -> Event {
        self.clone().map_frame(|f| f.to_owned_frame())
    }
}
