//! Leaf value decoders. Each takes exactly the element's body.

use crate::error::ErrorKind;

/// Big-endian unsigned integer of 0–8 bytes (0 bytes = 0).
pub(crate) fn uint(b: &[u8]) -> Result<u64, ErrorKind> {
    if b.len() > 8 {
        return Err(ErrorKind::InvalidValue);
    }
    Ok(b.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)))
}

/// Big-endian two's-complement signed integer of 0–8 bytes, sign-extended from its width.
pub(crate) fn int(b: &[u8]) -> Result<i64, ErrorKind> {
    let u = uint(b)?;
    if b.is_empty() || b.len() == 8 {
        return Ok(u as i64);
    }
    let shift = 64 - 8 * b.len() as u32;
    Ok(((u << shift) as i64) >> shift)
}

/// IEEE-754 float of 0, 4 or 8 bytes (0 bytes = 0.0).
pub(crate) fn float(b: &[u8]) -> Result<f64, ErrorKind> {
    match b.len() {
        0 => Ok(0.0),
        4 => Ok(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        8 => Ok(f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])),
        _ => Err(ErrorKind::InvalidValue),
    }
}

/// A string or UTF-8 value: ends at the first NUL; invalid UTF-8 is replaced, never fatal.
pub(crate) fn string(b: &[u8]) -> String {
    let b = &b[..memchr::memchr(0, b).unwrap_or(b.len())];
    // Valid UTF-8 (nearly every string) is checked once and copied; the lossy walk, which
    // costs several times that per byte, only when it is not.
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(b).into_owned(),
    }
}

/// A date: signed nanoseconds since 2001-01-01T00:00:00 UTC (0 or 8 bytes).
pub(crate) fn date(b: &[u8]) -> Result<i64, ErrorKind> {
    match b.len() {
        0 | 8 => int(b),
        _ => Err(ErrorKind::InvalidValue),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned() {
        assert_eq!(uint(&[]), Ok(0));
        assert_eq!(uint(&[0x01, 0x00]), Ok(256));
        assert_eq!(uint(&[0xFF; 8]), Ok(u64::MAX));
        assert_eq!(uint(&[0; 9]), Err(ErrorKind::InvalidValue));
        assert_eq!(uint(&[0, 0, 0, 0, 0, 0x0F, 0x42, 0x40]), Ok(1_000_000));
    }

    #[test]
    fn signed_every_width() {
        for w in 1..=8usize {
            assert_eq!(int(&vec![0xFF; w]), Ok(-1), "width {w}");
            let mut min = vec![0u8; w];
            min[0] = 0x80;
            assert_eq!(int(&min), Ok(i64::MIN >> (64 - 8 * w)), "min width {w}");
            let mut max = vec![0xFFu8; w];
            max[0] = 0x7F;
            assert_eq!(int(&max), Ok(i64::MAX >> (64 - 8 * w)), "max width {w}");
        }
        assert_eq!(int(&[]), Ok(0));
        assert_eq!(int(&[0xFF, 0xDF]), Ok(-33));
    }

    #[test]
    fn floats() {
        assert_eq!(float(&48000.0f64.to_be_bytes()), Ok(48000.0));
        assert_eq!(float(&44100.0f32.to_be_bytes()), Ok(44100.0));
        assert_eq!(float(&[]), Ok(0.0));
        assert_eq!(float(&[0, 0, 0]), Err(ErrorKind::InvalidValue));
    }

    #[test]
    fn strings_trim_at_first_nul() {
        assert_eq!(string(b"matroska\0"), "matroska");
        assert_eq!(string(b"ab\0\0cd"), "ab");
        assert_eq!(string(b""), "");
        assert_eq!(string(b"\0"), "");
        assert_eq!(string(b"V_MS/VFW/FOURCC\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"), "V_MS/VFW/FOURCC");
        assert_eq!(string(&[0x19, b'n', b'g']), "\u{19}ng");
        assert_eq!(string(&[0xFF, b'a']), "\u{FFFD}a");
    }

    #[test]
    fn dates() {
        assert_eq!(date(&[0; 8]), Ok(0));
        assert_eq!(date(&[]), Ok(0));
        assert_eq!(date(&[0; 4]), Err(ErrorKind::InvalidValue));
    }
}

/// A decoded leaf value, for tools that walk the element tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Unsigned integer.
    Uint(u64),
    /// Signed integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// String or UTF-8 (NULs trimmed, invalid UTF-8 replaced).
    String(String),
    /// Date: ns since 2001-01-01T00:00:00 UTC.
    Date(i64),
    /// Binary, SimpleBlock or Block body (zero-copy).
    Binary(bytes::Bytes),
    /// The bytes do not form a value of the element's type (for example a 3-byte float).
    Invalid(crate::error::ErrorKind),
}

/// Decodes a leaf body as a value of type `ty` (a schema row's). `None` for masters.
///
/// ```
/// use kinesis_video_parser::ebml::{decode_value, ElementType, Value};
/// let v = decode_value(ElementType::Uint, &bytes::Bytes::from_static(&[0x0F, 0x42, 0x40]));
/// assert_eq!(v, Some(Value::Uint(1_000_000)));
/// ```
pub fn decode_value(ty: super::ElementType, data: &bytes::Bytes) -> Option<Value> {
    use super::ElementType as T;
    let r = |r: Result<Value, ErrorKind>| r.unwrap_or_else(Value::Invalid);
    Some(match ty {
        T::Master => return None,
        T::Uint => r(uint(data).map(Value::Uint)),
        T::Int => r(int(data).map(Value::Int)),
        T::Float => r(float(data).map(Value::Float)),
        T::String | T::Utf8 => Value::String(string(data)),
        T::Date => r(date(data).map(Value::Date)),
        T::Binary | T::Block => Value::Binary(data.clone()),
    })
}
