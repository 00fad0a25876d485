//! The adapters' one read rule: how much to ask the source for next, and when a read is
//! copied rather than handed to the core whole.

/// How much an adapter asks for per read: `base` at first, doubling while reads come back
/// full (a fast source: fewer, larger reads) up to `max`, halving (not below `base`) when
/// one comes back short (a slow source: small buffers). Only what actually arrived moves
/// it; a declared element size never does, so hostile input cannot make it allocate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadSize {
    base: usize,
    max: usize,
    next: usize,
}

impl ReadSize {
    /// Starts at `base` (at least 1 byte), grows to at most `max`.
    pub(crate) fn new(base: usize, max: usize) -> Self {
        let base = base.max(1);
        ReadSize { base, max: max.max(base), next: base }
    }

    /// The size of the next read.
    #[inline]
    pub(crate) fn next(&self) -> usize {
        self.next
    }

    /// A read of `asked` bytes returned `got`.
    #[inline]
    pub(crate) fn after(&mut self, got: usize, asked: usize) {
        self.next = if got >= asked { asked.saturating_mul(2).min(self.max) } else { (asked / 2).max(self.base) };
    }
}

/// A read of `got` bytes into a buffer of `asked` is short enough to be copied to its size,
/// so that a trickling stream never pins mostly empty buffers (each frame keeps its buffer
/// alive).
#[inline]
pub(crate) fn is_short(got: usize, asked: usize) -> bool {
    got.saturating_mul(4) < asked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_full_and_shrinks_when_short_within_bounds() {
        let mut r = ReadSize::new(8, 64);
        let mut seen = vec![r.next()];
        for _ in 0..4 {
            r.after(r.next(), r.next());
            seen.push(r.next());
        }
        assert_eq!(seen, [8, 16, 32, 64, 64]);
        for _ in 0..4 {
            r.after(1, r.next());
            seen.push(r.next());
        }
        assert_eq!(seen[5..], [32, 16, 8, 8]);
        assert!(is_short(1, 8) && !is_short(2, 8));
    }
}
