//! PutMedia: a Matroska source uploaded into a stream, fragment by fragment, each kept until
//! the service says it is persisted and sent again on a new connection until it is.

mod connection;
mod held;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_kinesisvideo::types::ApiName;
use aws_smithy_types::error::display::DisplayErrorContext;
use futures_util::{FutureExt, StreamExt};
use tokio::io::AsyncRead;

use crate::kvs::FragmentNumber;
use crate::producer::{Ack, AckError, AckEvent, Fragmenter, FragmenterError, FragmenterOptions, Timecodes};
use crate::AsyncDemuxer;

use connection::{ConnEvent, Connection, HttpClient, RequestParts};
use held::{HeldFragments, Persisted};

/// How a [`PutMediaClient`] uploads; made by [`PutMediaClient::builder`].
#[derive(Debug, Clone)]
pub struct PutMediaBuilder {
    stream: String,
    endpoint_url: Option<String>,
    fragmenter: Option<FragmenterOptions>,
    target_duration_ms: u64,
    buffer_bytes: usize,
    ack_timeout: Duration,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_failures: u32,
}

impl PutMediaBuilder {
    /// The endpoint for GetDataEndpoint (tests, VPC endpoints); the upload goes to the data
    /// endpoint it returns.
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// How fragments are cut and timed (default: [`FragmenterOptions::starting_at`] the time
    /// of each [`PutMediaClient::put`], ABSOLUTE timecodes).
    pub fn fragmenter(mut self, options: FragmenterOptions) -> Self {
        self.fragmenter = Some(options);
        self
    }

    /// The target fragment duration when no [`fragmenter`](Self::fragmenter) options are
    /// given (default 2 s).
    pub fn fragment_duration(mut self, d: Duration) -> Self {
        self.target_duration_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        self
    }

    /// Bytes of fragments held until persisted (default 64 MiB); when full, reading the
    /// source waits. The fragment being read is always taken, whatever its size.
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// A connection that has fragments waiting for acknowledgement and sends nothing for
    /// this long is dropped and made again (default 30 s; the service acknowledges a quiet
    /// connection with IDLE well within it).
    pub fn ack_timeout(mut self, t: Duration) -> Self {
        self.ack_timeout = t;
        self
    }

    /// Waits between attempts: `initial`, doubled per consecutive failure, at most `max`
    /// (default 200 ms to 10 s; a `max` below `initial` is taken as `initial`, as by the
    /// consumers' builders).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff_initial = initial;
        self.backoff_max = max.max(initial);
        self
    }

    /// Consecutive failed connections before giving up (default 10). A connection that
    /// got a fragment persisted ends the run of failures.
    pub fn max_failures(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// The client, on `sdk`'s region and credentials.
    pub fn build(self, sdk: &aws_types::SdkConfig) -> PutMediaClient {
        PutMediaClient { cfg: self, sdk: sdk.clone(), http: Arc::default() }
    }
}

/// Uploads Matroska into a stream with PutMedia.
///
/// [`put`](Self::put) reads any MKV/WebM source (a file, a pipe from ffmpeg or GStreamer;
/// any chunking), cuts it into fragments with [`Fragmenter`] (a Cluster per fragment, opened
/// on a video keyframe), and streams it as the chunked body of one long `POST /putMedia`
/// (GetDataEndpoint `PUT_MEDIA`; SigV4 for `kinesisvideo` with the SDK's credentials), a
/// frame's block leaving as soon as the frame is read. Acknowledgements are read as they
/// come.
///
/// **Guarantees.** Every fragment is kept until PERSISTED. When the connection drops, stalls
/// past [`ack_timeout`](PutMediaBuilder::ack_timeout), is throttled, or the service sends a
/// retriable ERROR (5000, 5001, 4000, 4003), a new connection is made with backoff and sends
/// a fresh header, then every fragment not yet persisted, in order; a persisted fragment is
/// never sent again. A fragment received but whose PERSISTED acknowledgement was lost with
/// the connection is sent again, so the stream may hold it twice (at least once). Any other
/// ERROR ends the upload with [`PutError::Rejected`], naming the id and its meaning. The
/// held fragments are bounded by [`buffer_bytes`](PutMediaBuilder::buffer_bytes): reading
/// the source waits while it is full. A source that ends in an error has what came before it
/// uploaded and persisted first ([`PutError::Source`]).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use kinesis_video_parser::aws::PutMediaClient;
/// let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let file = tokio::fs::File::open("camera.mkv").await?;
/// let report = PutMediaClient::builder("cam-7").build(&sdk).put(file, |ack| println!("{ack:?}")).await?;
/// println!("{} fragments persisted", report.persisted);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PutMediaClient {
    cfg: PutMediaBuilder,
    sdk: aws_types::SdkConfig,
    /// Made on the first upload (loading the system's root certificates takes a while) and
    /// shared by the clones.
    http: Arc<OnceLock<Result<HttpClient, String>>>,
}

