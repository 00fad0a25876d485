//! SimpleBlock / Block bodies: header, lacing, and the split into frames.
//!
//! Splitting allocates nothing: sizes are walked once to validate the lace and find where
//! the frame data starts, then again to hand out each frame's `(offset, len)`.

use crate::ebml::vint::{self, BlockHeader};
use crate::error::ErrorKind;

/// Keyframe flag of a SimpleBlock.
pub(crate) const FLAG_KEY: u8 = 0x80;
/// Invisible flag.
pub(crate) const FLAG_INVISIBLE: u8 = 0x08;
/// Discardable flag of a SimpleBlock.
pub(crate) const FLAG_DISCARDABLE: u8 = 0x01;

const XIPH: u8 = 1;
const FIXED: u8 = 2;
const EBML: u8 = 3;

/// Parses a block body and calls `emit(offset, len, index, count)` for every frame, in
/// order, with offsets relative to the start of the body. Nothing is emitted unless the
/// whole lace validates.
#[cfg(test)]
pub(crate) fn split(data: &[u8], emit: impl FnMut(usize, usize, usize, usize)) -> Result<BlockHeader, ErrorKind> {
    let h = vint::block_header(data)?;
    split_with(data, h, emit)
}

/// [`split`] with the block header already parsed.
pub(crate) fn split_with(
    data: &[u8],
    h: BlockHeader,
    mut emit: impl FnMut(usize, usize, usize, usize),
) -> Result<BlockHeader, ErrorKind> {
    let lacing = (h.flags >> 1) & 3;
    let body = &data[h.len..];
    if lacing == 0 {
        emit(h.len, body.len(), 0, 1);
        return Ok(h);
    }
    let (&n1, sizes) = body.split_first().ok_or(ErrorKind::InvalidLacing)?;
    let count = usize::from(n1) + 1;
    let (size_bytes, sum) = walk(lacing, sizes, count, |_| {})?;
    let start = h.len + 1 + size_bytes;
    let avail = (data.len() - start) as u64;
    let fixed = if lacing == FIXED {
        if avail % count as u64 != 0 {
            return Err(ErrorKind::InvalidLacing);
        }
        avail / count as u64
    } else {
        if sum > avail {
            return Err(ErrorKind::InvalidLacing);
        }
        0
    };
    let mut off = start;
    let mut idx = 0;
    let mut one = |len: u64, off: &mut usize| {
        emit(*off, len as usize, idx, count);
        *off += len as usize;
        idx += 1;
    };
    if lacing == FIXED {
        for _ in 0..count {
            one(fixed, &mut off);
        }
    } else {
        walk(lacing, sizes, count, |s| one(s, &mut off))?;
        one(avail - sum, &mut off);
    }
    Ok(h)
}

/// Walks the stored sizes (all but the last frame's): returns the bytes they take and
/// their sum, calling `f` with each.
fn walk(lacing: u8, input: &[u8], count: usize, mut f: impl FnMut(u64)) -> Result<(usize, u64), ErrorKind> {
    let short = ErrorKind::InvalidLacing;
    let mut i = input;
    let mut sum = 0u64;
    match lacing {
        XIPH => {
            for _ in 1..count {
                let (rest, s) = vint::complete(vint::xiph_size(i), short)?;
                i = rest;
                sum = sum.checked_add(s).ok_or(short)?;
                f(s);
            }
        }
        EBML if count > 1 => {
            let (rest, (first, _)) = vint::complete(vint::vint(i, 8), short).map_err(|_| short)?;
            i = rest;
            let mut size = first as i64;
            if size < 0 {
                return Err(short);
            }
            sum = first;
            f(first);
            for _ in 2..count {
                let (rest, d) = vint::complete(vint::signed_vint(i), short).map_err(|_| short)?;
                i = rest;
                size = size.checked_add(d).filter(|s| *s >= 0).ok_or(short)?;
                sum = sum.checked_add(size as u64).ok_or(short)?;
                f(size as u64);
            }
        }
        _ => {}
    }
    Ok((input.len() - i.len(), sum))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(data: &[u8]) -> Result<Vec<(usize, usize)>, ErrorKind> {
        let mut v = Vec::new();
        split(data, |o, l, i, n| {
            assert_eq!(i, v.len());
            assert!(i < n);
            v.push((o, l))
        })?;
        Ok(v)
    }

    fn block(flags: u8, lace: &[u8], payload: usize) -> Vec<u8> {
        let mut b = vec![0x81, 0, 0, flags];
        b.extend_from_slice(lace);
        b.extend(std::iter::repeat_n(0xAB, payload));
        b
    }

    #[test]
    fn no_lacing() {
        assert_eq!(frames(&block(0x80, &[], 5)).unwrap(), vec![(4, 5)]);
        assert_eq!(frames(&block(0x80, &[], 0)).unwrap(), vec![(4, 0)]);
    }

    #[test]
    fn xiph_700_255_40() {
        let b = block(0x02, &[2, 0xFF, 0xFF, 0xBE, 0xFF, 0x00], 995);
        assert_eq!(frames(&b).unwrap(), vec![(10, 700), (710, 255), (965, 40)]);
    }

    #[test]
    fn ebml_700_690_40() {
        let b = block(0x06, &[2, 0x42, 0xBC, 0xB5], 1430);
        assert_eq!(frames(&b).unwrap(), vec![(8, 700), (708, 690), (1398, 40)]);
    }

    #[test]
    fn fixed_divides_or_fails() {
        let b = block(0x04, &[3], 400);
        assert_eq!(frames(&b).unwrap(), vec![(5, 100), (105, 100), (205, 100), (305, 100)]);
        // 256 frames over 383 bytes: the libwebm regression case
        assert_eq!(frames(&block(0x5C, &[255], 383)), Err(ErrorKind::InvalidLacing));
    }

    #[test]
    fn lace_errors() {
        // sizes larger than the block
        assert_eq!(frames(&block(0x02, &[1, 0xFF, 0x10], 10)), Err(ErrorKind::InvalidLacing));
        // missing count byte
        assert_eq!(frames(&block(0x02, &[], 0)), Err(ErrorKind::InvalidLacing));
        // EBML size going negative
        assert_eq!(frames(&block(0x06, &[2, 0x81, 0x80], 10)), Err(ErrorKind::InvalidLacing));
        // truncated Xiph run
        assert_eq!(frames(&block(0x02, &[1, 0xFF], 0)), Err(ErrorKind::InvalidLacing));
    }
}
