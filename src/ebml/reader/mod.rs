//! The incremental, I/O-free element reader.
//!
//! ```text
//!            push(bytes)                     finish()
//!                 |                              |
//!   +--------+  header parsed  +------------+    |   +---------+
//!   | Header |---------------->| Leaf/Skip  |----+-->| Closing |--> Done
//!   +--------+<----------------+------------+        +---------+
//!     |    ^  body consumed                             ^
//!     |    | sync point found (Damage event)            | end of input
//!     v    |                                            |
//!   +--------+------------------------------------------+
//!   | Resync |  scanning for EBML header / Cluster / level-1 element
//!   +--------+
//! ```
//!
//! Open masters sit on an explicit stack bounded by [`Limits::max_depth`]; nothing recurses on
//! input. Leaves are buffered only once all their bytes have arrived, and only when their
//! declared size is within [`Limits::max_element_size`]. Unknown elements and Void are
//! skipped without buffering.

use std::collections::VecDeque;
use std::marker::PhantomData;

use bytes::Bytes;

use super::crc;
use super::ids;
use super::input::Input;
use super::{ElementId, Parent, Schema};
use crate::error::{Error, ErrorKind};
use crate::limits::Limits;
use crate::Status;

mod header;
mod hot;
mod resync;
mod skip;
mod watch;

pub(crate) use hot::HotCluster;
use watch::Scan;

/// The header of one element: where it is and how big it says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementHeader {
    /// The element ID.
    pub id: ElementId,
    /// Byte offset of the element's first header byte.
    pub offset: u64,
    /// Length of the ID plus size fields (2–12 bytes).
    pub header_len: u8,
    /// Declared body size; `None` means "unknown" (Segment and Cluster only).
    pub size: Option<u64>,
}

impl ElementHeader {
    /// Byte offset of the element body.
    pub fn data_offset(&self) -> u64 {
        self.offset + u64::from(self.header_len)
    }

    /// Byte offset just past the element, when its size is known.
    pub fn end(&self) -> Option<u64> {
        self.size.and_then(|s| self.data_offset().checked_add(s))
    }
}

/// What was skipped over after structural damage, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Offset of the first byte that could not be parsed.
    pub offset: u64,
    /// Number of bytes skipped before the next point that validates.
    pub length: u64,
    /// What was wrong at `offset`.
    pub error: Error,
}

/// One element-level event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementEvent {
    /// A master element starts; its children follow.
    Start(ElementHeader),
    /// A master element ends at `end` (its declared end, or where an element that cannot be
    /// its child, a new document, damage, or the end of input closed it).
    End(ElementHeader, u64),
    /// A leaf element with its whole body (a zero-copy slice of the input).
    Data(ElementHeader, Bytes),
    /// An element whose body is skipped without being buffered: Void, unknown IDs, and
    /// misplaced known IDs inside known-size masters.
    Skipped(ElementHeader),
    /// Bytes skipped over after structural damage, up to the next point that validates.
    Damage(Damage),
}

#[derive(Debug, Clone, Copy)]
enum State {
    Header,
    /// Buffering a leaf body of this size. With a watch (unbounded context), the bytes
    /// before `scanned` were checked for a new EBML header.
    Leaf(ElementHeader, usize, Option<usize>),
    /// Skipping a body; `u64` bytes left; `bool` = watch for a new EBML header.
    Skip(ElementHeader, u64, bool),
    Resync(u64),
    /// End of input: open masters close one by one (`forced` after truncation).
    Closing {
        forced: bool,
    },
    Done,
}

/// A CRC-32 being checked: the first child of the master at `depth` held `expected`.
#[derive(Debug, Clone, Copy)]
struct CrcCheck {
    depth: usize,
    expected: u32,
    state: u32,
}

