//! Where a GetMedia connection starts, written as the CLIs and the checkpoint file write it.

use std::fmt;
use std::str::FromStr;

use aws_sdk_kinesisvideomedia::primitives::DateTime;
use aws_sdk_kinesisvideomedia::types::{StartSelector as SdkSelector, StartSelectorType};

use crate::frame::FragmentMeta;
use crate::kvs::FragmentNumber;

/// Where GetMedia starts.
///
/// Its text form (`Display` and `FromStr`, round-trip) is the `--start` syntax of the
/// `get_media` CLI and the resume point in a checkpoint file: `now`, `earliest`,
/// `fragment:NUMBER`, `token:TOKEN`, `producer-ts:EPOCH_MS`, `server-ts:EPOCH_MS`.
///
/// ```
/// use kinesis_video_parser::aws::StartSelector;
/// let s: StartSelector = "fragment:91343852333181432392682062607743920146264440512".parse().unwrap();
/// assert_eq!(s.to_string().parse::<StartSelector>().unwrap(), s);
/// assert_eq!("producer-ts:1700000000000".parse(), Ok(StartSelector::ProducerTimestamp(1_700_000_000_000)));
/// assert!("later".parse::<StartSelector>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartSelector {
    /// The newest chunk.
    Now,
    /// The oldest retained chunk.
    Earliest,
    /// The chunk after this fragment number.
    AfterFragment(FragmentNumber),
    /// The chunk after the one that carried this continuation token.
    ContinuationToken(String),
    /// The chunk containing this producer time (ms since the Unix epoch).
    ProducerTimestamp(i64),
    /// The chunk containing this server time (ms since the Unix epoch).
    ServerTimestamp(i64),
}

impl StartSelector {
    /// Where to go on after `meta`'s fragment: its continuation token, or, when it carried
    /// none, the chunk after its number; `None` when it has neither.
    pub fn after(meta: &FragmentMeta) -> Option<StartSelector> {
        match (&meta.kvs.continuation_token, &meta.kvs.fragment_number) {
            (Some(token), _) => Some(StartSelector::ContinuationToken(token.clone())),
            (None, Some(n)) => Some(StartSelector::AfterFragment(n.clone())),
            (None, None) => None,
        }
    }

    pub(crate) fn to_sdk(&self) -> SdkSelector {
        let b = SdkSelector::builder();
        let b = match self {
            StartSelector::Now => b.start_selector_type(StartSelectorType::Now),
            StartSelector::Earliest => b.start_selector_type(StartSelectorType::Earliest),
            StartSelector::AfterFragment(n) => {
                b.start_selector_type(StartSelectorType::FragmentNumber).after_fragment_number(n.as_str())
            }
            StartSelector::ContinuationToken(t) => {
                b.start_selector_type(StartSelectorType::ContinuationToken).continuation_token(t)
            }
            StartSelector::ProducerTimestamp(ms) => {
                b.start_selector_type(StartSelectorType::ProducerTimestamp).start_timestamp(DateTime::from_millis(*ms))
            }
            StartSelector::ServerTimestamp(ms) => {
                b.start_selector_type(StartSelectorType::ServerTimestamp).start_timestamp(DateTime::from_millis(*ms))
            }
        };
        b.build().expect("the selector type is always set")
    }
}

impl fmt::Display for StartSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartSelector::Now => f.write_str("now"),
            StartSelector::Earliest => f.write_str("earliest"),
            StartSelector::AfterFragment(n) => write!(f, "fragment:{n}"),
            StartSelector::ContinuationToken(t) => write!(f, "token:{t}"),
            StartSelector::ProducerTimestamp(ms) => write!(f, "producer-ts:{ms}"),
            StartSelector::ServerTimestamp(ms) => write!(f, "server-ts:{ms}"),
        }
    }
}

/// Why a text was not a [`StartSelector`]: the message names the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseSelectorError(String);

impl fmt::Display for ParseSelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseSelectorError {}

impl FromStr for StartSelector {
    type Err = ParseSelectorError;

    fn from_str(s: &str) -> Result<Self, ParseSelectorError> {
        let bad = |what: &str| ParseSelectorError(format!("bad {what} in start selector {s:?}"));
        let ms = |v: &str| v.parse::<i64>().map_err(|_| bad("epoch milliseconds"));
        Ok(match s.split_once(':') {
            None if s == "now" => StartSelector::Now,
            None if s == "earliest" => StartSelector::Earliest,
            Some(("fragment", n)) => StartSelector::AfterFragment(n.parse().map_err(|_| bad("fragment number"))?),
            Some(("token", t)) if !t.is_empty() && !t.contains(char::is_whitespace) => {
                StartSelector::ContinuationToken(t.to_owned())
            }
            Some(("producer-ts", v)) => StartSelector::ProducerTimestamp(ms(v)?),
            Some(("server-ts", v)) => StartSelector::ServerTimestamp(ms(v)?),
            _ => return Err(ParseSelectorError(format!("unknown start selector {s:?}"))),
        })
    }
}