/// What an upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutReport {
    /// Frames read from the source.
    pub frames: u64,
    /// Fragments cut from the source.
    pub fragments: u64,
    /// Fragments acknowledged PERSISTED.
    pub persisted: u64,
    /// The number of the last fragment persisted (when the service gave one).
    pub last_persisted: Option<FragmentNumber>,
    /// Connections made after the first.
    pub reconnects: u32,
    /// The most bytes of fragments held at once, waiting to be persisted.
    pub max_held_bytes: usize,
}

/// Why an upload stopped.
#[derive(Debug)]
pub enum PutError {
    /// The source could not be read to its end (I/O, truncation, not Matroska). What was read
    /// before the error was uploaded and persisted first.
    Source(crate::Error),
    /// The source cannot be put into a stream.
    Fragmenter(FragmenterError),
    /// The service refused a fragment with an error that sending again cannot fix.
    Rejected {
        /// The id and what it means.
        error: AckError,
        /// The fragment's timecode.
        fragment_timecode: Option<u64>,
    },
    /// The service answered an error status that retrying cannot fix
    /// (`ResourceNotFoundException`, `NotAuthorizedException`, …).
    Refused {
        /// HTTP status.
        status: u16,
        /// `x-amzn-ErrorType`.
        error_type: Option<String>,
        /// The response body.
        message: String,
    },
    /// The source held no frame (is it Matroska?): nothing was uploaded.
    NoFrames,
    /// GetDataEndpoint, credentials or signing failed.
    Setup(String),
    /// Too many consecutive failed connections; the last failure is described.
    GaveUp {
        /// Consecutive failures.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl fmt::Display for PutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Source(e) => write!(f, "reading the source: {e}"),
            PutError::Fragmenter(e) => write!(f, "the source cannot be uploaded: {e}"),
            PutError::Rejected { error, fragment_timecode } => match fragment_timecode {
                Some(tc) => write!(f, "{error} (fragment at timecode {tc})"),
                None => write!(f, "{error}"),
            },
            PutError::Refused { status, error_type, message } => {
                write!(f, "PutMedia refused: HTTP {status} {}: {message}", error_type.as_deref().unwrap_or("-"))
            }
            PutError::NoFrames => write!(f, "the source held no frame (is it Matroska?)"),
            PutError::Setup(m) => write!(f, "PutMedia setup: {m}"),
            PutError::GaveUp { attempts, last } => write!(f, "gave up after {attempts} consecutive failures: {last}"),
        }
    }
}

impl std::error::Error for PutError {}

/// An upload that stopped: why, and what it had done.
#[derive(Debug)]
pub struct PutFailed {
    /// Why.
    pub error: PutError,
    /// What was persisted before.
    pub report: PutReport,
}

impl fmt::Display for PutFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} of {} fragments persisted", self.error, self.report.persisted, self.report.fragments)?;
        match &self.report.last_persisted {
            Some(n) => write!(f, ", the last {n})"),
            None => write!(f, ")"),
        }
    }
}

