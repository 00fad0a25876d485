//! The fragments of an upload kept until the service says they are persisted, and how far
//! the current connection has sent them. No I/O.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::producer::Piece;

/// One chunk of the body: up to three buffers that go out as one HTTP chunk, none copied (a
/// block's header, the frame's payload, the block's tail; or a header, a Cluster start).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Chunk(pub [Bytes; 3]);

impl Chunk {
    fn one(b: Bytes) -> Chunk {
        Chunk([b, Bytes::new(), Bytes::new()])
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }
}

/// One fragment: its Cluster start and blocks, as sent.
#[derive(Debug)]
struct Held {
    /// Its place in the upload (0 for the first fragment).
    seq: u64,
    timecode: u64,
    pieces: Vec<Chunk>,
    bytes: usize,
    /// No more blocks will be added (the next fragment began, or the source ended).
    closed: bool,
    persisted: bool,
}

/// Fragments not yet persisted, in order, with the position the connection has sent up to.
#[derive(Debug, Default)]
pub(super) struct HeldFragments {
    header: Option<Chunk>,
    fragments: VecDeque<Held>,
    next_seq: u64,
    bytes: usize,
    /// What the current connection sent: `None` before its header.
    sent: Option<Cursor>,
}

/// The next piece a connection sends: fragment `seq`, piece `piece`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cursor {
    seq: u64,
    piece: usize,
}

/// What a PERSISTED acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Persisted {
    /// It named this fragment (its place in the upload).
    Fragment(u64),
    /// It named no fragment held (already persisted, or never sent).
    Unknown,
}

impl HeldFragments {
    /// Takes a piece of the body.
    pub fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Header(h) => self.header = Some(Chunk::one(h)),
            Piece::FragmentStart { timecode, bytes } => {
                if let Some(last) = self.fragments.back_mut() {
                    last.closed = true;
                }
                self.bytes += bytes.len();
                let seq = self.next_seq;
                self.next_seq += 1;
                self.fragments.push_back(Held {
                    seq,
                    timecode,
                    bytes: bytes.len(),
                    pieces: vec![Chunk::one(bytes)],
                    closed: false,
                    persisted: false,
                });
            }
            Piece::Frame { head, payload, tail } => {
                let last = self.fragments.back_mut().expect("a frame follows its fragment's start");
                let chunk = Chunk([head, payload, tail]);
                self.bytes += chunk.len();
                last.bytes += chunk.len();
                last.pieces.push(chunk);
            }
        }
    }

    /// The source ended: the last fragment is whole.
    pub fn close(&mut self) {
        if let Some(last) = self.fragments.back_mut() {
            last.closed = true;
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Fragments held (persisted ones leave).
    pub fn len(&self) -> usize {
        self.fragments.len()
    }

    /// A new connection: it starts with the header, then the first fragment not persisted.
    pub fn restart(&mut self) {
        self.sent = None;
    }

    /// The next piece for the connection, if one is ready (without taking it).
    pub fn next_to_send(&self) -> Option<Chunk> {
        if self.sent.is_none() {
            return self.header.clone().filter(|_| !self.fragments.is_empty());
        }
        let c = self.position()?;
        self.fragments.iter().find(|f| f.seq == c.seq)?.pieces.get(c.piece).cloned()
    }

    /// The piece from [`next_to_send`](Self::next_to_send) was sent.
    pub fn sent_one(&mut self) {
        self.sent = Some(match self.position() {
            None => Cursor { seq: self.fragments.front().map_or(self.next_seq, |f| f.seq), piece: 0 },
            Some(c) => Cursor { seq: c.seq, piece: c.piece + 1 },
        });
    }

    /// Where the connection stands, moved past whole fragments it has sent all of (and to
    /// the first fragment held if it points before it).
    fn position(&self) -> Option<Cursor> {
        let mut c = self.sent?;
        if let Some(front) = self.fragments.front() {
            if c.seq < front.seq {
                c = Cursor { seq: front.seq, piece: 0 };
            }
        }
        while let Some(f) = self.fragments.iter().find(|f| f.seq == c.seq) {
            if !(f.closed && c.piece >= f.pieces.len()) {
                break;
            }
            c = Cursor { seq: c.seq + 1, piece: 0 };
        }
        Some(c)
    }

    /// Everything held was sent and the source is done: the body may end.
    pub fn all_sent(&self) -> bool {
        match self.position() {
            None => self.fragments.is_empty(),
            Some(c) => self.fragments.back().is_none_or(|f| f.closed && c.seq > f.seq),
        }
    }

    /// Fragments sent on this connection (at least their start) that are not persisted.
    pub fn awaiting_ack(&self) -> bool {
        self.position().is_some_and(|c| self.fragments.iter().any(|f| f.seq < c.seq || (f.seq == c.seq && c.piece > 0)))
    }

    /// A PERSISTED acknowledgement for `timecode`: that fragment can go, with every one before
    /// it that is persisted too.
    pub fn persisted(&mut self, timecode: u64) -> Persisted {
        let Some(f) = self.fragments.iter_mut().find(|f| f.timecode == timecode) else { return Persisted::Unknown };
        f.persisted = true;
        let seq = f.seq;
        while self.fragments.front().is_some_and(|f| f.persisted && f.closed) {
            let f = self.fragments.pop_front().expect("a front");
            self.bytes -= f.bytes;
        }
        Persisted::Fragment(seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(tc: u64) -> Piece {
        Piece::FragmentStart { timecode: tc, bytes: Bytes::from(format!("C{tc}")) }
    }

    fn frame(s: &str) -> Piece {
        Piece::Frame { head: Bytes::new(), payload: Bytes::from(s.to_owned()), tail: Bytes::new() }
    }

    fn send_all(h: &mut HeldFragments) -> String {
        let mut out = String::new();
        while let Some(c) = h.next_to_send() {
            c.0.iter().for_each(|b| out.push_str(std::str::from_utf8(b).unwrap()));
            out.push(' ');
            h.sent_one();
        }
        out
    }

    #[test]
    fn resends_from_the_first_fragment_not_persisted() {
        let mut h = HeldFragments::default();
        assert_eq!(h.next_to_send(), None, "nothing before the first fragment");
        h.push(Piece::Header(Bytes::from_static(b"H")));
        h.push(start(0));
        h.push(frame("a"));
        assert_eq!(send_all(&mut h), "H C0 a ");
        h.push(frame("b"));
        h.push(start(10));
        h.push(frame("c"));
        assert_eq!(send_all(&mut h), "b C10 c ");
        assert!(!h.all_sent() && h.awaiting_ack());
        // The first is persisted; the connection drops: the second again, header first.
        assert_eq!(h.persisted(0), Persisted::Fragment(0));
        assert_eq!(h.persisted(99), Persisted::Unknown);
        assert_eq!(h.len(), 1);
        h.restart();
        assert_eq!(send_all(&mut h), "H C10 c ");
        h.push(frame("d"));
        h.close();
        assert_eq!(send_all(&mut h), "d ");
        assert!(h.all_sent());
        // Persisted out of order: held until the ones before are persisted too.
        let mut h2 = HeldFragments::default();
        h2.push(Piece::Header(Bytes::from_static(b"H")));
        for tc in [0, 10, 20] {
            h2.push(start(tc));
            h2.push(frame("x"));
        }
        h2.close();
        h2.persisted(10);
        assert_eq!(h2.len(), 3);
        h2.persisted(0);
        assert_eq!(h2.len(), 1);
        assert_eq!(h2.bytes(), "C20x".len());
        h.persisted(10);
        assert_eq!((h.len(), h.bytes()), (0, 0));
    }
}
