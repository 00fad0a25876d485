//! The one driver: the loop behind `poll`, `poll_ref` and the adapters' reads, generic over
//! how it hands out what it finds and what it does when the input runs out.

use std::ops::ControlFlow;

use crate::ebml::ElementHeader;
use crate::error::Error;
use crate::frame::{Frame, FrameRef};
use crate::mkv::BlockHeader;
use crate::Status;

use super::hot::Hot;
use super::{BlockTiming, Demuxer, Event, EventRef};

/// How an adapter takes the driver's owned events, and feeds it when the input runs out.
/// Driven through [`Demuxer::pull`], each call's event is built where the adapter returns
/// it: no conversion of a `Result<Status<Event>, Error>` (a frame moved, field by field,
/// into another layout) per event, which cost the streamed paths more than their copy.
pub(crate) trait Pull {
    /// What one pull returns.
    type Out;
    /// An event, handed out.
    fn ready(ev: Event) -> Self::Out;
    /// The input ran out (at least `n` more bytes are needed): `Continue` once more was
    /// pushed into `d` (or its input finished), `Break` with what to return instead.
    fn need_more(&mut self, d: &mut Demuxer, n: usize) -> ControlFlow<Self::Out>;
    /// Everything was handed out.
    fn done() -> Self::Out;
    /// Truncation, from the core.
    fn error(e: Error) -> Self::Out;
}

/// [`Demuxer::poll`]'s pull: the core's own answers, `NeedMore` when the input runs out.
pub(super) struct Polled;

impl Pull for Polled {
    type Out = Result<Status<Event>, Error>;

    #[inline(always)]
    fn ready(ev: Event) -> Self::Out {
        Ok(Status::Ready(ev))
    }

    #[inline(always)]
    fn need_more(&mut self, _: &mut Demuxer, n: usize) -> ControlFlow<Self::Out> {
        ControlFlow::Break(Ok(Status::NeedMore(n)))
    }

    #[inline(always)]
    fn done() -> Self::Out {
        Ok(Status::Done)
    }

    #[inline(always)]
    fn error(e: Error) -> Self::Out {
        Err(e)
    }
}

/// How [`Demuxer::drive_input`] hands out what it found: owned events through a [`Pull`]
/// ([`Owned`]), or frames lent ([`Lent`]).
pub(super) trait HandOut {
    /// What one call returns.
    type Out<'a>;
    /// A queued event.
    fn queued<'a>(&mut self, d: &'a mut Demuxer, ev: Event) -> Self::Out<'a>;
    /// The open lace's next frame.
    fn laced<'a>(&mut self, d: &'a mut Demuxer) -> Self::Out<'a>;
    /// The unlaced SimpleBlock of the fast path that [`Demuxer::hot_block`] peeked, timed.
    fn unlaced<'a>(&mut self, d: &'a mut Demuxer, h: &ElementHeader, bh: BlockHeader, t: BlockTiming) -> Self::Out<'a>;
    /// The input ran out: `Continue` once more was pushed, `Break` to return.
    fn need_more<'a>(&mut self, d: &mut Demuxer, n: usize) -> ControlFlow<Self::Out<'a>>;
    /// Everything was handed out.
    fn done<'a>() -> Self::Out<'a>;
    /// Truncation, from the core.
    fn error<'a>(e: Error) -> Self::Out<'a>;
}

/// Owned events, through a [`Pull`]: a fast-path payload is taken as one reference count
/// on the input.
pub(super) struct Owned<'p, P>(pub(super) &'p mut P);

impl<P: Pull> HandOut for Owned<'_, P> {
    type Out<'a> = P::Out;

    #[inline(always)]
    fn queued<'a>(&mut self, _: &'a mut Demuxer, ev: Event) -> Self::Out<'a> {
        P::ready(ev)
    }

    #[inline(always)]
    fn laced<'a>(&mut self, d: &'a mut Demuxer) -> Self::Out<'a> {
        P::ready(Event::Frame(d.next_laced()))
    }

    #[inline(always)]
    fn unlaced<'a>(&mut self, d: &'a mut Demuxer, h: &ElementHeader, bh: BlockHeader, t: BlockTiming) -> Self::Out<'a> {
        let info = t.info(h, bh, None);
        let data = d.reader.take_simple_block(h, bh.len);
        // Built where it is returned: no copy of the frame on the way.
        P::ready(Event::Frame(Frame { info, data, prefix: t.prefix }))
    }

    #[inline(always)]
    fn need_more<'a>(&mut self, d: &mut Demuxer, n: usize) -> ControlFlow<Self::Out<'a>> {
        self.0.need_more(d, n)
    }

    #[inline(always)]
    fn done<'a>() -> Self::Out<'a> {
        P::done()
    }

    #[inline(always)]
    fn error<'a>(e: Error) -> Self::Out<'a> {
        P::error(e)
    }
}

