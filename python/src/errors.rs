//! The package's exceptions, and the crate's errors turned into them (byte offsets kept).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use kinesis_video_parser::aws::ConsumerError;
use kinesis_video_parser::{Error, ErrorKind};

create_exception!(kinesis_video_parser, KvsError, PyException, "Base of every error the package raises.");
create_exception!(
    kinesis_video_parser,
    ParseError,
    KvsError,
    "The input is not valid Matroska/KVS: `offset` is the byte where it went wrong, `kind` names the rule."
);
create_exception!(
    kinesis_video_parser,
    TruncatedError,
    ParseError,
    "The input ended inside an element (a cut stream): `offset` is the byte where it ended."
);
create_exception!(
    kinesis_video_parser,
    ReadError,
    KvsError,
    "Reading the source failed (never taken for its end): `offset` is how far it was read; the cause is chained."
);
create_exception!(
    kinesis_video_parser,
    ServiceError,
    KvsError,
    "Kinesis Video Streams failed, after the retries: `stream` names it."
);
create_exception!(kinesis_video_parser, DecodeError, KvsError, "A frame could not be decoded.");

/// The state of an iterator, for one call. An iterator used from two threads at once is an
/// error rather than a wait: the holder may need the GIL (to read a file object, to check
/// for Ctrl-C) that a waiter would be holding.
pub fn busy<T>(m: &std::sync::Mutex<T>) -> PyResult<std::sync::MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(g) => Ok(g),
        Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => {
            Err(pyo3::exceptions::PyRuntimeError::new_err("this iterator is in use by another thread"))
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("KvsError", py.get_type::<KvsError>())?;
    m.add("ParseError", py.get_type::<ParseError>())?;
    m.add("TruncatedError", py.get_type::<TruncatedError>())?;
    m.add("ReadError", py.get_type::<ReadError>())?;
    m.add("ServiceError", py.get_type::<ServiceError>())?;
    m.add("DecodeError", py.get_type::<DecodeError>())?;
    Ok(())
}

/// `e` as the exception of its kind, with `offset` and `kind` set; `cause` (the Python
/// exception a file object raised) chained to it.
pub fn parse_error(py: Python<'_>, e: &Error, cause: Option<PyErr>) -> PyErr {
    let err = match e.kind() {
        ErrorKind::Io(_) => ReadError::new_err(e.to_string()),
        ErrorKind::Truncated => TruncatedError::new_err(e.to_string()),
        _ => ParseError::new_err(e.to_string()),
    };
    let value = err.value(py);
    // Setting attributes on a fresh exception instance cannot fail.
    let _ = value.setattr("offset", e.offset());
    let _ = value.setattr("kind", format!("{:?}", e.kind()));
    if cause.is_some() {
        err.set_cause(py, cause);
    }
    err
}

/// A live or archive reader's error as a `ServiceError` naming its stream.
pub fn service_error(py: Python<'_>, stream: &str, e: &ConsumerError) -> PyErr {
    let err = ServiceError::new_err(format!("{stream}: {e}"));
    let _ = err.value(py).setattr("stream", stream);
    err
}
