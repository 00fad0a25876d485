//! The live consumer and the archive reader, on one tokio runtime for the process; every wait
//! is with the GIL released, and Ctrl-C interrupts it.

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use kinesis_video_parser::aws::{
    self as kvs, ConsumerError, FileCheckpoints, ListedFragment, LiveItem, StartSelector, TimeKind,
};
use kinesis_video_parser::Fragment as RustFragment;

use crate::errors::{busy, service_error};
use crate::items::{Fragment, FragmentKeys, Frame};

/// The process's runtime: two workers are enough for a few streams, and the work that
/// matters (parsing) happens in the caller's thread.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kinesis-video-parser")
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Runs `fut` with the GIL released, checking for signals (Ctrl-C) every 100 ms.
fn wait<F: Future + Send>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F::Output: Send,
{
    py.detach(|| {
        runtime().block_on(async {
            let mut fut = std::pin::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return Ok(out),
                    () = tokio::time::sleep(Duration::from_millis(100)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}

/// The SDK's configuration from the usual AWS chain (credentials, region), in `region` if
/// given.
fn sdk_config(py: Python<'_>, region: Option<String>) -> PyResult<aws_types::SdkConfig> {
    wait(py, async move {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r));
        }
        loader.load().await
    })
}

fn checkpoints(path: Option<std::path::PathBuf>) -> PyResult<Option<Arc<FileCheckpoints>>> {
    path.map(|p| {
        FileCheckpoints::open(&p)
            .map(Arc::new)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("{}: {e}", p.display())))
    })
    .transpose()
}

/// What a live or archive reader does with an error item: the ones that end it are raised;
/// in-band errors (the consumer reconnects) are kept in `errors`.
fn on_error(py: Python<'_>, stream: &str, e: &ConsumerError, errors: &Py<PyList>) -> PyResult<()> {
    match e {
        ConsumerError::InBand { .. } => errors.bind(py).append(service_error(py, stream, e).value(py)),
        _ => Err(service_error(py, stream, e)),
    }
}

/// A live stream through GetMedia, fragment by fragment (or frame by frame with
/// `frames()`), exactly once across dropped connections.
#[pyclass(module = "kinesis_video_parser")]
pub struct GetMediaConsumer {
    inner: Arc<Mutex<Option<kvs::GetMediaConsumer>>>,
    stream: String,
    /// In-band errors the service sent (the consumer reconnected after each).
    #[pyo3(get)]
    errors: Py<PyList>,
}

