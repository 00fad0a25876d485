//! Variable-size integers, element headers, block and lace headers, parsed with nom.
//!
//! Everything here is private to the crate: nom's types never appear in the public API.
//! Header parsers run in streaming mode (`Err::Incomplete` means "more bytes needed");
//! parsers over a complete element body map a shortfall to an error at the edge.

use nom::error::{ErrorKind as NomKind, ParseError};
use nom::{Err, IResult, Needed, Parser};

use crate::ebml::ElementId;
use crate::error::ErrorKind;

/// The parse error used inside the nom parsers: which of our kinds it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PErr(pub ErrorKind);

impl<I> ParseError<I> for PErr {
    fn from_error_kind(_: I, _: NomKind) -> Self {
        PErr(ErrorKind::InvalidValue)
    }
    fn append(_: I, _: NomKind, other: Self) -> Self {
        other
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, PErr>;

fn fail<T>(kind: ErrorKind) -> Result<T, Err<PErr>> {
    Err(Err::Error(PErr(kind)))
}

/// Width of a VINT from its first byte, or `None` for `0x00` (width above 8).
#[inline]
pub(crate) fn vint_width(first: u8) -> Option<usize> {
    if first == 0 {
        None
    } else {
        Some(first.leading_zeros() as usize + 1)
    }
}

/// A complete VINT at the start of `input`, read directly: (value with the marker bit
/// removed, width). `None` when `input` is too short or starts with `0x00`.
#[inline]
pub(crate) fn read_vint(input: &[u8]) -> Option<(u64, usize)> {
    let first = *input.first()?;
    let width = vint_width(first)?;
    let tail = input.get(1..width)?;
    Some((tail.iter().fold(u64::from(first) & (0xFF >> width), |v, &b| v << 8 | u64::from(b)), width))
}

/// An element header complete at the start of `input`, read directly (the common case);
/// `None` sends the caller to the parsers, which also tell what is wrong or missing.
#[inline]
pub(crate) fn read_header(input: &[u8], max_size_width: usize) -> Option<RawHeader> {
    let first = *input.first()?;
    let id_width = vint_width(first).filter(|&w| w <= 4)?;
    let id = input.get(1..id_width)?.iter().fold(u32::from(first), |v, &b| v << 8 | u32::from(b));
    let (size, size_width) = read_vint(input.get(id_width..)?).filter(|&(_, w)| w <= max_size_width)?;
    let unknown = size == (1 << (7 * size_width)) - 1;
    Some(RawHeader { id: ElementId(id), size: (!unknown).then_some(size), len: (id_width + size_width) as u8 })
}

/// An element header at the start of `input`: read directly when it is all there and
/// plain, else through the parsers (which say what is missing or wrong).
#[inline]
pub(crate) fn header(input: &[u8], max_size_width: usize) -> Parsed<RawHeader> {
    match read_header(input, max_size_width) {
        Some(h) => Parsed::Done(h),
        None => run(element_header(input, max_size_width)),
    }
}

/// A raw VINT: (value with the marker bit removed, width). Fails on `0x00` or a width
/// above `max_width`, before asking for the rest of the bytes.
#[inline]
pub(crate) fn vint(input: &[u8], max_width: usize) -> PResult<'_, (u64, usize)> {
    let (rest, first) = nom::number::streaming::u8(input)?;
    let Some(w) = vint_width(first) else {
        return fail(ErrorKind::InvalidVint);
    };
    if w > max_width {
        return fail(ErrorKind::InvalidVint);
    }
    let (rest, tail) = nom::bytes::streaming::take(w - 1).parse(rest)?;
    let mut v = u64::from(first) & (0xFF >> w);
    for &b in tail {
        v = (v << 8) | u64::from(b);
    }
    Ok((rest, (v, w)))
}

/// An element ID (1–4 bytes, marker kept).
#[inline]
pub(crate) fn element_id(input: &[u8]) -> PResult<'_, ElementId> {
    let (rest, first) = nom::number::streaming::u8(input)?;
    let Some(w) = vint_width(first) else {
        return fail(ErrorKind::InvalidVint);
    };
    if w > 4 {
        return fail(ErrorKind::InvalidVint);
    }
    let (rest, tail) = nom::bytes::streaming::take(w - 1).parse(rest)?;
    let mut v = u32::from(first);
    for &b in tail {
        v = (v << 8) | u32::from(b);
    }
    Ok((rest, ElementId(v)))
}

/// An element size: `None` for "unknown" (all value bits set, at any width).
#[inline]
pub(crate) fn element_size(input: &[u8], max_width: usize) -> PResult<'_, Option<u64>> {
    let (rest, (v, w)) = vint(input, max_width)?;
    let all_ones = (1u64 << (7 * w)) - 1;
    Ok((rest, if v == all_ones { None } else { Some(v) }))
}

/// A parsed element header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub id: ElementId,
    pub size: Option<u64>,
    pub len: u8,
}

