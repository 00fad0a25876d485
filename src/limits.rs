//! Memory and structure bounds, checked before anything is allocated.

/// Bounds the parser enforces on hostile input.
///
/// Declared sizes are never trusted: an element body is buffered only once its bytes have
/// arrived, and only if its declared size is within [`max_element_size`](Self::max_element_size).
/// Elements the parser does not need (Void, unknown IDs) are skipped as their bytes arrive,
/// without being buffered, whatever their size; a Cues or SeekHead is gathered into one
/// buffer and skipped whole when it is at most [`max_skip_gather`](Self::max_skip_gather),
/// and read element by element otherwise.
///
/// What the [`Demuxer`](crate::Demuxer) holds is the input pushed and not yet consumed:
/// the adapters push only when it needs more, so through them that is at most the element
/// being gathered (one of the two bounds above) plus one read. Frames kept by the caller
/// keep their input alive; [`max_fragment_bytes`](Self::max_fragment_bytes) bounds what
/// collecting one fragment's frames (as [`FragmentAssembler`](crate::FragmentAssembler)
/// and the `fragments()` adapters do) can hold.
///
/// | field | default | what it bounds |
/// |---|---|---|
/// | `max_element_size` | 128 MiB | the largest leaf (frame, CodecPrivate, tag value) buffered |
/// | `max_skip_gather` | 16 MiB | the largest Cues/SeekHead gathered to be skipped whole |
/// | `max_depth` | 32 | open master elements at once |
/// | `max_tracks` | 64 | TrackEntry elements per Tracks |
/// | `max_tags_per_fragment` | 4096 | SimpleTags collected for one fragment |
/// | `max_fragment_bytes` | 256 MiB | what collecting one fragment holds (the input it spans, plus 128 bytes a frame or damage report); a longer fragment is handed out in parts |
///
/// ```
/// use kinesis_video_parser::Limits;
/// let strict = Limits::default().with_max_element_size(60 << 20);
/// assert_eq!(strict.max_element_size, 60 << 20);
/// assert!(Limits::none().max_element_size > strict.max_element_size);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest element body that is buffered (frames, CodecPrivate, tag values), in bytes.
    /// Well above KVS's 50 MB fragment limit, far below memory.
    pub max_element_size: u64,
    /// Largest Cues or SeekHead (header included) that is gathered into one buffer, checked
    /// and skipped whole; a larger one is read element by element (nothing is lost).
    pub max_skip_gather: u64,
    /// Largest number of master elements open at once.
    pub max_depth: usize,
    /// Largest number of TrackEntry elements in one Tracks element.
    pub max_tracks: usize,
    /// Largest number of SimpleTags (nested ones included) kept for one fragment.
    pub max_tags_per_fragment: usize,
    /// Most bytes that collecting one fragment holds, counted as the input it spans (which
    /// holds every payload of its frames) plus [`FRAME_COST`](Self::FRAME_COST) per frame and
    /// [`DAMAGE_COST`](Self::DAMAGE_COST) per damage report. A fragment that would hold more (a producer that never starts a new
    /// Cluster) is closed as a part before the frame or damage report that would pass the
    /// bound, and goes on in the next fragment: see
    /// [`FragmentMeta::part`](crate::FragmentMeta::part). A part exceeds the bound by at
    /// most one block. Keep it at or above `max_element_size`.
    pub max_fragment_bytes: u64,
}

impl Limits {
    /// What one frame costs towards [`max_fragment_bytes`](Self::max_fragment_bytes) besides
    /// its payload (a collected [`Frame`](crate::Frame) is at most this size).
    pub const FRAME_COST: u64 = 128;
    /// What one damage report costs towards [`max_fragment_bytes`](Self::max_fragment_bytes).
    pub const DAMAGE_COST: u64 = 128;
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_element_size: 128 << 20,
            max_depth: 32,
            max_tracks: 64,
            max_tags_per_fragment: 4096,
            max_skip_gather: 16 << 20,
            max_fragment_bytes: 256 << 20,
        }
    }
}

impl Limits {
    /// No practical limits: opt out in plain sight. Use only on trusted input.
    pub fn none() -> Self {
        Limits {
            max_element_size: u64::MAX,
            max_depth: usize::MAX,
            max_tracks: usize::MAX,
            max_tags_per_fragment: usize::MAX,
            max_skip_gather: u64::MAX,
            max_fragment_bytes: u64::MAX,
        }
    }

    /// Sets [`max_element_size`](Self::max_element_size).
    pub fn with_max_element_size(mut self, bytes: u64) -> Self {
        self.max_element_size = bytes;
        self
    }

    /// Sets [`max_depth`](Self::max_depth).
    pub fn with_max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets [`max_tracks`](Self::max_tracks).
    pub fn with_max_tracks(mut self, tracks: usize) -> Self {
        self.max_tracks = tracks;
        self
    }

    /// Sets [`max_tags_per_fragment`](Self::max_tags_per_fragment).
    pub fn with_max_tags_per_fragment(mut self, tags: usize) -> Self {
        self.max_tags_per_fragment = tags;
        self
    }

    /// Sets [`max_skip_gather`](Self::max_skip_gather).
    pub fn with_max_skip_gather(mut self, bytes: u64) -> Self {
        self.max_skip_gather = bytes;
        self
    }

    /// Sets [`max_fragment_bytes`](Self::max_fragment_bytes).
    pub fn with_max_fragment_bytes(mut self, bytes: u64) -> Self {
        self.max_fragment_bytes = bytes;
        self
    }
}
