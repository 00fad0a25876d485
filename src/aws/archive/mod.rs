//! Archived media: a time range of a stream, in time order, each fragment exactly once
//! (ListFragments, then GetMediaForFragmentList in parallel batches).

mod fetch;
mod listing;
mod pace;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_kinesisvideo::types::ApiName;
use aws_sdk_kinesisvideoarchivedmedia::primitives::DateTime;
use aws_sdk_kinesisvideoarchivedmedia::types::{FragmentSelector, FragmentSelectorType, TimestampRange};
use aws_sdk_kinesisvideoarchivedmedia::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::mpsc;

pub use listing::{order, ListedFragment, TimeKind};

use crate::demux::DemuxOptions;

use super::live::save_checkpoint;
use super::{CheckpointStore, ConsumerError, LiveItem, StartSelector};
use fetch::{FetchConfig, Sent};
use pace::{ByteRate, Pacer};

/// How an [`ArchiveReader`] reads; made by [`ArchiveReader::builder`].
#[derive(Debug, Clone)]
pub struct ArchiveBuilder {
    stream: String,
    kind: TimeKind,
    from_ms: u64,
    to_ms: u64,
    endpoint_url: Option<String>,
    batch: usize,
    parallel: usize,
    calls_per_second: f64,
    bytes_per_second: Option<u64>,
    buffer_bytes: usize,
    read_timeout: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_failures: u32,
    max_fragments: Option<usize>,
    options: DemuxOptions,
    checkpoints: Option<Arc<dyn CheckpointStore>>,
    given: Option<Vec<ListedFragment>>,
}

impl ArchiveBuilder {
    /// The clock the range is on (default: the producer's).
    pub fn time(mut self, kind: TimeKind) -> Self {
        self.kind = kind;
        self
    }

    /// The endpoint for GetDataEndpoint (tests, VPC endpoints); the media calls go to the
    /// data endpoints it returns.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Fragments per GetMediaForFragmentList call (default 100; the service takes 1000).
    pub fn batch(mut self, fragments: usize) -> Self {
        self.batch = fragments.clamp(1, 1000);
        self
    }

    /// Batches in flight at once (default 3; the service allows 5 concurrent calls).
    pub fn parallel(mut self, batches: usize) -> Self {
        self.parallel = batches.max(1);
        self
    }

    /// Calls per second across the read, list and media (default 5, the service's limit per
    /// stream).
    pub fn calls_per_second(mut self, calls: f64) -> Self {
        self.calls_per_second = calls;
        self
    }

    /// Media bytes per second across the read (default 25 MB/s, the service's limit per
    /// stream); `None` for no limit (a stand-in, a benchmark).
    pub fn bytes_per_second(mut self, bytes: Option<u64>) -> Self {
        self.bytes_per_second = bytes;
        self
    }

    /// Bytes of frames fetched ahead and not yet taken, over all batches (default 64 MiB):
    /// the reorder buffer's bound.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Silence inside a body after which it is re-asked (default 10 s).
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    /// First and longest wait between attempts after a failure (default 200 ms, 10 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Consecutive failures after which a batch's fragments are reported missing, or the
    /// listing gives up (default 10).
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// At most this many fragments, the earliest of the range.
    pub fn max_fragments(mut self, n: usize) -> Self {
        self.max_fragments = Some(n);
        self
    }

    /// Parser options (limits, CRC checking).
    pub fn options(mut self, options: DemuxOptions) -> Self {
        self.options = options;
        self
    }

    /// Reads exactly these fragments, in this order, instead of listing the range: a
    /// listing made once ([`ArchiveReader::listing`]) and split among workers, each reading
    /// its share. The range and the clock still name the job for its checkpoints.
    pub fn fragments(mut self, listed: Vec<ListedFragment>) -> Self {
        self.given = Some(listed);
        self
    }

    /// Saves the job's progress after each fragment the caller processed, under
    /// [`ArchiveReader::checkpoint_key`]; a re-run of the same job continues after it.
    pub fn checkpoints(mut self, store: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(store);
        self
    }

    /// The reader, on `sdk`'s region and credentials. Nothing is asked before the first
    /// [`ArchiveReader::next`].
    pub fn build(self, sdk: &aws_types::SdkConfig) -> ArchiveReader {
        ArchiveReader::new(self, sdk)
    }
}