impl std::error::Error for PutFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl PutMediaClient {
    /// A builder for uploads into `stream` (name, or ARN when it starts with `arn:`).
    pub fn builder(stream: impl Into<String>) -> PutMediaBuilder {
        PutMediaBuilder {
            stream: stream.into(),
            endpoint_url: None,
            fragmenter: None,
            target_duration_ms: 2_000,
            buffer_bytes: 64 << 20,
            ack_timeout: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_failures: 10,
        }
    }

    /// Uploads `source` to its end; `on_ack` sees every acknowledgement as it comes. Returns
    /// once every fragment is persisted. Best spawned on the runtime (`tokio::spawn`): awaited
    /// from outside it (`block_on`), each wake-up of the upload crosses threads.
    ///
    /// # Errors
    /// [`PutFailed`]: why the upload stopped, and what was persisted before.
    pub async fn put<R, F>(&self, source: R, on_ack: F) -> Result<PutReport, PutFailed>
    where
        R: AsyncRead + Unpin,
        F: FnMut(&Ack),
    {
        let opts = self.cfg.fragmenter.unwrap_or_else(|| FragmenterOptions {
            target_duration_ms: self.cfg.target_duration_ms,
            ..FragmenterOptions::starting_at(now_ms())
        });
        let mut upload = Upload {
            cfg: &self.cfg,
            source: AsyncDemuxer::new(source),
            fragmenter: Fragmenter::new(opts),
            held: HeldFragments::default(),
            source_done: false,
            source_error: None,
            report: PutReport::default(),
            failures: 0,
            on_ack,
        };
        match self.setup(opts.timecodes).await {
            Ok((client, parts)) => match upload.run(&client, &parts, &self.sdk).await {
                Ok(()) => Ok(upload.report),
                Err(error) => Err(PutFailed { error, report: upload.report }),
            },
            Err(error) => Err(PutFailed { error, report: upload.report }),
        }
    }

    /// The data endpoint and what every request carries.
    async fn setup(&self, timecodes: Timecodes) -> Result<(HttpClient, RequestParts), PutError> {
        let control = super::control_client(&self.sdk, self.cfg.endpoint_url.as_deref());
        let is_arn = self.cfg.stream.starts_with("arn:");
        let mut call = control.get_data_endpoint().api_name(ApiName::PutMedia);
        call = if is_arn { call.stream_arn(&self.cfg.stream) } else { call.stream_name(&self.cfg.stream) };
        let out =
            call.send().await.map_err(|e| PutError::Setup(format!("GetDataEndpoint: {}", DisplayErrorContext(&e))))?;
        let endpoint =
            out.data_endpoint().ok_or_else(|| PutError::Setup("GetDataEndpoint returned no endpoint".into()))?;
        let region = self.sdk.region().map(|r| r.to_string()).ok_or_else(|| PutError::Setup("no region".into()))?;
        let start = timecodes.start_ms();
        let parts = RequestParts {
            url: format!("{}/putMedia", endpoint.trim_end_matches('/')),
            region,
            stream_header: if is_arn {
                ("x-amzn-stream-arn", self.cfg.stream.clone())
            } else {
                ("x-amzn-stream-name", self.cfg.stream.clone())
            },
            timecode_type: timecodes.kind(),
            producer_start: format!("{}.{:03}", start / 1000, start % 1000),
        };
        let client = self.http.get_or_init(|| connection::http_client().map_err(|e| format!("TLS roots: {e}")));
        Ok((client.clone().map_err(PutError::Setup)?, parts))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// One upload's state.
struct Upload<'a, R, F> {
    cfg: &'a PutMediaBuilder,
    source: AsyncDemuxer<R>,
    fragmenter: Fragmenter,
    held: HeldFragments,
    source_done: bool,
    /// What ended the source early: reported once what was read before is persisted.
    source_error: Option<crate::Error>,
    report: PutReport,
    failures: u32,
    on_ack: F,
}

/// Why a connection ended.
enum Dropped {
    /// Worth another connection.
    Retry(String),
    /// Every fragment is persisted.
    Done,
}

impl<R: AsyncRead + Unpin, F: FnMut(&Ack)> Upload<'_, R, F> {
    async fn run(
        &mut self,
        client: &HttpClient,
        parts: &RequestParts,
        sdk: &aws_types::SdkConfig,
    ) -> Result<(), PutError> {
        let creds_provider =
            sdk.credentials_provider().ok_or_else(|| PutError::Setup("no credentials provider".into()))?;
        // Nothing to send before the first fragment: read until there is.
        while self.held.len() == 0 && !self.source_done {
            self.read_one().await?;
        }
        loop {
            if self.source_done && self.held.len() == 0 {
                return self.outcome();
            }
            let creds = creds_provider
                .provide_credentials()
                .await
                .map_err(|e| PutError::Setup(format!("credentials: {}", DisplayErrorContext(&e))))?;
            let conn = Connection::open(client, parts, &creds).map_err(PutError::Setup)?;
            self.held.restart();
            match self.connected(conn).await? {
                Dropped::Done => return self.outcome(),
                // A PERSISTED acknowledgement on the connection reset the count (`ack`).
                Dropped::Retry(why) => {
                    self.failures += 1;
                    if self.failures >= self.cfg.max_failures {
                        return Err(PutError::GaveUp { attempts: self.failures, last: why });
                    }
                    let wait =
                        super::backoff::exponential(self.cfg.backoff_initial, self.cfg.backoff_max, self.failures);
                    tracing::warn!(stream = %self.cfg.stream, failures = self.failures, ?wait, "PutMedia: {why}; reconnecting");
                    tokio::time::sleep(wait).await;
                    self.report.reconnects += 1;
                }
            }
        }
    }

