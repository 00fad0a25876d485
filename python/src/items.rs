//! What the iterators yield: frames (their payloads lent without a copy), fragments.

use std::ffi::{c_int, c_void};

use bytes::Bytes;
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use pyo3::{ffi, IntoPyObjectExt};

use kinesis_video_parser::mkv::TagValue;
use kinesis_video_parser::{Fragment as RustFragment, FragmentMeta, Frame as RustFrame};

/// A frame's payload: a read-only buffer over the bytes the parser read (no copy).
/// `memoryview(data)`, `bytes(data)`, `numpy.frombuffer(data, numpy.uint8)`.
#[pyclass(frozen, module = "kinesis_video_parser", name = "FrameData")]
pub struct FrameData {
    data: Bytes,
}

impl FrameData {
    /// A buffer over `data`.
    pub fn new(data: Bytes) -> FrameData {
        FrameData { data }
    }
}

#[pymethods]
impl FrameData {
    /// Lends `data` read-only.
    ///
    /// # Safety
    /// Called by CPython with a valid `view`. `PyBuffer_FillInfo` takes a reference to `slf`,
    /// so the `Bytes` it points into (immutable, never moved) outlives the view.
    unsafe fn __getbuffer__(slf: PyRef<'_, Self>, view: *mut ffi::Py_buffer, flags: c_int) -> PyResult<()> {
        if flags & ffi::PyBUF_WRITABLE == ffi::PyBUF_WRITABLE {
            return Err(PyBufferError::new_err("frame data is read-only"));
        }
        let data = &slf.data;
        let len = ffi::Py_ssize_t::try_from(data.len()).map_err(|_| PyBufferError::new_err("frame too large"))?;
        // SAFETY: as above; the pointer is only read (readonly = 1).
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(view, slf.as_ptr(), data.as_ptr().cast_mut().cast::<c_void>(), len, 1, flags)
        };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    fn __len__(&self) -> usize {
        self.data.len()
    }

    /// A copy, as `bytes`.
    fn __bytes__<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match pyo3::buffer::PyBuffer::<u8>::get(other) {
            Ok(b) => b.to_vec(other.py()).is_ok_and(|v| v == self.data[..]),
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        format!("<FrameData {} bytes>", self.data.len())
    }
}

/// What a frame knows of its fragment before the fragment closed: the leading KVS tags.
#[derive(Default)]
pub struct FragmentKeys {
    pub number: Option<Py<PyString>>,
    pub producer_ms: Option<u64>,
    pub server_ms: Option<u64>,
}

impl FragmentKeys {
    pub fn of(py: Python<'_>, meta: Option<&FragmentMeta>) -> FragmentKeys {
        let Some(meta) = meta else { return FragmentKeys::default() };
        let k = &meta.kvs;
        FragmentKeys {
            number: k.fragment_number.as_ref().map(|n| PyString::new(py, n.as_str()).unbind()),
            producer_ms: k.producer_timestamp.as_ref().map(|t| t.millis()),
            server_ms: k.server_timestamp.as_ref().map(|t| t.millis()),
        }
    }
}

/// One frame: its track, time, flags, where it was, and its payload.
#[pyclass(frozen, module = "kinesis_video_parser", name = "Frame")]
pub struct Frame {
    /// TrackNumber.
    #[pyo3(get)]
    track: u64,
    /// Presentation time, ns (Cluster time + block offset, × TimestampScale).
    #[pyo3(get)]
    pts_ns: i64,
    /// Duration, ns, when the block or the track says.
    #[pyo3(get)]
    duration_ns: Option<u64>,
    /// The key flag.
    #[pyo3(get)]
    keyframe: bool,
    /// Index of its fragment in the source (0, 1, 2, …).
    #[pyo3(get)]
    fragment_index: u64,
    /// Byte offset of its payload in the source.
    #[pyo3(get)]
    offset: u64,
    /// Its fragment's `AWS_KINESISVIDEO_FRAGMENT_NUMBER` (known before its Cluster).
    #[pyo3(get)]
    fragment_number: Option<Py<PyString>>,
    /// Its fragment's producer timestamp, ms.
    #[pyo3(get)]
    producer_timestamp_ms: Option<u64>,
    /// Its fragment's server timestamp, ms.
    #[pyo3(get)]
    server_timestamp_ms: Option<u64>,
    /// Live and archive readers: its position in its fragment (with the fragment number, what
    /// names it across reconnects).
    #[pyo3(get)]
    position: Option<u64>,
    payload: Bytes,
}

impl Frame {
    pub fn new(f: RustFrame, keys: &FragmentKeys, position: Option<u64>, py: Python<'_>) -> Frame {
        let payload = f.payload();
        let i = f.info;
        Frame {
            track: i.track,
            pts_ns: i.pts_ns,
            duration_ns: i.duration_ns,
            keyframe: i.keyframe,
            fragment_index: i.fragment,
            offset: i.offset,
            fragment_number: keys.number.as_ref().map(|n| n.clone_ref(py)),
            producer_timestamp_ms: keys.producer_ms,
            server_timestamp_ms: keys.server_ms,
            position,
            payload,
        }
    }
}

#[pymethods]
impl Frame {
    /// The payload, lent without a copy (header-stripped bytes put back in front).
    #[getter]
    fn data(&self) -> FrameData {
        FrameData { data: self.payload.clone() }
    }

    /// Payload size in bytes.
    #[getter]
    fn size(&self) -> usize {
        self.payload.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "<Frame track={} pts_ns={} keyframe={} {} bytes, fragment {}>",
            self.track,
            self.pts_ns,
            if self.keyframe { "True" } else { "False" },
            self.payload.len(),
            self.fragment_index
        )
    }
}

