//! The header state: the next element's header, and what it is where it stands.

use crate::ebml::ids;
use crate::ebml::vint::{self, Parsed};
use crate::ebml::ElementType;
use crate::ebml::Schema;
use crate::error::{Error, ErrorKind, Limit};
use crate::Status;

use super::{ElementEvent, ElementHeader, ElementReader, State};

impl<S: Schema> ElementReader<S> {
    /// Header state: close what ended, parse the next header and decide what it is.
    pub(super) fn header(&mut self) -> Result<Option<Status<ElementEvent>>, Error> {
        if self.stack.len() > self.pop_to {
            return Ok(Some(self.pop(true)));
        }
        self.pop_to = usize::MAX;
        let pos = self.input.pos();
        if let Some(at) = self.implied_segment.take() {
            let seg = ElementHeader { id: S::BODY, offset: at, header_len: 0, size: None };
            self.stack.push(seg);
            return Ok(Some(Status::Ready(ElementEvent::Start(seg))));
        }
        if let Some(top) = self.stack.last() {
            if top.end() == Some(pos) {
                return Ok(Some(self.pop(false)));
            }
        }
        let mut scratch = [0u8; 16];
        let buf = self.input.peek(&mut scratch, 12);
        let h = match vint::header(buf, 8) {
            Parsed::Done(h) => h,
            Parsed::Incomplete(n) => {
                if !self.eof {
                    return Ok(Some(Status::NeedMore(n)));
                }
                if self.input.len() > 0 {
                    let id = self.stack.last().map_or(S::BODY, |h| h.id);
                    return Err(self.truncate(pos, id));
                }
                // Clean end between elements: known-size masters not yet complete are cut.
                let cut = self.stack.iter().rev().find(|h| h.end().is_some_and(|e| e > pos)).copied();
                self.state = State::Closing { forced: cut.is_some() };
                if let Some(cut) = cut {
                    return Err(self.error_in(ErrorKind::Truncated, cut.offset, cut.id));
                }
                return Ok(None);
            }
            Parsed::Error(kind) => {
                self.damage(kind, pos, None);
                return Ok(None);
            }
        };
        let hdr = ElementHeader { id: h.id, offset: pos, header_len: h.len, size: h.size };
        let parent = self.stack.last().copied();
        // Junk can look like a header whose size bytes are the start of the next document:
        // a header that overlaps a new EBML header is not one.
        for p in (1..usize::from(h.len)).filter(|&p| buf[p] == 0x1A) {
            match self.ebml_header_at(p) {
                Some(false) => {}
                Some(true) => {
                    self.damage(ErrorKind::InvalidElementId, pos, Some(h.id));
                    return Ok(None);
                }
                // Not enough bytes yet to tell (never at the end of input).
                None => return Ok(Some(Status::NeedMore(1))),
            }
        }

        // An element of an enclosing level (a new EBML header closes everything) ends the
        // open masters that cannot contain it. Unknown-size ones end that way by design;
        // for a known-size one it means its declared size was wrong: say so once.
        let sch = S::spec(h.id);
        let child_of_top = parent.is_some_and(|p| sch.is_some_and(|s| s.is_child_of(Some(p.id))));
        let ancestor_level = !child_of_top && if h.id == ids::EBML { parent.is_some() } else { self.closes(h.id) };
        if let Some(p) = parent.filter(|_| ancestor_level) {
            if p.size.is_some() && self.overrun_at != Some(pos) {
                self.overrun_at = Some(pos);
                let closes = if h.id == ids::EBML { 0 } else { self.stack.len() - 1 };
                self.pop_to = closes.min(self.pop_to);
                let what = "an element of an enclosing level inside a known-size master";
                return Ok(Some(self.notice(ErrorKind::SizeOverrun, pos, p.id, what)));
            }
            return Ok(Some(self.pop(p.size.is_some())));
        }
        // Sizes wider than the document's EBMLMaxSizeLength still decode (they are
        // unambiguous up to 8 bytes); the violation is reported once per document.
        let size_width = usize::from(h.len) - h.id.width();
        if size_width > self.max_size_len && !self.size_width_reported {
            self.size_width_reported = true;
            return Ok(Some(self.notice(ErrorKind::InvalidVint, pos, h.id, "size wider than EBMLMaxSizeLength")));
        }
        let body = S::BODY;
        let global = matches!(h.id, ids::VOID | ids::CRC32);
        let valid = match parent {
            None => h.id == ids::EBML || h.id == body || global,
            Some(p) if p.id == body => S::LEVEL1.contains(&h.id) || global,
            Some(_) => child_of_top,
        };
        let structural = parent.is_none_or(|p| p.id == body);
        if !valid && structural {
            self.damage(ErrorKind::InvalidElementId, pos, Some(h.id));
            return Ok(None);
        }
        let end = match h.size {
            None => {
                if !(valid && sch.is_some_and(|s| s.unknown_size_allowed)) {
                    self.damage(ErrorKind::UnknownSizeNotAllowed, pos, Some(h.id));
                    return Ok(None);
                }
                None
            }
            Some(s) => match hdr.data_offset().checked_add(s) {
                Some(e) => Some(e),
                None => {
                    self.damage(ErrorKind::ChildExceedsParent, pos, Some(h.id));
                    return Ok(None);
                }
            },
        };
        if let (Some(e), Some(pe)) = (end, parent.and_then(|p| p.end())) {
            if e > pe {
                self.damage(ErrorKind::ChildExceedsParent, pos, Some(h.id));
                return Ok(None);
            }
        }
        let ty = sch.map(|s| s.ty);
        if valid && ty == Some(ElementType::Master) {
            if self.stack.len() >= self.limits.max_depth {
                self.damage(ErrorKind::LimitExceeded(Limit::Depth), pos, Some(h.id));
                return Ok(None);
            }
            let skippable = self.skip_subtrees.contains(&h.id) && self.may_skip_subtrees();
            if let Some(size) = h.size.filter(|_| skippable) {
                // A subtree up to max_skip_gather is checked whole: wait for it (a stream
                // delivers it in pieces) and join its pieces, then skip it if clean.
                let whole = u64::from(h.len).saturating_add(size);
                if whole <= self.limits.max_skip_gather {
                    let queued = self.input.len() as u64;
                    if queued < whole && !self.eof {
                        return Ok(Some(Status::NeedMore((whole - queued) as usize)));
                    }
                    self.input.make_contiguous(whole as usize);
                }
                if self.subtree_is_clean(h.id, usize::from(h.len), size) {
                    self.consume(u64::from(h.len) + size);
                    return Ok(Some(Status::Ready(ElementEvent::Skipped(hdr))));
                }
            }
            self.consume(u64::from(h.len));
            self.stack.push(hdr);
            if h.id == ids::EBML {
                self.max_size_len = 8;
                self.size_width_reported = false;
            }
            return Ok(Some(Status::Ready(ElementEvent::Start(hdr))));
        }
        let size = h.size.expect("unknown size only on masters");
        // No known end bounds this element: a wrong size could swallow the documents that
        // follow, so watch its body for a new EBML header.
        let unbounded = self.stack.iter().all(|o| o.size.is_none());
        if !valid || h.id == ids::VOID {
            self.consume(u64::from(h.len));
            self.state = State::Skip(hdr, size, unbounded);
            return Ok(Some(Status::Ready(ElementEvent::Skipped(hdr))));
        }
        if size > self.limits.max_element_size {
            self.damage(ErrorKind::LimitExceeded(Limit::ElementSize), pos, Some(h.id));
            return Ok(None);
        }
        if h.id == ids::CRC32 && size != 4 {
            self.damage(ErrorKind::InvalidValue, pos, Some(h.id));
            return Ok(None);
        }
        self.consume(u64::from(h.len));
        self.state = State::Leaf(hdr, size as usize, unbounded.then_some(0));
        Ok(None)
    }
}
