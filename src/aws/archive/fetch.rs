//! One batch of an archive read: GetMediaForFragmentList for a run of listed fragments,
//! re-asked from the first fragment not yet delivered until every one is delivered or known
//! to be gone.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesisvideoarchivedmedia::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::demux::DemuxOptions;
use crate::kvs::FragmentNumber;

use super::super::{ConsumerError, Delivery, LiveItem};
use super::pace::{ByteRate, Pacer};
use super::ListedFragment;

/// An item on its way to the reader, with the share of the batch's byte budget it holds.
pub(super) type Sent = (Result<LiveItem, ConsumerError>, Option<OwnedSemaphorePermit>);

/// Settings every batch of a read shares.
#[derive(Debug)]
pub(super) struct FetchConfig {
    pub stream: Arc<str>,
    pub options: DemuxOptions,
    pub read_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub max_failures: u32,
    /// Bytes of items a batch may hold that the reader has not taken yet.
    pub budget_bytes: usize,
    pub pacer: Pacer,
    pub byte_rate: ByteRate,
}

/// The budget is counted in KiB so that a permit count fits in a `u32`.
const UNIT: usize = 1024;

/// Fetches `fragments` in order and sends their items to `tx`; every fragment ends up
/// delivered or reported ([`ConsumerError::Missing`]).
pub(super) async fn run(
    client: Client,
    fragments: Vec<ListedFragment>,
    cfg: Arc<FetchConfig>,
    tx: mpsc::UnboundedSender<Sent>,
) {
    let units = (cfg.budget_bytes / UNIT).clamp(1, Semaphore::MAX_PERMITS) as u32;
    let mut batch = Batch {
        budget: Arc::new(Semaphore::new(units as usize)),
        units,
        delivery: Delivery::for_archive(cfg.stream.clone(), cfg.options),
        next: 0,
        failures: 0,
        tx,
        cfg,
        fragments,
    };
    batch.fetch_all(&client).await;
}

struct Batch {
    cfg: Arc<FetchConfig>,
    fragments: Vec<ListedFragment>,
    tx: mpsc::UnboundedSender<Sent>,
    budget: Arc<Semaphore>,
    units: u32,
    delivery: Delivery,
    /// The first fragment not yet delivered or reported.
    next: usize,
    failures: u32,
}

/// How a call for fragments `next..next + take` ended.
enum Outcome {
    /// The body ended; what it held is delivered.
    Ended,
    /// The call or the body failed; `gone` when the service says a fragment asked for is not
    /// there (retention expired since it was listed).
    Failed { why: String, gone: bool, fatal: bool },
    /// The reader went away.
    Closed,
}

impl Batch {
    async fn fetch_all(&mut self, client: &Client) {
        let mut take = self.fragments.len();
        while self.next < self.fragments.len() {
            let want = take.min(self.fragments.len() - self.next);
            let before = self.next;
            match self.call(client, want).await {
                Outcome::Closed => return,
                Outcome::Ended if self.next >= before + want => {
                    self.failures = 0;
                    take = self.fragments.len(); // back to whole requests after a search
                }
                Outcome::Ended => {
                    let why = "the body ended before the fragments asked for".to_owned();
                    if !self.failed(why, want).await {
                        return;
                    }
                }
                Outcome::Failed { why, gone: true, .. } if want == 1 => {
                    if !self.report(self.next, why) {
                        return;
                    }
                    self.next += 1;
                    self.failures = 0;
                }
                // One of them is gone: halve the request until it is found.
                Outcome::Failed { gone: true, .. } => take = want.div_ceil(2),
                Outcome::Failed { why, fatal: true, .. } => {
                    self.give_up(why);
                    return;
                }
                Outcome::Failed { why, .. } => {
                    if !self.failed(why, want).await {
                        return;
                    }
                }
            }
        }
    }

    /// Counts a failure and waits before the next attempt; once there are too many, reports
    /// the fragments not delivered and ends (`false`).
    async fn failed(&mut self, why: String, asked: usize) -> bool {
        self.delivery.connection_lost();
        self.failures += 1;
        if self.failures >= self.cfg.max_failures {
            self.give_up(format!("after {} attempts: {why}", self.failures));
            return false;
        }
        let exp = super::super::backoff::exponential(self.cfg.backoff_initial, self.cfg.backoff_max, self.failures);
        tracing::warn!(stream = %self.cfg.stream, failures = self.failures, asked, wait = ?exp, "{why}; backing off");
        tokio::time::sleep(exp).await;
        true
    }

