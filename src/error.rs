//! The crate's one error type.
//!
//! Every error carries a [`ErrorKind`], the byte offset in the input where the problem was
//! found, and the element it happened in (when known). Damage inside a stream does not stop
//! the [`Demuxer`](crate::Demuxer): it is reported as an [`Event::Damage`](crate::Event::Damage)
//! carrying one of these errors, and parsing resumes at the next point that validates.

use std::fmt;
use std::sync::Arc;

use crate::ebml::{ElementId, ElementSpec};

/// What went wrong.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A variable-size integer starts with `0x00` (a width above 8), or a size is wider
    /// than the document's `EBMLMaxSizeLength` (reported once per document, as a
    /// zero-length damage: such sizes still decode). IDs are read up to 4 bytes whatever
    /// `EBMLMaxIDLength` says.
    InvalidVint,
    /// An element ID that is not valid where it stands: a reserved value, or an ID that
    /// the schema does not allow at the top level or directly inside the body (Matroska:
    /// a Segment).
    InvalidElementId,
    /// An element declares an unknown size that the schema does not allow it (Matroska:
    /// any but Segment and Cluster).
    UnknownSizeNotAllowed,
    /// An element's declared end lies past the end of its known-size parent.
    ChildExceedsParent,
    /// A known-size master ended early: an element of an enclosing level (a new EBML
    /// header, a level-1 element inside a Cluster, …) appeared before its declared end, so
    /// its declared size was wrong.
    SizeOverrun,
    /// A leaf value that cannot be decoded (for example a float of 3 bytes).
    InvalidValue,
    /// A SimpleBlock or Block header that makes no sense (too short, bad track number).
    InvalidBlock,
    /// A lace header that does not add up (sizes past the block, fixed lace not divisible).
    InvalidLacing,
    /// A configured [`Limits`](crate::Limits) bound would be exceeded.
    LimitExceeded(Limit),
    /// A CRC-32 element does not match the data it covers.
    ChecksumMismatch,
    /// The input ended inside an element.
    Truncated,
    /// Valid input that this crate does not handle (for example zlib content compression).
    Unsupported,
    /// An I/O error from the underlying reader (adapters only).
    Io(std::io::ErrorKind),
}

/// Which limit of [`Limits`](crate::Limits) was hit.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// [`Limits::max_element_size`](crate::Limits::max_element_size).
    ElementSize,
    /// [`Limits::max_depth`](crate::Limits::max_depth).
    Depth,
    /// [`Limits::max_tracks`](crate::Limits::max_tracks).
    Tracks,
    /// [`Limits::max_tags_per_fragment`](crate::Limits::max_tags_per_fragment).
    TagsPerFragment,
}

impl ErrorKind {
    /// A short, stable, human-readable description (used in `Display` and in `inspect`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::InvalidVint => "invalid variable-size integer",
            ErrorKind::InvalidElementId => "invalid element ID",
            ErrorKind::UnknownSizeNotAllowed => "unknown size not allowed on this element",
            ErrorKind::ChildExceedsParent => "child exceeds parent",
            ErrorKind::SizeOverrun => "element ended before its declared size",
            ErrorKind::InvalidValue => "invalid value",
            ErrorKind::InvalidBlock => "invalid block header",
            ErrorKind::InvalidLacing => "invalid lacing",
            ErrorKind::LimitExceeded(Limit::ElementSize) => "element size limit exceeded",
            ErrorKind::LimitExceeded(Limit::Depth) => "nesting depth limit exceeded",
            ErrorKind::LimitExceeded(Limit::Tracks) => "track count limit exceeded",
            ErrorKind::LimitExceeded(Limit::TagsPerFragment) => "tags per fragment limit exceeded",
            ErrorKind::ChecksumMismatch => "CRC-32 mismatch",
            ErrorKind::Truncated => "truncated",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Io(_) => "I/O error",
        }
    }
}

/// An error with its position: a kind, the byte offset, and the element it happened in.
///
/// ```
/// use kinesis_video_parser::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::Truncated, 1234);
/// assert_eq!(e.kind(), ErrorKind::Truncated);
/// assert_eq!(e.offset(), 1234);
/// assert_eq!(e.to_string(), "truncated at byte 1234");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: u64,
    element: Option<ElementId>,
    /// The element's row in the schema of the reader that found the error (a thin
    /// pointer, like `message`: the error is moved inside every element event).
    spec: Option<&'static ElementSpec>,
    detail: Option<&'static str>,
    /// The message of an I/O error (shared, so that the error stays cheap to clone).
    message: Option<Arc<String>>,
}

impl Error {
    /// An error of `kind` at byte `offset`.
    pub fn new(kind: ErrorKind, offset: u64) -> Self {
        Error { kind, offset, element: None, spec: None, detail: None, message: None }
    }

    /// An I/O error of the underlying reader, `offset` bytes into the input: its kind and
    /// its message are kept.
    ///
    /// ```
    /// use kinesis_video_parser::{Error, ErrorKind};
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "peer went away");
    /// let e = Error::io(&io, 4096);
    /// assert_eq!(e.kind(), ErrorKind::Io(std::io::ErrorKind::ConnectionReset));
    /// assert_eq!(e.to_string(), "I/O error (peer went away) at byte 4096");
    /// ```
    pub fn io(e: &std::io::Error, offset: u64) -> Self {
        let mut err = Error::new(ErrorKind::Io(e.kind()), offset);
        err.message = Some(Arc::new(e.to_string()));
        err
    }

    /// Sets the element the error happened in, and its schema row when the schema lists
    /// it (which names it).
    pub fn in_element(mut self, id: ElementId, spec: Option<&'static ElementSpec>) -> Self {
        self.element = Some(id);
        self.spec = spec;
        self
    }

    /// Adds a short static explanation.
    pub fn with_detail(mut self, detail: &'static str) -> Self {
        self.detail = Some(detail);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset in the input (counted from the first byte ever pushed).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The element in which the error happened, when known.
    pub fn element(&self) -> Option<ElementId> {
        self.element
    }

    /// The name of that element, when the schema knows it.
    pub fn element_name(&self) -> Option<&'static str> {
        self.spec.map(|s| s.name)
    }

    /// A short explanation beyond the kind, when there is one.
    pub fn detail(&self) -> Option<&'static str> {
        self.detail
    }

    /// `true` for truncation (the input ended inside an element).
    pub fn is_truncation(&self) -> bool {
        self.kind == ErrorKind::Truncated
    }

    /// The underlying error's message (I/O errors), when there is one.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref().map(String::as_str)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(d) = self.detail {
            write!(f, " ({d})")?;
        }
        if let Some(m) = &self.message {
            write!(f, " ({m})")?;
        }
        write!(f, " at byte {}", self.offset)?;
        match (self.element_name(), self.element) {
            (Some(name), _) => write!(f, " in {name}")?,
            (None, Some(id)) => write!(f, " in element {id}")?,
            (None, None) => {}
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

// An error rides inside every element event and damage report: it stays as small as it was
// before it named its element.
const _: () = assert!(std::mem::size_of::<Error>() <= 56);

/// Kind and message kept; the offset is unknown here (0): adapters, which know where the
/// read failed, use [`Error::io`].
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::io(&e, 0)
    }
}

/// The same kind for I/O errors (`InvalidData` for the others), the whole message kept, the
/// error itself as the source.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        let kind = match e.kind {
            ErrorKind::Io(kind) => kind,
            ErrorKind::Truncated => std::io::ErrorKind::UnexpectedEof,
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
