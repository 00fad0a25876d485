//! CRC-32 (IEEE 802.3 / zlib polynomial, reflected), as EBML's CRC-32 element uses it.

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Initial running state.
pub(crate) const INIT: u32 = 0xFFFF_FFFF;

/// Feeds bytes into a running state.
pub(crate) fn update(mut state: u32, data: &[u8]) -> u32 {
    for &b in data {
        state = TABLE[((state ^ u32::from(b)) & 0xFF) as usize] ^ (state >> 8);
    }
    state
}

/// The CRC of everything fed so far.
pub(crate) fn finish(state: u32) -> u32 {
    state ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(finish(update(INIT, b"123456789")), 0xCBF4_3926);
        assert_eq!(finish(update(update(INIT, b"1234"), b"56789")), 0xCBF4_3926);
        assert_eq!(finish(INIT), 0);
    }
}