#[pymethods]
impl GetMediaConsumer {
    // A Python constructor: each argument is a keyword of the documented signature.
    #[allow(clippy::too_many_arguments)]
    #[new]
    #[pyo3(signature = (stream, start = "now", endpoint_url = None, region = None, checkpoint = None, *, max_failures = 10, read_timeout_ms = 10_000))]
    fn new(
        py: Python<'_>,
        stream: String,
        start: &str,
        endpoint_url: Option<String>,
        region: Option<String>,
        checkpoint: Option<std::path::PathBuf>,
        max_failures: u32,
        read_timeout_ms: u64,
    ) -> PyResult<Self> {
        let start: StartSelector = start.parse().map_err(|e| PyValueError::new_err(format!("{e}")))?;
        let sdk = sdk_config(py, region)?;
        let mut b = kvs::GetMediaConsumer::builder(stream.clone())
            .start(start)
            .max_failures(max_failures)
            .read_timeout(Duration::from_millis(read_timeout_ms));
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        if let Some(store) = checkpoints(checkpoint)? {
            b = b.checkpoints(store);
        }
        let consumer = py.detach(|| {
            let _rt = runtime().enter();
            b.build(&sdk)
        });
        Ok(GetMediaConsumer { inner: Arc::new(Mutex::new(Some(consumer))), stream, errors: PyList::empty(py).unbind() })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Fragment>> {
        let mut guard = busy(&self.inner)?;
        loop {
            let Some(c) = guard.as_mut() else { return Ok(None) };
            let got = wait(py, c.next_fragment())?;
            match got {
                Some(Ok(f)) => return Fragment::new(py, f, Some(&self.stream), None).map(Some),
                Some(Err(e)) => on_error(py, &self.stream, &e, &self.errors)?,
                None => return Ok(None),
            }
        }
    }

    /// The same consumer frame by frame: each frame as soon as its block arrived, with its
    /// fragment's number, timestamps and its position in it.
    fn frames(&self, py: Python<'_>) -> LiveFrames {
        LiveFrames { inner: self.inner.clone(), stream: self.stream.clone(), errors: self.errors.clone_ref(py) }
    }

    /// Where the next connection would start (`now`, `fragment:N`, `token:T`, …), the point a
    /// checkpoint saves.
    fn resume_point(&self) -> String {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map_or_else(String::new, |c| c.resume_point().to_string())
    }

    /// Stops consuming (the connection is closed).
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The frames of a [`GetMediaConsumer`].
#[pyclass(module = "kinesis_video_parser")]
pub struct LiveFrames {
    inner: Arc<Mutex<Option<kvs::GetMediaConsumer>>>,
    stream: String,
    errors: Py<PyList>,
}

#[pymethods]
impl LiveFrames {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Frame>> {
        let mut guard = busy(&self.inner)?;
        loop {
            let Some(c) = guard.as_mut() else { return Ok(None) };
            let got = wait(py, c.live().next())?;
            match got {
                Some(Ok(LiveItem::Frame(f))) => {
                    let h = &f.fragment;
                    let keys = FragmentKeys {
                        number: h.fragment_number.as_ref().map(|n| pyo3::types::PyString::new(py, n.as_str()).unbind()),
                        producer_ms: h.producer_timestamp_ms,
                        server_ms: h.server_timestamp_ms,
                    };
                    return Ok(Some(Frame::new(f.frame, &keys, Some(f.position), py)));
                }
                Some(Ok(LiveItem::Fragment(_))) => {}
                Some(Err(e)) => on_error(py, &self.stream, &e, &self.errors)?,
                None => return Ok(None),
            }
        }
    }
}

fn listed_dict<'py>(py: Python<'py>, f: &ListedFragment) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("fragment_number", f.number.as_str())?;
    d.set_item("producer_timestamp_ms", f.producer_ms)?;
    d.set_item("server_timestamp_ms", f.server_ms)?;
    d.set_item("size", f.size)?;
    d.set_item("duration_ms", f.duration_ms)?;
    Ok(d)
}

fn listed_of(d: &Bound<'_, PyAny>) -> PyResult<ListedFragment> {
    let number: String = d.get_item("fragment_number")?.extract()?;
    Ok(ListedFragment {
        number: number.parse().map_err(|_| PyValueError::new_err(format!("not a fragment number: {number:?}")))?,
        producer_ms: d.get_item("producer_timestamp_ms")?.extract()?,
        server_ms: d.get_item("server_timestamp_ms")?.extract()?,
        size: d.get_item("size")?.extract()?,
        duration_ms: d.get_item("duration_ms")?.extract()?,
    })
}

/// A time range of the archive, fragment by fragment in time order, each exactly once.
#[pyclass(module = "kinesis_video_parser")]
pub struct ArchiveReader {
    inner: Arc<Mutex<(kvs::ArchiveReader, Vec<kinesis_video_parser::Frame>)>>,
    stream: String,
    skip_missing: bool,
    /// Fragments listed but no longer to be had (with `on_missing="skip"`): their numbers.
    #[pyo3(get)]
    missing: Py<PyList>,
    /// In-band errors met on the way.
    #[pyo3(get)]
    errors: Py<PyList>,
}

