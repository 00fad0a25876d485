//! SimpleBlock / Block bodies: header, lacing, and the split into frames.
//!
//! Splitting allocates nothing once the caller's span vector has grown to the largest lace
//! (at most 256 frames): the sizes are walked once, then the offsets filled in.

use crate::ebml::vint::{self, BlockHeader};
use crate::error::ErrorKind;

/// Keyframe flag of a SimpleBlock.
pub(crate) const FLAG_KEY: u8 = 0x80;
/// Invisible flag.
pub(crate) const FLAG_INVISIBLE: u8 = 0x08;
/// Discardable flag of a SimpleBlock.
pub(crate) const FLAG_DISCARDABLE: u8 = 0x01;
/// The two lacing bits of the flags (0: no lacing).
pub(crate) const LACING: u8 = 0x06;

const XIPH: u8 = 1;
const FIXED: u8 = 2;

/// Parses the lacing of a block body (header already parsed as `h`) into `spans`: each
/// frame's `(offset, length)` relative to the start of the body, in order. One walk over
/// the lace sizes; on error `spans` is left empty, so that nothing of a lace that does not
/// validate is used.
pub(crate) fn lace_spans(data: &[u8], h: BlockHeader, spans: &mut Vec<(usize, usize)>) -> Result<(), ErrorKind> {
    spans.clear();
    let res = fill_spans(data, h, spans);
    if res.is_err() {
        spans.clear();
    }
    res
}

fn fill_spans(data: &[u8], h: BlockHeader, spans: &mut Vec<(usize, usize)>) -> Result<(), ErrorKind> {
    let bad = ErrorKind::InvalidLacing;
    let lacing = (h.flags >> 1) & 3;
    let body = &data[h.len..];
    if lacing == 0 {
        spans.push((h.len, body.len()));
        return Ok(());
    }
    let (&n1, mut sizes) = body.split_first().ok_or(bad)?;
    let count = usize::from(n1) + 1;
    if lacing == FIXED {
        let avail = sizes.len();
        if avail % count != 0 {
            return Err(bad);
        }
        let each = avail / count;
        spans.extend((0..count).map(|i| (h.len + 1 + i * each, each)));
        return Ok(());
    }
    // Xiph and EBML lacing store the sizes of all frames but the last; the last frame
    // takes what is left.
    let mut sum = 0u64;
    let mut size = 0i64;
    for i in 1..count {
        let s = match lacing {
            XIPH => {
                let run = sizes.iter().position(|&b| b != 0xFF).ok_or(bad)?;
                let s = 255 * run as u64 + u64::from(sizes[run]);
                sizes = &sizes[run + 1..];
                s
            }
            _ => {
                // EBML (3): the first size as a VINT, each next one as a signed difference.
                let (v, w) = vint::read_vint(sizes).ok_or(bad)?;
                sizes = &sizes[w..];
                size = if i == 1 {
                    i64::try_from(v).map_err(|_| bad)?
                } else {
                    let bias = (1i64 << (7 * w - 1)) - 1;
                    size.checked_add(v as i64 - bias).filter(|s| *s >= 0).ok_or(bad)?
                };
                size as u64
            }
        };
        sum = sum.checked_add(s).ok_or(bad)?;
        spans.push((0, s as usize));
    }
    let start = data.len() - sizes.len();
    let avail = sizes.len() as u64;
    if sum > avail {
        return Err(bad);
    }
    spans.push((0, (avail - sum) as usize));
    let mut off = start;
    for span in spans.iter_mut() {
        span.0 = off;
        off += span.1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(data: &[u8]) -> Result<Vec<(usize, usize)>, ErrorKind> {
        let mut v = vec![(7, 7)];
        let res = vint::block_header(data).and_then(|h| lace_spans(data, h, &mut v));
        if res.is_err() {
            assert!(v.is_empty(), "spans left after an error");
        }
        res.map(|_| v)
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
