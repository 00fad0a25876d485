//! Kinesis Video Streams metadata: the `AWS_KINESISVIDEO_*` tags of a fragment.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A KVS fragment number: a decimal string of up to 128 digits (about 47 in practice, which
/// does not fit in `u128`). Kept exactly; compared numerically.
///
/// ```
/// use kinesis_video_parser::FragmentNumber;
/// let a: FragmentNumber = "91343852333181432392682062607743920146159169392".parse().unwrap();
/// let b: FragmentNumber = "91343852333181432397633822764885441725874549018".parse().unwrap();
/// assert!(a < b);
/// assert!("9".parse::<FragmentNumber>().unwrap() < "10".parse().unwrap());
/// assert_eq!("007".parse::<FragmentNumber>().unwrap(), "7".parse().unwrap());
/// assert!("12a".parse::<FragmentNumber>().is_err());
/// ```
#[derive(Clone, Debug, Eq)]
pub struct FragmentNumber(Box<str>);

impl FragmentNumber {
    /// The digits exactly as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn significant(&self) -> &str {
        let t = self.0.trim_start_matches('0');
        if t.is_empty() {
            "0"
        } else {
            t
        }
    }
}

/// Why a KVS value was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseKvsError;

impl fmt::Display for ParseKvsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid KVS value")
    }
}

impl std::error::Error for ParseKvsError {}

impl FromStr for FragmentNumber {
    type Err = ParseKvsError;
    fn from_str(s: &str) -> Result<Self, ParseKvsError> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseKvsError);
        }
        Ok(FragmentNumber(s.into()))
    }
}

impl Ord for FragmentNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.significant(), other.significant());
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    }
}

impl PartialOrd for FragmentNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FragmentNumber {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl std::hash::Hash for FragmentNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.significant().hash(state)
    }
}

impl fmt::Display for FragmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A KVS timestamp: decimal seconds since the Unix epoch (`1511852109.126`), parsed exactly
/// with integers (no floating point). Up to 9 fractional digits are accepted.
///
/// ```
/// use kinesis_video_parser::KvsTimestamp;
/// let t: KvsTimestamp = "1511852109.126".parse().unwrap();
/// assert_eq!(t.millis(), 1_511_852_109_126);
/// assert_eq!(t.nanos(), 1_511_852_109_126_000_000);
/// assert_eq!("5".parse::<KvsTimestamp>().unwrap().millis(), 5000);
/// assert_eq!("0.5".parse::<KvsTimestamp>().unwrap().millis(), 500);
/// assert!("-1.0".parse::<KvsTimestamp>().is_err());
/// assert!("1e9".parse::<KvsTimestamp>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KvsTimestamp {
    nanos: u64,
    raw: Box<str>,
}

impl KvsTimestamp {
    /// Milliseconds since the Unix epoch (fractional digits past the third are dropped).
    pub fn millis(&self) -> u64 {
        self.nanos / 1_000_000
    }

    /// Nanoseconds since the Unix epoch.
    pub fn nanos(&self) -> u64 {
        self.nanos
    }

    /// The string as received.
    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl FromStr for KvsTimestamp {
    type Err = ParseKvsError;
    fn from_str(s: &str) -> Result<Self, ParseKvsError> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        let secs = decimal(int).ok_or(ParseKvsError)?;
        let ns_frac = match frac {
            None => 0,
            Some(f) if f.len() <= 9 => decimal(f).ok_or(ParseKvsError)? * 10u64.pow(9 - f.len() as u32),
            Some(_) => return Err(ParseKvsError),
        };
        let nanos = secs.checked_mul(1_000_000_000).and_then(|n| n.checked_add(ns_frac)).ok_or(ParseKvsError)?;
        Ok(KvsTimestamp { nanos, raw: s.into() })
    }
}

/// The value of one or more ASCII digits; `None` for anything else or past `u64`.
fn decimal(t: &str) -> Option<u64> {
    if t.is_empty() {
        return None;
    }
    t.bytes().try_fold(0u64, |v, b| v.checked_mul(10)?.checked_add(u64::from(b.checked_sub(b'0').filter(|d| *d < 10)?)))
}

/// The KVS metadata of one fragment, from its `AWS_KINESISVIDEO_*` tags.
///
/// Both the GetMedia spellings and the GetMediaForFragmentList ones (`…_SIDE_TIMESTAMP`,
/// `EXCEPTION_ERROR_CODE`, `EXCEPTION_MESSAGE`) are accepted. Every `AWS_KINESISVIDEO_*` tag,
/// known or not, is also kept in [`aws_tags`](Self::aws_tags) in stream order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvsMetadata {
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`.
    pub fragment_number: Option<FragmentNumber>,
    /// `AWS_KINESISVIDEO_SERVER_TIMESTAMP` / `…_SERVER_SIDE_TIMESTAMP`.
    pub server_timestamp: Option<KvsTimestamp>,
    /// `AWS_KINESISVIDEO_PRODUCER_TIMESTAMP` / `…_PRODUCER_SIDE_TIMESTAMP`.
    pub producer_timestamp: Option<KvsTimestamp>,
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW`.
    pub millis_behind_now: Option<u64>,
    /// `AWS_KINESISVIDEO_CONTINUATION_TOKEN` (opaque).
    pub continuation_token: Option<String>,
    /// `AWS_KINESISVIDEO_ERROR_CODE` / `…_EXCEPTION_ERROR_CODE`.
    pub error_code: Option<String>,
    /// `AWS_KINESISVIDEO_ERROR_ID`.
    pub error_id: Option<String>,
    /// `AWS_KINESISVIDEO_EXCEPTION_MESSAGE`.
    pub error_message: Option<String>,
    /// Every `AWS_KINESISVIDEO_*` tag as (name, value), in stream order, including ones
    /// this crate does not interpret (`END_OF_FRAGMENT`, `NOTIFICATION`, …) and values that
    /// failed to parse.
    pub aws_tags: Vec<(String, String)>,
}

