//! A small EBML element writer: IDs, sizes (minimal, fixed-width or unknown), typed values.
//!
//! Used by the property tests and by tools that write Matroska.
//!
//! ```
//! use kinesis_video_parser::ebml::writer::{self, Size};
//! use kinesis_video_parser::mkv::ids;
//! let mut info = Vec::new();
//! writer::uint(&mut info, ids::TIMESTAMP_SCALE, 1_000_000);
//! let mut out = Vec::new();
//! writer::element(&mut out, ids::INFO, Size::Minimal, &info);
//! assert_eq!(out, [0x15, 0x49, 0xA9, 0x66, 0x87, 0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]);
//! ```

use super::ElementId;

/// How to write an element's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The shortest width that can hold the value (127 takes 2 bytes: all ones is reserved).
    Minimal,
    /// Exactly this many bytes (1–8); falls back to the minimal width if the value needs more.
    Width(u8),
    /// Unknown size, all value bits set, at this width (1–8).
    Unknown(u8),
}

/// Appends an ID (its bytes, marker included).
pub fn id(out: &mut Vec<u8>, id: ElementId) {
    let w = id.width();
    out.extend_from_slice(&id.0.to_be_bytes()[4 - w..]);
}

/// The shortest VINT width for a size value.
pub fn minimal_width(value: u64) -> u8 {
    (1..=8u8).find(|&w| value < (1u64 << (7 * u32::from(w))) - 1).unwrap_or(8)
}

/// Appends a size VINT.
pub fn size(out: &mut Vec<u8>, value: u64, how: Size) {
    let (w, v) = match how {
        Size::Unknown(w) => {
            let w = w.clamp(1, 8);
            (w, (1u64 << (7 * u32::from(w))) - 1)
        }
        Size::Width(w) => (w.clamp(1, 8).max(minimal_width(value)), value),
        Size::Minimal => (minimal_width(value), value),
    };
    let marked = v | (1u64 << (7 * u32::from(w)));
    out.extend_from_slice(&marked.to_be_bytes()[8 - usize::from(w)..]);
}

/// Appends a whole element: ID, size, body.
pub fn element(out: &mut Vec<u8>, el: ElementId, how: Size, body: &[u8]) {
    id(out, el);
    size(out, body.len() as u64, how);
    out.extend_from_slice(body);
}

/// An unsigned integer element in the fewest bytes (0 takes 1 byte).
pub fn uint(out: &mut Vec<u8>, el: ElementId, v: u64) {
    let n = (8 - (v.leading_zeros() / 8) as usize).max(1);
    element(out, el, Size::Minimal, &v.to_be_bytes()[8 - n..]);
}

/// An unsigned integer element in exactly `width` bytes (as KVS writes 8-byte Timestamps).
pub fn uint_width(out: &mut Vec<u8>, el: ElementId, v: u64, width: usize) {
    let width = width.clamp(1, 8);
    element(out, el, Size::Minimal, &v.to_be_bytes()[8 - width..]);
}

/// A signed integer element in the fewest bytes.
pub fn int(out: &mut Vec<u8>, el: ElementId, v: i64) {
    let b = v.to_be_bytes();
    let mut n = 8;
    while n > 1 {
        let top = b[8 - n];
        let next = b[9 - n];
        if (top == 0 && next & 0x80 == 0) || (top == 0xFF && next & 0x80 != 0) {
            n -= 1;
        } else {
            break;
        }
    }
    element(out, el, Size::Minimal, &b[8 - n..]);
}

/// An 8-byte float element.
pub fn float(out: &mut Vec<u8>, el: ElementId, v: f64) {
    element(out, el, Size::Minimal, &v.to_be_bytes());
}

/// A string or UTF-8 element (no NUL added).
pub fn string(out: &mut Vec<u8>, el: ElementId, v: &str) {
    element(out, el, Size::Minimal, v.as_bytes());
}

/// A SimpleBlock or Block body header: track VINT, signed 16-bit timestamp, flags.
pub fn block_header(out: &mut Vec<u8>, track: u64, timestamp: i16, flags: u8) {
    size(out, track, Size::Minimal);
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.push(flags);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ebml::vint::{self, Parsed};

    #[test]
    fn sizes_round_trip_at_every_width() {
        for w in 1..=8u8 {
            for v in [0u64, 1, 126, 127, 16_382, (1 << (7 * u32::from(w))) - 2] {
                let mut b = Vec::new();
                size(&mut b, v, Size::Width(w));
                assert!(b.len() >= usize::from(w));
                match vint::run(vint::element_size(&b, 8)) {
                    Parsed::Done(Some(x)) => assert_eq!(x, v, "width {w}"),
                    _ => panic!("{v} at width {w}"),
                }
            }
            let mut u = Vec::new();
            size(&mut u, 0, Size::Unknown(w));
            assert_eq!(u.len(), usize::from(w));
            assert!(matches!(vint::run(vint::element_size(&u, 8)), Parsed::Done(None)));
        }
        let mut b = Vec::new();
        size(&mut b, 127, Size::Minimal);
        assert_eq!(b, [0x40, 0x7F]);
    }

    #[test]
    fn ints_round_trip() {
        for v in [0i64, 1, -1, 127, 128, -128, -129, i64::MIN, i64::MAX, 13_500_000, -7] {
            let mut b = Vec::new();
            int(&mut b, crate::ebml::ids::EBML_VERSION, v); // any 2-byte ID
            assert_eq!(crate::ebml::value::int(&b[3..]), Ok(v), "{v}");
        }
    }
}