/// Reads EBML elements from pushed bytes, one event at a time.
///
/// ```
/// use bytes::Bytes;
/// use kinesis_video_parser::ebml::Schema;
/// use kinesis_video_parser::mkv::{ids, Matroska};
/// use kinesis_video_parser::{ElementEvent, ElementReader, Limits, Status};
/// // EBML header holding DocType "webm", split in two pieces.
/// let bytes = [0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'];
/// // The crate root's `ElementReader` is `ebml::ElementReader<Matroska>`.
/// let mut r = ElementReader::new(Limits::default());
/// r.push(Bytes::copy_from_slice(&bytes[..6]));
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::Start(h))) if h.id == ids::EBML));
/// assert!(matches!(r.poll(), Ok(Status::NeedMore(_))));
/// r.push(Bytes::copy_from_slice(&bytes[6..]));
/// r.finish();
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::Data(h, d))) if Matroska::name(h.id) == Some("DocType") && &d[..] == b"webm"));
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::End(..)))));
/// assert!(matches!(r.poll(), Ok(Status::Done)));
/// ```
#[derive(Debug)]
pub struct ElementReader<S: Schema> {
    schema: PhantomData<S>,
    input: Input,
    stack: Vec<ElementHeader>,
    state: State,
    eof: bool,
    limits: Limits,
    verify_crc: bool,
    max_size_len: usize,
    size_width_reported: bool,
    /// After a resync, masters above this depth are closed before anything else.
    pop_to: usize,
    /// After a resync onto a level-1 element with no Segment open: where to imply one.
    implied_segment: Option<u64>,
    /// Where the current damage started (while resyncing).
    damage: Option<Error>,
    /// Offset at which an overrun was last reported (reported once per position).
    overrun_at: Option<u64>,
    pending: VecDeque<ElementEvent>,
    crcs: Vec<CrcCheck>,
    /// Masters whose well-formed subtrees the consumer does not use (see
    /// [`with_skipped_subtrees`](Self::with_skipped_subtrees)).
    skip_subtrees: &'static [ElementId],
}

impl<S: Schema> ElementReader<S> {
    /// A reader of documents of schema `S` (Matroska's is `mkv::Matroska`), within `limits`.
    pub fn new(limits: Limits) -> Self {
        ElementReader {
            schema: PhantomData,
            input: Input::default(),
            stack: Vec::new(),
            state: State::Header,
            eof: false,
            limits,
            verify_crc: false,
            max_size_len: 8,
            size_width_reported: false,
            pop_to: usize::MAX,
            implied_segment: None,
            damage: None,
            overrun_at: None,
            pending: VecDeque::new(),
            crcs: Vec::new(),
            skip_subtrees: &[],
        }
    }

    /// For a consumer that ignores these masters and everything in them (the demuxer and
    /// Cues, say): a known-size one whose whole subtree is in the first input piece and
    /// reads without a single finding (every header plain, every child valid where it
    /// stands, sizes nested exactly, within the limits) is reported as one
    /// [`ElementEvent::Skipped`] instead of its start, children and end. Anything else
    /// about it is read element by element as usual, so damage is found and reported
    /// exactly as without this. Never with CRC verification on.
    pub(crate) fn with_skipped_subtrees(mut self, ids: &'static [ElementId]) -> Self {
        self.skip_subtrees = ids;
        self
    }

    /// Verifies CRC-32 elements (off by default). A CRC-32 that is the first child of a
    /// master is checked against the rest of that master's data when the master ends; a
    /// mismatch is reported as [`ErrorKind::ChecksumMismatch`] damage covering the master,
    /// just before its `End` event.
    pub fn with_crc_verification(mut self, on: bool) -> Self {
        self.verify_crc = on;
        self
    }

    /// Appends input. Pieces may have any size, down to one byte.
    pub fn push(&mut self, bytes: Bytes) {
        if !self.eof {
            self.input.push(bytes);
        }
    }

