//! What the demuxer hands out: frames, fragment metadata and whole fragments.

use std::sync::Arc;

use bytes::Bytes;

use crate::ebml::reader::Damage;
use crate::kvs::{KvsMetadata, AWS_PREFIX};
use crate::mkv::{SegmentInfo, SimpleTag, Tag, Track};

/// What is known about a frame besides its bytes: track, times, flags and where it lies.
///
/// `Copy`, and shared by the owned [`Frame`] and the lent [`FrameRef`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameInfo {
    /// TrackNumber of the block.
    pub track: u64,
    /// Presentation time in ns: (Cluster Timestamp + block offset × TrackTimestampScale) ×
    /// TimestampScale − CodecDelay; laced frames after the first add DefaultDuration (or an
    /// equal share of BlockDuration) per frame. Negative means "decode, do not present".
    pub pts_ns: i64,
    /// BlockDuration (or its share, for laced frames), else the track's DefaultDuration.
    pub duration_ns: Option<u64>,
    /// SimpleBlock key flag; for a Block, "its BlockGroup has no ReferenceBlock".
    pub keyframe: bool,
    /// Invisible flag: decode, do not show.
    pub invisible: bool,
    /// SimpleBlock discardable flag.
    pub discardable: bool,
    /// DiscardPadding of the BlockGroup, in ns; 0 (also when absent) discards nothing.
    pub discard_padding_ns: i64,
    /// Byte offset of the payload (`data`) in the input.
    pub offset: u64,
    /// Index of the fragment the frame belongs to.
    pub fragment: u64,
    /// Position of this frame in its lace (0 when not laced).
    pub lace_index: u16,
    /// Number of frames in its lace (1 when not laced).
    pub lace_count: u16,
    /// `true` when the track's ContentEncoding is one this crate does not undo
    /// (compression other than header stripping, or encryption).
    pub encoded: bool,
}

/// One frame (after de-lacing), its payload an owned, zero-copy view of the input.
///
/// Keeping a `Frame` keeps the piece of input it came from alive. When the track uses
/// header stripping, the stripped bytes are in `prefix` (shared with the track) and the
/// codec frame is `prefix` followed by `data`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// Track, times, flags and offsets.
    pub info: FrameInfo,
    /// The payload (zero-copy).
    pub data: Bytes,
    /// Bytes removed by header stripping, to be put in front of `data`: `None` unless the
    /// track strips headers (and never an empty `Some`).
    pub prefix: Option<Bytes>,
}

/// A frame whose payload is lent by the demuxer until its next poll (see
/// [`Demuxer::poll_ref`](crate::Demuxer::poll_ref)); [`into_owned`](Self::into_owned)
/// keeps one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRef<'a> {
    /// Track, times, flags and offsets.
    pub info: FrameInfo,
    /// The payload, borrowed in place.
    pub data: &'a [u8],
    /// Bytes removed by header stripping, to be put in front of `data` (as in [`Frame`]).
    pub prefix: Option<&'a [u8]>,
}

impl Frame {
    /// Size of the codec frame: prefix plus data.
    pub fn len(&self) -> usize {
        self.prefix.as_ref().map_or(0, Bytes::len) + self.data.len()
    }

    /// `true` for a zero-length frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The codec frame as one buffer: `data` itself (no copy) unless there is a prefix.
    pub fn payload(&self) -> Bytes {
        let Some(prefix) = &self.prefix else {
            return self.data.clone();
        };
        let mut v = Vec::with_capacity(self.len());
        v.extend_from_slice(prefix);
        v.extend_from_slice(&self.data);
        Bytes::from(v)
    }

    /// The same frame, lent (for code written once over [`FrameRef`]).
    pub fn borrowed(&self) -> FrameRef<'_> {
        FrameRef { info: self.info, data: &self.data, prefix: self.prefix.as_deref() }
    }
}

impl FrameRef<'_> {
    /// Size of the codec frame: prefix plus data.
    pub fn len(&self) -> usize {
        self.prefix.map_or(0, <[u8]>::len) + self.data.len()
    }

    /// `true` for a zero-length frame.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned frame, its payload (and prefix) copied: the only way to keep a lent one.
    pub fn into_owned(self) -> Frame {
        Frame {
            info: self.info,
            data: Bytes::copy_from_slice(self.data),
            prefix: self.prefix.map(Bytes::copy_from_slice),
        }
    }
}

