//! A live GetMedia consumer on the official AWS SDK for Rust (feature `aws`).
//!
//! [`GetMediaConsumer`] yields complete [`Fragment`]s continuously. When a response ends,
//! fails, or the connection drops, it reconnects with exponential backoff and resumes right
//! after the last fragment it delivered, using that fragment's continuation token (or, when a
//! fragment carried none, `FRAGMENT_NUMBER` after its number). A fragment is delivered once
//! it is complete by the KVS rule (its trailing `MILLIS_BEHIND_NOW` and `CONTINUATION_TOKEN`
//! tags arrived); a fragment cut by a drop is discarded and comes again from its start on the
//! next connection; fragment numbers never go backwards, so nothing is yielded twice.
//! (The one exception: a fragment too long to collect whole, past
//! [`Limits::max_fragment_bytes`](crate::Limits::max_fragment_bytes), far above KVS's own
//! 50 MB bound, is yielded in parts as they close; a drop in the middle of one means its
//! parts come again from the first.)
//! In-band error chunks (HTTP 200 with `AWS_KINESISVIDEO_ERROR_*` tags) become
//! [`ConsumerError::InBand`].
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

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use aws_sdk_kinesisvideo::types::ApiName;
use aws_sdk_kinesisvideomedia::primitives::{ByteStream, DateTime};
use aws_sdk_kinesisvideomedia::types::{StartSelector as SdkSelector, StartSelectorType};

use crate::demux::{DemuxOptions, Demuxer, FragmentAssembler};
use crate::frame::Fragment;
use crate::kvs::FragmentNumber;
use crate::Status;

/// Where GetMedia starts.
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
    fn to_sdk(&self) -> SdkSelector {
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

/// Why the consumer could not deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerError {
    /// The service sent an in-band error chunk (HTTP 200). Consuming goes on (it reconnects
    /// after the last delivered fragment); persistent errors end in [`GaveUp`](Self::GaveUp).
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
    /// Too many consecutive failures (calls that failed, connections that brought no new
    /// fragment, in-band errors); the last one is described. The consumer ends.
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
            ConsumerError::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} consecutive failures: {last}")
            }
        }
    }
}

impl std::error::Error for ConsumerError {}

/// Builds a [`GetMediaConsumer`].
#[derive(Debug, Clone)]
pub struct ConsumerBuilder {
    stream: String,
    endpoint_url: Option<String>,
    start: StartSelector,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_failures: u32,
    options: DemuxOptions,
}

impl ConsumerBuilder {
    /// Where to start (default [`StartSelector::Now`]).
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

    /// Backoff between reconnects: starts at `initial`, doubles per consecutive failure,
    /// capped at `max` (defaults 200 ms and 10 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max;
        self
    }

    /// Consecutive failures before giving up (default 10).
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// Parser options (limits, CRC checking).
    pub fn options(mut self, options: DemuxOptions) -> Self {
        self.options = options;
        self
    }

    /// The consumer, with clients made from `sdk` (credentials, region, HTTP client).
    pub fn build(self, sdk: &aws_types::SdkConfig) -> GetMediaConsumer {
        let mut control = aws_sdk_kinesisvideo::config::Builder::from(sdk);
        if let Some(url) = &self.endpoint_url {
            control = control.endpoint_url(url);
        }
        GetMediaConsumer {
            control: aws_sdk_kinesisvideo::Client::from_conf(control.build()),
            sdk: sdk.clone(),
            media: None,
            body: None,
            demux: Demuxer::with_options(self.options),
            asm: FragmentAssembler::new(),
            pending: VecDeque::new(),
            last: None,
            delivered_this_connection: false,
            failures: 0,
            last_failure: String::new(),
            ended: false,
            cfg: self,
        }
    }
}

/// A live GetMedia consumer; see the module documentation.
#[derive(Debug)]
pub struct GetMediaConsumer {
    cfg: ConsumerBuilder,
    sdk: aws_types::SdkConfig,
    control: aws_sdk_kinesisvideo::Client,
    media: Option<aws_sdk_kinesisvideomedia::Client>,
    body: Option<ByteStream>,
    demux: Demuxer,
    asm: FragmentAssembler,
    pending: VecDeque<Result<Fragment, ConsumerError>>,
    /// The last delivered fragment: its number and continuation token.
    last: Option<(Option<FragmentNumber>, Option<String>)>,
    delivered_this_connection: bool,
    failures: u32,
    last_failure: String,
    ended: bool,
}

impl GetMediaConsumer {
    /// A builder for `stream`.
    pub fn builder(stream: impl Into<String>) -> ConsumerBuilder {
        ConsumerBuilder {
            stream: stream.into(),
            endpoint_url: None,
            start: StartSelector::Now,
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_failures: 10,
            options: DemuxOptions::default(),
        }
    }

