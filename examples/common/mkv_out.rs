//! `get_archived --output`: the fragments delivered, as one Matroska stream. Each fragment
//! is written back as a document (`mux::Remuxer`) and the documents are merged into one
//! Segment (`merge::Merger`) as they come, so only one fragment's frames are held.

use std::io::{self, Write};

use kinesis_video_parser::merge::{MergeOptions, Merger};
use kinesis_video_parser::mux::Remuxer;
use kinesis_video_parser::{Fragment, FragmentMeta, Frame};

/// Fragments in, one Matroska stream out.
pub struct MkvOutput {
    frames: Vec<Frame>,
    merger: Merger,
    out: Box<dyn Write>,
}

impl MkvOutput {
    /// Writes to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        MkvOutput { frames: Vec::new(), merger: Merger::new(MergeOptions::default()), out }
    }

    /// A frame of the fragment being delivered.
    pub fn frame(&mut self, f: Frame) {
        self.frames.push(f);
    }

    /// The fragment closed: its frames are written.
    pub fn fragment(&mut self, meta: &FragmentMeta) -> io::Result<()> {
        let mut meta = meta.clone();
        meta.starts_document = true; // each its own document; the merger joins them
        let fragment = Fragment { meta, frames: std::mem::take(&mut self.frames), damage: Vec::new() };
        let mut doc = Remuxer::new(Vec::new());
        doc.write_fragment(&fragment, "matroska")?;
        self.merger.push(doc.into_inner().into());
        self.drain()
    }

    /// The end: the merged stream is completed and flushed.
    pub fn finish(mut self) -> io::Result<()> {
        self.merger.finish();
        self.drain()?;
        self.out.flush()
    }

    fn drain(&mut self) -> io::Result<()> {
        self.merger.process();
        for piece in self.merger.take_output() {
            self.out.write_all(&piece)?;
        }
        Ok(())
    }
}