/// Where a Tag stood in its fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPosition {
    /// Before the fragment's Cluster (header tags, leading KVS tags).
    BeforeCluster,
    /// After the Cluster started (user tags meant for the next fragment, trailing KVS tags).
    AfterCluster,
}

/// A Tag of a fragment, with where it came from. Never de-duplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentTag {
    /// The Tag, nesting kept.
    pub tag: Tag,
    /// Before or after the Cluster.
    pub position: TagPosition,
    /// Byte offset of the Tags element it came from.
    pub tags_offset: u64,
}

/// Everything known about a fragment when it closes (its frames were delivered before).
#[derive(Debug, Clone, PartialEq)]
pub struct FragmentMeta {
    /// Index of the fragment in the stream (0, 1, 2, …).
    pub index: u64,
    /// Byte offset where it starts (its EBML header, or its Cluster).
    pub offset: u64,
    /// It opened with a new EBML document (rather than at a second Cluster of one).
    pub starts_document: bool,
    /// Byte offset just past its last byte.
    pub end_offset: u64,
    /// KVS metadata from the `AWS_KINESISVIDEO_*` tags.
    pub kvs: KvsMetadata,
    /// Every Tag of the fragment in stream order, AWS ones included.
    pub tags: Vec<FragmentTag>,
    /// The tracks of its document.
    pub tracks: Arc<[Arc<Track>]>,
    /// Segment Info of its document.
    pub info: Arc<SegmentInfo>,
    /// Byte offset of its Cluster.
    pub cluster_offset: Option<u64>,
    /// Raw Cluster Timestamp (Segment ticks).
    pub cluster_timestamp: Option<u64>,
    /// Number of frames delivered.
    pub frames: u64,
    /// Number of those that are keyframes.
    pub keyframes: u64,
    /// Closed normally (not cut by truncation or damage, not one part of a split fragment).
    pub complete: bool,
    /// Which part of its fragment this is: 0 for a whole fragment, or for the first part of
    /// one that was split because collecting it would hold more than
    /// [`Limits::max_fragment_bytes`](crate::Limits::max_fragment_bytes); counts up through
    /// the parts that follow it (each a fragment of its own index, with the KVS metadata
    /// and the tags known when it opened).
    pub part: u32,
    /// This part was closed at that bound: the fragment goes on in the next one.
    pub split: bool,
    /// Damage was reported inside it.
    pub damaged: bool,
    /// The input ended inside it.
    pub truncated: bool,
}

impl FragmentMeta {
    /// Cluster Timestamp × TimestampScale, in ns.
    pub fn cluster_timestamp_ns(&self) -> Option<i64> {
        let t = i128::from(self.cluster_timestamp?) * i128::from(self.info.timestamp_scale);
        i64::try_from(t).ok()
    }

    /// User (non-`AWS_KINESISVIDEO_*`) SimpleTags in stream order, nested ones after their
    /// parent.
    pub fn user_tags(&self) -> impl Iterator<Item = &SimpleTag> {
        self.tags
            .iter()
            .flat_map(|t| t.tag.simple_tags.iter())
            .flat_map(SimpleTag::walk)
            .filter(|s| !s.name.starts_with(AWS_PREFIX))
    }

    /// `true` once the trailing GetMedia tags arrived (see [`KvsMetadata::is_kvs_complete`]).
    pub fn is_kvs_complete(&self) -> bool {
        self.kvs.is_kvs_complete()
    }
}

/// A whole fragment: its metadata, its frames, and any damage reported while it was open.
#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    /// Metadata, tags and completeness.
    pub meta: FragmentMeta,
    /// Every frame, in stream order.
    pub frames: Vec<Frame>,
    /// Damage reported since the previous fragment closed.
    pub damage: Vec<Damage>,
}

// Moving a frame (it is returned by value through every adapter) stays inline, not a call
// to `memcpy`, while it fits in 128 bytes: what `FrameInfo` holds is chosen to keep it so.
const _: () = assert!(std::mem::size_of::<Frame>() <= 128 && std::mem::size_of::<FrameRef>() <= 128);
