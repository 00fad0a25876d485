//! Exactly-once delivery of one stream's frames across connections, without I/O.
//!
//! GetMedia re-serves a stored fragment byte for byte, so a frame is identified by its
//! fragment's number and its position in that fragment; a fragment part (see
//! [`FragmentMeta::part`]) likewise. [`Delivery`] remembers, across connections, how many
//! frames and parts of the fragment in flight it handed out, and skips that many when the
//! fragment is served again after a cut. Only a fragment's *last* part moves the resume
//! point, so a cut anywhere (inside a Cluster, inside the trailing tags) resumes at the start
//! of the fragment it cut.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use crate::demux::{DemuxOptions, Demuxer, Event};
use crate::ebml::reader::Damage;
use crate::frame::{FragmentMeta, Frame};
use crate::kvs::FragmentNumber;
use crate::Status;

use super::{ConsumerError, StartSelector};

/// What a fragment's leading KVS tags say (they arrive before its Cluster, so before its
/// first frame); shared by its frames.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FragmentHeader {
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`.
    pub fragment_number: Option<FragmentNumber>,
    /// `AWS_KINESISVIDEO_SERVER_TIMESTAMP`, ms since the Unix epoch.
    pub server_timestamp_ms: Option<u64>,
    /// `AWS_KINESISVIDEO_PRODUCER_TIMESTAMP`, ms since the Unix epoch.
    pub producer_timestamp_ms: Option<u64>,
}

/// A frame, yielded as soon as its block arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFrame {
    /// The stream it came from.
    pub stream: Arc<str>,
    /// Its fragment's number and timestamps.
    pub fragment: Arc<FragmentHeader>,
    /// Its position in its fragment (0, 1, 2, … across the fragment's parts): with the
    /// fragment number, what identifies it across connections.
    pub position: u64,
    /// The frame. `info.fragment` is the index its fragment's [`LiveFragment`] will have.
    pub frame: Frame,
}

/// A fragment (or a part of one) that closed; its frames were yielded before it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveFragment {
    /// The stream it came from.
    pub stream: Arc<str>,
    /// Its metadata. `index` counts the fragments this consumer delivered (0, 1, 2, …,
    /// unbroken across reconnects). `complete` is the KVS rule: the trailing tags arrived and
    /// nothing in it was damaged.
    pub meta: FragmentMeta,
    /// Damage reported inside it.
    pub damage: Vec<Damage>,
    /// Where a consumer that has processed this fragment resumes: `None` for a part after
    /// which the fragment goes on (or a fragment with neither number nor token).
    pub resume_after: Option<StartSelector>,
}

/// One item of a live consumer.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveItem {
    /// A frame, as soon as its block arrived.
    Frame(LiveFrame),
    /// A fragment closed, complete or not (boxed: it is large, and rare next to frames).
    Fragment(Box<LiveFragment>),
}

impl LiveItem {
    /// The stream the item came from.
    pub fn stream(&self) -> &str {
        match self {
            LiveItem::Frame(f) => &f.stream,
            LiveItem::Fragment(f) => &f.stream,
        }
    }
}

/// What was handed out of the fragment in flight; survives reconnects.
#[derive(Debug, Clone)]
struct Flight {
    number: FragmentNumber,
    frames: u64,
    parts: u32,
}

/// This connection's view of the fragment it is reading.
#[derive(Debug, Default)]
struct Reading {
    /// The demuxer's index of the fragment (or part) it is in.
    demux_index: Option<u64>,
    header: Arc<FragmentHeader>,
    frames: u64,
    parts: u32,
    damage: Vec<Damage>,
}

impl Reading {
    /// Enters `meta`'s fragment unless already in it. The next part of the same fragment
    /// keeps its positions; a new fragment starts at 0, and is the one in flight unless it
    /// already was (served again after a cut).
    fn enter(&mut self, meta: &FragmentMeta, flight: &mut Option<Flight>) {
        if self.demux_index == Some(meta.index) {
            return;
        }
        self.demux_index = Some(meta.index);
        let k = &meta.kvs;
        if meta.part > 0 && k.fragment_number.is_some() && self.header.fragment_number == k.fragment_number {
            return;
        }
        self.header = Arc::new(FragmentHeader {
            fragment_number: k.fragment_number.clone(),
            server_timestamp_ms: k.server_timestamp.as_ref().map(|t| t.millis()),
            producer_timestamp_ms: k.producer_timestamp.as_ref().map(|t| t.millis()),
        });
        self.frames = 0;
        self.parts = 0;
        if let Some(n) = &k.fragment_number {
            if flight.as_ref().is_none_or(|f| &f.number != n) {
                *flight = Some(Flight { number: n.clone(), frames: 0, parts: 0 });
            }
        }
    }
}

/// One stream's delivery state machine: bytes of successive GetMedia responses in, frames
/// and fragments out, each exactly once while the process lives. See the module docs.
///
/// ```
/// use kinesis_video_parser::aws::{Delivery, LiveItem, StartSelector};
/// let bytes = std::fs::read("testdata/kvs_like.mkv").unwrap();
/// let mut d = Delivery::new("cam-1", StartSelector::Earliest, Default::default());
/// // A first connection is cut after 1000 bytes ...
/// d.push(bytes[..1000].to_vec().into());
/// let mut frames = 0;
/// while let Some(item) = d.next_item() {
///     frames += matches!(item, Ok(LiveItem::Frame(_))) as usize;
/// }
/// // ... and the next one serves the stream again from the resume point (here: the start).
/// d.connection_lost();
/// assert_eq!(d.resume_point(), StartSelector::Earliest);
/// d.push(bytes.into());
/// d.end_of_response();
/// while let Some(item) = d.next_item() {
///     frames += matches!(item, Ok(LiveItem::Frame(_))) as usize;
/// }
/// assert_eq!(frames, 81, "no frame twice, none missing");
/// ```
#[derive(Debug)]
pub struct Delivery {
    stream: Arc<str>,
    options: DemuxOptions,
    demux: Demuxer,
    start: StartSelector,
    /// After the last fragment delivered whole.
    resume: Option<StartSelector>,
    last_number: Option<FragmentNumber>,
    flight: Option<Flight>,
    reading: Reading,
    /// The demuxer index of a fragment announced at its trailing tags, before it closed.
    announced: Option<u64>,
    delivered: u64,
    millis_behind_now: Option<u64>,
    out: VecDeque<Result<LiveItem, ConsumerError>>,
    /// GetMediaForFragmentList bodies: fragments come in the order asked (not by number)
    /// and have no trailing tags, so a fragment is complete when it closes undamaged.
    archive: bool,
}

