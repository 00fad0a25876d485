//! # kinesis-video-parser
//!
//! A zero-copy, incremental EBML/Matroska parser for Amazon Kinesis Video Streams output
//! (GetMedia, GetMediaForFragmentList, producer-SDK streams) and ordinary MKV/WebM files.
//!
//! Bytes go in, in pieces of any size; typed events come out: tracks, frames (as soon as
//! their block is complete), and fragments with their KVS metadata. Damage is reported and
//! skipped; truncation is reported at the end; memory is bounded by [`Limits`].
//!
//! ## Which entry point?
//!
//! | you have | use |
//! |---|---|
//! | bytes arriving from anywhere (network callbacks, channels) | [`Demuxer`]: `push`, `poll`, `finish` |
//! | input in memory, each frame used before the next | [`Demuxer::poll_ref`]: the same events, each payload lent in place (`&[u8]`), no reference count per frame (header stripping aside) |
//! | a `std::io::Read` (file, stdin, blocking HTTP body) | [`ReadDemuxer`]: an `Iterator` of events, frames or fragments |
//! | a tokio `AsyncRead` (feature `tokio`) | `AsyncDemuxer`: a `Stream` of events, frames or fragments; `KvsCodec` for `FramedRead` |
//! | whole fragments rather than single frames | [`FragmentAssembler`], [`ReadDemuxer::fragments`], or [`Fragments`] over any event iterator or stream |
//! | the raw element tree (tools) | [`ElementReader`] |
//! | one playable file from a GetMedia body | [`merge::merge`], [`merge::Merger`] |
//! | the frames between two times as a file | [`clip::clip`] |
//! | demuxed fragments written back as Matroska | [`mux::Remuxer`] |
//!
//! ## Example
//!
//! ```no_run
//! use kinesis_video_parser::{Event, ReadDemuxer};
//! let file = std::fs::File::open("testdata/kvs_like.mkv")?;
//! for fragment in ReadDemuxer::new(file).fragments() {
//!     let fragment = fragment?;
//!     println!(
//!         "fragment {:?}: {} frames, complete: {}",
//!         fragment.meta.kvs.fragment_number,
//!         fragment.frames.len(),
//!         fragment.meta.complete
//!     );
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Features
//! - `tokio`: async adapters (`AsyncDemuxer`, `KvsCodec`).
//! - `aws`: live GetMedia consumers on the AWS SDK for Rust: frame by frame, exactly once
//!   across drops, durable checkpoints, many streams (`aws::LiveConsumer`,
//!   `aws::MultiStreamConsumer`, `aws::GetMediaConsumer`).
//! - `decode`: frames to `image` images with the system FFmpeg (`decode::ImageExtractor`).
//!
//! The default build needs no system library.
// `unsafe` is forbidden, except in the one FFmpeg extradata function of the `decode`
// feature (src/decode/extradata.rs).
#![cfg_attr(not(feature = "decode"), forbid(unsafe_code))]
#![cfg_attr(feature = "decode", deny(unsafe_code))]
#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod aws;
pub mod clip;
#[cfg(feature = "decode")]
pub mod decode;
mod demux;
pub mod ebml;
mod error;
mod frame;
mod io;
pub mod kvs;
mod limits;
pub mod merge;
pub mod mkv;
pub mod mux;
pub mod producer;

pub use demux::{DemuxOptions, Demuxer, Event, EventRef, FragmentAssembler};
pub use ebml::reader::Damage;
pub use ebml::{ElementEvent, ElementHeader, ElementId};
/// The element reader on Matroska's schema (see [`ebml::ElementReader`]).
pub type ElementReader = ebml::ElementReader<mkv::Matroska>;
pub use error::{Error, ErrorKind, Limit, Result};
pub use frame::{Fragment, FragmentMeta, FragmentTag, Frame, FrameInfo, FrameRef, TagPosition};
pub use io::items::{Fragments, Frames};
pub use io::read::ReadDemuxer;
#[cfg(feature = "tokio")]
pub use io::tokio::{AsyncDemuxer, KvsCodec};
pub use kvs::{FragmentNumber, KvsMetadata, KvsTimestamp};
pub use limits::Limits;
pub use mkv::{
    AudioSettings, EbmlHeader, SegmentInfo, SimpleTag, Tag, TagValue, Targets, Track, TrackKind, VideoSettings,
};

/// The answer of an incremental step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status<T> {
    /// An item is ready.
    Ready(T),
    /// More input is needed: at least this many bytes (a hint; any amount may be pushed).
    NeedMore(usize),
    /// The input is finished and everything has been delivered.
    Done,
}

impl<T> Status<T> {
    /// The same status, a ready item changed by `f`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Status<U> {
        match self {
            Status::Ready(t) => Status::Ready(f(t)),
            Status::NeedMore(n) => Status::NeedMore(n),
            Status::Done => Status::Done,
        }
    }
}

/// The README's examples, compiled as doc tests so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