/// `poll_ref`'s hand-out: frames lent, a fast-path block in place (consumed by the next
/// poll), a queued frame from the demuxer's `held`.
pub(super) struct Lent;

impl HandOut for Lent {
    type Out<'a> = Result<Status<EventRef<'a>>, Error>;

    #[inline(always)]
    fn queued<'a>(&mut self, d: &'a mut Demuxer, ev: Event) -> Self::Out<'a> {
        Ok(Status::Ready(ev.lend(&mut d.held)))
    }

    #[inline(always)]
    fn laced<'a>(&mut self, d: &'a mut Demuxer) -> Self::Out<'a> {
        Ok(Status::Ready(EventRef::Frame(d.next_laced_ref())))
    }

    #[inline(always)]
    fn unlaced<'a>(&mut self, d: &'a mut Demuxer, h: &ElementHeader, bh: BlockHeader, t: BlockTiming) -> Self::Out<'a> {
        let info = t.info(h, bh, None);
        if t.prefix.is_some() {
            d.held.prefix = t.prefix;
        }
        let (data, occupied) = d.reader.peeked_simple_block(h, bh.len);
        d.lent = occupied;
        Ok(Status::Ready(EventRef::Frame(FrameRef { info, data, prefix: d.held.prefix.as_deref() })))
    }

    #[inline(always)]
    fn need_more<'a>(&mut self, _: &mut Demuxer, n: usize) -> ControlFlow<Self::Out<'a>> {
        ControlFlow::Break(Ok(Status::NeedMore(n)))
    }

    #[inline(always)]
    fn done<'a>() -> Self::Out<'a> {
        Ok(Status::Done)
    }

    #[inline(always)]
    fn error<'a>(e: Error) -> Self::Out<'a> {
        Err(e)
    }
}

impl Demuxer {
    /// The next event through an adapter's [`Pull`], which feeds the input as it runs out.
    #[inline(always)]
    pub(crate) fn pull<P: Pull>(&mut self, p: &mut P) -> P::Out {
        let mut h = Owned(p);
        if self.lace_frame_next() {
            return h.laced(self);
        }
        self.pull_input(&mut h)
    }

    /// [`pull`](Self::pull) past the lace. Instantiated for each adapter, in the crate that
    /// uses it: what the loop calls is `#[inline]` so that it inlines there too.
    #[inline(never)]
    fn pull_input<P: Pull>(&mut self, h: &mut Owned<'_, P>) -> P::Out {
        self.drive_input(h)
    }

    /// [`poll`](Self::poll) past the lace (not generic: compiled here, once).
    #[inline(never)]
    pub(super) fn poll_input(&mut self) -> Result<Status<Event>, Error> {
        self.drive_input(&mut Owned(&mut Polled))
    }

    /// [`poll_ref`](Self::poll_ref) past the lace (not generic: compiled here, once).
    #[inline(never)]
    pub(super) fn poll_ref_input(&mut self) -> Result<Status<EventRef<'_>>, Error> {
        self.drive_input(&mut Lent)
    }

    /// The frames of a lace after its first take a small path that inlines into the caller
    /// (nothing to read, one frame built where it is consumed), when nothing is queued
    /// before them.
    #[inline(always)]
    pub(super) fn lace_frame_next(&self) -> bool {
        self.lace.is_open() && self.out.is_empty()
    }

    /// Past the lace: what the last lent frame left is settled, then queued events, the
    /// open lace, the SimpleBlock fast path and one element of the general path are tried
    /// in turn until one has something; when the input runs out, `H` says whether to go on.
    /// Each hand-out is compiled into this loop (an enum returned and matched again by
    /// `poll` and `poll_ref` cost 4-5% on small frames).
    #[inline(always)]
    fn drive_input<H: HandOut>(&mut self, h: &mut H) -> H::Out<'_> {
        if self.lent != 0 || !self.held.is_empty() || (!self.lace.body.is_empty() && !self.lace.is_open()) {
            self.settle();
        }
        loop {
            if let Some(ev) = self.out.pop_front() {
                return h.queued(self, ev);
            }
            if self.lace.is_open() {
                return h.laced(self);
            }
            if self.done {
                return H::done();
            }
            match self.hot_block() {
                Hot::Unlaced(hd, bh) => {
                    let Some(t) = self.hot_timing(&hd, bh) else { continue };
                    return h.unlaced(self, &hd, bh, t);
                }
                Hot::Taken => continue,
                Hot::Miss => {}
            }
            match self.next_element() {
                Ok(None) => {}
                Ok(Some(n)) => {
                    if let ControlFlow::Break(out) = h.need_more(self, n) {
                        return out;
                    }
                }
                Err(e) => return H::error(e),
            }
        }
    }
}