    fn give_up(&mut self, why: String) {
        tracing::error!(stream = %self.cfg.stream, "giving up on {} fragments: {why}", self.fragments.len() - self.next);
        for i in self.next..self.fragments.len() {
            if !self.report(i, why.clone()) {
                return;
            }
        }
        self.next = self.fragments.len();
    }

    /// Reports fragment `i` as not deliverable; `false` when the reader went away.
    fn report(&self, i: usize, reason: String) -> bool {
        let e = ConsumerError::Missing { fragment_number: self.fragments[i].number.clone(), reason };
        self.tx.send((Err(e), None)).is_ok()
    }

    async fn call(&mut self, client: &Client, take: usize) -> Outcome {
        let asked: Vec<String> =
            self.fragments[self.next..self.next + take].iter().map(|f| f.number.to_string()).collect();
        self.cfg.pacer.turn().await;
        let r =
            client.get_media_for_fragment_list().stream_name(&*self.cfg.stream).set_fragments(Some(asked)).send().await;
        let mut body = match r {
            Ok(out) => out.payload,
            Err(e) => {
                let code = e.code().map(str::to_owned);
                let why = format!("GetMediaForFragmentList: {}", DisplayErrorContext(&e));
                let gone = code.as_deref() == Some("ResourceNotFoundException");
                let fatal = matches!(
                    code.as_deref(),
                    Some("NotAuthorizedException" | "InvalidArgumentException" | "AccessDeniedException")
                );
                return Outcome::Failed { why, gone, fatal };
            }
        };
        self.delivery.connection_lost(); // a new body: a fresh parse, the flight kept
        loop {
            if !self.drain().await {
                return Outcome::Closed;
            }
            match tokio::time::timeout(self.cfg.read_timeout, body.next()).await {
                Ok(Some(Ok(bytes))) => {
                    self.cfg.byte_rate.pay(bytes.len()).await;
                    self.delivery.push(bytes)
                }
                Ok(Some(Err(e))) => {
                    let why = format!("connection lost: {}", DisplayErrorContext(e));
                    return Outcome::Failed { why, gone: false, fatal: false };
                }
                Ok(None) => {
                    self.delivery.end_of_response();
                    return if self.drain().await { Outcome::Ended } else { Outcome::Closed };
                }
                Err(_) => {
                    let why = format!("no data for {:?}", self.cfg.read_timeout);
                    return Outcome::Failed { why, gone: false, fatal: false };
                }
            }
        }
    }

    /// Sends what the bytes so far hold; `false` when the reader went away.
    async fn drain(&mut self) -> bool {
        while let Some(item) = self.delivery.next_item() {
            let bytes = match &item {
                Ok(LiveItem::Frame(f)) => f.frame.len(),
                _ => 0,
            };
            match &item {
                Ok(LiveItem::Fragment(f)) if !f.meta.split => {
                    self.failures = 0;
                    if !self.delivered(f.meta.kvs.fragment_number.as_ref()) {
                        return false;
                    }
                }
                Err(ConsumerError::InBand { fragment_number, code, message, .. }) => {
                    // The service could not serve a fragment it listed: named, the rest go on.
                    let why = format!(
                        "in-band error {}: {}",
                        code.as_deref().unwrap_or("-"),
                        message.as_deref().unwrap_or("-")
                    );
                    match fragment_number.as_ref().and_then(|n| self.position(n)) {
                        Some(i) => {
                            if !self.skip_to(i, "not in the body") || !self.report(i, why) {
                                return false;
                            }
                            self.next = i + 1;
                        }
                        None => tracing::warn!(stream = %self.cfg.stream, "{why}"),
                    }
                    continue;
                }
                _ => {}
            }
            let units = ((bytes / UNIT) as u32).clamp(1, self.units);
            let Ok(permit) = self.budget.clone().acquire_many_owned(units).await else { return false };
            if self.tx.send((item, Some(permit))).is_err() {
                return false;
            }
        }
        true
    }

    fn position(&self, n: &FragmentNumber) -> Option<usize> {
        self.fragments[self.next..].iter().position(|f| &f.number == n).map(|i| self.next + i)
    }

    /// A fragment closed: it is the next one asked for, or the ones before it were left out.
    fn delivered(&mut self, number: Option<&FragmentNumber>) -> bool {
        match number.and_then(|n| self.position(n)) {
            Some(i) => {
                let ok = self.skip_to(i, "not in the body");
                self.next = i + 1;
                ok
            }
            None => {
                self.next += 1;
                true
            }
        }
    }

    /// Reports the fragments before `i` that the body skipped.
    fn skip_to(&mut self, i: usize, why: &str) -> bool {
        while self.next < i {
            if !self.report(self.next, why.to_owned()) {
                return false;
            }
            self.next += 1;
        }
        true
    }
}
