//! `decode_raw`: pictures of a source as RGB buffers, decoded by the crate's FFmpeg stage on
//! a worker thread (FFmpeg's contexts stay on the thread that made them); the caller waits
//! for each with the GIL released. The package's `decode` wraps each in a numpy array.

use std::io::Read;
use std::sync::mpsc;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use kinesis_video_parser::decode::DecodedImage;
use kinesis_video_parser::decode::{DecodeError as RustDecodeError, DecodeOptions, ImageExtractor, Mode, Picture};

use crate::errors::{busy, parse_error, DecodeError};
use crate::items::FrameData;
use crate::source::{Failure, Input};

/// Pictures decoded ahead of the caller (each one a whole RGB frame).
const AHEAD: usize = 4;

/// One decoded picture: RGB bytes (height × width × 3) and where its frame came from.
#[pyclass(frozen, module = "kinesis_video_parser", name = "RawImage")]
pub struct RawImage {
    /// The pixels, row by row, 3 bytes each (a buffer: `numpy.frombuffer` shares it).
    #[pyo3(get)]
    rgb: Py<FrameData>,
    #[pyo3(get)]
    width: u32,
    #[pyo3(get)]
    height: u32,
    #[pyo3(get)]
    pts_ns: i64,
    #[pyo3(get)]
    keyframe: bool,
    #[pyo3(get)]
    track: u64,
    #[pyo3(get)]
    fragment_index: u64,
    #[pyo3(get)]
    fragment_number: Option<Py<PyString>>,
    #[pyo3(get)]
    producer_timestamp_ms: Option<u64>,
    #[pyo3(get)]
    server_timestamp_ms: Option<u64>,
}

type Decoded = Result<DecodedImage, RustDecodeError>;

/// The pictures of one source (see `kinesis_video_parser.decode`).
#[pyclass(module = "kinesis_video_parser")]
pub struct ImageReader {
    pictures: Mutex<Option<mpsc::Receiver<Decoded>>>,
    failure: Failure,
    /// Frames that could not be decoded (decoding went on at the next keyframe).
    #[pyo3(get)]
    errors: Py<PyList>,
}

fn run(read: Box<dyn Read + Send>, opts: DecodeOptions, out: mpsc::SyncSender<Decoded>) {
    for picture in ImageExtractor::new(read, opts) {
        if out.send(picture).is_err() {
            return; // the reader was dropped
        }
    }
}

#[pymethods]
impl ImageReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<RawImage>> {
        let mut guard = busy(&self.pictures)?;
        loop {
            let Some(rx) = guard.as_mut() else { return Ok(None) };
            let got = py.detach(move || rx.recv().ok());
            let image = match got {
                Some(Ok(image)) => image,
                Some(Err(RustDecodeError::Corrupt { pts_ns, detail })) => {
                    let err = DecodeError::new_err(format!("corrupt frame at {pts_ns} ns: {detail}"));
                    let _ = err.value(py).setattr("pts_ns", pts_ns);
                    self.errors.bind(py).append(err.value(py))?;
                    continue;
                }
                Some(Err(RustDecodeError::Input(e))) => {
                    *guard = None;
                    let cause = self.failure.lock().unwrap_or_else(|p| p.into_inner()).take();
                    return Err(parse_error(py, &e, cause));
                }
                Some(Err(e)) => {
                    *guard = None;
                    return Err(DecodeError::new_err(e.to_string()));
                }
                None => {
                    *guard = None;
                    return Ok(None);
                }
            };
            let Picture::Rgb(rgb) = image.picture else {
                return Err(DecodeError::new_err("the decoder gave a picture that is not RGB"));
            };
            let (width, height) = rgb.dimensions();
            let f = image.fragment;
            return Ok(Some(RawImage {
                rgb: Py::new(py, FrameData::new(rgb.into_raw().into()))?,
                width,
                height,
                pts_ns: image.pts_ns,
                keyframe: image.keyframe,
                track: image.track,
                fragment_index: f.index,
                fragment_number: f.fragment_number.map(|n| PyString::new(py, n.as_str()).unbind()),
                producer_timestamp_ms: f.producer_timestamp_ms,
                server_timestamp_ms: f.server_timestamp_ms,
            }));
        }
    }
}

/// decode_raw(source, keyframes_only, width, height, track)
/// --
///
/// The pictures of `source` as RGB buffers (the package's `decode` makes arrays of them).
#[pyfunction]
#[pyo3(signature = (source, keyframes_only = false, width = None, height = None, track = None))]
pub fn decode_raw(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    keyframes_only: bool,
    width: Option<u32>,
    height: Option<u32>,
    track: Option<u64>,
) -> PyResult<ImageReader> {
    let (read, failure) = Input::open(source)?.into_read();
    let opts = DecodeOptions {
        mode: if keyframes_only { Mode::Keyframes } else { Mode::All },
        width,
        height,
        track,
        ..DecodeOptions::default()
    };
    let (tx, rx) = mpsc::sync_channel(AHEAD);
    std::thread::Builder::new()
        .name("kinesis-video-parser-decode".into())
        .spawn(move || run(read, opts, tx))
        .map_err(|e| DecodeError::new_err(format!("starting the decoder thread: {e}")))?;
    Ok(ImageReader { pictures: Mutex::new(Some(rx)), failure, errors: PyList::empty(py).unbind() })
}