    /// Every fragment is persisted: the upload's end, or the source's error.
    fn outcome(&mut self) -> Result<(), PutError> {
        match self.source_error.take() {
            Some(e) => Err(PutError::Source(e)),
            None if self.report.frames == 0 => Err(PutError::NoFrames),
            None => Ok(()),
        }
    }

    /// Reads the source into the held fragments: one event, waiting for it, then those
    /// already there (up to a batch), so that a fast source costs one turn of the loop per
    /// batch rather than per frame.
    async fn read_one(&mut self) -> Result<(), PutError> {
        let first = self.source.next().await;
        self.take(first)?;
        for _ in 0..64 {
            if !self.may_read() {
                break;
            }
            match self.source.next().now_or_never() {
                Some(item) => self.take(item)?,
                None => break,
            }
        }
        Ok(())
    }

    /// One item of the source into the held fragments.
    fn take(&mut self, item: Option<Result<crate::Event, crate::Error>>) -> Result<(), PutError> {
        match item {
            Some(Ok(ev)) => {
                self.fragmenter.push(&ev).map_err(PutError::Fragmenter)?;
                while let Some(p) = self.fragmenter.next_piece() {
                    self.held.push(p);
                }
                let s = self.fragmenter.stats();
                (self.report.frames, self.report.fragments) = (s.frames, s.fragments);
                self.report.max_held_bytes = self.report.max_held_bytes.max(self.held.bytes());
            }
            // The frames before the error are good: they are uploaded, then the error told.
            Some(Err(e)) => {
                tracing::warn!(stream = %self.cfg.stream, "PutMedia: the source ended with an error: {e}");
                self.source_error = Some(e);
                self.source_done = true;
                self.held.close();
            }
            None => {
                self.source_done = true;
                self.held.close();
            }
        }
        Ok(())
    }

    /// Whether the source may be read: the held bytes are under the bound, or only the
    /// fragment being read is held (it cannot be persisted before it is whole).
    fn may_read(&self) -> bool {
        !self.source_done && (self.held.bytes() < self.cfg.buffer_bytes || self.held.len() <= 1)
    }