/// One fragment with its KVS metadata, tags and frames.
#[pyclass(frozen, module = "kinesis_video_parser", name = "Fragment")]
pub struct Fragment {
    /// Index in the source (0, 1, 2, …; for a live or archive reader, unbroken across
    /// reconnects).
    #[pyo3(get)]
    index: u64,
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`, digits as received.
    #[pyo3(get)]
    fragment_number: Option<Py<PyString>>,
    /// `AWS_KINESISVIDEO_SERVER_TIMESTAMP`, ms since the Unix epoch.
    #[pyo3(get)]
    server_timestamp_ms: Option<u64>,
    /// `AWS_KINESISVIDEO_PRODUCER_TIMESTAMP`, ms (since the epoch, or since the start for a
    /// producer on relative time).
    #[pyo3(get)]
    producer_timestamp_ms: Option<u64>,
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW`.
    #[pyo3(get)]
    millis_behind_now: Option<u64>,
    /// `AWS_KINESISVIDEO_CONTINUATION_TOKEN`.
    #[pyo3(get)]
    continuation_token: Option<String>,
    /// `AWS_KINESISVIDEO_ERROR_ID` (an in-band error of GetMedia), if any.
    #[pyo3(get)]
    error_id: Option<String>,
    /// It closed normally: its trailing tags arrived (KVS), nothing in it was damaged or cut.
    #[pyo3(get)]
    complete: bool,
    /// The source ended inside it.
    #[pyo3(get)]
    truncated: bool,
    /// Damage was skipped inside it (see `damage`).
    #[pyo3(get)]
    damaged: bool,
    /// Every SimpleTag, AWS ones included, in stream order, nested ones after their parent:
    /// `(name, value)`, the value a `str` (TagString), `bytes` (TagBinary) or `None`.
    #[pyo3(get)]
    tags: Py<PyList>,
    /// Its frames, in stream order.
    #[pyo3(get)]
    frames: Py<PyList>,
    /// The damage skipped inside it: `(offset, length, reason)`.
    #[pyo3(get)]
    damage: Py<PyList>,
    /// Byte offset where it starts in the source, and just past its end.
    #[pyo3(get)]
    offset: u64,
    #[pyo3(get)]
    end_offset: u64,
    /// Its Cluster's timestamp, ns.
    #[pyo3(get)]
    cluster_timestamp_ns: Option<i64>,
    /// Live and archive readers: the stream it came from.
    #[pyo3(get)]
    stream: Option<String>,
    /// The tracks of its document: dicts of `number`, `kind` (`video`, `audio`, …),
    /// `codec_id`, `codec_private` (bytes or None), `width` and `height` (video).
    #[pyo3(get)]
    tracks: Py<PyList>,
}

impl Fragment {
    /// `f` with its frames as Python objects; `complete` as the reader defines it (live
    /// and archive readers apply the KVS rule).
    pub fn new(py: Python<'_>, f: RustFragment, stream: Option<&str>, complete: Option<bool>) -> PyResult<Fragment> {
        let meta = f.meta;
        let keys = FragmentKeys::of(py, Some(&meta));
        let frames = PyList::empty(py);
        let with_position = stream.is_some();
        for (i, frame) in f.frames.into_iter().enumerate() {
            frames.append(Frame::new(frame, &keys, with_position.then_some(i as u64), py))?;
        }
        let tags = PyList::empty(py);
        for simple in meta.tags.iter().flat_map(|t| t.tag.simple_tags.iter()).flat_map(|s| s.walk()) {
            let value = match &simple.value {
                TagValue::String(s) => s.into_bound_py_any(py)?,
                TagValue::Binary(b) => PyBytes::new(py, b).into_any(),
                TagValue::None => py.None().into_bound(py),
            };
            tags.append(PyTuple::new(py, [simple.name.as_str().into_bound_py_any(py)?, value])?)?;
        }
        let damage = PyList::empty(py);
        for d in &f.damage {
            damage.append((d.offset, d.length, d.error.to_string()))?;
        }
        let tracks = PyList::empty(py);
        for t in meta.tracks.iter() {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("number", t.number)?;
            d.set_item("kind", format!("{:?}", t.kind).to_lowercase())?;
            d.set_item("codec_id", &t.codec_id)?;
            d.set_item("codec_private", t.codec_private.as_ref().map(|b| PyBytes::new(py, b)))?;
            d.set_item("width", t.video.as_ref().and_then(|v| v.pixel_width))?;
            d.set_item("height", t.video.as_ref().and_then(|v| v.pixel_height))?;
            tracks.append(d)?;
        }
        let k = &meta.kvs;
        Ok(Fragment {
            index: meta.index,
            fragment_number: keys.number,
            server_timestamp_ms: keys.server_ms,
            producer_timestamp_ms: keys.producer_ms,
            millis_behind_now: k.millis_behind_now,
            continuation_token: k.continuation_token.clone(),
            error_id: k.error_id.clone(),
            complete: complete.unwrap_or(meta.complete),
            truncated: meta.truncated,
            damaged: meta.damaged,
            tags: tags.unbind(),
            frames: frames.unbind(),
            damage: damage.unbind(),
            offset: meta.offset,
            end_offset: meta.end_offset,
            cluster_timestamp_ns: meta.cluster_timestamp_ns(),
            stream: stream.map(str::to_owned),
            tracks: tracks.unbind(),
        })
    }
}

#[pymethods]
impl Fragment {
    fn __repr__(&self, py: Python<'_>) -> String {
        let number = self.fragment_number.as_ref().map_or_else(|| "None".to_owned(), |n| n.bind(py).to_string());
        format!(
            "<Fragment {} number={} {} frames complete={}>",
            self.index,
            number,
            self.frames.bind(py).len(),
            if self.complete { "True" } else { "False" }
        )
    }
}