/// A time range of a stream, fragment by fragment in time order, each exactly once.
///
/// It lists the range (ListFragments, every page; the pages come in no order), sorts it by
/// the chosen timestamp (ties by fragment number as a number), drops repeats, then fetches
/// the fragments with GetMediaForFragmentList in batches, several in flight, and yields the
/// same items as the live consumer: each frame ([`LiveItem::Frame`]) then its fragment
/// ([`LiveItem::Fragment`]). Throttling and 5xx answers back off and retry; a body cut in
/// the middle is asked again from the first fragment not yet delivered, without repeating a
/// frame; a fragment that can no longer be had (retention expired since it was listed) is
/// reported as [`ConsumerError::Missing`] and the rest follow. Batches fetched ahead wait,
/// bounded in bytes, until their turn.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kinesis_video_parser::aws::{ArchiveReader, LiveItem, TimeKind};
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let (from, to) = (1_764_000_000_000, 1_764_003_600_000); // ms since the epoch, inclusive
/// let mut archive = ArchiveReader::builder("cam-7", from, to).time(TimeKind::Producer).build(&sdk);
/// while let Some(item) = archive.next().await {
///     if let LiveItem::Fragment(f) = item? {
///         println!("{:?}: {} frames", f.meta.kvs.fragment_number, f.meta.frames);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ArchiveReader {
    cfg: ArchiveBuilder,
    sdk: aws_types::SdkConfig,
    fetch: Option<Arc<FetchConfig>>,
    media: Option<Client>,
    listed: Option<Vec<ListedFragment>>,
    /// Batches not yet started.
    todo: VecDeque<Vec<ListedFragment>>,
    /// Batches in flight, in time order: the front one is being yielded.
    flight: VecDeque<mpsc::UnboundedReceiver<Sent>>,
    delivered: u64,
    unsaved: Option<StartSelector>,
    ended: bool,
}

impl ArchiveReader {
    /// A builder for the fragments of `stream` (name or ARN) whose timestamps lie in
    /// `from_ms..=to_ms` (ms since the Unix epoch).
    pub fn builder(stream: impl Into<String>, from_ms: u64, to_ms: u64) -> ArchiveBuilder {
        ArchiveBuilder {
            stream: stream.into(),
            kind: TimeKind::Producer,
            from_ms,
            to_ms,
            endpoint_url: None,
            batch: 100,
            parallel: 3,
            calls_per_second: 5.0,
            bytes_per_second: Some(25_000_000),
            buffer_bytes: 64 << 20,
            read_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_failures: 10,
            max_fragments: None,
            options: DemuxOptions::default(),
            checkpoints: None,
            given: None,
        }
    }

    fn new(cfg: ArchiveBuilder, sdk: &aws_types::SdkConfig) -> Self {
        ArchiveReader {
            sdk: sdk.clone(),
            fetch: None,
            media: None,
            listed: None,
            todo: VecDeque::new(),
            flight: VecDeque::new(),
            delivered: 0,
            unsaved: None,
            ended: false,
            cfg,
        }
    }

    /// Where this job's progress is saved: the stream, the clock and the range.
    pub fn checkpoint_key(&self) -> String {
        let c = &self.cfg;
        format!("{}@{}:{}-{}", c.stream, c.kind.selector_type(), c.from_ms, c.to_ms)
    }

    /// The fragments to be delivered, in order, once listed (after a checkpoint's, if any).
    pub fn listed(&self) -> Option<&[ListedFragment]> {
        self.listed.as_deref()
    }

    /// Lists the range now, if not done yet, and returns what [`listed`](Self::listed)
    /// will: the fragments to be delivered, in order.
    ///
    /// # Errors
    /// [`ConsumerError::GaveUp`]: the listing failed (retries spent) or the checkpoint
    /// could not be loaded.
    pub async fn listing(&mut self) -> Result<&[ListedFragment], ConsumerError> {
        if self.listed.is_none() {
            self.list().await?;
        }
        Ok(self.listed.as_deref().unwrap_or_default())
    }

