//! What `read`, `frames` and `decode` accept: a path, a bytes-like object, or a binary file
//! object; and the events of the crate's demuxer over it.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pyo3::buffer::PyBuffer;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use kinesis_video_parser::{Demuxer, Error, Event, FragmentMeta, ReadDemuxer, Status};

/// The Python exception a file object raised, kept to be chained to the `ReadError`.
pub type Failure = Arc<Mutex<Option<PyErr>>>;

/// A source, opened.
pub enum Input {
    /// Bytes in memory, copied once out of the Python object.
    Memory(Bytes),
    /// A file or a Python file object.
    Reader(Box<dyn Read + Send>, Failure),
}

impl Input {
    /// Opens `source`: `str` or `os.PathLike` is a path; an object with `read` is a binary
    /// file object; anything else must support the buffer protocol (bytes, bytearray,
    /// memoryview, numpy arrays of uint8).
    pub fn open(source: &Bound<'_, PyAny>) -> PyResult<Input> {
        let failure = Failure::default();
        if source.is_instance_of::<PyString>() || source.hasattr("__fspath__")? {
            let path: PathBuf = source.extract()?;
            let file = std::fs::File::open(&path)
                .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", path.display())))?;
            return Ok(Input::Reader(Box::new(file), failure));
        }
        if source.hasattr("read")? {
            let reader = PyReader::new(source, failure.clone())?;
            return Ok(Input::Reader(Box::new(reader), failure));
        }
        if let Ok(b) = source.cast::<PyBytes>() {
            return Ok(Input::Memory(Bytes::copy_from_slice(b.as_bytes())));
        }
        match PyBuffer::<u8>::get(source) {
            Ok(buf) => Ok(Input::Memory(Bytes::from(buf.to_vec(source.py())?))),
            Err(_) => Err(PyTypeError::new_err(format!(
                "expected a path, a bytes-like object or a binary file object, not {}",
                source.get_type().name()?
            ))),
        }
    }

    /// The demuxer's events over this input.
    pub fn events(self) -> (Events, Failure) {
        match self {
            Input::Memory(bytes) => {
                let mut demux = Demuxer::new();
                demux.push(bytes);
                demux.finish();
                (Events::Memory(demux), Failure::default())
            }
            Input::Reader(read, failure) => (Events::Reader(ReadDemuxer::new(read)), failure),
        }
    }
}

/// The events of one input: the core over bytes in memory (frames are views of them), or
/// the sync adapter over a reader.
pub enum Events {
    Memory(Demuxer),
    Reader(ReadDemuxer<Box<dyn Read + Send>>),
}

impl Events {
    /// The fragment being read (its leading KVS tags, once they arrived).
    pub fn current_fragment(&self) -> Option<&FragmentMeta> {
        match self {
            Events::Memory(d) => d.current_fragment(),
            Events::Reader(r) => r.demuxer().current_fragment(),
        }
    }
}

impl Iterator for Events {
    type Item = Result<Event, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Events::Memory(d) => match d.poll() {
                Ok(Status::Ready(ev)) => Some(Ok(ev)),
                // Everything was pushed and finished: needing more is the end.
                Ok(Status::Done | Status::NeedMore(_)) => None,
                Err(e) => Some(Err(e)),
            },
            Events::Reader(r) => r.next(),
        }
    }
}

/// A Python binary file object as a `Read`, through its `read(n)` (`read1(n)` when it has
/// one, which returns what is there rather than waiting for `n` bytes: a live pipe's frames
/// are not held back). The GIL is taken for each call only.
struct PyReader {
    file: Py<PyAny>,
    method: &'static str,
    failure: Failure,
}

impl PyReader {
    fn new(file: &Bound<'_, PyAny>, failure: Failure) -> PyResult<Self> {
        let method = if file.hasattr("read1")? { "read1" } else { "read" };
        Ok(PyReader { file: file.clone().unbind(), method, failure })
    }

    fn read_py(&self, py: Python<'_>, buf: &mut [u8]) -> PyResult<usize> {
        let got = self.file.bind(py).call_method1(self.method, (buf.len(),))?;
        if got.is_none() {
            return Ok(0);
        }
        let data = PyBuffer::<u8>::get(&got)?;
        let n = data.len_bytes();
        if n > buf.len() {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{}({}) returned {n} bytes",
                self.method,
                buf.len()
            )));
        }
        data.copy_to_slice(py, &mut buf[..n])?;
        Ok(n)
    }
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| match self.read_py(py, buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let message = e.to_string();
                *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Err(io::Error::other(message))
            }
        })
    }
}
