//! One stream, live: GetMedia connections, reconnects with backoff, read timeouts, resume
//! points saved durably. The delivery rules are [`Delivery`]'s; this file only does I/O.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kinesisvideo::types::ApiName;
use aws_sdk_kinesisvideomedia::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::demux::DemuxOptions;
use crate::kvs::FragmentNumber;

use super::{CheckpointStore, ConsumerError, Delivery, LiveItem, StartSelector};

/// What a stream's consumer is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Asking for a data endpoint or a GetMedia response.
    Connecting,
    /// Reading a response.
    Streaming,
    /// Waiting before the next attempt, after a failure (or a response that ended).
    BackingOff,
    /// Gave up after too many consecutive failures, or on an error retrying cannot fix.
    GaveUp,
}

/// A stream consumer's state and progress, as of the moment it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatus {
    /// What it is doing.
    pub state: StreamState,
    /// The last `MILLIS_BEHIND_NOW` the service sent: how far behind live it reads.
    pub millis_behind_now: Option<u64>,
    /// The number of the last fragment delivered whole.
    pub last_fragment: Option<FragmentNumber>,
    /// Frames delivered.
    pub frames: u64,
    /// Fragments (and parts) delivered.
    pub fragments: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Consecutive failures now.
    pub failures: u32,
    /// The last failure, described.
    pub last_failure: Option<String>,
}

/// Builds a [`LiveConsumer`] (or a [`GetMediaConsumer`](super::GetMediaConsumer)).
#[derive(Debug, Clone)]
pub struct ConsumerBuilder {
    pub(super) stream: String,
    endpoint_url: Option<String>,
    start: StartSelector,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_failures: u32,
    read_timeout: Duration,
    idle_timeout: Duration,
    options: DemuxOptions,
    pub(super) checkpoints: Option<Arc<dyn CheckpointStore>>,
    resume_saved: bool,
}

impl ConsumerBuilder {
    pub(super) fn new(stream: String) -> Self {
        ConsumerBuilder {
            stream,
            endpoint_url: None,
            start: StartSelector::Now,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_failures: 10,
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            options: DemuxOptions::default(),
            checkpoints: None,
            resume_saved: true,
        }
    }

    /// Where to start when the checkpoint store (if any) names no point for the stream
    /// (default [`StartSelector::Now`]).
    pub fn start(mut self, start: StartSelector) -> Self {
        self.start = start;
        self
    }

    /// Endpoint for GetDataEndpoint (tests, VPC endpoints). GetMedia always goes to the data
    /// endpoint that call returns.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Backoff between attempts: starts at `initial`, doubles per consecutive failure,
    /// capped at `max` (defaults 200 ms and 10 s); each wait is drawn between half of that
    /// and all of it, so that many streams failing together do not retry together.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Consecutive failures before giving up (default 10). A failure is a call that failed,
    /// a connection that dropped or stalled, or an in-band error; any delivered item resets
    /// the count.
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// Silence inside a fragment after which the connection counts as stalled: it is dropped
    /// and the stream resumed (default 10 s).
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    /// Silence between fragments after which the connection is renewed (default 120 s).
    /// A quiet stream is not a failure: renewing it does not count towards giving up.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.idle_timeout = t;
        self
    }

    /// Parser options (limits, CRC checking).
    pub fn options(mut self, options: DemuxOptions) -> Self {
        self.options = options;
        self
    }

    /// Where resume points are loaded from and saved to (see [`CheckpointStore`]).
    pub fn checkpoints(mut self, store: Arc<dyn CheckpointStore>) -> Self {
        self.checkpoints = Some(store);
        self
    }

    /// Whether a point saved in the checkpoint store overrides [`start`](Self::start)
    /// (default `true`); with `false` the store is only written.
    pub fn resume_saved(mut self, on: bool) -> Self {
        self.resume_saved = on;
        self
    }

    /// The frame-by-frame consumer, with clients made from `sdk` (credentials, region, HTTP
    /// client).
    pub fn live(self, sdk: &aws_types::SdkConfig) -> LiveConsumer {
        LiveConsumer::new(self, sdk)
    }
}

