//! EBML (RFC 8794): element IDs, variable-size integers, values, the schema types and the
//! incremental element reader. Nothing here knows a document type: the reader walks the
//! [`Schema`] it is given.

pub(crate) mod crc;
pub mod ids;
mod input;
pub(crate) mod reader;
mod schema;
pub(crate) mod value;
pub(crate) mod vint;
pub mod writer;

pub use reader::{ElementEvent, ElementHeader, ElementReader};
pub use schema::{Clusters, ElementSpec, ElementType, Parent, Schema};
pub use value::{decode_value, Value};

use std::fmt;

/// An EBML element ID, kept **with** its VINT marker bits (`0x1F43B675` is a Cluster).
///
/// Any value is representable; names come from a [`Schema`] (`Schema::name`).
///
/// ```
/// use kinesis_video_parser::ElementId;
/// assert_eq!(ElementId(0x1F43B675).width(), 4);
/// assert_eq!(format!("{}", ElementId(0xA3)), "0xA3");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElementId(pub u32);

impl ElementId {
    /// Encoded width in bytes (1–4), from the position of the marker bit.
    pub fn width(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    /// `true` if the value carries exactly one marker bit at the position its width implies
    /// and its value bits are not all ones (reserved).
    pub fn is_valid_encoding(self) -> bool {
        let w = self.width() as u32;
        let marker = 1u32 << (7 * w);
        let first_byte = (self.0 >> (8 * (w - 1))) as u8;
        let lz = first_byte.leading_zeros();
        lz + 1 == w && self.0 & !(marker | (marker - 1)) == 0 && self.0 != (marker | (marker - 1))
    }
}

impl fmt::Debug for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:X}", self.0)
    }
}

impl fmt::Display for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
