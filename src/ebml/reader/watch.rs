//! The watch for a new EBML header inside bodies that no known size bounds.

use crate::ebml::ids;
use crate::ebml::vint::{self, Parsed};
use crate::ebml::Schema;
use crate::error::ErrorKind;
use crate::Status;

use super::{Damage, ElementEvent, ElementHeader, ElementReader, State};

/// Outcome of scanning queued bytes for a new EBML header.
pub(super) enum Scan {
    Found(usize),
    /// A candidate at this position needs more bytes to decide.
    Undecided(usize),
    Clear,
}

impl<S: Schema> ElementReader<S> {
    /// An element body in an unbounded context ran into a new EBML header `skip` bytes
    /// into what is still queued: its declared size was wrong. The bytes before the header
    /// are dropped, the element is reported, and reading resumes at the header.
    pub(super) fn spans_header(&mut self, h: ElementHeader, body_bytes: u64, skip: usize) -> Status<ElementEvent> {
        self.input.skip(skip as u64);
        self.crcs.clear();
        self.state = State::Header;
        let error =
            self.error_in(ErrorKind::SizeOverrun, h.offset, h.id).with_detail("element spans a new EBML header");
        let length = u64::from(h.header_len) + body_bytes;
        Status::Ready(ElementEvent::Damage(Damage { offset: h.offset, length, error }))
    }

    /// Whether no new EBML header starts in the body `front[at..at + size]` (the first
    /// piece), as [`scan`](Self::scan) would find. The common case searches for the whole
    /// 4-byte EBML ID at once (SIMD), checking each hit as `scan` would; a body whose last
    /// bytes could start an ID that runs past the piece goes to `scan` itself.
    #[inline]
    pub(super) fn body_is_clear(&self, front: &[u8], at: usize, size: usize) -> bool {
        let Some(window) = front.get(at..at + size + 3) else {
            return matches!(self.scan(at, at + size), Scan::Clear);
        };
        EBML_MAGIC.find_iter(window).all(|p| self.ebml_header_at(at + p) == Some(false))
    }

    /// Looks for a new EBML header starting in `from..to` (relative to the queue front).
    pub(super) fn scan(&self, from: usize, to: usize) -> Scan {
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
    pub(super) fn ebml_header_at(&self, at: usize) -> Option<bool> {
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
            Parsed::Done(c) => Some(S::is_child_of(c, Some(ids::EBML))),
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
}

/// The bytes of the EBML header ID (`ids::EBML`).
pub(super) const EBML_ID: [u8; 4] = ids::EBML.0.to_be_bytes();

/// A searcher for [`EBML_ID`], used inside bodies that no known size bounds.
pub(super) static EBML_MAGIC: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(&EBML_ID));