impl Delivery {
    /// A stream's state before its first connection, which starts at `start`.
    pub fn new(stream: impl Into<Arc<str>>, start: StartSelector, options: DemuxOptions) -> Self {
        Delivery {
            stream: stream.into(),
            options,
            demux: Demuxer::with_options(options),
            start,
            resume: None,
            last_number: None,
            flight: None,
            reading: Reading::default(),
            announced: None,
            delivered: 0,
            millis_behind_now: None,
            out: VecDeque::new(),
            archive: false,
        }
    }

    /// For GetMediaForFragmentList bodies (see the `archive` field).
    pub(super) fn for_archive(stream: impl Into<Arc<str>>, options: DemuxOptions) -> Self {
        Delivery { archive: true, ..Delivery::new(stream, StartSelector::Earliest, options) }
    }

    /// Resumes at `point` (a saved checkpoint) instead of the configured start, until a
    /// fragment is delivered whole.
    pub fn resume_from(&mut self, point: StartSelector) {
        self.resume = Some(point);
    }

    /// The stream's name (or ARN).
    pub fn stream(&self) -> &Arc<str> {
        &self.stream
    }

    /// Where the next connection starts: after the last fragment delivered whole, or the
    /// configured start.
    pub fn resume_point(&self) -> StartSelector {
        self.resume.clone().unwrap_or_else(|| self.start.clone())
    }

    /// The last `MILLIS_BEHIND_NOW` the service sent.
    pub fn millis_behind_now(&self) -> Option<u64> {
        self.millis_behind_now
    }

    /// Fragments (and parts) delivered so far.
    pub fn fragments_delivered(&self) -> u64 {
        self.delivered
    }

    /// `true` while a fragment is being read (a silence now is a stall); `false` between
    /// fragments, where a silence is a quiet stream.
    pub fn mid_fragment(&self) -> bool {
        self.demux.buffered() > 0
            || self.demux.current_fragment().is_some_and(|m| !m.is_kvs_complete() && self.announced != Some(m.index))
    }

    /// Bytes of the current response.
    pub fn push(&mut self, bytes: Bytes) {
        self.demux.push(bytes);
    }

    /// The current response ended cleanly. A fragment it cut comes again on the next
    /// connection.
    pub fn end_of_response(&mut self) {
        self.demux.finish();
    }

    /// The connection is gone; the next bytes are a new response from
    /// [`resume_point`](Self::resume_point). What the old one had not finished is dropped
    /// (and comes again, minus what was already handed out).
    pub fn connection_lost(&mut self) {
        self.demux = Demuxer::with_options(self.options);
        self.reading = Reading::default();
        self.announced = None;
    }