    /// Drives one connection until it ends.
    async fn connected(&mut self, mut conn: Connection) -> Result<Dropped, PutError> {
        // One timer for the connection, moved on by each event: a timer made per turn of the
        // loop would take the runtime's timer lock per frame.
        let quiet = tokio::time::sleep(self.cfg.ack_timeout);
        tokio::pin!(quiet);
        loop {
            if self.source_done && self.held.len() == 0 {
                return Ok(Dropped::Done);
            }
            if self.held.all_sent() && self.source_done {
                conn.end_body();
            }
            let piece = self.held.next_to_send();
            let body = conn.body.clone();
            let watching = self.held.awaiting_ack();
            tokio::select! {
                biased;
                ev = conn.events.recv() => {
                    quiet.as_mut().reset(tokio::time::Instant::now() + self.cfg.ack_timeout);
                    match ev {
                        Some(ConnEvent::Ack(ack)) => {
                            (self.on_ack)(&ack);
                            if let Some(d) = self.ack(&ack)? {
                                return Ok(d);
                            }
                        }
                        Some(ConnEvent::BadLine(e)) => tracing::warn!(stream = %self.cfg.stream, "{e}"),
                        Some(ConnEvent::Refused { status, error_type, message }) => {
                            let retriable = status >= 500
                                || matches!(
                                    error_type.as_deref(),
                                    Some("ClientLimitExceededException" | "ConnectionLimitExceededException")
                                );
                            if !retriable {
                                return Err(PutError::Refused { status, error_type, message });
                            }
                            return Ok(Dropped::Retry(format!("HTTP {status} {}", error_type.as_deref().unwrap_or("-"))));
                        }
                        Some(ConnEvent::Ended(why)) => {
                            if self.source_done && self.held.len() == 0 {
                                return Ok(Dropped::Done);
                            }
                            return Ok(Dropped::Retry(why.unwrap_or_else(|| "the service closed the connection".into())));
                        }
                        None => return Ok(Dropped::Retry("the connection task ended".into())),
                    }
                }
                permit = async { body.as_ref().expect("checked").reserve().await }, if piece.is_some() && body.is_some() => {
                    match permit {
                        Ok(p) => {
                            p.send(piece.expect("checked"));
                            self.held.sent_one();
                            // Whatever else is ready goes too, without a turn of the loop.
                            let tx = body.as_ref().expect("checked");
                            while let Some(next) = self.held.next_to_send() {
                                if tx.try_send(next).is_err() {
                                    break;
                                }
                                self.held.sent_one();
                            }
                        }
                        // The request is gone; its end comes as an event.
                        Err(_) => conn.end_body(),
                    }
                }
                read = self.read_one(), if self.may_read() => read?,
                () = &mut quiet, if watching => {
                    return Ok(Dropped::Retry(format!("no acknowledgement for {:?}", self.cfg.ack_timeout)));
                }
            }
        }
    }

    /// Acts on an acknowledgement; `Some` when the connection is done with.
    fn ack(&mut self, ack: &Ack) -> Result<Option<Dropped>, PutError> {
        match ack.event {
            AckEvent::Persisted => {
                if let Some(tc) = ack.fragment_timecode {
                    if let Persisted::Fragment(_) = self.held.persisted(tc) {
                        self.report.persisted += 1;
                        if ack.fragment_number.is_some() {
                            self.report.last_persisted = ack.fragment_number.clone();
                        }
                        self.failures = 0;
                    }
                }
                Ok(None)
            }
            AckEvent::Error => {
                let error = AckError::of(ack.error_id.unwrap_or(0));
                if error.retriable {
                    Ok(Some(Dropped::Retry(error.to_string())))
                } else {
                    Err(PutError::Rejected { error, fragment_timecode: ack.fragment_timecode })
                }
            }
            AckEvent::Buffering | AckEvent::Received | AckEvent::Idle => Ok(None),
        }
    }
}
