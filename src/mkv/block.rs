//! SimpleBlock / Block bodies: header, lacing, and the split into frames.
//!
//! Splitting allocates nothing once the caller's span vector has grown to the largest lace
//! (at most 256 frames): the sizes are walked once, then the offsets filled in.

use crate::ebml::vint;
use crate::error::ErrorKind;

/// Keyframe flag of a SimpleBlock.
pub(crate) const FLAG_KEY: u8 = 0x80;
/// Invisible flag.
pub(crate) const FLAG_INVISIBLE: u8 = 0x08;
/// Discardable flag of a SimpleBlock.
pub(crate) const FLAG_DISCARDABLE: u8 = 0x01;
/// The two lacing bits of the flags (0: no lacing).
pub(crate) const LACING: u8 = 0x06;

/// A SimpleBlock or Block header: the track number (marker removed), the timestamp relative
/// to its Cluster's (in the track's ticks), the flags, and its size in bytes.
///
/// ```
/// use kinesis_video_parser::mkv::BlockHeader;
/// let h = BlockHeader::parse(&[0x81, 0xFF, 0xFE, 0x80, 0xCA, 0xFE])?;
/// assert_eq!((h.track, h.timestamp, h.flags, h.len), (1, -2, 0x80, 4));
/// assert!(h.is_keyframe() && h.lacing() == 0);
/// # Ok::<(), kinesis_video_parser::ErrorKind>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// TrackNumber.
    pub track: u64,
    /// Timestamp relative to the Cluster's, in the track's ticks.
    pub timestamp: i16,
    /// Flags: keyframe `0x80`, invisible `0x08`, lacing `0x06`, discardable `0x01`.
    pub flags: u8,
    /// Header size in bytes: the payload (or lace) follows.
    pub len: usize,
}

impl BlockHeader {
    /// Reads the header at the start of a block body.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidBlock`] when the body is too short or the track number is 0 or
    /// not a valid VINT.
    pub fn parse(data: &[u8]) -> Result<BlockHeader, ErrorKind> {
        header(data)
    }

    /// The SimpleBlock keyframe flag.
    pub fn is_keyframe(&self) -> bool {
        self.flags & FLAG_KEY != 0
    }

    /// The lacing bits: 0 none, 1 Xiph, 2 fixed-size, 3 EBML.
    pub fn lacing(&self) -> u8 {
        (self.flags & LACING) >> 1
    }
}

/// [`BlockHeader::parse`], for the crate's hot paths (inlined there whatever module they
/// are in).
#[inline(always)]
pub(crate) fn header(data: &[u8]) -> Result<BlockHeader, ErrorKind> {
    // The common case, a one-byte track number (1–127), read directly.
    if let [track @ 0x81..=0xFF, t0, t1, flags, ..] = *data {
        let track = u64::from(track & 0x7F);
        return Ok(BlockHeader { track, timestamp: i16::from_be_bytes([t0, t1]), flags, len: 4 });
    }
    parse_block_header(data)
}

/// The block header through the general parser (any track number width).
fn parse_block_header(data: &[u8]) -> Result<BlockHeader, ErrorKind> {
    let parse = |i| -> vint::PResult<'_, (u64, i16, u8)> {
        let (i, (track, _)) = vint::vint(i, 8)?;
        let (i, ts) = nom::number::streaming::be_i16(i)?;
        let (i, flags) = nom::number::streaming::u8(i)?;
        Ok((i, (track, ts, flags)))
    };
    let (rest, (track, timestamp, flags)) = vint::complete(parse(data), ErrorKind::InvalidBlock).map_err(|k| {
        if k == ErrorKind::InvalidVint {
            ErrorKind::InvalidBlock
        } else {
            k
        }
    })?;
    if track == 0 {
        return Err(ErrorKind::InvalidBlock);
    }
    Ok(BlockHeader { track, timestamp, flags, len: data.len() - rest.len() })
}

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

    #[test]
    fn block_header_fast_path_agrees_with_the_parser() {
        for first in 0..=255u8 {
            for tail in [&[][..], &[0x12], &[0x80, 0x01], &[0xFF, 0x7F, 0x81], &[0x00, 0x00, 0x80, 0x06, 0xAB]] {
                let data = [&[first][..], tail].concat();
                assert_eq!(header(&data), parse_block_header(&data), "{data:02x?}");
            }
        }
    }
    #[test]
    fn block_headers() {
        let h = header(&[0x81, 0xFF, 0xFE, 0x80, 9]).unwrap();
        assert_eq!((h.track, h.timestamp, h.flags, h.len), (1, -2, 0x80, 4));
        let h = header(&[0x40, 0x81, 0x00, 0x01, 0x00]).unwrap();
        assert_eq!((h.track, h.timestamp, h.len), (129, 1, 5));
        assert_eq!(header(&[0x81, 0x00]), Err(ErrorKind::InvalidBlock));
        assert_eq!(header(&[0x80, 0, 0, 0]), Err(ErrorKind::InvalidBlock));
        assert_eq!(header(&[0x00, 0, 0, 0]), Err(ErrorKind::InvalidBlock));
    }

    fn frames(data: &[u8]) -> Result<Vec<(usize, usize)>, ErrorKind> {
        let mut v = vec![(7, 7)];
        let res = header(data).and_then(|h| lace_spans(data, h, &mut v));
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
