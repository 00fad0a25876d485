//! Events collected into whole fragments.

use crate::ebml::reader::Damage;
use crate::frame::{Fragment, Frame};

use super::Event;

/// Collects events into whole [`Fragment`]s.
///
/// ```
/// use kinesis_video_parser::{Demuxer, FragmentAssembler, Status};
/// let mut d = Demuxer::new();
/// d.push(std::fs::read("testdata/kvs_like.mkv").unwrap_or_default());
/// d.finish();
/// let mut asm = FragmentAssembler::new();
/// let mut fragments = vec![];
/// loop {
///     match d.poll() {
///         Ok(Status::Ready(ev)) => fragments.extend(asm.push(ev)),
///         Ok(_) => break,
///         Err(e) => eprintln!("{e}"), // truncation; the cut fragment still follows
///     }
/// }
/// # let _ = fragments;
/// ```
#[derive(Debug, Default)]
pub struct FragmentAssembler {
    frames: Vec<Frame>,
    damage: Vec<Damage>,
}

impl FragmentAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one event; returns a fragment when one closes.
    pub fn push(&mut self, ev: Event) -> Option<Fragment> {
        match ev {
            Event::Frame(f) => self.frames.push(f),
            Event::Damage(d) => self.damage.push(d),
            Event::FragmentEnd(meta) => {
                return Some(Fragment {
                    meta: *meta,
                    frames: std::mem::take(&mut self.frames),
                    damage: std::mem::take(&mut self.damage),
                })
            }
            _ => {}
        }
        None
    }
}
