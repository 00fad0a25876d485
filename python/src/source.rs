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
    /// A file.
    Reader(Box<dyn Read + Send>, Failure),
    /// A Python file object.
    PyFile(PyReader, Failure),
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
            return Ok(Input::PyFile(reader, failure));
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
            Input::PyFile(file, failure) => {
                (Events::PyFile { demux: Demuxer::new(), file, read: 0, failed: false }, failure)
            }
        }
    }

    /// This input as a `Read` (for readers that take one).
    #[cfg(feature = "decode")]
    pub fn into_read(self) -> (Box<dyn Read + Send>, Failure) {
        match self {
            Input::Memory(bytes) => (Box::new(std::io::Cursor::new(bytes)), Failure::default()),
            Input::Reader(read, failure) => (read, failure),
            Input::PyFile(file, failure) => (Box::new(file), failure),
        }
    }
}

/// The events of one input: the core over bytes in memory (frames are views of them), or
/// the sync adapter over a reader.
pub enum Events {
    Memory(Demuxer),
    Reader(ReadDemuxer<Box<dyn Read + Send>>),
    /// A Python file object: each `bytes` it returns is pushed as it is (frames are views of
    /// it), so its bytes are copied once, by the file object, and never again.
    PyFile {
        demux: Demuxer,
        file: PyReader,
        read: u64,
        failed: bool,
    },
}

impl Events {
    /// The fragment being read (its leading KVS tags, once they arrived).
    pub fn current_fragment(&self) -> Option<&FragmentMeta> {
        match self {
            Events::Memory(d) => d.current_fragment(),
            Events::Reader(r) => r.demuxer().current_fragment(),
            Events::PyFile { demux, .. } => demux.current_fragment(),
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
            Events::PyFile { demux, file, read, failed } => loop {
                if *failed {
                    return None;
                }
                match demux.poll() {
                    Ok(Status::Ready(ev)) => return Some(Ok(ev)),
                    Ok(Status::Done) => return None,
                    Ok(Status::NeedMore(_)) => match file.next_piece() {
                        Ok(Some(piece)) => {
                            *read += piece.len() as u64;
                            demux.push(piece);
                        }
                        Ok(None) => demux.finish(),
                        Err(e) => {
                            *failed = true;
                            return Some(Err(Error::io(&e, *read)));
                        }
                    },
                    Err(e) => return Some(Err(e)),
                }
            },
        }
    }
}

/// What a file object is asked for per call: large enough that the calls cost nothing
/// next to the bytes, small enough to stay out of the allocator's mmap range.
const PIECE: usize = 64 * 1024;

/// A Python `bytes` object as the owner of a `Bytes`, without a copy.
struct PyBytesOwner {
    _obj: Py<PyBytes>,
    ptr: *const u8,
    len: usize,
}

// SAFETY: `ptr` points into the buffer of `_obj`, which this owner keeps alive; a `bytes`
// object is immutable and its buffer never moves, so reading it needs no GIL. Dropping the
// `Py` without the GIL is deferred by PyO3 until it is held.
unsafe impl Send for PyBytesOwner {}

impl AsRef<[u8]> for PyBytesOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: see `Send` above: `len` bytes at `ptr`, alive and unchanging with `_obj`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A Python binary file object as a `Read`, through its `read(n)` (`read1(n)` when it has
/// one, which returns what is there rather than waiting for `n` bytes: a live pipe's frames
/// are not held back). The GIL is taken for each call only.
pub struct PyReader {
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

impl PyReader {
    /// The next piece of the file, as the file object gave it; `None` at its end.
    fn next_piece(&mut self) -> io::Result<Option<Bytes>> {
        Python::attach(|py| {
            let got = self.file.bind(py).call_method1(self.method, (PIECE,)).and_then(|got| {
                if got.is_none() {
                    return Ok(Bytes::new());
                }
                if let Ok(b) = got.cast::<PyBytes>() {
                    let data = b.as_bytes();
                    let (ptr, len) = (data.as_ptr(), data.len());
                    return Ok(Bytes::from_owner(PyBytesOwner { _obj: b.clone().unbind(), ptr, len }));
                }
                Ok(Bytes::from(PyBuffer::<u8>::get(&got)?.to_vec(py)?))
            });
            match got {
                Ok(b) if b.is_empty() => Ok(None),
                Ok(b) => Ok(Some(b)),
                Err(e) => Err(self.failed(e)),
            }
        })
    }

    /// Keeps the file object's exception (to be chained) and reports it as an I/O error.
    fn failed(&self, e: PyErr) -> io::Error {
        let message = e.to_string();
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        io::Error::other(message)
    }
}

impl Read for PyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Python::attach(|py| self.read_py(py, buf).map_err(|e| self.failed(e)))
    }
}