    /// The next item, `None` once the range is delivered. A [`ConsumerError::Missing`]
    /// names a fragment that could not be delivered (reading goes on);
    /// [`ConsumerError::GaveUp`] ends the reader (the listing failed).
    pub async fn next(&mut self) -> Option<Result<LiveItem, ConsumerError>> {
        if let (Some(point), Some(store)) = (self.unsaved.take(), self.cfg.checkpoints.clone()) {
            if let Err(e) = save_checkpoint(store, self.checkpoint_key().into(), point).await {
                return Some(Err(e));
            }
        }
        if self.ended {
            return None;
        }
        if self.listed.is_none() {
            if let Err(e) = self.list().await {
                self.ended = true;
                return Some(Err(e));
            }
        }
        loop {
            while self.flight.len() < self.cfg.parallel {
                let Some(batch) = self.todo.pop_front() else { break };
                self.start(batch);
            }
            let front = self.flight.front_mut()?;
            match front.recv().await {
                Some((item, permit)) => {
                    drop(permit); // its bytes leave the buffer with it
                    return Some(self.number(item));
                }
                None => {
                    self.flight.pop_front();
                }
            }
        }
    }

    /// Gives the items of all batches one run of fragment indexes, and notes resume points.
    fn number(&mut self, item: Result<LiveItem, ConsumerError>) -> Result<LiveItem, ConsumerError> {
        match item {
            Ok(LiveItem::Frame(mut f)) => {
                f.frame.info.fragment = self.delivered;
                Ok(LiveItem::Frame(f))
            }
            Ok(LiveItem::Fragment(mut f)) => {
                f.meta.index = self.delivered;
                self.delivered += 1;
                if !f.meta.split {
                    f.resume_after = f.meta.kvs.fragment_number.clone().map(StartSelector::AfterFragment);
                    self.unsaved = f.resume_after.clone();
                }
                Ok(LiveItem::Fragment(f))
            }
            Err(e) => Err(e),
        }
    }

    fn start(&mut self, batch: Vec<ListedFragment>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (client, cfg) = (self.media.clone().expect("listed first"), self.fetch.clone().expect("listed first"));
        tokio::spawn(fetch::run(client, batch, cfg, tx));
        self.flight.push_back(rx);
    }

