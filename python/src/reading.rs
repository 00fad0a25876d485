//! `read` and `frames`: fragments or frames of any source, in order.

use std::collections::VecDeque;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyList;

use kinesis_video_parser::{Error, ErrorKind, Event, Fragment as RustFragment, FragmentAssembler, Frame as RustFrame};

use crate::errors::{busy, parse_error};
use crate::items::{Fragment, FragmentKeys, Frame};
use crate::source::{Events, Failure, Input};

/// Frames taken from the parser per release of the GIL.
const BATCH: usize = 256;

/// What the parser said, in the order it said it.
enum Said<T> {
    Item(T),
    /// Truncation or damage: a value error, reported and read past.
    Problem(Error),
    /// Reading the source failed: the end of this reader.
    Failed(Error),
}

/// The errors a reader read past (`strict=False`): truncation, damage.
fn report(py: Python<'_>, errors: &Py<PyList>, strict: bool, e: &Error) -> PyResult<()> {
    let err = parse_error(py, e, None);
    if strict {
        return Err(err);
    }
    errors.bind(py).append(err.value(py))
}

fn failed(py: Python<'_>, e: &Error, failure: &Failure) -> PyErr {
    let cause = failure.lock().unwrap_or_else(|p| p.into_inner()).take();
    parse_error(py, e, cause)
}

fn is_io(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Io(_))
}

/// The fragments of a source, in order (see `kinesis_video_parser.read`).
#[pyclass(module = "kinesis_video_parser")]
pub struct FragmentReader {
    state: Mutex<Option<(Events, FragmentAssembler)>>,
    failure: Failure,
    strict: bool,
    /// What was read past: a `TruncatedError` or `ParseError` each, with its offset.
    #[pyo3(get)]
    errors: Py<PyList>,
}

/// Fragments, parsed with the GIL released, one at a time.
fn next_fragment(events: &mut Events, asm: &mut FragmentAssembler) -> Option<Said<RustFragment>> {
    for item in events.by_ref() {
        match item {
            Ok(ev) => {
                if let Some(f) = asm.push(ev) {
                    return Some(Said::Item(f));
                }
            }
            Err(e) if is_io(&e) => return Some(Said::Failed(e)),
            Err(e) => return Some(Said::Problem(e)),
        }
    }
    None
}

#[pymethods]
impl FragmentReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Fragment>> {
        let mut guard = busy(&self.state)?;
        loop {
            let Some((events, asm)) = guard.as_mut() else { return Ok(None) };
            match py.detach(|| next_fragment(events, asm)) {
                Some(Said::Item(f)) => return Fragment::new(py, f, None, None).map(Some),
                Some(Said::Problem(e)) => report(py, &self.errors, self.strict, &e)?,
                Some(Said::Failed(e)) => {
                    *guard = None;
                    return Err(failed(py, &e, &self.failure));
                }
                None => {
                    *guard = None;
                    return Ok(None);
                }
            }
        }
    }
}

/// The frames of a source, in order (see `kinesis_video_parser.frames`).
#[pyclass(module = "kinesis_video_parser")]
pub struct FrameReader {
    state: Mutex<FrameState>,
    failure: Failure,
    strict: bool,
    /// What was read past: a `TruncatedError` or `ParseError` each, with its offset.
    #[pyo3(get)]
    errors: Py<PyList>,
}

struct FrameState {
    events: Option<Events>,
    ready: VecDeque<Said<(RustFrame, Option<u64>)>>,
    /// The fragment the last frame belonged to, and what its frames carry of it.
    keys: (u64, FragmentKeys),
}

/// Up to [`BATCH`] frames (each with its fragment's index when that changed, so that its
/// keys are read once per fragment), parsed with the GIL released.
fn fill(events: &mut Events, ready: &mut VecDeque<Said<(RustFrame, Option<u64>)>>, last: u64) -> bool {
    let mut last = last;
    while ready.len() < BATCH {
        match events.next() {
            Some(Ok(Event::Frame(f))) => {
                let changed = (f.info.fragment != last).then_some(f.info.fragment);
                last = f.info.fragment;
                let ends_batch = changed.is_some();
                ready.push_back(Said::Item((f, changed)));
                // A fragment's first frame ends the batch: its keys are read from the parser
                // when it is handed out, before the parser moves past its fragment.
                if ends_batch {
                    return true;
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) if is_io(&e) => {
                ready.push_back(Said::Failed(e));
                return false;
            }
            Some(Err(e)) => ready.push_back(Said::Problem(e)),
            None => return false,
        }
    }
    true
}

#[pymethods]
impl FrameReader {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Frame>> {
        let mut guard = busy(&self.state)?;
        let st = &mut *guard;
        loop {
            if let Some(said) = st.ready.pop_front() {
                match said {
                    Said::Item((f, changed)) => {
                        if let Some(index) = changed {
                            // A new fragment's first frame is always last in its batch, so the
                            // parser's current fragment is still its fragment.
                            let meta = st.events.as_ref().and_then(|e| e.current_fragment());
                            st.keys = (index, FragmentKeys::of(py, meta.filter(|m| m.index == index)));
                        }
                        return Ok(Some(Frame::new(f, &st.keys.1, None, py)));
                    }
                    Said::Problem(e) => report(py, &self.errors, self.strict, &e)?,
                    Said::Failed(e) => {
                        st.events = None;
                        return Err(failed(py, &e, &self.failure));
                    }
                }
                continue;
            }
            let Some(events) = st.events.as_mut() else { return Ok(None) };
            let (ready, last) = (&mut st.ready, st.keys.0);
            if !py.detach(|| fill(events, ready, last)) && st.ready.is_empty() {
                st.events = None;
                return Ok(None);
            }
        }
    }
}

/// read(source, strict=False)
/// --
///
/// The fragments of `source` (a path, a bytes-like object or a binary file object), in order.
#[pyfunction]
#[pyo3(signature = (source, strict = false))]
pub fn read(py: Python<'_>, source: &Bound<'_, PyAny>, strict: bool) -> PyResult<FragmentReader> {
    let (events, failure) = Input::open(source)?.events();
    Ok(FragmentReader {
        state: Mutex::new(Some((events, FragmentAssembler::new()))),
        failure,
        strict,
        errors: PyList::empty(py).unbind(),
    })
}

/// frames(source, strict=False)
/// --
///
/// The frames of `source`, in order, one at a time.
#[pyfunction]
#[pyo3(signature = (source, strict = false))]
pub fn frames(py: Python<'_>, source: &Bound<'_, PyAny>, strict: bool) -> PyResult<FrameReader> {
    let (events, failure) = Input::open(source)?.events();
    Ok(FrameReader {
        state: Mutex::new(FrameState {
            events: Some(events),
            ready: VecDeque::new(),
            keys: (u64::MAX, FragmentKeys::default()),
        }),
        failure,
        strict,
        errors: PyList::empty(py).unbind(),
    })
}