#[pymethods]
impl ArchiveReader {
    // A Python constructor: each argument is a keyword of the documented signature.
    #[allow(clippy::too_many_arguments)]
    #[new]
    #[pyo3(signature = (stream, start_ms, end_ms, time = "producer", endpoint_url = None, region = None, parallel = 4, *, fragments = None, checkpoint = None, on_missing = "raise", batch = 100, bytes_per_second = Some(25_000_000)))]
    fn new(
        py: Python<'_>,
        stream: String,
        start_ms: u64,
        end_ms: u64,
        time: &str,
        endpoint_url: Option<String>,
        region: Option<String>,
        parallel: usize,
        fragments: Option<Vec<Bound<'_, PyAny>>>,
        checkpoint: Option<std::path::PathBuf>,
        on_missing: &str,
        batch: usize,
        bytes_per_second: Option<u64>,
    ) -> PyResult<Self> {
        let kind = match time {
            "producer" => TimeKind::Producer,
            "server" => TimeKind::Server,
            other => {
                return Err(PyValueError::new_err(format!("time must be \"producer\" or \"server\", not {other:?}")))
            }
        };
        let skip_missing = match on_missing {
            "raise" => false,
            "skip" => true,
            other => {
                return Err(PyValueError::new_err(format!("on_missing must be \"raise\" or \"skip\", not {other:?}")))
            }
        };
        let sdk = sdk_config(py, region)?;
        let mut b = kvs::ArchiveReader::builder(stream.clone(), start_ms, end_ms)
            .time(kind)
            .parallel(parallel.max(1))
            .batch(batch.max(1))
            .bytes_per_second(bytes_per_second.filter(|b| *b > 0));
        if let Some(url) = endpoint_url {
            b = b.endpoint_url(url);
        }
        if let Some(list) = fragments {
            b = b.fragments(list.iter().map(listed_of).collect::<PyResult<_>>()?);
        }
        if let Some(store) = checkpoints(checkpoint)? {
            b = b.checkpoints(store);
        }
        Ok(ArchiveReader {
            inner: Arc::new(Mutex::new((b.build(&sdk), Vec::new()))),
            stream,
            skip_missing,
            missing: PyList::empty(py).unbind(),
            errors: PyList::empty(py).unbind(),
        })
    }

    /// Lists the range (once): the fragments that will be read, in order, each a dict
    /// with `fragment_number`, `producer_timestamp_ms`, `server_timestamp_ms`, `size` and
    /// `duration_ms` (what `fragments=` takes, to split one listing among workers).
    fn list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let mut guard = busy(&self.inner)?;
        let reader = &mut guard.0;
        let listed = wait(py, async move { reader.listing().await.map(<[_]>::to_vec) })?
            .map_err(|e| service_error(py, &self.stream, &e))?;
        let out = PyList::empty(py);
        for f in &listed {
            out.append(listed_dict(py, f)?)?;
        }
        Ok(out)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Fragment>> {
        let mut guard = busy(&self.inner)?;
        loop {
            let (reader, frames) = &mut *guard;
            let got = wait(py, async {
                loop {
                    match reader.next().await {
                        Some(Ok(LiveItem::Frame(f))) => frames.push(f.frame),
                        Some(Ok(LiveItem::Fragment(f))) => {
                            let f = *f;
                            let frames = std::mem::take(frames);
                            let complete = f.meta.complete;
                            return Some(Ok((RustFragment { meta: f.meta, frames, damage: f.damage }, complete)));
                        }
                        Some(Err(e)) => {
                            frames.clear();
                            return Some(Err(e));
                        }
                        None => return None,
                    }
                }
            })?;
            match got {
                Some(Ok((f, complete))) => return Fragment::new(py, f, Some(&self.stream), Some(complete)).map(Some),
                Some(Err(ConsumerError::Missing { fragment_number, .. })) if self.skip_missing => {
                    self.missing.bind(py).append(fragment_number.as_str())?;
                }
                Some(Err(e)) => on_error(py, &self.stream, &e, &self.errors)?,
                None => return Ok(None),
            }
        }
    }
}
