//! Matroska element IDs and the schema the reader walks by, as const data.
//!
//! IDs are written with their VINT marker bits, exactly as they appear on the wire.
//! The schema says, for each known element, its name, value type, parent and flags; elements
//! that are not listed are "unknown" and are skipped by size inside known-size masters.

/// The IDs of the EBML header and the global elements (defined by RFC 8794, listed in this
/// table).
pub use crate::ebml::ids::{
    CRC32, DOC_TYPE, DOC_TYPE_READ_VERSION, DOC_TYPE_VERSION, EBML, EBML_MAX_ID_LENGTH, EBML_MAX_SIZE_LENGTH,
    EBML_READ_VERSION, EBML_VERSION, VOID,
};
use crate::ebml::{Clusters, ElementId, ElementSpec, ElementType, Parent, Schema};

macro_rules! ids {
    ($( $(#[$m:meta])* $name:ident = $val:expr ;)*) => {
        $( $(#[$m])* pub const $name: ElementId = ElementId($val); )*
    };
}

ids! {
    /// Segment.
    SEGMENT = 0x18538067;
    /// SeekHead.
    SEEK_HEAD = 0x114D9B74;
    /// Seek.
    SEEK = 0x4DBB;
    /// SeekID.
    SEEK_ID = 0x53AB;
    /// SeekPosition.
    SEEK_POSITION = 0x53AC;
    /// Info.
    INFO = 0x1549A966;
    /// SegmentUUID.
    SEGMENT_UUID = 0x73A4;
    /// SegmentFilename.
    SEGMENT_FILENAME = 0x7384;
    /// TimestampScale.
    TIMESTAMP_SCALE = 0x2AD7B1;
    /// Duration.
    DURATION = 0x4489;
    /// DateUTC.
    DATE_UTC = 0x4461;
    /// Title.
    TITLE = 0x7BA9;
    /// MuxingApp.
    MUXING_APP = 0x4D80;
    /// WritingApp.
    WRITING_APP = 0x5741;
    /// Tracks.
    TRACKS = 0x1654AE6B;
    /// TrackEntry.
    TRACK_ENTRY = 0xAE;
    /// TrackNumber.
    TRACK_NUMBER = 0xD7;
    /// TrackUID.
    TRACK_UID = 0x73C5;
    /// TrackType.
    TRACK_TYPE = 0x83;
    /// FlagEnabled.
    FLAG_ENABLED = 0xB9;
    /// FlagDefault.
    FLAG_DEFAULT = 0x88;
    /// FlagForced.
    FLAG_FORCED = 0x55AA;
    /// FlagLacing.
    FLAG_LACING = 0x9C;
    /// MinCache.
    MIN_CACHE = 0x6DE7;
    /// DefaultDuration.
    DEFAULT_DURATION = 0x23E383;
    /// TrackTimestampScale.
    TRACK_TIMESTAMP_SCALE = 0x23314F;
    /// MaxBlockAdditionID.
    MAX_BLOCK_ADDITION_ID = 0x55EE;
    /// BlockAdditionMapping.
    BLOCK_ADDITION_MAPPING = 0x41E4;
    /// BlockAddIDValue.
    BLOCK_ADD_ID_VALUE = 0x41F0;
    /// BlockAddIDName.
    BLOCK_ADD_ID_NAME = 0x41A4;
    /// BlockAddIDType.
    BLOCK_ADD_ID_TYPE = 0x41E7;
    /// BlockAddIDExtraData.
    BLOCK_ADD_ID_EXTRA_DATA = 0x41ED;
    /// Name.
    NAME = 0x536E;
    /// Language.
    LANGUAGE = 0x22B59C;
    /// LanguageBCP47.
    LANGUAGE_BCP47 = 0x22B59D;
    /// CodecID.
    CODEC_ID = 0x86;
    /// CodecPrivate.
    CODEC_PRIVATE = 0x63A2;
    /// CodecName.
    CODEC_NAME = 0x258688;
    /// CodecDelay.
    CODEC_DELAY = 0x56AA;
    /// SeekPreRoll.
    SEEK_PRE_ROLL = 0x56BB;
    /// Video.
    VIDEO = 0xE0;
    /// FlagInterlaced.
    FLAG_INTERLACED = 0x9A;
    /// StereoMode.
    STEREO_MODE = 0x53B8;
    /// AlphaMode.
    ALPHA_MODE = 0x53C0;
    /// PixelWidth.
    PIXEL_WIDTH = 0xB0;
    /// PixelHeight.
    PIXEL_HEIGHT = 0xBA;
    /// PixelCropBottom.
    PIXEL_CROP_BOTTOM = 0x54AA;
    /// PixelCropTop.
    PIXEL_CROP_TOP = 0x54BB;
    /// PixelCropLeft.
    PIXEL_CROP_LEFT = 0x54CC;
    /// PixelCropRight.
    PIXEL_CROP_RIGHT = 0x54DD;
    /// DisplayWidth.
    DISPLAY_WIDTH = 0x54B0;
    /// DisplayHeight.
    DISPLAY_HEIGHT = 0x54BA;
    /// DisplayUnit.
    DISPLAY_UNIT = 0x54B2;
    /// Colour.
    COLOUR = 0x55B0;
    /// MasteringMetadata.
    MASTERING_METADATA = 0x55D0;
    /// Projection.
    PROJECTION = 0x7670;
    /// ProjectionType.
    PROJECTION_TYPE = 0x7671;
    /// ProjectionPrivate.
    PROJECTION_PRIVATE = 0x7672;
    /// ProjectionPoseYaw.
    PROJECTION_POSE_YAW = 0x7673;
    /// ProjectionPosePitch.
    PROJECTION_POSE_PITCH = 0x7674;
    /// ProjectionPoseRoll.
    PROJECTION_POSE_ROLL = 0x7675;
    /// Audio.
    AUDIO = 0xE1;
    /// SamplingFrequency.
    SAMPLING_FREQUENCY = 0xB5;
    /// OutputSamplingFrequency.
    OUTPUT_SAMPLING_FREQUENCY = 0x78B5;
    /// Channels.
    CHANNELS = 0x9F;
    /// BitDepth.
    BIT_DEPTH = 0x6264;
    /// ContentEncodings.
    CONTENT_ENCODINGS = 0x6D80;
    /// ContentEncoding.
    CONTENT_ENCODING = 0x6240;
    /// ContentEncodingOrder.
    CONTENT_ENCODING_ORDER = 0x5031;
    /// ContentEncodingScope.
    CONTENT_ENCODING_SCOPE = 0x5032;
    /// ContentEncodingType.
    CONTENT_ENCODING_TYPE = 0x5033;
    /// ContentCompression.
    CONTENT_COMPRESSION = 0x5034;
    /// ContentCompAlgo.
    CONTENT_COMP_ALGO = 0x4254;
    /// ContentCompSettings.
    CONTENT_COMP_SETTINGS = 0x4255;
    /// ContentEncryption.
    CONTENT_ENCRYPTION = 0x5035;
    /// Cluster.
    CLUSTER = 0x1F43B675;
    /// Cluster Timestamp.
    TIMESTAMP = 0xE7;
    /// Position (deprecated; ignored).
    POSITION = 0xA7;
    /// PrevSize.
    PREV_SIZE = 0xAB;
    /// SimpleBlock.
    SIMPLE_BLOCK = 0xA3;
    /// BlockGroup.
    BLOCK_GROUP = 0xA0;
    /// Block.
    BLOCK = 0xA1;
    /// BlockAdditions.
    BLOCK_ADDITIONS = 0x75A1;
    /// BlockMore.
    BLOCK_MORE = 0xA6;
    /// BlockAddID.
    BLOCK_ADD_ID = 0xEE;
    /// BlockAdditional.
    BLOCK_ADDITIONAL = 0xA5;
    /// BlockDuration.
    BLOCK_DURATION = 0x9B;
    /// ReferencePriority.
    REFERENCE_PRIORITY = 0xFA;
    /// ReferenceBlock.
    REFERENCE_BLOCK = 0xFB;
    /// CodecState.
    CODEC_STATE = 0xA4;
    /// DiscardPadding.
    DISCARD_PADDING = 0x75A2;
    /// EncryptedBlock (obsolete).
    ENCRYPTED_BLOCK = 0xAF;
    /// SilentTracks (obsolete).
    SILENT_TRACKS = 0x5854;
    /// Cues.
    CUES = 0x1C53BB6B;
    /// CuePoint.
    CUE_POINT = 0xBB;
    /// CueTime.
    CUE_TIME = 0xB3;
    /// CueTrackPositions.
    CUE_TRACK_POSITIONS = 0xB7;
    /// CueTrack.
    CUE_TRACK = 0xF7;
    /// CueClusterPosition.
    CUE_CLUSTER_POSITION = 0xF1;
    /// CueRelativePosition.
    CUE_RELATIVE_POSITION = 0xF0;
    /// CueDuration.
    CUE_DURATION = 0xB2;
    /// CueBlockNumber.
    CUE_BLOCK_NUMBER = 0x5378;
    /// Attachments.
    ATTACHMENTS = 0x1941A469;
    /// AttachedFile.
    ATTACHED_FILE = 0x61A7;
    /// FileDescription.
    FILE_DESCRIPTION = 0x467E;
    /// FileName.
    FILE_NAME = 0x466E;
    /// FileMediaType.
    FILE_MEDIA_TYPE = 0x4660;
    /// FileData.
    FILE_DATA = 0x465C;
    /// FileUID.
    FILE_UID = 0x46AE;
    /// Chapters.
    CHAPTERS = 0x1043A770;
    /// EditionEntry.
    EDITION_ENTRY = 0x45B9;
    /// ChapterAtom.
    CHAPTER_ATOM = 0xB6;
    /// ChapterUID.
    CHAPTER_UID = 0x73C4;
    /// ChapterTimeStart.
    CHAPTER_TIME_START = 0x91;
    /// ChapterTimeEnd.
    CHAPTER_TIME_END = 0x92;
    /// ChapterDisplay.
    CHAPTER_DISPLAY = 0x80;
    /// ChapString.
    CHAP_STRING = 0x85;
    /// ChapLanguage.
    CHAP_LANGUAGE = 0x437C;
    /// Tags.
    TAGS = 0x1254C367;
    /// Tag.
    TAG = 0x7373;
    /// Targets.
    TARGETS = 0x63C0;
    /// TargetTypeValue.
    TARGET_TYPE_VALUE = 0x68CA;
    /// TargetType.
    TARGET_TYPE = 0x63CA;
    /// TagTrackUID.
    TAG_TRACK_UID = 0x63C5;
    /// TagEditionUID.
    TAG_EDITION_UID = 0x63C9;
    /// TagChapterUID.
    TAG_CHAPTER_UID = 0x63C4;
    /// TagAttachmentUID.
    TAG_ATTACHMENT_UID = 0x63C6;
    /// SimpleTag.
    SIMPLE_TAG = 0x67C8;
    /// TagName.
    TAG_NAME = 0x45A3;
    /// TagLanguage.
    TAG_LANGUAGE = 0x447A;
    /// TagLanguageBCP47.
    TAG_LANGUAGE_BCP47 = 0x447B;
    /// TagDefault.
    TAG_DEFAULT = 0x4484;
    /// TagString.
    TAG_STRING = 0x4487;
    /// TagBinary.
    TAG_BINARY = 0x4485;
}

use ElementType as T;

const fn row(id: ElementId, name: &'static str, ty: ElementType, parent: Parent) -> ElementSpec {
    ElementSpec { id, name, ty, parent, unknown_size_allowed: false, recursive: false }
}

const fn under(p: ElementId) -> Parent {
    Parent::Id(p)
}

/// The schema, in spec order.
pub const SCHEMA: &[ElementSpec] = &[
    row(EBML, "EBML", T::Master, Parent::Root),
    row(EBML_VERSION, "EBMLVersion", T::Uint, under(EBML)),
    row(EBML_READ_VERSION, "EBMLReadVersion", T::Uint, under(EBML)),
    row(EBML_MAX_ID_LENGTH, "EBMLMaxIDLength", T::Uint, under(EBML)),
    row(EBML_MAX_SIZE_LENGTH, "EBMLMaxSizeLength", T::Uint, under(EBML)),
    row(DOC_TYPE, "DocType", T::String, under(EBML)),
    row(DOC_TYPE_VERSION, "DocTypeVersion", T::Uint, under(EBML)),
    row(DOC_TYPE_READ_VERSION, "DocTypeReadVersion", T::Uint, under(EBML)),
    row(VOID, "Void", T::Binary, Parent::Global),
    row(CRC32, "CRC-32", T::Binary, Parent::Global),
    ElementSpec { unknown_size_allowed: true, ..row(SEGMENT, "Segment", T::Master, Parent::Root) },
    row(SEEK_HEAD, "SeekHead", T::Master, under(SEGMENT)),
    row(SEEK, "Seek", T::Master, under(SEEK_HEAD)),
    row(SEEK_ID, "SeekID", T::Binary, under(SEEK)),
    row(SEEK_POSITION, "SeekPosition", T::Uint, under(SEEK)),
    row(INFO, "Info", T::Master, under(SEGMENT)),
    row(SEGMENT_UUID, "SegmentUUID", T::Binary, under(INFO)),
    row(SEGMENT_FILENAME, "SegmentFilename", T::Utf8, under(INFO)),
    row(TIMESTAMP_SCALE, "TimestampScale", T::Uint, under(INFO)),
    row(DURATION, "Duration", T::Float, under(INFO)),
    row(DATE_UTC, "DateUTC", T::Date, under(INFO)),
    row(TITLE, "Title", T::Utf8, under(INFO)),
    row(MUXING_APP, "MuxingApp", T::Utf8, under(INFO)),
    row(WRITING_APP, "WritingApp", T::Utf8, under(INFO)),
    row(TRACKS, "Tracks", T::Master, under(SEGMENT)),
    row(TRACK_ENTRY, "TrackEntry", T::Master, under(TRACKS)),
    row(TRACK_NUMBER, "TrackNumber", T::Uint, under(TRACK_ENTRY)),
    row(TRACK_UID, "TrackUID", T::Uint, under(TRACK_ENTRY)),
    row(TRACK_TYPE, "TrackType", T::Uint, under(TRACK_ENTRY)),
    row(FLAG_ENABLED, "FlagEnabled", T::Uint, under(TRACK_ENTRY)),
    row(FLAG_DEFAULT, "FlagDefault", T::Uint, under(TRACK_ENTRY)),
    row(FLAG_FORCED, "FlagForced", T::Uint, under(TRACK_ENTRY)),
    row(FLAG_LACING, "FlagLacing", T::Uint, under(TRACK_ENTRY)),
    row(MIN_CACHE, "MinCache", T::Uint, under(TRACK_ENTRY)),
    row(DEFAULT_DURATION, "DefaultDuration", T::Uint, under(TRACK_ENTRY)),
    row(TRACK_TIMESTAMP_SCALE, "TrackTimestampScale", T::Float, under(TRACK_ENTRY)),
    row(MAX_BLOCK_ADDITION_ID, "MaxBlockAdditionID", T::Uint, under(TRACK_ENTRY)),
    row(BLOCK_ADDITION_MAPPING, "BlockAdditionMapping", T::Master, under(TRACK_ENTRY)),
    row(BLOCK_ADD_ID_VALUE, "BlockAddIDValue", T::Uint, under(BLOCK_ADDITION_MAPPING)),
    row(BLOCK_ADD_ID_NAME, "BlockAddIDName", T::String, under(BLOCK_ADDITION_MAPPING)),
    row(BLOCK_ADD_ID_TYPE, "BlockAddIDType", T::Uint, under(BLOCK_ADDITION_MAPPING)),
    row(BLOCK_ADD_ID_EXTRA_DATA, "BlockAddIDExtraData", T::Binary, under(BLOCK_ADDITION_MAPPING)),
    row(NAME, "Name", T::Utf8, under(TRACK_ENTRY)),
    row(LANGUAGE, "Language", T::String, under(TRACK_ENTRY)),
    row(LANGUAGE_BCP47, "LanguageBCP47", T::String, under(TRACK_ENTRY)),
    row(CODEC_ID, "CodecID", T::String, under(TRACK_ENTRY)),
    row(CODEC_PRIVATE, "CodecPrivate", T::Binary, under(TRACK_ENTRY)),
    row(CODEC_NAME, "CodecName", T::Utf8, under(TRACK_ENTRY)),
    row(CODEC_DELAY, "CodecDelay", T::Uint, under(TRACK_ENTRY)),
    row(SEEK_PRE_ROLL, "SeekPreRoll", T::Uint, under(TRACK_ENTRY)),
    row(VIDEO, "Video", T::Master, under(TRACK_ENTRY)),
    row(FLAG_INTERLACED, "FlagInterlaced", T::Uint, under(VIDEO)),
    row(STEREO_MODE, "StereoMode", T::Uint, under(VIDEO)),
    row(ALPHA_MODE, "AlphaMode", T::Uint, under(VIDEO)),
    row(PIXEL_WIDTH, "PixelWidth", T::Uint, under(VIDEO)),
    row(PIXEL_HEIGHT, "PixelHeight", T::Uint, under(VIDEO)),
    row(PIXEL_CROP_BOTTOM, "PixelCropBottom", T::Uint, under(VIDEO)),
    row(PIXEL_CROP_TOP, "PixelCropTop", T::Uint, under(VIDEO)),
    row(PIXEL_CROP_LEFT, "PixelCropLeft", T::Uint, under(VIDEO)),
    row(PIXEL_CROP_RIGHT, "PixelCropRight", T::Uint, under(VIDEO)),
    row(DISPLAY_WIDTH, "DisplayWidth", T::Uint, under(VIDEO)),
    row(DISPLAY_HEIGHT, "DisplayHeight", T::Uint, under(VIDEO)),
    row(DISPLAY_UNIT, "DisplayUnit", T::Uint, under(VIDEO)),
    row(COLOUR, "Colour", T::Master, under(VIDEO)),
    row(MASTERING_METADATA, "MasteringMetadata", T::Master, under(COLOUR)),
    row(PROJECTION, "Projection", T::Master, under(VIDEO)),
    row(PROJECTION_TYPE, "ProjectionType", T::Uint, under(PROJECTION)),
    row(PROJECTION_PRIVATE, "ProjectionPrivate", T::Binary, under(PROJECTION)),
    row(PROJECTION_POSE_YAW, "ProjectionPoseYaw", T::Float, under(PROJECTION)),
    row(PROJECTION_POSE_PITCH, "ProjectionPosePitch", T::Float, under(PROJECTION)),
    row(PROJECTION_POSE_ROLL, "ProjectionPoseRoll", T::Float, under(PROJECTION)),
    row(AUDIO, "Audio", T::Master, under(TRACK_ENTRY)),
    row(SAMPLING_FREQUENCY, "SamplingFrequency", T::Float, under(AUDIO)),
    row(OUTPUT_SAMPLING_FREQUENCY, "OutputSamplingFrequency", T::Float, under(AUDIO)),
    row(CHANNELS, "Channels", T::Uint, under(AUDIO)),
    row(BIT_DEPTH, "BitDepth", T::Uint, under(AUDIO)),
    row(CONTENT_ENCODINGS, "ContentEncodings", T::Master, under(TRACK_ENTRY)),
    row(CONTENT_ENCODING, "ContentEncoding", T::Master, under(CONTENT_ENCODINGS)),
    row(CONTENT_ENCODING_ORDER, "ContentEncodingOrder", T::Uint, under(CONTENT_ENCODING)),
    row(CONTENT_ENCODING_SCOPE, "ContentEncodingScope", T::Uint, under(CONTENT_ENCODING)),
    row(CONTENT_ENCODING_TYPE, "ContentEncodingType", T::Uint, under(CONTENT_ENCODING)),
    row(CONTENT_COMPRESSION, "ContentCompression", T::Master, under(CONTENT_ENCODING)),
    row(CONTENT_COMP_ALGO, "ContentCompAlgo", T::Uint, under(CONTENT_COMPRESSION)),
    row(CONTENT_COMP_SETTINGS, "ContentCompSettings", T::Binary, under(CONTENT_COMPRESSION)),
    row(CONTENT_ENCRYPTION, "ContentEncryption", T::Master, under(CONTENT_ENCODING)),
    ElementSpec { unknown_size_allowed: true, ..row(CLUSTER, "Cluster", T::Master, under(SEGMENT)) },
    row(TIMESTAMP, "Timestamp", T::Uint, under(CLUSTER)),
    row(POSITION, "Position", T::Uint, under(CLUSTER)),
    row(PREV_SIZE, "PrevSize", T::Uint, under(CLUSTER)),
    row(SIMPLE_BLOCK, "SimpleBlock", T::Block, under(CLUSTER)),
    row(BLOCK_GROUP, "BlockGroup", T::Master, under(CLUSTER)),
    row(BLOCK, "Block", T::Block, under(BLOCK_GROUP)),
    row(BLOCK_ADDITIONS, "BlockAdditions", T::Master, under(BLOCK_GROUP)),
    row(BLOCK_MORE, "BlockMore", T::Master, under(BLOCK_ADDITIONS)),
    row(BLOCK_ADD_ID, "BlockAddID", T::Uint, under(BLOCK_MORE)),
    row(BLOCK_ADDITIONAL, "BlockAdditional", T::Binary, under(BLOCK_MORE)),
    row(BLOCK_DURATION, "BlockDuration", T::Uint, under(BLOCK_GROUP)),
    row(REFERENCE_PRIORITY, "ReferencePriority", T::Uint, under(BLOCK_GROUP)),
    row(REFERENCE_BLOCK, "ReferenceBlock", T::Int, under(BLOCK_GROUP)),
    row(CODEC_STATE, "CodecState", T::Binary, under(BLOCK_GROUP)),
    row(DISCARD_PADDING, "DiscardPadding", T::Int, under(BLOCK_GROUP)),
    row(ENCRYPTED_BLOCK, "EncryptedBlock", T::Binary, under(CLUSTER)),
    row(SILENT_TRACKS, "SilentTracks", T::Master, under(CLUSTER)),
    row(CUES, "Cues", T::Master, under(SEGMENT)),
    row(CUE_POINT, "CuePoint", T::Master, under(CUES)),
    row(CUE_TIME, "CueTime", T::Uint, under(CUE_POINT)),
    row(CUE_TRACK_POSITIONS, "CueTrackPositions", T::Master, under(CUE_POINT)),
    row(CUE_TRACK, "CueTrack", T::Uint, under(CUE_TRACK_POSITIONS)),
    row(CUE_CLUSTER_POSITION, "CueClusterPosition", T::Uint, under(CUE_TRACK_POSITIONS)),
    row(CUE_RELATIVE_POSITION, "CueRelativePosition", T::Uint, under(CUE_TRACK_POSITIONS)),
    row(CUE_DURATION, "CueDuration", T::Uint, under(CUE_TRACK_POSITIONS)),
    row(CUE_BLOCK_NUMBER, "CueBlockNumber", T::Uint, under(CUE_TRACK_POSITIONS)),
    row(ATTACHMENTS, "Attachments", T::Master, under(SEGMENT)),
    row(ATTACHED_FILE, "AttachedFile", T::Master, under(ATTACHMENTS)),
    row(FILE_DESCRIPTION, "FileDescription", T::Utf8, under(ATTACHED_FILE)),
    row(FILE_NAME, "FileName", T::Utf8, under(ATTACHED_FILE)),
    row(FILE_MEDIA_TYPE, "FileMediaType", T::String, under(ATTACHED_FILE)),
    row(FILE_DATA, "FileData", T::Binary, under(ATTACHED_FILE)),
    row(FILE_UID, "FileUID", T::Uint, under(ATTACHED_FILE)),
    row(CHAPTERS, "Chapters", T::Master, under(SEGMENT)),
    row(EDITION_ENTRY, "EditionEntry", T::Master, under(CHAPTERS)),
    ElementSpec { recursive: true, ..row(CHAPTER_ATOM, "ChapterAtom", T::Master, under(EDITION_ENTRY)) },
    row(CHAPTER_UID, "ChapterUID", T::Uint, under(CHAPTER_ATOM)),
    row(CHAPTER_TIME_START, "ChapterTimeStart", T::Uint, under(CHAPTER_ATOM)),
    row(CHAPTER_TIME_END, "ChapterTimeEnd", T::Uint, under(CHAPTER_ATOM)),
    row(CHAPTER_DISPLAY, "ChapterDisplay", T::Master, under(CHAPTER_ATOM)),
    row(CHAP_STRING, "ChapString", T::Utf8, under(CHAPTER_DISPLAY)),
    row(CHAP_LANGUAGE, "ChapLanguage", T::String, under(CHAPTER_DISPLAY)),
    row(TAGS, "Tags", T::Master, under(SEGMENT)),
    row(TAG, "Tag", T::Master, under(TAGS)),
    row(TARGETS, "Targets", T::Master, under(TAG)),
    row(TARGET_TYPE_VALUE, "TargetTypeValue", T::Uint, under(TARGETS)),
    row(TARGET_TYPE, "TargetType", T::String, under(TARGETS)),
    row(TAG_TRACK_UID, "TagTrackUID", T::Uint, under(TARGETS)),
    row(TAG_EDITION_UID, "TagEditionUID", T::Uint, under(TARGETS)),
    row(TAG_CHAPTER_UID, "TagChapterUID", T::Uint, under(TARGETS)),
    row(TAG_ATTACHMENT_UID, "TagAttachmentUID", T::Uint, under(TARGETS)),
    ElementSpec { recursive: true, ..row(SIMPLE_TAG, "SimpleTag", T::Master, under(TAG)) },
    row(TAG_NAME, "TagName", T::Utf8, under(SIMPLE_TAG)),
    row(TAG_LANGUAGE, "TagLanguage", T::String, under(SIMPLE_TAG)),
    row(TAG_LANGUAGE_BCP47, "TagLanguageBCP47", T::String, under(SIMPLE_TAG)),
    row(TAG_DEFAULT, "TagDefault", T::Uint, under(SIMPLE_TAG)),
    row(TAG_STRING, "TagString", T::Utf8, under(SIMPLE_TAG)),
    row(TAG_BINARY, "TagBinary", T::Binary, under(SIMPLE_TAG)),
];

/// Row of `id` in [`SCHEMA`], at compile time.
const fn row_of(id: ElementId) -> usize {
    let mut i = 0;
    while i < SCHEMA.len() {
        if SCHEMA[i].id.0 == id.0 {
            return i;
        }
        i += 1;
    }
    panic!("not in the schema")
}

/// Looks up an element in the schema.
///
/// One-byte IDs (the elements of every block, Cues points, most leaves) index a table; a
/// Cluster is matched directly; the rest is a binary search over the sorted IDs. All tables
/// are built from [`SCHEMA`] at compile time.
#[inline]
pub fn schema(id: ElementId) -> Option<&'static ElementSpec> {
    const CLUSTER_ROW: usize = row_of(CLUSTER);
    if let Some(&row) = id.0.checked_sub(0x80).and_then(|i| ONE_BYTE.get(i as usize)) {
        return SCHEMA.get(usize::from(row));
    }
    if id == CLUSTER {
        return Some(&SCHEMA[CLUSTER_ROW]);
    }
    schema_search(id)
}

/// Row in [`SCHEMA`] of each one-byte ID `0x80 + i` (`u8::MAX`: not an element).
static ONE_BYTE: [u8; 128] = {
    assert!(N < u8::MAX as usize);
    let mut rows = [u8::MAX; 128];
    let mut i = 0;
    while i < N {
        let id = SCHEMA[i].id.0;
        if id >= 0x80 && id <= 0xFF {
            rows[(id - 0x80) as usize] = i as u8;
        }
        i += 1;
    }
    rows
};

fn schema_search(id: ElementId) -> Option<&'static ElementSpec> {
    SORTED_IDS.binary_search(&id.0).ok().map(|k| &SCHEMA[SORTED[k] as usize])
}

const N: usize = SCHEMA.len();

/// Indices into [`SCHEMA`] sorted by ID value (insertion sort at compile time).
static SORTED: [u16; N] = {
    let mut idx = [0u16; N];
    let mut i = 0;
    while i < N {
        idx[i] = i as u16;
        i += 1;
    }
    let mut i = 1;
    while i < N {
        let mut j = i;
        while j > 0 && SCHEMA[idx[j - 1] as usize].id.0 > SCHEMA[idx[j] as usize].id.0 {
            let t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
            j -= 1;
        }
        i += 1;
    }
    idx
};

/// The IDs of [`SORTED`], in that order: the binary search reads one small array.
static SORTED_IDS: [u32; N] = {
    let mut ids = [0u32; N];
    let mut i = 0;
    while i < N {
        ids[i] = SCHEMA[SORTED[i] as usize].id.0;
        i += 1;
    }
    ids
};

/// The level-1 elements: the only IDs (besides Void and CRC-32) valid directly inside a Segment.
pub const LEVEL1: [ElementId; 8] = [SEEK_HEAD, INFO, TRACKS, CLUSTER, CUES, ATTACHMENTS, CHAPTERS, TAGS];

/// Matroska as the element reader walks it: this table, Segment as the body, the level-1
/// elements, and Cluster, Timestamp and SimpleBlock as the media elements.
#[derive(Debug, Clone, Copy, Default)]
pub struct Matroska;

impl Schema for Matroska {
    const BODY: ElementId = SEGMENT;
    const LEVEL1: &'static [ElementId] = &LEVEL1;
    const CLUSTERS: Option<Clusters> = Some(Clusters { cluster: CLUSTER, timestamp: TIMESTAMP, block: SIMPLE_BLOCK });

    #[inline]
    fn spec(id: ElementId) -> Option<&'static ElementSpec> {
        schema(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_ids_are_unique_and_found() {
        for (i, s) in SCHEMA.iter().enumerate() {
            assert_eq!(schema(s.id).unwrap().name, s.name, "row {i}");
            assert!(SCHEMA.iter().filter(|t| t.id == s.id).count() == 1, "{} twice", s.name);
            assert!(s.id.is_valid_encoding(), "{} id", s.name);
        }
        assert!(schema(ElementId(0x4242)).is_none());
    }

    #[test]
    fn parents() {
        assert!(Matroska::is_child_of(CLUSTER, Some(SEGMENT)));
        assert!(Matroska::is_child_of(SIMPLE_TAG, Some(SIMPLE_TAG)));
        assert!(Matroska::is_child_of(VOID, None));
        assert!(Matroska::is_child_of(EBML, None));
        assert!(!Matroska::is_child_of(CLUSTER, Some(CLUSTER)));
        assert!(!Matroska::is_child_of(SIMPLE_BLOCK, Some(SEGMENT)));
    }
}
