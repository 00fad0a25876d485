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

use bytes::Bytes;

use super::crc;
use super::input::Input;
use super::vint::{self, Parsed};
use super::ElementId;
use crate::error::{Error, ErrorKind, Limit};
use crate::limits::Limits;
use crate::mkv::ids::{self, schema, ElementType, Parent, LEVEL1};
use crate::Status;

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

/// The open Cluster as the SimpleBlock fast path sees it (see
/// [`ElementReader::hot_cluster`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HotCluster {
    /// Where the Cluster ends (`u64::MAX` for an unknown size).
    end: u64,
    /// No known size bounds it: bodies are watched for a new EBML header.
    unbounded: bool,
    /// The largest body the limits allow.
    max_size: u64,
    /// The document's EBMLMaxSizeLength.
    max_size_len: usize,
}

impl HotCluster {
    /// The same, handing over to [`ElementReader::poll`] at `end` at the latest (the
    /// demuxer's own bound on what a fragment may hold).
    #[inline]
    pub(crate) fn ending_by(mut self, end: u64) -> Self {
        self.end = self.end.min(end);
        self
    }
}

/// Outcome of scanning queued bytes for a new EBML header.
enum Scan {
    Found(usize),
    /// A candidate at this position needs more bytes to decide.
    Undecided(usize),
    Clear,
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
/// use kinesis_video_parser::{ElementEvent, ElementReader, Limits, Status};
/// // EBML header holding DocType "webm", split in two pieces.
/// let bytes = [0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm'];
/// let mut r = ElementReader::new(Limits::default());
/// r.push(Bytes::copy_from_slice(&bytes[..6]));
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::Start(h))) if h.id.name() == "EBML"));
/// assert!(matches!(r.poll(), Ok(Status::NeedMore(_))));
/// r.push(Bytes::copy_from_slice(&bytes[6..]));
/// r.finish();
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::Data(h, d))) if h.id.name() == "DocType" && &d[..] == b"webm"));
/// assert!(matches!(r.poll(), Ok(Status::Ready(ElementEvent::End(..)))));
/// assert!(matches!(r.poll(), Ok(Status::Done)));
/// ```
#[derive(Debug)]
pub struct ElementReader {
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

impl ElementReader {
    /// A reader with the given limits.
    pub fn new(limits: Limits) -> Self {
        ElementReader {
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

    /// The open Cluster as the SimpleBlock fast path needs it, when the reader is quiet in
    /// it: between elements, nothing queued, no CRC running, no resync pending. This stays
    /// true while only [`take_simple_block`](Self::take_simple_block) consumes input; any
    /// [`poll`](Self::poll) may change it.
    #[inline]
    pub(crate) fn hot_cluster(&self) -> Option<HotCluster> {
        let quiet = matches!(self.state, State::Header)
            && self.pending.is_empty()
            && self.crcs.is_empty()
            && self.pop_to == usize::MAX
            && self.implied_segment.is_none();
        let cluster = self.stack.last().filter(|c| quiet && c.id == ids::CLUSTER)?;
        Some(HotCluster {
            end: cluster.end().unwrap_or(u64::MAX),
            unbounded: self.stack.iter().all(|o| o.size.is_none()),
            max_size: self.limits.max_element_size,
            max_size_len: self.max_size_len,
        })
    }

    /// The fast path for the element that makes up almost all of a stream: a SimpleBlock
    /// directly inside the open Cluster `hot` (from [`hot_cluster`](Self::hot_cluster)),
    /// with header and body in the first input piece.
    ///
    /// When every check [`poll`](Self::poll) makes would pass without an event of its own
    /// (a plain header that fits the Cluster and the limits, no new EBML header inside the
    /// body of an unbounded one), returns the block's header and body, which
    /// [`take_simple_block`](Self::take_simple_block) then consumes exactly as `poll` would
    /// have returned it as [`ElementEvent::Data`]. Otherwise `None` sends the caller to
    /// `poll`, which handles every case (and reports what is wrong).
    #[inline(always)]
    pub(crate) fn peek_simple_block(&self, hot: &HotCluster) -> Option<(ElementHeader, &[u8])> {
        let front = self.input.front();
        if front.first() != Some(&(ids::SIMPLE_BLOCK.0 as u8)) {
            return None;
        }
        // An unknown size (damage) goes to `poll`, which reports it.
        let raw = vint::read_header(front, hot.max_size_len)?;
        let (header_len, size) = (usize::from(raw.len), raw.size?);
        // A 0x1A among the size bytes might start a new document: `poll` decides.
        if front[1..header_len].contains(&0x1A) {
            return None;
        }
        let in_front = size <= (front.len() - header_len) as u64;
        if !in_front || size > hot.max_size {
            return None;
        }
        let pos = self.input.pos();
        if pos >= hot.end || pos + (header_len as u64 + size) > hot.end {
            return None;
        }
        if hot.unbounded && !self.body_is_clear(front, header_len, size as usize) {
            return None;
        }
        Self::prefetch(front, header_len + size as usize);
        let h = ElementHeader { id: ids::SIMPLE_BLOCK, offset: pos, header_len: header_len as u8, size: Some(size) };
        Some((h, &front[header_len..header_len + size as usize]))
    }

    /// Asks the CPU to load the cache line holding byte `next` of the queue front (the
    /// next element's header), and the lines 1 and 2 KiB further (where the headers after
    /// it are likely to be), while this block is worked on.
    ///
    /// Frames are sliced, not read, so the parse loads little more than the block headers,
    /// and the next header's place is known only once this one is read: when the input is
    /// not in cache, every header would wait for memory in turn. A prefetch does not wait;
    /// a plain load would (it cannot retire before its data arrives). The distances were
    /// chosen by measurement (`benches/run.sh`): one line only, or 2 and 4 KiB, were slower.
    #[inline]
    fn prefetch(front: &[u8], next: usize) {
        #[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse"))]
        for ahead in [0, 1024, 2048] {
            if let Some(b) = front.get(next + ahead) {
                safe_arch::prefetch_t0(b);
            }
        }
        #[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse")))]
        let _ = (front, next);
    }

    /// Consumes the SimpleBlock that [`peek_simple_block`](Self::peek_simple_block) just
    /// returned as `h`, and returns its body from byte `from` on (a zero-copy slice).
    #[inline(always)]
    pub(crate) fn take_simple_block(&mut self, h: &ElementHeader, from: usize) -> Bytes {
        let (start, end) = Self::peeked_body(h, from);
        self.input.take_after(start, end - start)
    }

    /// The body of the SimpleBlock that [`peek_simple_block`](Self::peek_simple_block) just
    /// returned as `h`, from byte `from` on, in place, and the bytes the whole block
    /// occupies, which the caller consumes later with [`skip_lent`](Self::skip_lent).
    #[inline(always)]
    pub(crate) fn peeked_simple_block(&self, h: &ElementHeader, from: usize) -> (&[u8], usize) {
        let (start, end) = Self::peeked_body(h, from);
        (&self.input.front()[start..end], end)
    }

    /// Where the body of a peeked SimpleBlock lies in the queue front, from byte `from` of
    /// it on: (start, end), the end also that of the block.
    #[inline(always)]
    fn peeked_body(h: &ElementHeader, from: usize) -> (usize, usize) {
        let header_len = usize::from(h.header_len);
        let size = h.size.expect("a peeked SimpleBlock has a size") as usize;
        (header_len + from, header_len + size)
    }

    /// Consumes the `n` bytes of a block lent in place by
    /// [`peeked_simple_block`](Self::peeked_simple_block).
    #[inline(always)]
    pub(crate) fn skip_lent(&mut self, n: usize) {
        self.input.skip(n as u64);
    }

    /// An element body in an unbounded context ran into a new EBML header `skip` bytes
    /// into what is still queued: its declared size was wrong. The bytes before the header
    /// are dropped, the element is reported, and reading resumes at the header.
    fn spans_header(&mut self, h: ElementHeader, body_bytes: u64, skip: usize) -> Status<ElementEvent> {
        self.input.skip(skip as u64);
        self.crcs.clear();
        self.state = State::Header;
        let error = Error::new(ErrorKind::SizeOverrun, h.offset)
            .in_element(h.id)
            .with_detail("element spans a new EBML header");
        let length = u64::from(h.header_len) + body_bytes;
        Status::Ready(ElementEvent::Damage(Damage { offset: h.offset, length, error }))
    }

    /// Whether no new EBML header starts in the body `front[at..at + size]` (the first
    /// piece), as [`scan`](Self::scan) would find. The common case searches for the whole
    /// 4-byte EBML ID at once (SIMD), checking each hit as `scan` would; a body whose last
    /// bytes could start an ID that runs past the piece goes to `scan` itself.
    #[inline]
    fn body_is_clear(&self, front: &[u8], at: usize, size: usize) -> bool {
        let Some(window) = front.get(at..at + size + 3) else {
            return matches!(self.scan(at, at + size), Scan::Clear);
        };
        EBML_MAGIC.find_iter(window).all(|p| self.ebml_header_at(at + p) == Some(false))
    }

    /// Looks for a new EBML header starting in `from..to` (relative to the queue front).
    fn scan(&self, from: usize, to: usize) -> Scan {
        let mut undecided = None;
        let found = self.input.find_byte(0x1A, from, to, |p| match self.ebml_header_at(p) {
            Some(true) => true,
            Some(false) => false,
            None => {
                undecided = Some(p);
                true
            }
        });
        match (found, undecided) {
            (Some(p), Some(_)) => Scan::Undecided(p),
            (Some(p), None) => Scan::Found(p),
            (None, _) => Scan::Clear,
        }
    }

    /// Whether a plausible EBML header starts `at` bytes past the queue front: its ID, a
    /// known size of at most 4 KiB, and an EBML header child (or Void/CRC-32) first.
    /// `None` when more bytes are needed to tell.
    fn ebml_header_at(&self, at: usize) -> Option<bool> {
        let mut scratch = [0u8; 16];
        let b = self.input.peek_at(at, &mut scratch);
        let n = b.len().min(4);
        if b[..n] != EBML_ID[..n] {
            return Some(false);
        }
        let parsed = vint::header(b, 8);
        let h = match parsed {
            Parsed::Done(h) => h,
            Parsed::Error(_) => return Some(false),
            Parsed::Incomplete(_) => return if self.eof { Some(false) } else { None },
        };
        if h.size.is_none_or(|s| s > 4096) {
            return Some(false);
        }
        match vint::run(vint::element_id(&b[usize::from(h.len)..])) {
            Parsed::Done(c) => Some(ids::is_child_of(c, Some(ids::EBML))),
            Parsed::Error(_) => Some(false),
            Parsed::Incomplete(_) => {
                if self.eof {
                    Some(h.size == Some(0))
                } else {
                    None
                }
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
        Error::new(ErrorKind::Truncated, offset).in_element(id)
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
                let error = Error::new(ErrorKind::ChecksumMismatch, h.offset).in_element(h.id);
                return Status::Ready(ElementEvent::Damage(Damage { offset: h.offset, length: pos - h.offset, error }));
            }
        }
        Status::Ready(end)
    }

    fn damage(&mut self, kind: ErrorKind, at: u64, id: Option<ElementId>) {
        let mut e = Error::new(kind, at);
        if let Some(id) = id.or(self.stack.last().map(|h| h.id)) {
            e = e.in_element(id);
        }
        self.damage = Some(e);
        // Nothing skipped may count towards a CRC; the masters it covered are cut anyway.
        self.crcs.clear();
        // Never scan from the same byte twice: resync starts one past the bad element.
        self.input.skip(1);
        self.state = State::Resync(at);
    }

    /// A zero-length damage report: nothing is skipped, but the structure was wrong.
    fn notice(&mut self, kind: ErrorKind, at: u64, id: ElementId, detail: &'static str) -> Status<ElementEvent> {
        let error = Error::new(kind, at).in_element(id).with_detail(detail);
        Status::Ready(ElementEvent::Damage(Damage { offset: at, length: 0, error }))
    }

    /// Header state: close what ended, parse the next header and decide what it is.
    fn header(&mut self) -> Result<Option<Status<ElementEvent>>, Error> {
        if self.stack.len() > self.pop_to {
            return Ok(Some(self.pop(true)));
        }
        self.pop_to = usize::MAX;
        let pos = self.input.pos();
        if let Some(at) = self.implied_segment.take() {
            let seg = ElementHeader { id: ids::SEGMENT, offset: at, header_len: 0, size: None };
            self.stack.push(seg);
            return Ok(Some(Status::Ready(ElementEvent::Start(seg))));
        }
        if let Some(top) = self.stack.last() {
            if top.end() == Some(pos) {
                return Ok(Some(self.pop(false)));
            }
        }
        let mut scratch = [0u8; 16];
        let buf = self.input.peek(&mut scratch, 12);
        let h = match vint::header(buf, 8) {
            Parsed::Done(h) => h,
            Parsed::Incomplete(n) => {
                if !self.eof {
                    return Ok(Some(Status::NeedMore(n)));
                }
                if self.input.len() > 0 {
                    let id = self.stack.last().map_or(ids::SEGMENT, |h| h.id);
                    return Err(self.truncate(pos, id));
                }
                // Clean end between elements: known-size masters not yet complete are cut.
                let cut = self.stack.iter().rev().find(|h| h.end().is_some_and(|e| e > pos)).copied();
                self.state = State::Closing { forced: cut.is_some() };
                if let Some(cut) = cut {
                    return Err(Error::new(ErrorKind::Truncated, cut.offset).in_element(cut.id));
                }
                return Ok(None);
            }
            Parsed::Error(kind) => {
                self.damage(kind, pos, None);
                return Ok(None);
            }
        };
        let hdr = ElementHeader { id: h.id, offset: pos, header_len: h.len, size: h.size };
        let parent = self.stack.last().copied();
        // Junk can look like a header whose size bytes are the start of the next document:
        // a header that overlaps a new EBML header is not one.
        for p in (1..usize::from(h.len)).filter(|&p| buf[p] == 0x1A) {
            match self.ebml_header_at(p) {
                Some(false) => {}
                Some(true) => {
                    self.damage(ErrorKind::InvalidElementId, pos, Some(h.id));
                    return Ok(None);
                }
                // Not enough bytes yet to tell (never at the end of input).
                None => return Ok(Some(Status::NeedMore(1))),
            }
        }

        // An element of an enclosing level (a new EBML header closes everything) ends the
        // open masters that cannot contain it. Unknown-size ones end that way by design;
        // for a known-size one it means its declared size was wrong: say so once.
        let sch = schema(h.id);
        let child_of_top = parent.is_some_and(|p| sch.is_some_and(|s| s.is_child_of(Some(p.id))));
        let ancestor_level = !child_of_top && if h.id == ids::EBML { parent.is_some() } else { self.closes(h.id) };
        if let Some(p) = parent.filter(|_| ancestor_level) {
            if p.size.is_some() && self.overrun_at != Some(pos) {
                self.overrun_at = Some(pos);
                let closes = if h.id == ids::EBML { 0 } else { self.stack.len() - 1 };
                self.pop_to = closes.min(self.pop_to);
                let what = "an element of an enclosing level inside a known-size master";
                return Ok(Some(self.notice(ErrorKind::SizeOverrun, pos, p.id, what)));
            }
            return Ok(Some(self.pop(p.size.is_some())));
        }
        // Sizes wider than the document's EBMLMaxSizeLength still decode (they are
        // unambiguous up to 8 bytes); the violation is reported once per document.
        let size_width = usize::from(h.len) - h.id.width();
        if size_width > self.max_size_len && !self.size_width_reported {
            self.size_width_reported = true;
            return Ok(Some(self.notice(ErrorKind::InvalidVint, pos, h.id, "size wider than EBMLMaxSizeLength")));
        }
        let valid = match parent {
            None => matches!(h.id, ids::EBML | ids::SEGMENT | ids::VOID | ids::CRC32),
            Some(p) if p.id == ids::SEGMENT => LEVEL1.contains(&h.id) || matches!(h.id, ids::VOID | ids::CRC32),
            Some(_) => child_of_top,
        };
        let structural = parent.is_none_or(|p| p.id == ids::SEGMENT);
        if !valid && structural {
            self.damage(ErrorKind::InvalidElementId, pos, Some(h.id));
            return Ok(None);
        }
        let end = match h.size {
            None => {
                if !(valid && sch.is_some_and(|s| s.unknown_size_allowed)) {
                    self.damage(ErrorKind::UnknownSizeNotAllowed, pos, Some(h.id));
                    return Ok(None);
                }
                None
            }
            Some(s) => match hdr.data_offset().checked_add(s) {
                Some(e) => Some(e),
                None => {
                    self.damage(ErrorKind::ChildExceedsParent, pos, Some(h.id));
                    return Ok(None);
                }
            },
        };
        if let (Some(e), Some(pe)) = (end, parent.and_then(|p| p.end())) {
            if e > pe {
                self.damage(ErrorKind::ChildExceedsParent, pos, Some(h.id));
                return Ok(None);
            }
        }
        let ty = sch.map(|s| s.ty);
        if valid && ty == Some(ElementType::Master) {
            if self.stack.len() >= self.limits.max_depth {
                self.damage(ErrorKind::LimitExceeded(Limit::Depth), pos, Some(h.id));
                return Ok(None);
            }
            let skippable = self.skip_subtrees.contains(&h.id) && self.may_skip_subtrees();
            if let Some(size) = h.size.filter(|_| skippable) {
                // A subtree up to max_skip_gather is checked whole: wait for it (a stream
                // delivers it in pieces) and join its pieces, then skip it if clean.
                let whole = u64::from(h.len).saturating_add(size);
                if whole <= self.limits.max_skip_gather {
                    let queued = self.input.len() as u64;
                    if queued < whole && !self.eof {
                        return Ok(Some(Status::NeedMore((whole - queued) as usize)));
                    }
                    self.input.make_contiguous(whole as usize);
                }
                if self.subtree_is_clean(h.id, usize::from(h.len), size) {
                    self.consume(u64::from(h.len) + size);
                    return Ok(Some(Status::Ready(ElementEvent::Skipped(hdr))));
                }
            }
            self.consume(u64::from(h.len));
            self.stack.push(hdr);
            if h.id == ids::EBML {
                self.max_size_len = 8;
                self.size_width_reported = false;
            }
            return Ok(Some(Status::Ready(ElementEvent::Start(hdr))));
        }
        let size = h.size.expect("unknown size only on masters");
        // No known end bounds this element: a wrong size could swallow the documents that
        // follow, so watch its body for a new EBML header.
        let unbounded = self.stack.iter().all(|o| o.size.is_none());
        if !valid || h.id == ids::VOID {
            self.consume(u64::from(h.len));
            self.state = State::Skip(hdr, size, unbounded);
            return Ok(Some(Status::Ready(ElementEvent::Skipped(hdr))));
        }
        if size > self.limits.max_element_size {
            self.damage(ErrorKind::LimitExceeded(Limit::ElementSize), pos, Some(h.id));
            return Ok(None);
        }
        if h.id == ids::CRC32 && size != 4 {
            self.damage(ErrorKind::InvalidValue, pos, Some(h.id));
            return Ok(None);
        }
        self.consume(u64::from(h.len));
        self.state = State::Leaf(hdr, size as usize, unbounded.then_some(0));
        Ok(None)
    }

    /// Subtrees may be skipped whole only while no CRC is running or checked: nothing
    /// skipped would be hashed or verified.
    fn may_skip_subtrees(&self) -> bool {
        !self.verify_crc && self.crcs.is_empty()
    }

    /// Whether the body of master `id` (`size` bytes from `at` in the first piece, the
    /// master about to be opened) holds only elements that [`poll`](Self::poll) would read
    /// without a finding of its own: plain headers (no `0x1A` that could start a new
    /// document), known sizes nested exactly, schema-valid children, masters within the
    /// depth limit, leaves within the size limits, CRC-32s of 4 bytes. No CRC may be
    /// running or checked, since nothing skipped here would be hashed or verified.
    fn subtree_is_clean(&self, id: ElementId, at: usize, size: u64) -> bool {
        if !self.may_skip_subtrees() {
            return false;
        }
        let front = self.input.front();
        let Some(end) = usize::try_from(size).ok().and_then(|s| at.checked_add(s)).filter(|&e| e <= front.len()) else {
            return false;
        };
        // The open masters of the walk (the one at `at` first), bounded like the stack.
        let mut open = [(id, end); 16];
        let mut depth = 1;
        let mut pos = at;
        while depth > 0 {
            let (parent, parent_end) = open[depth - 1];
            if pos == parent_end {
                depth -= 1;
                continue;
            }
            let Some(h) = vint::read_header(&front[pos..parent_end], self.max_size_len) else { return false };
            let header_len = usize::from(h.len);
            let body = pos + header_len;
            let child_end = h.size.and_then(|s| usize::try_from(s).ok()).and_then(|s| body.checked_add(s));
            let Some(child_end) = child_end.filter(|&e| e <= parent_end) else { return false };
            let Some(sch) = schema(h.id).filter(|s| s.is_child_of(Some(parent))) else { return false };
            if front[pos + 1..body].contains(&0x1A) {
                return false;
            }
            let size = (child_end - body) as u64;
            if sch.ty == ElementType::Master {
                if depth == open.len() || self.stack.len() + depth >= self.limits.max_depth {
                    return false;
                }
                open[depth] = (h.id, child_end);
                depth += 1;
                pos = body;
                continue;
            }
            let too_big = size > self.limits.max_element_size;
            if (h.id != ids::VOID && too_big) || (h.id == ids::CRC32 && size != 4) {
                return false;
            }
            pos = child_end;
        }
        true
    }

    /// `true` if `id` belongs to a level above the innermost open master: the top level, or
    /// a child of some open master.
    fn closes(&self, id: ElementId) -> bool {
        match schema(id).map(|s| s.parent) {
            Some(Parent::Root) => !self.stack.is_empty(),
            Some(Parent::Id(_)) => self.stack.iter().any(|o| ids::is_child_of(id, Some(o.id))),
            _ => false,
        }
    }

    fn after_leaf(&mut self, h: &ElementHeader, data: &[u8]) {
        let parent = self.stack.last().copied();
        if h.id == ids::EBML_MAX_SIZE_LENGTH && parent.is_some_and(|p| p.id == ids::EBML) {
            // Matroska allows at most 8, so wider values mean 8.
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

    /// Scans for the next point that validates and reports what was skipped.
    fn resync(&mut self, start: u64) -> Result<Status<ElementEvent>, Error> {
        loop {
            if self.input.len() < 16 && !self.eof {
                return Ok(Status::NeedMore(16 - self.input.len()));
            }
            let pos = self.input.pos();
            let found = if self.input.len() == 0 { None } else { self.sync_here(pos) };
            if found.is_some() || self.input.len() == 0 {
                let error = self.damage.take().expect("damage recorded");
                self.state = State::Header;
                if let Some((depth, implied)) = found {
                    self.pop_to = depth;
                    if implied {
                        self.implied_segment = Some(pos);
                    }
                }
                return Ok(Status::Ready(ElementEvent::Damage(Damage { offset: start, length: pos - start, error })));
            }
            // Skip to the next byte that can start a sync ID (at least one byte: progress).
            let front = self.input.front();
            let next = front[1..].iter().position(|b| SYNC_FIRST_BYTES.contains(b)).map_or(front.len(), |i| i + 1);
            self.input.skip(next as u64);
        }
    }

    /// If a resync point starts at the front of the input: the stack depth to pop to, and
    /// whether a Segment must be implied (a level-1 element found with none open).
    fn sync_here(&self, pos: u64) -> Option<(usize, bool)> {
        let mut scratch = [0u8; 16];
        let buf = self.input.peek(&mut scratch, 16);
        let Parsed::Done(h) = vint::header(buf, 8) else { return None };
        let body = &buf[usize::from(h.len)..];
        let seg = self.stack.iter().rposition(|o| o.id == ids::SEGMENT);
        let child = || match vint::run(vint::element_id(body)) {
            Parsed::Done(c) => Some(c),
            _ => None,
        };
        let level1 = |ok: bool| -> Option<(usize, bool)> {
            if !ok {
                return None;
            }
            match seg {
                Some(s) if self.fits_in(s, pos, h.size) => Some((s + 1, false)),
                Some(_) => None,
                None => Some((0, true)),
            }
        };
        match h.id {
            ids::EBML => h.size.is_some_and(|s| s <= 4096).then_some((0, false)),
            ids::SEGMENT => Some((0, false)),
            ids::CLUSTER => level1(matches!(child(), Some(ids::TIMESTAMP | ids::CRC32))),
            id if LEVEL1.contains(&id) => {
                let size = h.size?;
                let plausible = size <= self.limits.max_element_size
                    && (size == 0 || child().is_some_and(|c| ids::is_child_of(c, Some(id))));
                level1(plausible)
            }
            _ => None,
        }
    }

    fn fits_in(&self, seg: usize, pos: u64, size: Option<u64>) -> bool {
        match self.stack[seg].end() {
            None => true,
            Some(end) => pos < end && size.is_none_or(|s| pos.saturating_add(s) < end),
        }
    }
}

/// The bytes of the EBML header ID (`ids::EBML`).
const EBML_ID: [u8; 4] = ids::EBML.0.to_be_bytes();

/// A searcher for [`EBML_ID`], used inside bodies that no known size bounds.
static EBML_MAGIC: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(&EBML_ID));

/// First bytes of the IDs resync looks for (EBML header, Segment, level-1 elements).
const SYNC_FIRST_BYTES: [u8; 10] = [0x1A, 0x18, 0x11, 0x15, 0x16, 0x1F, 0x1C, 0x19, 0x10, 0x12];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebml::writer::{self, Size};

    /// A Segment of unknown size holding one Cues of `points` CuePoints, then a Void.
    fn segment_with_cues(points: u64) -> Vec<u8> {
        let mut cues = Vec::new();
        for t in 0..points {
            let mut pos = Vec::new();
            writer::uint(&mut pos, ids::CUE_TRACK, 1);
            writer::uint(&mut pos, ids::CUE_CLUSTER_POSITION, 1000 + t);
            let mut point = Vec::new();
            writer::uint(&mut point, ids::CUE_TIME, t);
            writer::element(&mut point, ids::CUE_TRACK_POSITIONS, Size::Minimal, &pos);
            writer::element(&mut cues, ids::CUE_POINT, Size::Minimal, &point);
        }
        let mut body = Vec::new();
        writer::element(&mut body, ids::CUES, Size::Minimal, &cues);
        writer::element(&mut body, ids::VOID, Size::Minimal, &[0; 2]);
        let mut out = Vec::new();
        writer::element(&mut out, ids::SEGMENT, Size::Unknown(8), &body);
        out
    }

    /// Feeds `data` in pieces of `piece` bytes (then finishes) and returns the IDs of the
    /// elements seen as Skipped, Started or Data, with their kind.
    fn seen(data: &[u8], piece: usize) -> Vec<(char, ElementId)> {
        let mut r = ElementReader::new(Limits::default()).with_skipped_subtrees(&[ids::CUES]);
        let mut chunks = data.chunks(piece);
        let mut out = Vec::new();
        for _ in 0..100_000 {
            match r.poll() {
                Ok(Status::Ready(ElementEvent::Skipped(h))) => out.push(('s', h.id)),
                Ok(Status::Ready(ElementEvent::Start(h))) => out.push(('m', h.id)),
                Ok(Status::Ready(ElementEvent::Data(h, _))) => out.push(('d', h.id)),
                Ok(Status::Ready(_)) | Err(_) => {}
                Ok(Status::NeedMore(_)) => match chunks.next() {
                    Some(c) => r.push(Bytes::copy_from_slice(c)),
                    None => r.finish(),
                },
                Ok(Status::Done) => return out,
            }
        }
        panic!("the reader never finished");
    }

    /// A clean Cues that reaches the reader in many pieces is still skipped whole: the
    /// reader waits for it and joins the pieces; the events equal those of one piece.
    #[test]
    fn clean_subtree_in_pieces_is_skipped_whole() {
        let data = segment_with_cues(50);
        let whole = seen(&data, data.len());
        assert_eq!(whole, [('m', ids::SEGMENT), ('s', ids::CUES), ('s', ids::VOID)]);
        for piece in [1, 3, 7, 64, 500] {
            assert_eq!(seen(&data, piece), whole, "pieces of {piece}");
        }
    }

    /// With CRC verification on nothing is skipped, so nothing is waited for either: the
    /// Cues is opened as soon as its header has arrived.
    #[test]
    fn subtree_is_not_waited_for_when_it_cannot_be_skipped() {
        let data = segment_with_cues(50);
        let mut r =
            ElementReader::new(Limits::default()).with_skipped_subtrees(&[ids::CUES]).with_crc_verification(true);
        r.push(Bytes::copy_from_slice(&data[..data.len() / 2]));
        let mut started = Vec::new();
        while let Ok(Status::Ready(ev)) = r.poll() {
            if let ElementEvent::Start(h) = ev {
                started.push(h.id);
            }
        }
        assert_eq!(started[..2], [ids::SEGMENT, ids::CUES]);
    }

    /// When the input ends inside the subtree the reader does not wait forever: what
    /// arrived is read element by element (and the cut reported).
    #[test]
    fn subtree_cut_by_the_end_of_input_is_read_as_far_as_it_goes() {
        let data = segment_with_cues(50);
        let cut = &data[..data.len() / 2];
        let got = seen(cut, 16);
        assert_eq!(got[..2], [('m', ids::SEGMENT), ('m', ids::CUES)]);
        assert!(got.iter().filter(|(_, id)| *id == ids::CUE_POINT).count() >= 20, "{got:?}");
        assert!(!got.contains(&('s', ids::CUES)));
    }
}
