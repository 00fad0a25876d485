//! The EBML header and Segment Info.

use crate::ebml::value;
use crate::ebml::ElementId;
use crate::mkv::ids;

/// The EBML header of one document, with defaults applied for missing elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbmlHeader {
    /// Byte offset of the header.
    pub offset: u64,
    /// EBMLVersion (default 1).
    pub version: u64,
    /// EBMLReadVersion (default 1).
    pub read_version: u64,
    /// EBMLMaxIDLength (default 4).
    pub max_id_length: u64,
    /// EBMLMaxSizeLength (default 8).
    pub max_size_length: u64,
    /// DocType, NULs trimmed (`matroska`, `webm`); empty when missing.
    pub doc_type: String,
    /// DocTypeVersion (default 1).
    pub doc_type_version: u64,
    /// DocTypeReadVersion (default 1).
    pub doc_type_read_version: u64,
}

#[derive(Debug, Default)]
pub(crate) struct HeaderBuilder {
    offset: u64,
    version: Option<u64>,
    read_version: Option<u64>,
    max_id_length: Option<u64>,
    max_size_length: Option<u64>,
    doc_type: Option<String>,
    doc_type_version: Option<u64>,
    doc_type_read_version: Option<u64>,
}

impl HeaderBuilder {
    pub fn new(offset: u64) -> Self {
        HeaderBuilder { offset, ..Default::default() }
    }

    /// Takes one child. A repeated element keeps its first value.
    pub fn leaf(&mut self, id: ElementId, data: &[u8]) {
        let u = || value::uint(data).ok();
        match id {
            ids::EBML_VERSION => self.version = self.version.or_else(u),
            ids::EBML_READ_VERSION => self.read_version = self.read_version.or_else(u),
            ids::EBML_MAX_ID_LENGTH => self.max_id_length = self.max_id_length.or_else(u),
            ids::EBML_MAX_SIZE_LENGTH => self.max_size_length = self.max_size_length.or_else(u),
            ids::DOC_TYPE if self.doc_type.is_none() => self.doc_type = Some(value::string(data)),
            ids::DOC_TYPE_VERSION => self.doc_type_version = self.doc_type_version.or_else(u),
            ids::DOC_TYPE_READ_VERSION => self.doc_type_read_version = self.doc_type_read_version.or_else(u),
            _ => {}
        }
    }

    pub fn build(self) -> EbmlHeader {
        EbmlHeader {
            offset: self.offset,
            version: self.version.unwrap_or(1),
            read_version: self.read_version.unwrap_or(1),
            max_id_length: self.max_id_length.unwrap_or(4),
            max_size_length: self.max_size_length.unwrap_or(8),
            doc_type: self.doc_type.unwrap_or_default(),
            doc_type_version: self.doc_type_version.unwrap_or(1),
            doc_type_read_version: self.doc_type_read_version.unwrap_or(1),
        }
    }
}

/// Segment Info, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentInfo {
    /// Nanoseconds per Segment tick (default 1,000,000; a 0 value also means the default).
    pub timestamp_scale: u64,
    /// Duration in Segment ticks. Describes the original upload: meaningless in a KVS chunk.
    pub duration: Option<f64>,
    /// DateUTC: nanoseconds since 2001-01-01T00:00:00 UTC.
    pub date_utc: Option<i64>,
    /// Title, NULs trimmed.
    pub title: Option<String>,
    /// MuxingApp, NULs trimmed.
    pub muxing_app: Option<String>,
    /// WritingApp, NULs trimmed.
    pub writing_app: Option<String>,
    /// SegmentUUID bytes (kept as they are, whatever their length).
    pub segment_uuid: Option<bytes::Bytes>,
}

impl Default for SegmentInfo {
    fn default() -> Self {
        SegmentInfo {
            timestamp_scale: 1_000_000,
            duration: None,
            date_utc: None,
            title: None,
            muxing_app: None,
            writing_app: None,
            segment_uuid: None,
        }
    }
}

impl SegmentInfo {
    /// DateUTC as Unix seconds (DateUTC / 10^9 + 978,307,200), when present.
    pub fn date_unix_seconds(&self) -> Option<i64> {
        self.date_utc.map(|ns| ns.div_euclid(1_000_000_000) + 978_307_200)
    }
}

#[derive(Debug, Default)]
pub(crate) struct InfoBuilder(pub SegmentInfo);

impl InfoBuilder {
    pub fn leaf(&mut self, id: ElementId, data: &bytes::Bytes) {
        let i = &mut self.0;
        match id {
            ids::TIMESTAMP_SCALE => {
                i.timestamp_scale = match value::uint(data) {
                    Ok(0) | Err(_) => 1_000_000,
                    Ok(v) => v,
                }
            }
            ids::DURATION => i.duration = value::float(data).ok(),
            ids::DATE_UTC => i.date_utc = value::date(data).ok(),
            ids::TITLE => i.title = Some(value::string(data)),
            ids::MUXING_APP => i.muxing_app = Some(value::string(data)),
            ids::WRITING_APP => i.writing_app = Some(value::string(data)),
            ids::SEGMENT_UUID => i.segment_uuid = Some(data.clone()),
            _ => {}
        }
    }
}