/// A live consumer of one stream, frame by frame.
///
/// Yields each frame as soon as its block has arrived, tagged with its stream and its
/// fragment's number and timestamps, then the fragment itself ([`LiveItem::Fragment`],
/// complete or not) once its trailing tags arrived. Across dropped, stalled or failed
/// connections it reconnects with backoff from the last fragment delivered whole and
/// delivers every frame **exactly once** (see [`Delivery`]). With a checkpoint store, each
/// fragment's resume point is saved when the caller asks for the next item; a restart
/// resumes after the last saved one (at least once across crashes, see
/// [`CheckpointStore`]).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use kinesis_video_parser::aws::{FileCheckpoints, LiveConsumer, LiveItem, StartSelector};
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let store = Arc::new(FileCheckpoints::open("cam-1.ckpt")?);
/// let mut live = LiveConsumer::builder("cam-1").start(StartSelector::Now).checkpoints(store).live(&sdk);
/// while let Some(item) = live.next().await {
///     match item? {
///         LiveItem::Frame(f) => println!("{:?} #{}: {} bytes", f.fragment.fragment_number, f.position, f.frame.len()),
///         LiveItem::Fragment(f) => println!("fragment done, complete: {}", f.meta.complete),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct LiveConsumer {
    cfg: ConsumerBuilder,
    sdk: aws_types::SdkConfig,
    control: aws_sdk_kinesisvideo::Client,
    media: Option<aws_sdk_kinesisvideomedia::Client>,
    body: Option<ByteStream>,
    delivery: Delivery,
    /// Saves resume points (off when a [`MultiStreamConsumer`](super::MultiStreamConsumer)
    /// saves them on its side of the queue).
    pub(super) saves: bool,
    loaded: bool,
    /// The resume point of the last fragment handed out, saved on the next call.
    unsaved: Option<StartSelector>,
    wait: Option<Duration>,
    connections: u64,
    ended: bool,
    /// Why the consumer ended, when that was found while delivering an item.
    gave_up: Option<ConsumerError>,
    status: Arc<Mutex<StreamStatus>>,
    jitter: u64,
}

impl LiveConsumer {
    /// A builder for `stream` (a name; an ARN also works).
    pub fn builder(stream: impl Into<String>) -> ConsumerBuilder {
        ConsumerBuilder::new(stream.into())
    }

