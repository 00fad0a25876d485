//! Live GetMedia consumers on the official AWS SDK for Rust (feature `aws`).
//!
//! - [`LiveConsumer`]: one stream, frame by frame. Each frame is yielded as soon as its block
//!   has arrived ([`LiveItem::Frame`], with its fragment's number and timestamps), each
//!   fragment once its trailing tags arrived ([`LiveItem::Fragment`], complete or not).
//! - [`MultiStreamConsumer`]: many streams on one runtime, each item tagged with its stream,
//!   per-stream backoff, give-up, memory bound and status.
//! - [`GetMediaConsumer`]: one stream, whole fragments (its frames collected).
//!
//! **Delivery guarantees.** While the process lives, every frame and fragment is delivered
//! **exactly once**: when a connection drops, stalls past the read timeout or the service
//! answers an error, the consumer reconnects with backoff from the last fragment delivered
//! whole (its continuation token) and skips what it already handed out of the fragment that
//! was cut ([`Delivery`]). Across a crash or restart, with a [`CheckpointStore`]
//! ([`FileCheckpoints`]), delivery is **at least once**: the repeats are limited to the
//! fragment in flight when the process died. A quiet stream (no data between fragments) is
//! not a failure. Throttling (`ClientLimitExceededException`, HTTP 429) and 5xx answers back
//! off and retry; errors retrying cannot fix (`ResourceNotFoundException`,
//! `NotAuthorizedException`, …) end the consumer at once. In-band error chunks (HTTP 200
//! with `AWS_KINESISVIDEO_ERROR_*` tags) are [`ConsumerError::InBand`] items.
//!
//! `tracing` events: `connected`, `reconnected` (info), backoff (warn), giving up (error).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kinesis_video_parser::aws::{GetMediaConsumer, StartSelector};
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let mut consumer = GetMediaConsumer::builder("my-stream").start(StartSelector::Now).build(&sdk);
//! while let Some(fragment) = consumer.next_fragment().await {
//!     let fragment = fragment?;
//!     println!("{:?}: {} frames", fragment.meta.kvs.fragment_number, fragment.frames.len());
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;

mod archive;
mod backoff;
mod checkpoint;
mod delivery;
mod fragments;
mod live;
mod many;
mod put;
mod selector;

pub use archive::{order, ArchiveBuilder, ArchiveReader, ListedFragment, TimeKind};
pub use checkpoint::{CheckpointStore, FileCheckpoints};
pub use delivery::{Delivery, FragmentHeader, LiveFragment, LiveFrame, LiveItem};
pub use fragments::GetMediaConsumer;
pub use live::{ConsumerBuilder, LiveConsumer, StreamState, StreamStatus};
pub use many::MultiStreamConsumer;
pub use put::{PutError, PutFailed, PutMediaBuilder, PutMediaClient, PutReport};
pub use selector::{ParseSelectorError, StartSelector};

use crate::kvs::FragmentNumber;

/// The control-plane client (GetDataEndpoint) on `sdk`, at `endpoint_url` when given (tests,
/// VPC endpoints); the media calls go to the data endpoints it returns.
fn control_client(sdk: &aws_types::SdkConfig, endpoint_url: Option<&str>) -> aws_sdk_kinesisvideo::Client {
    let mut b = aws_sdk_kinesisvideo::config::Builder::from(sdk);
    if let Some(url) = endpoint_url {
        b = b.endpoint_url(url);
    }
    aws_sdk_kinesisvideo::Client::from_conf(b.build())
}

/// Why a consumer could not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerError {
    /// The service sent an in-band error chunk (HTTP 200). Consuming goes on; persistent
    /// errors end in [`GaveUp`](Self::GaveUp).
    InBand {
        /// `ERROR_CODE` / `EXCEPTION_ERROR_CODE` (e.g. `FRAGMENT_NOT_FOUND`).
        code: Option<String>,
        /// `ERROR_ID` (e.g. `4000`).
        id: Option<String>,
        /// `EXCEPTION_MESSAGE`.
        message: Option<String>,
        /// The fragment number the error chunk named.
        fragment_number: Option<FragmentNumber>,
    },
    /// A resume point could not be saved. Consuming goes on; the point is saved with the
    /// next fragment.
    Checkpoint {
        /// The stream.
        stream: String,
        /// What the store said.
        message: String,
    },
    /// An archived fragment that was listed but could not be delivered (retention expired
    /// since it was listed, or it kept failing). Reading goes on with the next one.
    Missing {
        /// The fragment.
        fragment_number: FragmentNumber,
        /// Why.
        reason: String,
    },
    /// Too many consecutive failures, or one that retrying cannot fix; the last one is
    /// described. The consumer ends.
    GaveUp {
        /// Consecutive failures.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerError::InBand { code, id, message, fragment_number } => write!(
                f,
                "in-band GetMedia error: code {}, id {}{}{}",
                code.as_deref().unwrap_or("-"),
                id.as_deref().unwrap_or("-"),
                message.as_ref().map_or(String::new(), |m| format!(", {m}")),
                fragment_number.as_ref().map_or(String::new(), |n| format!(" (fragment {n})"))
            ),
            ConsumerError::Checkpoint { stream, message } => {
                write!(f, "saving the checkpoint of {stream}: {message}")
            }
            ConsumerError::Missing { fragment_number, reason } => {
                write!(f, "fragment {fragment_number} could not be delivered: {reason}")
            }
            ConsumerError::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} consecutive failures: {last}")
            }
        }
    }
}

impl std::error::Error for ConsumerError {}