/// Prefix of every tag name reserved for the service and the producer SDK.
pub const AWS_PREFIX: &str = "AWS_KINESISVIDEO_";

impl KvsMetadata {
    /// Records one `AWS_KINESISVIDEO_*` tag. Returns `false` for names without the prefix.
    pub fn apply(&mut self, name: &str, value: &str) -> bool {
        let Some(key) = name.strip_prefix(AWS_PREFIX) else {
            return false;
        };
        self.aws_tags.push((name.to_owned(), value.to_owned()));
        match key {
            "FRAGMENT_NUMBER" => self.fragment_number = value.parse().ok(),
            "SERVER_TIMESTAMP" | "SERVER_SIDE_TIMESTAMP" => self.server_timestamp = value.parse().ok(),
            "PRODUCER_TIMESTAMP" | "PRODUCER_SIDE_TIMESTAMP" => self.producer_timestamp = value.parse().ok(),
            "MILLIS_BEHIND_NOW" => self.millis_behind_now = value.parse().ok(),
            "CONTINUATION_TOKEN" => self.continuation_token = Some(value.to_owned()),
            "ERROR_CODE" | "EXCEPTION_ERROR_CODE" => self.error_code = Some(value.to_owned()),
            "ERROR_ID" => self.error_id = Some(value.to_owned()),
            "EXCEPTION_MESSAGE" => self.error_message = Some(value.to_owned()),
            _ => {}
        }
        true
    }

    /// `true` once both trailing GetMedia tags (`MILLIS_BEHIND_NOW` and
    /// `CONTINUATION_TOKEN`) have arrived: the chunk is complete by the KVS rule.
    pub fn is_kvs_complete(&self) -> bool {
        self.millis_behind_now.is_some() && self.continuation_token.is_some()
    }

    /// `true` for an in-band error chunk (any error tag, whatever its value).
    pub fn is_error(&self) -> bool {
        self.error_code.is_some() || self.error_id.is_some() || self.error_message.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_stop_at_u64() {
        assert_eq!(decimal("18446744073709551615"), Some(u64::MAX));
        assert_eq!(decimal("18446744073709551616"), None);
        assert_eq!(decimal("007"), Some(7));
        for bad in ["", "+1", "1 ", "-0", "1.0", "\u{0660}"] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
        assert!("18446744073.709551616".parse::<KvsTimestamp>().is_err(), "past u64 in ns");
        assert!("5.".parse::<KvsTimestamp>().is_err() && ".5".parse::<KvsTimestamp>().is_err());
        assert!("1.0123456789".parse::<KvsTimestamp>().is_err(), "ten fractional digits");
        assert_eq!("1.123456789".parse::<KvsTimestamp>().unwrap().nanos(), 1_123_456_789);
    }

    #[test]
    fn timestamps_exact_where_f64_ceil_is_not() {
        // Every millisecond value of a second: exact integer parsing never drifts.
        for ms in 0..1000u64 {
            let s = format!("1519423069.{ms:03}");
            assert_eq!(s.parse::<KvsTimestamp>().unwrap().millis(), 1_519_423_069_000 + ms);
        }
        assert_eq!("1.123456789".parse::<KvsTimestamp>().unwrap().nanos(), 1_123_456_789);
        for bad in ["", ".", "1.", ".5", "+1", "1.2.3", "1.1234567890", " 1", "1,5", "99999999999999999999"] {
            assert!(bad.parse::<KvsTimestamp>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn fragment_numbers_order_numerically() {
        let n = |s: &str| s.parse::<FragmentNumber>().unwrap();
        assert!(
            n("91343852333181432392682062607743920146159169392") > n("9134385233318143239268206260774392014615916939")
        );
        assert!(n("0000123") < n("124"));
        assert_eq!(n("0"), n("000"));
        assert!(FragmentNumber::from_str(&"1".repeat(129)).is_err());
        assert!(FragmentNumber::from_str(&"1".repeat(128)).is_ok());
    }

    #[test]
    fn both_spellings() {
        let mut m = KvsMetadata::default();
        assert!(m.apply("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", "1.5"));
        assert!(m.apply("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "4000"));
        assert!(m.apply("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "not found"));
        assert!(m.apply("AWS_KINESISVIDEO_SOMETHING_NEW", "x"));
        assert!(!m.apply("CAMERA", "front"));
        assert_eq!(m.server_timestamp.as_ref().unwrap().millis(), 1500);
        assert_eq!(m.error_code.as_deref(), Some("4000"));
        assert!(m.is_error());
        assert_eq!(m.aws_tags.len(), 4);
    }
}
