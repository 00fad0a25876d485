//! EBML (RFC 8794): element IDs, variable-size integers, values, and the incremental
//! element reader.

pub(crate) mod crc;
mod input;
pub(crate) mod reader;
pub(crate) mod value;
pub(crate) mod vint;
pub mod writer;

pub use reader::{ElementEvent, ElementHeader, ElementReader};
pub use value::{decode_value, Value};

use std::fmt;

/// An EBML element ID, kept **with** its VINT marker bits (`0x1F43B675` is a Cluster).
///
/// Unknown IDs are representable; [`name`](Self::name) returns `"Unknown"` for them.
///
/// ```
/// use kinesis_video_parser::ElementId;
/// assert_eq!(ElementId(0x1F43B675).name(), "Cluster");
/// assert_eq!(ElementId(0x1F43B675).width(), 4);
/// assert_eq!(format!("{}", ElementId(0xA3)), "SimpleBlock[A3]");
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

    /// The Matroska name of the element, or `"Unknown"`.
    pub fn name(self) -> &'static str {
        crate::mkv::ids::schema(self).map_or("Unknown", |s| s.name)
    }
}

impl fmt::Debug for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{:X}]", self.name(), self.0)
    }
}

impl fmt::Display for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