    /// Lists the range, puts it in order, skips what a checkpoint says was done, and plans
    /// the batches.
    async fn list(&mut self) -> Result<(), ConsumerError> {
        let control = super::control_client(&self.sdk, self.cfg.endpoint_url.as_deref());
        let pacer = Pacer::new(self.cfg.calls_per_second);
        let media = self.client(&control, ApiName::GetMediaForFragmentList, &pacer).await?;
        let mut ordered = match self.cfg.given.clone() {
            Some(given) => given,
            None => {
                let lister = self.client(&control, ApiName::ListFragments, &pacer).await?;
                let mut all = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let page = self
                        .retrying("ListFragments", &pacer, || {
                            let mut call = lister.list_fragments().stream_name(&self.cfg.stream).max_results(1000);
                            call = match &token {
                                Some(t) => call.next_token(t),
                                None => call.fragment_selector(self.selector()),
                            };
                            call.send()
                        })
                        .await?;
                    for f in page.fragments() {
                        match listed(f) {
                            Some(l) => all.push(l),
                            None => {
                                tracing::warn!(stream = %self.cfg.stream, "ListFragments: an entry without a number: {f:?}")
                            }
                        }
                    }
                    match page.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                        _ => break,
                    }
                }
                order(all, self.cfg.kind, self.cfg.from_ms, self.cfg.to_ms)
            }
        };
        if let Some(store) = &self.cfg.checkpoints {
            let (store, key) = (store.clone(), self.checkpoint_key());
            let point = tokio::task::spawn_blocking(move || store.load(&key)).await;
            let point = match point {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    return Err(ConsumerError::GaveUp { attempts: 1, last: format!("loading the checkpoint: {e}") })
                }
                Err(e) => {
                    return Err(ConsumerError::GaveUp { attempts: 1, last: format!("loading the checkpoint: {e}") })
                }
            };
            if let Some(StartSelector::AfterFragment(done)) = point {
                if let Some(i) = ordered.iter().position(|f| f.number == done) {
                    tracing::info!(stream = %self.cfg.stream, %done, skipped = i + 1, "resuming after the checkpoint");
                    ordered.drain(..=i);
                }
            }
        }
        if let Some(n) = self.cfg.max_fragments {
            ordered.truncate(n);
        }
        self.todo = ordered.chunks(self.cfg.batch).map(<[_]>::to_vec).collect();
        self.listed = Some(ordered);
        self.media = Some(media);
        let c = &self.cfg;
        self.fetch = Some(Arc::new(FetchConfig {
            stream: c.stream.as_str().into(),
            options: c.options,
            read_timeout: c.read_timeout,
            backoff_initial: c.backoff_initial,
            backoff_max: c.backoff_max,
            max_failures: c.max_failures,
            budget_bytes: c.buffer_bytes / c.parallel,
            pacer,
            byte_rate: ByteRate::new(c.bytes_per_second),
        }));
        Ok(())
    }

    fn selector(&self) -> FragmentSelector {
        let ts = |ms: u64| DateTime::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
        let kind = match self.cfg.kind {
            TimeKind::Producer => FragmentSelectorType::ProducerTimestamp,
            TimeKind::Server => FragmentSelectorType::ServerTimestamp,
        };
        let range = TimestampRange::builder()
            .start_timestamp(ts(self.cfg.from_ms))
            .end_timestamp(ts(self.cfg.to_ms))
            .build()
            .expect("both ends set");
        FragmentSelector::builder().fragment_selector_type(kind).timestamp_range(range).build().expect("all fields set")
    }

    /// An archived-media client on the data endpoint of `api`.
    async fn client(
        &self,
        control: &aws_sdk_kinesisvideo::Client,
        api: ApiName,
        pacer: &Pacer,
    ) -> Result<Client, ConsumerError> {
        let out = self
            .retrying("GetDataEndpoint", pacer, || {
                control.get_data_endpoint().stream_name(&self.cfg.stream).api_name(api.clone()).send()
            })
            .await?;
        let Some(url) = out.data_endpoint() else {
            return Err(ConsumerError::GaveUp { attempts: 1, last: "GetDataEndpoint returned no endpoint".into() });
        };
        let conf = aws_sdk_kinesisvideoarchivedmedia::config::Builder::from(&self.sdk)
            .endpoint_url(url)
            // Retries are the reader's job: it knows what was delivered.
            .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
            .build();
        Ok(Client::from_conf(conf))
    }

    /// A control-plane call, retried with backoff on throttling and 5xx.
    async fn retrying<T, E, F, Fut>(&self, what: &str, pacer: &Pacer, mut call: F) -> Result<T, ConsumerError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, aws_sdk_kinesisvideoarchivedmedia::error::SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut failures = 0u32;
        loop {
            pacer.turn().await;
            let e = match call().await {
                Ok(out) => return Ok(out),
                Err(e) => e,
            };
            failures += 1;
            let last = format!("{what}: {}", DisplayErrorContext(&e));
            const FATAL: [&str; 4] = [
                "ResourceNotFoundException",
                "NotAuthorizedException",
                "InvalidArgumentException",
                "AccessDeniedException",
            ];
            if failures >= self.cfg.max_failures || e.code().is_some_and(|c| FATAL.contains(&c)) {
                tracing::error!(stream = %self.cfg.stream, failures, "giving up: {last}");
                return Err(ConsumerError::GaveUp { attempts: failures, last });
            }
            let wait = super::backoff::exponential(self.cfg.backoff_initial, self.cfg.backoff_max, failures);
            tracing::warn!(stream = %self.cfg.stream, failures, ?wait, "{last}; backing off");
            tokio::time::sleep(wait).await;
        }
    }
}

/// A ListFragments entry, if it has a valid number.
fn listed(f: &aws_sdk_kinesisvideoarchivedmedia::types::Fragment) -> Option<ListedFragment> {
    // Epoch seconds arrive as a JSON float (1700000000.123 is 1700000000.12299990…): to the
    // nearest millisecond, not truncated.
    let ms = |t: Option<&DateTime>| {
        t.map_or(0, |t| (t.secs().max(0) as u64) * 1000 + (u64::from(t.subsec_nanos()) + 500_000) / 1_000_000)
    };
    Some(ListedFragment {
        number: f.fragment_number()?.parse().ok()?,
        producer_ms: ms(f.producer_timestamp()),
        server_ms: ms(f.server_timestamp()),
        size: f.fragment_size_in_bytes().max(0) as u64,
        duration_ms: f.fragment_length_in_milliseconds().max(0) as u64,
    })
}