    /// Declares the end of input: from now on a shortfall is truncation.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// `true` once [`finish`](Self::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.eof
    }

    /// Absolute offset of the next unread byte.
    pub fn position(&self) -> u64 {
        self.input.pos()
    }

    /// Bytes pushed but not yet consumed.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// The leaf or skipped element whose body is still arriving, if any.
    pub fn pending_element(&self) -> Option<ElementHeader> {
        match self.state {
            State::Leaf(h, ..) | State::Skip(h, ..) => Some(h),
            _ => None,
        }
    }

    /// The leaf being buffered when the queued input is only its start, and nothing in it is
    /// looked at before it is whole (no watch for a new document): the bytes queued and the
    /// bytes still needed.
    pub(crate) fn unfinished_leaf(&self) -> Option<(usize, usize)> {
        match self.state {
            State::Leaf(_, size, None) if self.pending.is_empty() && self.input.len() < size => {
                Some((self.input.len(), size - self.input.len()))
            }
            _ => None,
        }
    }

    /// Hands every queued byte to `to`, in order, and empties the queue (its position is
    /// kept: the same bytes are pushed again first).
    pub(crate) fn unqueue(&mut self, to: impl FnMut(&[u8])) {
        self.input.drain(to);
    }

    /// While scanning for a resync point after damage: where the damage started.
    pub fn resync_start(&self) -> Option<u64> {
        match self.state {
            State::Resync(start) => Some(start),
            _ => None,
        }
    }

    /// The open master elements, outermost first.
    pub fn open_elements(&self) -> &[ElementHeader] {
        &self.stack
    }

    /// The next event, `NeedMore` when the input runs short, `Done` after the end.
    ///
    /// # Errors
    /// Only truncation, once, after [`finish`](Self::finish) when the input ended inside an
    /// element. Damage is an event ([`ElementEvent::Damage`]); reading resumes after it.
    pub fn poll(&mut self) -> Result<Status<ElementEvent>, Error> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Ok(Status::Ready(ev));
            }
            match self.state {
                State::Done => return Ok(Status::Done),
                State::Closing { forced } => {
                    if self.stack.is_empty() {
                        self.state = State::Done;
                        return Ok(Status::Done);
                    }
                    return Ok(self.pop(forced));
                }
                State::Header => {
                    if let Some(ev) = self.header()? {
                        return Ok(ev);
                    }
                }
                State::Leaf(h, size, watch) => {
                    if let Some(scanned) = watch {
                        let to = self.input.len().min(size);
                        match self.scan(scanned, to) {
                            Scan::Found(p) => return Ok(self.spans_header(h, p as u64, p)),
                            Scan::Undecided(p) if !self.eof => {
                                self.state = State::Leaf(h, size, Some(p));
                                return Ok(Status::NeedMore(1));
                            }
                            Scan::Undecided(_) | Scan::Clear => self.state = State::Leaf(h, size, Some(to)),
                        }
                    }
                    if self.input.len() >= size {
                        let data = self.input.take(size);
                        self.hash(&data);
                        self.state = State::Header;
                        self.after_leaf(&h, &data);
                        return Ok(Status::Ready(ElementEvent::Data(h, data)));
                    }
                    if self.eof {
                        return Err(self.truncate(h.offset, h.id));
                    }
                    return Ok(Status::NeedMore(size - self.input.len()));
                }
                State::Skip(h, remaining, watch) => {
                    let mut n = remaining;
                    if watch {
                        let to = (self.input.len() as u64).min(remaining) as usize;
                        match self.scan(0, to) {
                            Scan::Found(p) => {
                                let skipped = h.size.unwrap_or(0) - remaining + p as u64;
                                self.input.skip(p as u64);
                                return Ok(self.spans_header(h, skipped, 0));
                            }
                            Scan::Undecided(p) if !self.eof => n = p as u64,
                            _ => {}
                        }
                    }
                    let left = remaining - self.consume(n);
                    if left == 0 {
                        self.state = State::Header;
                        continue;
                    }
                    self.state = State::Skip(h, left, watch);
                    if self.eof {
                        return Err(self.truncate(h.offset, h.id));
                    }
                    return Ok(Status::NeedMore(left.min(1 << 20) as usize));
                }
                State::Resync(start) => return self.resync(start),
            }
        }
    }

    /// Drops `n` bytes (as many as are there), feeding running CRCs.
    #[inline]
    fn consume(&mut self, n: u64) -> u64 {
        if self.crcs.is_empty() {
            return self.input.skip(n);
        }
        self.consume_hashed(n)
    }

    #[inline(never)]
    fn consume_hashed(&mut self, n: u64) -> u64 {
        let crcs = &mut self.crcs;
        self.input.skip_with(n, |b| {
            for c in crcs.iter_mut() {
                c.state = crc::update(c.state, b);
            }
        })
    }

    fn hash(&mut self, data: &[u8]) {
        for c in &mut self.crcs {
            c.state = crc::update(c.state, data);
        }
    }

    /// Ends the input inside an element: everything left is dropped, open masters close.
    fn truncate(&mut self, offset: u64, id: ElementId) -> Error {
        self.input.skip(u64::MAX);
        self.state = State::Closing { forced: true };
        self.error_in(ErrorKind::Truncated, offset, id)
    }

    /// An error of `kind` at `at`, in element `id` (named by the schema).
    pub(super) fn error_in(&self, kind: ErrorKind, at: u64, id: ElementId) -> Error {
        Error::new(kind, at).in_element(id, S::spec(id))
    }

    /// Closes the innermost master. Its CRC, if one is being checked, is verified unless
    /// the close is forced (damage, truncation); a mismatch comes out before the `End`.
    fn pop(&mut self, forced: bool) -> Status<ElementEvent> {
        let depth = self.stack.len() - 1;
        let h = self.stack.pop().expect("pop with open element");
        let pos = self.input.pos();
        let end = ElementEvent::End(h, pos);
        if let Some(i) = self.crcs.iter().position(|c| c.depth == depth) {
            let c = self.crcs.remove(i);
            if !forced && crc::finish(c.state) != c.expected {
                self.pending.push_back(end);
                let error = self.error_in(ErrorKind::ChecksumMismatch, h.offset, h.id);
                return Status::Ready(ElementEvent::Damage(Damage { offset: h.offset, length: pos - h.offset, error }));
            }
        }
        Status::Ready(end)
    }

    fn damage(&mut self, kind: ErrorKind, at: u64, id: Option<ElementId>) {
        self.damage = Some(match id.or(self.stack.last().map(|h| h.id)) {
            Some(id) => self.error_in(kind, at, id),
            None => Error::new(kind, at),
        });
        // Nothing skipped may count towards a CRC; the masters it covered are cut anyway.
        self.crcs.clear();
        // Never scan from the same byte twice: resync starts one past the bad element.
        self.input.skip(1);
        self.state = State::Resync(at);
    }

    /// A zero-length damage report: nothing is skipped, but the structure was wrong.
    fn notice(&mut self, kind: ErrorKind, at: u64, id: ElementId, detail: &'static str) -> Status<ElementEvent> {
        let error = self.error_in(kind, at, id).with_detail(detail);
        Status::Ready(ElementEvent::Damage(Damage { offset: at, length: 0, error }))
    }

    /// `true` if `id` belongs to a level above the innermost open master: the top level, or
    /// a child of some open master.
    fn closes(&self, id: ElementId) -> bool {
        match S::spec(id).map(|s| s.parent) {
            Some(Parent::Root) => !self.stack.is_empty(),
            Some(Parent::Id(_)) => self.stack.iter().any(|o| S::is_child_of(id, Some(o.id))),
            _ => false,
        }
    }

    fn after_leaf(&mut self, h: &ElementHeader, data: &[u8]) {
        let parent = self.stack.last().copied();
        if h.id == ids::EBML_MAX_SIZE_LENGTH && parent.is_some_and(|p| p.id == ids::EBML) {
            // Sizes are at most 8 bytes wide in this reader, so wider values mean 8.
            self.max_size_len = match super::value::uint(data) {
                Ok(n @ 1..=8) => n as usize,
                _ => 8,
            };
        }
        // A CRC-32 is checked only where it belongs, as the first child of a master; it
        // covers the rest of that master's data.
        let first_child = parent.is_some_and(|p| p.data_offset() == h.offset && p.header_len > 0);
        if h.id == ids::CRC32 && self.verify_crc && data.len() == 4 && first_child {
            let expected = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            self.crcs.push(CrcCheck { depth: self.stack.len() - 1, expected, state: crc::INIT });
        }
    }
}
