//! What ListFragments answered, put in order: no I/O.
//!
//! ListFragments pages come back in no order, even across pages, and may repeat a fragment;
//! a page may hold fewer fragments than asked. [`order`] keeps those inside the range
//! (inclusive at both ends), sorts them by the chosen timestamp, breaks ties by fragment
//! number compared as a number (their count of digits changes over a stream's life), and
//! drops repeats.

use crate::kvs::FragmentNumber;

/// Which clock a time range is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeKind {
    /// The producer's timestamps (`ProducerTimestamp`), as the camera stamped them.
    #[default]
    Producer,
    /// The service's timestamps (`ServerTimestamp`), when KVS received each fragment.
    Server,
}

impl TimeKind {
    /// The `FragmentSelectorType` of ListFragments.
    pub fn selector_type(self) -> &'static str {
        match self {
            TimeKind::Producer => "PRODUCER_TIMESTAMP",
            TimeKind::Server => "SERVER_TIMESTAMP",
        }
    }
}

impl std::str::FromStr for TimeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "producer" => Ok(TimeKind::Producer),
            "server" => Ok(TimeKind::Server),
            _ => Err(format!("expected producer or server, not {s:?}")),
        }
    }
}

/// One fragment as ListFragments describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFragment {
    /// `FragmentNumber`.
    pub number: FragmentNumber,
    /// `ProducerTimestamp`, ms since the Unix epoch.
    pub producer_ms: u64,
    /// `ServerTimestamp`, ms since the Unix epoch.
    pub server_ms: u64,
    /// `FragmentSizeInBytes`.
    pub size: u64,
    /// `FragmentLengthInMilliseconds`.
    pub duration_ms: u64,
}

impl ListedFragment {
    /// Its timestamp on `kind`'s clock.
    pub fn timestamp_ms(&self, kind: TimeKind) -> u64 {
        match kind {
            TimeKind::Producer => self.producer_ms,
            TimeKind::Server => self.server_ms,
        }
    }
}

/// The fragments of `listed` whose `kind` timestamp lies in `from_ms..=to_ms`, in time order
/// (ties by fragment number, as a number), each once.
pub fn order(mut listed: Vec<ListedFragment>, kind: TimeKind, from_ms: u64, to_ms: u64) -> Vec<ListedFragment> {
    listed.retain(|f| (from_ms..=to_ms).contains(&f.timestamp_ms(kind)));
    listed.sort_by(|a, b| a.timestamp_ms(kind).cmp(&b.timestamp_ms(kind)).then_with(|| a.number.cmp(&b.number)));
    // A repeat has the same timestamps, so it sits next to its twin once sorted.
    listed.dedup_by(|a, b| a.number == b.number);
    listed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(number: &str, producer_ms: u64) -> ListedFragment {
        ListedFragment {
            number: number.parse().unwrap(),
            producer_ms,
            server_ms: producer_ms + 5,
            size: 1,
            duration_ms: 2,
        }
    }

    #[test]
    fn ties_by_number_as_a_number_repeats_dropped_range_inclusive() {
        let listed = vec![f("100", 30), f("99", 30), f("7", 10), f("1000", 30), f("99", 30), f("5", 40), f("3", 9)];
        let got: Vec<String> = order(listed, TimeKind::Producer, 10, 40).iter().map(|f| f.number.to_string()).collect();
        assert_eq!(got, ["7", "99", "100", "1000", "5"]);
    }

    #[test]
    fn server_time_is_its_own_clock() {
        // Server times are 15 and 25; producer times 10 and 20.
        let listed = vec![f("1", 10), f("2", 20)];
        let numbers = |from, to| -> Vec<String> {
            order(listed.clone(), TimeKind::Server, from, to).iter().map(|f| f.number.to_string()).collect()
        };
        assert_eq!(numbers(15, 24), ["1"]);
        assert_eq!(numbers(16, 25), ["2"]);
        assert_eq!(numbers(11, 14), Vec::<String>::new());
    }
}