/// An element header through the parsers: ID then size (see [`header`] for the fast way).
#[inline]
pub(crate) fn element_header(input: &[u8], max_size_width: usize) -> PResult<'_, RawHeader> {
    let (rest, id) = element_id(input)?;
    let (rest, size) = element_size(rest, max_size_width)?;
    Ok((rest, RawHeader { id, size, len: (input.len() - rest.len()) as u8 }))
}

/// Outcome of running a streaming parser on a possibly short buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed<T> {
    Done(T),
    /// At least this many more bytes are needed.
    Incomplete(usize),
    Error(ErrorKind),
}

pub(crate) fn run<T>(r: PResult<'_, T>) -> Parsed<T> {
    match r {
        Ok((_, v)) => Parsed::Done(v),
        Err(Err::Incomplete(Needed::Size(n))) => Parsed::Incomplete(n.get()),
        Err(Err::Incomplete(Needed::Unknown)) => Parsed::Incomplete(1),
        Err(Err::Error(e)) | Err(Err::Failure(e)) => Parsed::Error(e.0),
    }
}

/// Runs a streaming parser over a complete body: a shortfall becomes `short`.
pub(crate) fn complete<'a, T>(r: PResult<'a, T>, short: ErrorKind) -> Result<(&'a [u8], T), ErrorKind> {
    match r {
        Ok(v) => Ok(v),
        Err(Err::Incomplete(_)) => Err(short),
        Err(Err::Error(e)) | Err(Err::Failure(e)) => Err(e.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_reads_agree_with_the_parsers() {
        let tails: [&[u8]; 6] = [
            &[],
            &[0x80],
            &[0x1A, 0x45],
            &[0xFF; 3],
            &[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07],
            &[0x40, 0x02, 0xFF, 0x10, 0x00, 0x00, 0x05, 0x81, 0x42, 0x80, 0x00, 0x00],
        ];
        for b0 in 0..=255u8 {
            for b1 in [0x00, 0x01, 0x1F, 0x40, 0x7F, 0x80, 0x81, 0xFF] {
                for tail in tails {
                    let input = [&[b0, b1][..], tail].concat();
                    for max in [1, 4, 8] {
                        let parsed = run(element_header(&input, max));
                        assert_eq!(header(&input, max), parsed, "{input:02x?} max {max}");
                    }
                    let v = vint(&input, 8).ok().map(|(_, v)| v);
                    assert_eq!(read_vint(&input), v, "{input:02x?}");
                }
            }
        }
    }

    fn size(b: &[u8]) -> Parsed<Option<u64>> {
        run(element_size(b, 8))
    }

    #[test]
    fn every_width_of_one_and_unknown() {
        for w in 1..=8usize {
            // value 1 written at width w
            let mut b = vec![0u8; w];
            b[0] = 0x80 >> (w - 1);
            b[w - 1] |= 1;
            assert!(matches!(size(&b), Parsed::Done(Some(1))), "width {w}");
            // unknown at width w: marker then all ones
            let mut u = vec![0xFFu8; w];
            u[0] = (0xFF >> (w - 1)) as u8;
            assert!(matches!(size(&u), Parsed::Done(None)), "unknown width {w}");
            // largest ordinary value 2^(7w) - 2
            let mut m = u.clone();
            m[w - 1] = 0xFE;
            match size(&m) {
                Parsed::Done(Some(v)) => assert_eq!(v, (1u64 << (7 * w)) - 2),
                _ => panic!("max width {w}"),
            }
            // every prefix is incomplete with the exact shortfall
            for cut in 1..w {
                match size(&b[..cut]) {
                    Parsed::Incomplete(n) => assert_eq!(n, w - cut),
                    _ => panic!("prefix {cut} of width {w}"),
                }
            }
        }
        assert!(matches!(size(&[]), Parsed::Incomplete(1)));
        assert!(matches!(size(&[0x00, 1, 2, 3, 4, 5, 6, 7, 8]), Parsed::Error(ErrorKind::InvalidVint)));
        // 127 must be written with two bytes; 0xFF is unknown
        assert!(matches!(size(&[0x40, 0x7F]), Parsed::Done(Some(127))));
        assert!(matches!(size(&[0xFF]), Parsed::Done(None)));
    }

    #[test]
    fn size_width_limit_is_honoured() {
        assert!(matches!(run(element_size(&[0x10, 0, 0, 1], 3)), Parsed::Error(ErrorKind::InvalidVint)));
        assert!(matches!(run(element_size(&[0x10, 0, 0, 1], 4)), Parsed::Done(Some(1))));
    }

    #[test]
    fn ids_keep_marker_and_reject_wide() {
        assert!(matches!(run(element_id(&[0x1A, 0x45, 0xDF, 0xA3])), Parsed::Done(ElementId(0x1A45DFA3))));
        assert!(matches!(run(element_id(&[0xA3])), Parsed::Done(ElementId(0xA3))));
        assert!(matches!(run(element_id(&[0x08, 1, 2, 3, 4])), Parsed::Error(ErrorKind::InvalidVint)));
        assert!(matches!(run(element_id(&[0x1A, 0x45])), Parsed::Incomplete(2)));
    }
}
