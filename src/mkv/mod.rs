//! Matroska (RFC 9559): segment info, tracks, tags, blocks and time.

pub(crate) mod block;
pub mod ids;
mod info;
#[cfg(test)]
mod skip_tests;
mod tags;
mod tracks;

pub use block::BlockHeader;
pub use ids::Matroska;
pub use info::{EbmlHeader, SegmentInfo};
pub(crate) use info::{HeaderBuilder, InfoBuilder};
pub(crate) use tags::TagBuilder;
pub use tags::{SimpleTag, Tag, TagValue, Targets};
pub(crate) use tracks::TrackBuilder;
pub use tracks::{AudioSettings, ContentEncoding, Track, TrackKind, VideoSettings};
