//! `kinesis_video_parser._native`: the crate's readers as Python iterators. The Python
//! package around it (`kinesis_video_parser/`) adds the documented entry points, type
//! stubs and the Ray module.
//!
//! Every call that parses, decodes or waits on the network runs with the GIL released
//! (`Python::detach`); a Python file object is read with the GIL taken again for each read.

mod errors;
mod items;
mod reading;
mod service;
mod source;

#[cfg(feature = "decode")]
mod decoding;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<items::Frame>()?;
    m.add_class::<items::FrameData>()?;
    m.add_class::<items::Fragment>()?;
    m.add_class::<reading::FragmentReader>()?;
    m.add_class::<reading::FrameReader>()?;
    m.add_function(wrap_pyfunction!(reading::read, m)?)?;
    m.add_function(wrap_pyfunction!(reading::frames, m)?)?;
    m.add_class::<service::GetMediaConsumer>()?;
    m.add_class::<service::LiveFrames>()?;
    m.add_class::<service::ArchiveReader>()?;
    m.add("HAS_DECODE", cfg!(feature = "decode"))?;
    #[cfg(feature = "decode")]
    {
        m.add_class::<decoding::RawImage>()?;
        m.add_class::<decoding::ImageReader>()?;
        m.add_function(wrap_pyfunction!(decoding::decode_raw, m)?)?;
    }
    Ok(())
}
