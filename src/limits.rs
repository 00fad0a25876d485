//! Memory and structure bounds, checked before anything is allocated.

/// Bounds the parser enforces on hostile input.
///
/// Declared sizes are never trusted: an element body is buffered only once its bytes have
/// arrived, and only if its declared size is within [`max_element_size`](Self::max_element_size).
/// Elements the parser does not need (Void, unknown IDs, Cues contents) are skipped without
/// being buffered, whatever their size.
///
/// | field | default | what it bounds |
/// |---|---|---|
/// | `max_element_size` | 128 MiB | the largest leaf (frame, CodecPrivate, tag value) buffered |
/// | `max_depth` | 32 | open master elements at once |
/// | `max_tracks` | 64 | TrackEntry elements per Tracks |
/// | `max_tags_per_fragment` | 4096 | SimpleTags collected for one fragment |
/// | `max_buffered` | 192 MiB | input bytes held by the parser at once |
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
    /// Largest number of master elements open at once.
    pub max_depth: usize,
    /// Largest number of TrackEntry elements in one Tracks element.
    pub max_tracks: usize,
    /// Largest number of SimpleTags (nested ones included) kept for one fragment.
    pub max_tags_per_fragment: usize,
    /// Largest number of input bytes the parser holds at once.
    pub max_buffered: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_element_size: 128 << 20,
            max_depth: 32,
            max_tracks: 64,
            max_tags_per_fragment: 4096,
            max_buffered: 192 << 20,
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
            max_buffered: u64::MAX,
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

    /// Sets [`max_buffered`](Self::max_buffered).
    pub fn with_max_buffered(mut self, bytes: u64) -> Self {
        self.max_buffered = bytes;
        self
    }
}
