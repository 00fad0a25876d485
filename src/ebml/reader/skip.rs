//! Clean Cues and SeekHead subtrees, checked and skipped whole.

use crate::ebml::Schema;
use crate::ebml::{ids, vint, ElementId, ElementType};

use super::ElementReader;

impl<S: Schema> ElementReader<S> {
    /// Subtrees may be skipped whole only while no CRC is running or checked: nothing
    /// skipped would be hashed or verified.
    pub(super) fn may_skip_subtrees(&self) -> bool {
        !self.verify_crc && self.crcs.is_empty()
    }

    /// Whether the body of master `id` (`size` bytes from `at` in the first piece, the
    /// master about to be opened) holds only elements that [`poll`](Self::poll) would read
    /// without a finding of its own: plain headers (no `0x1A` that could start a new
    /// document), known sizes nested exactly, schema-valid children, masters within the
    /// depth limit, leaves within the size limits, CRC-32s of 4 bytes. No CRC may be
    /// running or checked, since nothing skipped here would be hashed or verified.
    pub(super) fn subtree_is_clean(&self, id: ElementId, at: usize, size: u64) -> bool {
        if !self.may_skip_subtrees() {
            return false;
        }
        let front = self.input.front();
        let Some(end) = usize::try_from(size).ok().and_then(|s| at.checked_add(s)).filter(|&e| e <= front.len()) else {
            return false;
        };
        // The open masters of the walk (the one at `at` first), bounded like the stack.
        let mut open = [(id, end); 16];
        let mut depth = 1;
        let mut pos = at;
        while depth > 0 {
            let (parent, parent_end) = open[depth - 1];
            if pos == parent_end {
                depth -= 1;
                continue;
            }
            let Some(h) = vint::read_header(&front[pos..parent_end], self.max_size_len) else { return false };
            let header_len = usize::from(h.len);
            let body = pos + header_len;
            let child_end = h.size.and_then(|s| usize::try_from(s).ok()).and_then(|s| body.checked_add(s));
            let Some(child_end) = child_end.filter(|&e| e <= parent_end) else { return false };
            let Some(sch) = S::spec(h.id).filter(|s| s.is_child_of(Some(parent))) else { return false };
            if front[pos + 1..body].contains(&0x1A) {
                return false;
            }
            let size = (child_end - body) as u64;
            if sch.ty == ElementType::Master {
                if depth == open.len() || self.stack.len() + depth >= self.limits.max_depth {
                    return false;
                }
                open[depth] = (h.id, child_end);
                depth += 1;
                pos = body;
                continue;
            }
            let too_big = size > self.limits.max_element_size;
            if (h.id != ids::VOID && too_big) || (h.id == ids::CRC32 && size != 4) {
                return false;
            }
            pos = child_end;
        }
        true
    }
}
