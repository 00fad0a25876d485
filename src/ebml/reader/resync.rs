//! Resynchronisation after damage: the next point that validates.

use crate::ebml::ids;
use crate::ebml::vint::{self, Parsed};
use crate::ebml::Schema;
use crate::error::Error;
use crate::Status;

use super::{Damage, ElementEvent, ElementReader, State};

impl<S: Schema> ElementReader<S> {
    /// Scans for the next point that validates and reports what was skipped.
    pub(super) fn resync(&mut self, start: u64) -> Result<Status<ElementEvent>, Error> {
        loop {
            if self.input.len() < 16 && !self.eof {
                return Ok(Status::NeedMore(16 - self.input.len()));
            }
            let pos = self.input.pos();
            let found = if self.input.len() == 0 { None } else { self.sync_here(pos) };
            if found.is_some() || self.input.len() == 0 {
                let error = self.damage.take().expect("damage recorded");
                self.state = State::Header;
                if let Some((depth, implied)) = found {
                    self.pop_to = depth;
                    if implied {
                        self.implied_segment = Some(pos);
                    }
                }
                return Ok(Status::Ready(ElementEvent::Damage(Damage { offset: start, length: pos - start, error })));
            }
            // Skip to the next byte that can start a sync ID (at least one byte: progress).
            let front = self.input.front();
            let next = front[1..].iter().position(|&b| S::is_sync_byte(b)).map_or(front.len(), |i| i + 1);
            self.input.skip(next as u64);
        }
    }

    /// If a resync point starts at the front of the input: the stack depth to pop to, and
    /// whether the body (Segment) must be implied (a level-1 element found with none open).
    pub(super) fn sync_here(&self, pos: u64) -> Option<(usize, bool)> {
        let mut scratch = [0u8; 16];
        let buf = self.input.peek(&mut scratch, 16);
        let Parsed::Done(h) = vint::header(buf, 8) else { return None };
        let body = &buf[usize::from(h.len)..];
        let body_id = S::BODY;
        let seg = self.stack.iter().rposition(|o| o.id == body_id);
        let child = || match vint::run(vint::element_id(body)) {
            Parsed::Done(c) => Some(c),
            _ => None,
        };
        let level1 = |ok: bool| -> Option<(usize, bool)> {
            if !ok {
                return None;
            }
            match seg {
                Some(s) if self.fits_in(s, pos, h.size) => Some((s + 1, false)),
                Some(_) => None,
                None => Some((0, true)),
            }
        };
        let clusters = S::CLUSTERS;
        match h.id {
            ids::EBML => h.size.is_some_and(|s| s <= 4096).then_some((0, false)),
            id if id == body_id => Some((0, false)),
            // A Cluster (often of unknown size) proves itself by its first child.
            id if clusters.is_some_and(|c| c.cluster == id) => {
                let proof = clusters.map(|c| c.timestamp);
                level1(child().is_some_and(|c| Some(c) == proof || c == ids::CRC32))
            }
            id if S::LEVEL1.contains(&id) => {
                let size = h.size?;
                let plausible = size <= self.limits.max_element_size
                    && (size == 0 || child().is_some_and(|c| S::is_child_of(c, Some(id))));
                level1(plausible)
            }
            _ => None,
        }
    }

    pub(super) fn fits_in(&self, seg: usize, pos: u64, size: Option<u64>) -> bool {
        match self.stack[seg].end() {
            None => true,
            Some(end) => pos < end && size.is_none_or(|s| pos.saturating_add(s) < end),
        }
    }
}