    /// Where the next connection will start: after the last delivered fragment, or the
    /// configured start.
    pub fn resume_point(&self) -> StartSelector {
        match &self.last {
            Some((_, Some(token))) => StartSelector::ContinuationToken(token.clone()),
            Some((Some(n), None)) => StartSelector::AfterFragment(n.clone()),
            _ => self.cfg.start.clone(),
        }
    }

    /// The next complete fragment, or an error; `None` once the consumer gave up.
    pub async fn next_fragment(&mut self) -> Option<Result<Fragment, ConsumerError>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.ended {
                return None;
            }
            let Some(body) = &mut self.body else {
                self.connect().await;
                continue;
            };
            match body.next().await {
                Some(Ok(bytes)) => {
                    self.demux.push(bytes);
                    self.drain();
                }
                Some(Err(e)) => self.connection_over(Some(format!("connection lost: {e}"))),
                None => {
                    self.demux.finish();
                    self.drain();
                    self.connection_over(None);
                }
            }
        }
    }

    /// The consumer as a `futures::Stream`.
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<Fragment, ConsumerError>> {
        futures_util::stream::unfold(self, |mut c| async move { c.next_fragment().await.map(|item| (item, c)) })
    }

    fn fail(&mut self, what: String) {
        self.failures += 1;
        self.last_failure = what;
        if self.failures >= self.cfg.max_failures {
            self.pending
                .push_back(Err(ConsumerError::GaveUp { attempts: self.failures, last: self.last_failure.clone() }));
            self.ended = true;
        }
    }

    /// The response is over (`error`: how it failed). Partial fragments are dropped; they
    /// come again from their start on the next connection.
    fn connection_over(&mut self, error: Option<String>) {
        self.body = None;
        match error {
            Some(e) => self.fail(e),
            None if !self.delivered_this_connection => self.fail("response ended without a new fragment".into()),
            None => {}
        }
    }

    async fn connect(&mut self) {
        if self.failures > 0 {
            let exp = self.cfg.backoff_initial.saturating_mul(1 << (self.failures - 1).min(16));
            tokio::time::sleep(exp.min(self.cfg.backoff_max)).await;
        }
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
                Ok(None) => return self.fail("GetDataEndpoint returned no endpoint".into()),
                Err(e) => {
                    return self
                        .fail(format!("GetDataEndpoint: {}", aws_smithy_types::error::display::DisplayErrorContext(e)))
                }
            }
        }
        let media = self.media.as_ref().expect("set above");
        let selector = self.resume_point().to_sdk();
        match media.get_media().stream_name(&self.cfg.stream).start_selector(selector).send().await {
            Ok(out) => {
                self.body = Some(out.payload);
                self.demux = Demuxer::with_options(self.cfg.options);
                self.asm = FragmentAssembler::new();
                self.delivered_this_connection = false;
            }
            Err(e) => {
                // The data endpoint may have moved: ask again next time.
                self.media = None;
                self.fail(format!("GetMedia: {}", aws_smithy_types::error::display::DisplayErrorContext(e)));
            }
        }
    }

    /// Moves finished fragments from the parser to the output queue.
    fn drain(&mut self) {
        loop {
            let ev = match self.demux.poll() {
                Ok(Status::Ready(ev)) => ev,
                Ok(_) => return,
                // Truncation: the cut fragment closes incomplete and is dropped below.
                Err(_) => continue,
            };
            let Some(f) = self.asm.push(ev) else { continue };
            let k = &f.meta.kvs;
            if k.is_error() {
                let err = ConsumerError::InBand {
                    code: k.error_code.clone(),
                    id: k.error_id.clone(),
                    message: k.error_message.clone(),
                    fragment_number: k.fragment_number.clone(),
                };
                self.fail(err.to_string());
                self.pending.push_back(Err(err));
                continue;
            }
            // A fragment too long to collect whole comes in parts (`Limits::max_fragment_bytes`):
            // each part is delivered as it closes; the last one, with the trailing tags,
            // moves the resume point.
            let in_parts = f.meta.split || f.meta.part > 0;
            let deliver = if in_parts { !f.meta.truncated } else { f.meta.complete && f.meta.is_kvs_complete() };
            if !deliver {
                continue;
            }
            let number = k.fragment_number.clone();
            if let (Some(n), Some((Some(last), _))) = (&number, &self.last) {
                if n <= last {
                    continue; // already delivered
                }
            }
            if !f.meta.split {
                self.last = Some((number, k.continuation_token.clone()));
            }
            self.failures = 0;
            self.delivered_this_connection = true;
            self.pending.push_back(Ok(f));
        }
    }
}
