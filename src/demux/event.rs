//! What the demuxer hands out, one event at a time.

use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::Damage;
use crate::frame::{FragmentMeta, Frame, FrameRef};
use crate::mkv::{EbmlHeader, SegmentInfo, Track};

/// One demuxer event, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
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
    Frame(Frame),
    /// A fragment closed; its frames were delivered before.
    FragmentEnd(Box<FragmentMeta>),
    /// Bytes that could not be parsed and were skipped, or a block that could not be split.
    Damage(Damage),
}

/// An event of [`Demuxer::poll_ref`](crate::Demuxer::poll_ref): the variants of [`Event`],
/// a frame's payload lent until the next poll.
#[derive(Debug, Clone, PartialEq)]
pub enum EventRef<'a> {
    /// As [`Event::Header`].
    Header(Arc<EbmlHeader>),
    /// As [`Event::Info`].
    Info(Arc<SegmentInfo>),
    /// As [`Event::Track`].
    Track(Arc<Track>),
    /// As [`Event::FragmentStart`].
    FragmentStart {
        /// Its index.
        index: u64,
        /// Byte offset where it starts.
        offset: u64,
    },
    /// As [`Event::Frame`], the payload lent.
    Frame(FrameRef<'a>),
    /// As [`Event::FragmentEnd`].
    FragmentEnd(Box<FragmentMeta>),
    /// As [`Event::Damage`].
    Damage(Damage),
}

/// What a lent frame borrows that is not input in place: the payload of a frame that was
/// queued, the prefix of a track that strips headers. Kept by the demuxer until its next poll.
#[derive(Debug, Default)]
pub(super) struct Held {
    pub(super) data: Bytes,
    pub(super) prefix: Option<Bytes>,
}

impl Held {
    pub(super) fn is_empty(&self) -> bool {
        self.data.is_empty() && self.prefix.is_none()
    }
}

impl Event {
    /// The event as lent by `poll_ref`: a frame's payload and prefix moved into `held` and
    /// borrowed from there.
    pub(super) fn lend(self, held: &mut Held) -> EventRef<'_> {
        match self {
            Event::Frame(f) => {
                *held = Held { data: f.data, prefix: f.prefix };
                EventRef::Frame(FrameRef { info: f.info, data: &held.data, prefix: held.prefix.as_deref() })
            }
            Event::Header(h) => EventRef::Header(h),
            Event::Info(i) => EventRef::Info(i),
            Event::Track(t) => EventRef::Track(t),
            Event::FragmentStart { index, offset } => EventRef::FragmentStart { index, offset },
            Event::FragmentEnd(m) => EventRef::FragmentEnd(m),
            Event::Damage(d) => EventRef::Damage(d),
        }
    }

    /// The same event, lent (a frame borrowed from this one; the rest cloned).
    pub fn borrowed(&self) -> EventRef<'_> {
        match self {
            Event::Frame(f) => EventRef::Frame(f.borrowed()),
            Event::Header(h) => EventRef::Header(h.clone()),
            Event::Info(i) => EventRef::Info(i.clone()),
            Event::Track(t) => EventRef::Track(t.clone()),
            &Event::FragmentStart { index, offset } => EventRef::FragmentStart { index, offset },
            Event::FragmentEnd(m) => EventRef::FragmentEnd(m.clone()),
            Event::Damage(d) => EventRef::Damage(d.clone()),
        }
    }
}

impl EventRef<'_> {
    /// An owned event: a lent frame's payload is copied (see [`FrameRef::into_owned`]).
    pub fn into_owned(self) -> Event {
        match self {
            EventRef::Frame(f) => Event::Frame(f.into_owned()),
            EventRef::Header(h) => Event::Header(h),
            EventRef::Info(i) => Event::Info(i),
            EventRef::Track(t) => Event::Track(t),
            EventRef::FragmentStart { index, offset } => Event::FragmentStart { index, offset },
            EventRef::FragmentEnd(m) => Event::FragmentEnd(m),
            EventRef::Damage(d) => Event::Damage(d),
        }
    }
}