    fn new(cfg: ConsumerBuilder, sdk: &aws_types::SdkConfig) -> Self {
        let jitter =
            cfg.stream.bytes().fold(0x9E37_79B9_7F4A_7C15u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3));
        LiveConsumer {
            control: super::control_client(sdk, cfg.endpoint_url.as_deref()),
            sdk: sdk.clone(),
            media: None,
            body: None,
            delivery: Delivery::new(cfg.stream.as_str(), cfg.start.clone(), cfg.options),
            saves: true,
            loaded: false,
            unsaved: None,
            wait: None,
            connections: 0,
            ended: false,
            gave_up: None,
            status: Arc::new(Mutex::new(StreamStatus {
                state: StreamState::Connecting,
                millis_behind_now: None,
                last_fragment: None,
                frames: 0,
                fragments: 0,
                reconnects: 0,
                failures: 0,
                last_failure: None,
            })),
            jitter,
            cfg,
        }
    }

    /// The stream.
    pub fn stream(&self) -> &Arc<str> {
        self.delivery.stream()
    }

    /// Where the next connection starts.
    pub fn resume_point(&self) -> StartSelector {
        self.delivery.resume_point()
    }

    /// State and progress now.
    pub fn status(&self) -> StreamStatus {
        self.status.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn status_handle(&self) -> Arc<Mutex<StreamStatus>> {
        self.status.clone()
    }

    fn update(&self, f: impl FnOnce(&mut StreamStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Saves the resume point of the last fragment handed out, if not saved yet. [`next`]
    /// does this first; call it when stopping after a fragment.
    ///
    /// [`next`]: Self::next
    ///
    /// # Errors
    /// [`ConsumerError::Checkpoint`]: the store failed (the point stays unsaved and is tried
    /// again).
    pub async fn save_checkpoint(&mut self) -> Result<(), ConsumerError> {
        let (Some(store), Some(point)) = (self.cfg.checkpoints.clone(), self.unsaved.clone()) else {
            return Ok(());
        };
        if !self.saves {
            return Ok(());
        }
        save_checkpoint(store, self.stream().clone(), point).await?;
        self.unsaved = None;
        Ok(())
    }

    /// The next item; `None` once the consumer gave up (after the item saying why).
    pub async fn next(&mut self) -> Option<Result<LiveItem, ConsumerError>> {
        if let Err(e) = self.save_checkpoint().await {
            return Some(Err(e));
        }
        loop {
            if let Some(e) = self.gave_up.take() {
                return Some(Err(e));
            }
            if let Some(item) = self.delivery.next_item() {
                self.delivered(&item);
                return Some(item);
            }
            if self.ended {
                return None;
            }
            let Some(body) = &mut self.body else {
                if let Err(e) = self.connect().await {
                    return Some(Err(e));
                }
                continue;
            };
            let (limit, stalled) = if self.delivery.mid_fragment() {
                (self.cfg.read_timeout, true)
            } else {
                (self.cfg.idle_timeout, false)
            };
            match tokio::time::timeout(limit, body.next()).await {
                Ok(Some(Ok(bytes))) => self.delivery.push(bytes),
                Ok(Some(Err(e))) => {
                    if let Err(e) = self.failed(format!("connection lost: {}", DisplayErrorContext(e))) {
                        return Some(Err(e));
                    }
                }
                Ok(None) => {
                    // What the response held is delivered (at the loop's top) before reconnecting.
                    self.delivery.end_of_response();
                    self.body = None;
                    tracing::debug!(stream = %self.stream(), "response ended; reconnecting");
                    self.wait = Some(self.cfg.backoff_initial);
                }
                Err(_) if stalled => {
                    let why = format!("no data for {limit:?} inside a fragment");
                    if let Err(e) = self.failed(why) {
                        return Some(Err(e));
                    }
                }
                Err(_) => {
                    tracing::debug!(stream = %self.stream(), "quiet for {limit:?}; renewing the connection");
                    self.body = None;
                }
            }
        }
    }

    fn delivered(&mut self, item: &Result<LiveItem, ConsumerError>) {
        match item {
            Ok(LiveItem::Frame(_)) => self.update(|s| {
                s.frames += 1;
                s.failures = 0;
            }),
            Ok(LiveItem::Fragment(f)) => {
                if f.resume_after.is_some() {
                    self.unsaved = f.resume_after.clone();
                }
                let (number, behind) = (f.meta.kvs.fragment_number.clone(), self.delivery.millis_behind_now());
                self.update(|s| {
                    s.fragments += 1;
                    s.failures = 0;
                    s.millis_behind_now = behind;
                    if f.resume_after.is_some() {
                        s.last_fragment = number;
                    }
                });
            }
            Err(e) => {
                // An in-band error chunk counts as a failure; the response goes on.
                if let Err(gave_up) = self.count_failure(e.to_string()) {
                    self.gave_up = Some(gave_up);
                }
            }
        }
    }

    /// Drops the connection and counts a failure.
    fn failed(&mut self, why: String) -> Result<(), ConsumerError> {
        self.body = None;
        self.count_failure(why)
    }

    /// Counts a failure and sets the wait before the next attempt; `Err` (and the end) once
    /// it is one too many.
    fn count_failure(&mut self, why: String) -> Result<(), ConsumerError> {
        let failures = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            s.failures += 1;
            s.last_failure = Some(why.clone());
            s.failures
        };
        if failures >= self.cfg.max_failures {
            return Err(self.give_up(failures, why));
        }
        let exp = super::backoff::exponential(self.cfg.backoff_initial, self.cfg.backoff_max, failures);
        // Equal jitter: half the wait fixed, half drawn (xorshift on the stream's hash).
        self.jitter ^= self.jitter << 13;
        self.jitter ^= self.jitter >> 7;
        self.jitter ^= self.jitter << 17;
        let wait = exp / 2 + exp.mul_f64((self.jitter % 1024) as f64 / 2048.0);
        tracing::warn!(stream = %self.stream(), failures, ?wait, "{why}; backing off");
        self.wait = Some(wait);
        Ok(())
    }

    fn give_up(&mut self, attempts: u32, last: String) -> ConsumerError {
        self.ended = true;
        self.body = None;
        self.update(|s| s.state = StreamState::GaveUp);
        tracing::error!(stream = %self.stream(), attempts, "giving up: {last}");
        ConsumerError::GaveUp { attempts, last }
    }

    async fn connect(&mut self) -> Result<(), ConsumerError> {
        if !self.loaded {
            self.loaded = true;
            if let Some(store) = self.cfg.checkpoints.as_ref().filter(|_| self.cfg.resume_saved) {
                let (store, stream) = (store.clone(), self.cfg.stream.clone());
                match tokio::task::spawn_blocking(move || store.load(&stream)).await {
                    Ok(Ok(Some(point))) => {
                        tracing::info!(stream = %self.stream(), %point, "resuming from the checkpoint");
                        self.delivery.resume_from(point);
                    }
                    Ok(Ok(None)) => {}
                    Ok(Err(e)) => return Err(self.give_up(1, format!("loading the checkpoint: {e}"))),
                    Err(e) => return Err(self.give_up(1, format!("loading the checkpoint: {e}"))),
                }
            }
        }
        if let Some(wait) = self.wait.take() {
            self.update(|s| s.state = StreamState::BackingOff);
            tokio::time::sleep(wait).await;
        }
        self.update(|s| s.state = StreamState::Connecting);
        if self.media.is_none() {
            let r =
                self.control.get_data_endpoint().stream_name(&self.cfg.stream).api_name(ApiName::GetMedia).send().await;
            match r.map(|o| o.data_endpoint().map(str::to_owned)) {
                Ok(Some(url)) => {
                    let conf = aws_sdk_kinesisvideomedia::config::Builder::from(&self.sdk)
                        .endpoint_url(url)
                        // Retries are this consumer's job: it knows where to resume.
                        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
                        .build();
                    self.media = Some(aws_sdk_kinesisvideomedia::Client::from_conf(conf));
                }
                Ok(None) => return self.failed("GetDataEndpoint returned no endpoint".into()),
                Err(e) => {
                    let why = format!("GetDataEndpoint: {}", DisplayErrorContext(&e));
                    return self.call_failed(e.code(), why);
                }
            }
        }
        let media = self.media.as_ref().expect("set above");
        let start = self.delivery.resume_point();
        let t = Instant::now();
        match media.get_media().stream_name(&self.cfg.stream).start_selector(start.to_sdk()).send().await {
            Ok(out) => {
                self.connections += 1;
                let reconnects = self.connections - 1;
                if reconnects == 0 {
                    tracing::info!(stream = %self.stream(), %start, "connected");
                } else {
                    tracing::info!(stream = %self.stream(), %start, reconnects, took = ?t.elapsed(), "reconnected");
                }
                self.body = Some(out.payload);
                self.delivery.connection_lost();
                self.update(|s| {
                    s.state = StreamState::Streaming;
                    s.reconnects = reconnects;
                });
                Ok(())
            }
            Err(e) => {
                // The data endpoint may have moved: ask again next time.
                self.media = None;
                let why = format!("GetMedia: {}", DisplayErrorContext(&e));
                self.call_failed(e.code(), why)
            }
        }
    }

    /// A failed call: errors that retrying cannot fix end the consumer at once.
    fn call_failed(&mut self, code: Option<&str>, why: String) -> Result<(), ConsumerError> {
        const FATAL: [&str; 4] = [
            "ResourceNotFoundException",
            "NotAuthorizedException",
            "InvalidArgumentException",
            "AccessDeniedException",
        ];
        if code.is_some_and(|c| FATAL.contains(&c)) {
            let failures = self.status().failures + 1;
            return Err(self.give_up(failures, why));
        }
        self.failed(why)
    }
}

/// Saves `point` for `stream` off the runtime's threads (a save syncs to disk).
pub(super) async fn save_checkpoint(
    store: Arc<dyn CheckpointStore>,
    stream: Arc<str>,
    point: StartSelector,
) -> Result<(), ConsumerError> {
    let s = stream.clone();
    let r = tokio::task::spawn_blocking(move || store.save(&s, &point)).await;
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ConsumerError::Checkpoint { stream: stream.to_string(), message: e.to_string() }),
        Err(e) => Err(ConsumerError::Checkpoint { stream: stream.to_string(), message: e.to_string() }),
    }
}
