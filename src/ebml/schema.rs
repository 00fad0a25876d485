//! What a document type's element table tells the generic reader: the row type, and the
//! few elements the reader knows by their role.

use super::{ids, ElementId};

/// The value type of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// Contains other elements.
    Master,
    /// Big-endian unsigned integer, 0–8 bytes.
    Uint,
    /// Big-endian two's-complement signed integer, 0–8 bytes.
    Int,
    /// IEEE-754 float of 0, 4 or 8 bytes.
    Float,
    /// Printable ASCII string (trailing NULs trimmed).
    String,
    /// UTF-8 string (trailing NULs trimmed).
    Utf8,
    /// Signed nanoseconds since 2001-01-01T00:00:00 UTC.
    Date,
    /// Opaque bytes.
    Binary,
    /// A block (binary with a header of the document type's own, Matroska's SimpleBlock
    /// and Block).
    Block,
}

/// Where an element may stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// At the top level of the stream.
    Root,
    /// Anywhere (Void, CRC-32).
    Global,
    /// Inside this master.
    Id(ElementId),
}

/// One row of a schema: an element and the rules for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementSpec {
    /// The element ID, with marker bits.
    pub id: ElementId,
    /// The element's name.
    pub name: &'static str,
    /// The value type.
    pub ty: ElementType,
    /// Where it may stand.
    pub parent: Parent,
    /// May declare an unknown size (Matroska: Segment, Cluster).
    pub unknown_size_allowed: bool,
    /// May contain itself (Matroska: SimpleTag, ChapterAtom).
    pub recursive: bool,
}

impl ElementSpec {
    /// `true` if this element may stand directly inside `parent` (`None`: the top level).
    pub fn is_child_of(&self, parent: Option<ElementId>) -> bool {
        match (self.parent, parent) {
            (Parent::Global, _) => true,
            (Parent::Root, None) => true,
            (Parent::Id(p), Some(q)) => p == q || (self.recursive && self.id == q),
            _ => false,
        }
    }
}

/// The elements of a clustered document type that the reader knows by their role: the
/// master holding the media (Matroska's Cluster), its timestamp (its usual first child, a
/// resync point's proof) and the one-byte block element read by the fast path
/// (SimpleBlock).
#[derive(Debug, Clone, Copy)]
pub struct Clusters {
    /// The media master.
    pub cluster: ElementId,
    /// Its timestamp child.
    pub timestamp: ElementId,
    /// The block element, a one-byte ID.
    pub block: ElementId,
}

/// A document type as the reader walks it: its element table and the elements the reader
/// knows by role. The reader is generic over one (`ElementReader<S>`), so that these are
/// constants in its code; `kinesis_video_parser::mkv::Matroska` is Matroska's.
pub trait Schema: 'static {
    /// The top-level element after the EBML header (Matroska: Segment), implied where a
    /// level-1 element appears with none open.
    const BODY: ElementId;
    /// The elements that may stand directly in the body; resync restarts at them.
    const LEVEL1: &'static [ElementId];
    /// The media elements known by role, if the type has them.
    const CLUSTERS: Option<Clusters>;

    /// The row of `id` (the EBML header's elements included), if the schema lists it.
    fn spec(id: ElementId) -> Option<&'static ElementSpec>;

    /// The name of `id`, if the schema lists it.
    fn name(id: ElementId) -> Option<&'static str> {
        Self::spec(id).map(|s| s.name)
    }

    /// `true` if `child` may stand directly inside `parent` (`None`: the top level).
    fn is_child_of(child: ElementId, parent: Option<ElementId>) -> bool {
        Self::spec(child).is_some_and(|s| s.is_child_of(parent))
    }

    /// `true` if `b` can start an ID that resync looks for: the EBML header, the body, a
    /// level-1 element.
    fn is_sync_byte(b: u8) -> bool {
        let first = |id: ElementId| id.0.to_be_bytes().into_iter().find(|&x| x != 0) == Some(b);
        first(ids::EBML) || first(Self::BODY) || Self::LEVEL1.iter().any(|&id| first(id))
    }
}