    /// The next item, or `None` when the bytes pushed so far hold no more.
    pub fn next_item(&mut self) -> Option<Result<LiveItem, ConsumerError>> {
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            match self.demux.poll() {
                Ok(Status::Ready(ev)) => self.on_event(ev),
                Ok(Status::NeedMore(_)) => {
                    self.announce_if_complete();
                    return self.out.pop_front();
                }
                Ok(Status::Done) => return None,
                // Truncation: the cut fragment closes (truncated) and is dropped below.
                Err(_) => {}
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Frame(frame) => self.on_frame(frame),
            Event::Damage(d) => self.reading.damage.push(d),
            Event::FragmentEnd(meta) => {
                let announced = self.announced.take() == Some(meta.index);
                if !announced && !meta.truncated {
                    self.on_fragment(*meta);
                }
                self.reading.demux_index = None;
            }
            _ => {}
        }
    }

    /// Follows the demuxer into the fragment (or part) it is in, if it opened a new one.
    fn enter_fragment(&mut self) {
        if let Some(meta) = self.demux.current_fragment() {
            self.reading.enter(meta, &mut self.flight);
        }
    }

    /// Already delivered whole (a service that served an old fragment again).
    fn is_old(&self) -> bool {
        if self.archive {
            return false;
        }
        match (&self.reading.header.fragment_number, &self.last_number) {
            (Some(n), Some(last)) => n <= last,
            _ => false,
        }
    }

    fn flight_mut(&mut self) -> Option<&mut Flight> {
        let n = self.reading.header.fragment_number.as_ref()?;
        self.flight.as_mut().filter(|f| &f.number == n)
    }

    fn on_frame(&mut self, mut frame: Frame) {
        self.enter_fragment();
        let position = self.reading.frames;
        self.reading.frames += 1;
        if self.is_old() {
            return;
        }
        if let Some(f) = self.flight_mut() {
            if position < f.frames {
                return; // handed out before the cut
            }
            f.frames = position + 1;
        }
        frame.info.fragment = self.delivered;
        self.out.push_back(Ok(LiveItem::Frame(LiveFrame {
            stream: self.stream.clone(),
            fragment: self.reading.header.clone(),
            position,
            frame,
        })));
    }

    fn on_fragment(&mut self, mut meta: FragmentMeta) {
        if meta.kvs.millis_behind_now.is_some() {
            self.millis_behind_now = meta.kvs.millis_behind_now;
        }
        let damage = std::mem::take(&mut self.reading.damage);
        if meta.kvs.is_error() {
            let k = meta.kvs;
            self.out.push_back(Err(ConsumerError::InBand {
                code: k.error_code,
                id: k.error_id,
                message: k.error_message,
                fragment_number: k.fragment_number,
            }));
            return;
        }
        // A fragment without frames was not entered yet.
        self.reading.enter(&meta, &mut self.flight);
        let part = self.reading.parts;
        self.reading.parts += 1;
        if self.is_old() {
            return;
        }
        if let Some(f) = self.flight_mut() {
            if part < f.parts {
                return;
            }
            f.parts = part + 1;
        }
        let last_part = !meta.split;
        meta.index = self.delivered;
        let closed = if self.archive { true } else { meta.is_kvs_complete() };
        meta.complete = last_part && closed && !meta.damaged && !meta.truncated;
        let resume_after = if last_part { StartSelector::after(&meta) } else { None };
        if last_part {
            if let Some(n) = &meta.kvs.fragment_number {
                self.last_number = Some(n.clone());
            }
            if resume_after.is_some() {
                self.resume = resume_after.clone();
            }
            self.flight = None;
        }
        self.delivered += 1;
        self.out.push_back(Ok(LiveItem::Fragment(Box::new(LiveFragment {
            stream: self.stream.clone(),
            meta,
            damage,
            resume_after,
        }))));
    }

    /// A KVS fragment is complete once its trailing tags arrived; its `FragmentEnd` comes
    /// only with the next fragment's first bytes (seconds later on a live stream), so it is
    /// announced now, and its `FragmentEnd` dropped when it comes.
    fn announce_if_complete(&mut self) {
        let Some(m) = self.demux.current_fragment() else { return };
        if !m.is_kvs_complete() || m.kvs.is_error() || self.announced == Some(m.index) {
            return;
        }
        let mut meta = m.clone();
        meta.end_offset = self.demux.position();
        self.announced = Some(meta.index);
        self.on_fragment(meta);
    }
}
