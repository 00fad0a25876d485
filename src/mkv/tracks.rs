//! Track definitions (TrackEntry).

use bytes::Bytes;

use crate::ebml::value;
use crate::ebml::ElementId;
use crate::mkv::ids;

/// What a track carries (TrackType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// 1.
    Video,
    /// 2.
    Audio,
    /// 3: "complex"; the KVS producer also uses it for "unknown".
    Complex,
    /// 16.
    Logo,
    /// 17.
    Subtitle,
    /// 18.
    Buttons,
    /// 32.
    Control,
    /// 33.
    Metadata,
    /// Any other value, or TrackType missing (0).
    Other(u64),
}

impl TrackKind {
    /// From the TrackType value.
    pub fn from_type(t: u64) -> Self {
        match t {
            1 => TrackKind::Video,
            2 => TrackKind::Audio,
            3 => TrackKind::Complex,
            16 => TrackKind::Logo,
            17 => TrackKind::Subtitle,
            18 => TrackKind::Buttons,
            32 => TrackKind::Control,
            33 => TrackKind::Metadata,
            n => TrackKind::Other(n),
        }
    }

    /// `"video"`, `"audio"`, `"subtitle"` or `"other"` (the `inspect --json` vocabulary).
    pub fn as_str(&self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
            TrackKind::Subtitle => "subtitle",
            _ => "other",
        }
    }
}

/// The Video element of a TrackEntry. Sizes are `None` when the producer omitted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoSettings {
    /// PixelWidth (coded width).
    pub pixel_width: Option<u64>,
    /// PixelHeight (coded height).
    pub pixel_height: Option<u64>,
    /// DisplayWidth.
    pub display_width: Option<u64>,
    /// DisplayHeight.
    pub display_height: Option<u64>,
    /// DisplayUnit (0 pixels, the default).
    pub display_unit: u64,
    /// FlagInterlaced (0 undetermined, 1 interlaced, 2 progressive).
    pub flag_interlaced: u64,
    /// StereoMode (0 mono).
    pub stereo_mode: u64,
}

/// The Audio element of a TrackEntry, with Matroska defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioSettings {
    /// SamplingFrequency in Hz (default 8000.0).
    pub sampling_frequency: f64,
    /// OutputSamplingFrequency in Hz (SBR), when given.
    pub output_sampling_frequency: Option<f64>,
    /// Channels (default 1).
    pub channels: u64,
    /// BitDepth, when given.
    pub bit_depth: Option<u64>,
}

impl Default for AudioSettings {
    fn default() -> Self {
        AudioSettings { sampling_frequency: 8000.0, output_sampling_frequency: None, channels: 1, bit_depth: None }
    }
}

/// One ContentEncoding of a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentEncoding {
    /// ContentEncodingOrder (default 0).
    pub order: u64,
    /// ContentEncodingScope bits (default 1: frame data).
    pub scope: u64,
    /// ContentEncodingType (0 compression, 1 encryption).
    pub encoding_type: u64,
    /// ContentCompAlgo (0 zlib, 1 bzlib, 2 lzo1x, 3 header stripping).
    pub comp_algo: u64,
    /// ContentCompSettings (the stripped bytes, for header stripping).
    pub comp_settings: Option<Bytes>,
}

impl Default for ContentEncoding {
    fn default() -> Self {
        ContentEncoding { order: 0, scope: 1, encoding_type: 0, comp_algo: 0, comp_settings: None }
    }
}

impl ContentEncoding {
    /// `true` for header stripping of frame data.
    pub fn is_header_stripping(&self) -> bool {
        self.encoding_type == 0 && self.comp_algo == 3
    }
}

/// A track definition, NUL padding trimmed and Matroska defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// TrackNumber: what blocks refer to.
    pub number: u64,
    /// TrackUID: what Tags refer to (0 when missing).
    pub uid: u64,
    /// TrackType as written (0 when missing).
    pub track_type: u64,
    /// TrackType as a kind.
    pub kind: TrackKind,
    /// CodecID (`V_MPEG4/ISO/AVC`, `A_AAC`, …), NULs trimmed.
    pub codec_id: String,
    /// CodecPrivate, zero-copy.
    pub codec_private: Option<Bytes>,
    /// CodecName.
    pub codec_name: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Language as written (Matroska's default is `eng` when missing).
    pub language: Option<String>,
    /// LanguageBCP47.
    pub language_bcp47: Option<String>,
    /// DefaultDuration in ns per frame.
    pub default_duration_ns: Option<u64>,
    /// CodecDelay in ns (subtracted from every timestamp of the track).
    pub codec_delay_ns: u64,
    /// SeekPreRoll in ns.
    pub seek_pre_roll_ns: u64,
    /// TrackTimestampScale (deprecated, default 1.0; honoured when present).
    pub track_timestamp_scale: f64,
    /// FlagEnabled (default true; any non-zero value is true).
    pub flag_enabled: bool,
    /// FlagDefault (default true).
    pub flag_default: bool,
    /// FlagLacing (default true).
    pub flag_lacing: bool,
    /// Video settings, when the Video element is present.
    pub video: Option<VideoSettings>,
    /// Audio settings, when the Audio element is present.
    pub audio: Option<AudioSettings>,
    /// ContentEncodings in order.
    pub content_encodings: Vec<ContentEncoding>,
    /// Byte offset of the TrackEntry.
    pub offset: u64,
}

impl Track {
    /// Language with the Matroska default (`eng`) applied.
    pub fn language_or_default(&self) -> &str {
        self.language.as_deref().unwrap_or("eng")
    }

    /// The bytes header stripping removed from every frame (to be put back in front).
    pub fn stripped_header(&self) -> Option<&Bytes> {
        self.content_encodings
            .iter()
            .find(|e| e.is_header_stripping() && e.scope & 1 != 0)
            .and_then(|e| e.comp_settings.as_ref())
    }

    /// `true` when frames are compressed or encrypted in a way this crate does not undo
    /// (anything but header stripping): their payloads are not plain codec frames.
    pub fn has_unsupported_encoding(&self) -> bool {
        self.content_encodings.iter().any(|e| e.scope & 1 != 0 && !e.is_header_stripping())
    }

    /// Same definition, ignoring where it was read from.
    pub fn same_definition(&self, other: &Track) -> bool {
        // Destructured in full (without cloning, as this runs for every GetMedia chunk): a
        // new field does not compile here until it is compared.
        let Track {
            number,
            uid,
            track_type,
            kind,
            codec_id,
            codec_private,
            codec_name,
            name,
            language,
            language_bcp47,
            default_duration_ns,
            codec_delay_ns,
            seek_pre_roll_ns,
            track_timestamp_scale,
            flag_enabled,
            flag_default,
            flag_lacing,
            video,
            audio,
            content_encodings,
            offset: _,
        } = self;
        *number == other.number
            && *uid == other.uid
            && *track_type == other.track_type
            && *kind == other.kind
            && *codec_id == other.codec_id
            && *codec_private == other.codec_private
            && *codec_name == other.codec_name
            && *name == other.name
            && *language == other.language
            && *language_bcp47 == other.language_bcp47
            && *default_duration_ns == other.default_duration_ns
            && *codec_delay_ns == other.codec_delay_ns
            && *seek_pre_roll_ns == other.seek_pre_roll_ns
            && *track_timestamp_scale == other.track_timestamp_scale
            && *flag_enabled == other.flag_enabled
            && *flag_default == other.flag_default
            && *flag_lacing == other.flag_lacing
            && *video == other.video
            && *audio == other.audio
            && *content_encodings == other.content_encodings
    }
}

#[derive(Debug)]
pub(crate) struct TrackBuilder(pub Track);

impl TrackBuilder {
    pub fn new(offset: u64) -> Self {
        TrackBuilder(Track {
            number: 0,
            uid: 0,
            track_type: 0,
            kind: TrackKind::Other(0),
            codec_id: String::new(),
            codec_private: None,
            codec_name: None,
            name: None,
            language: None,
            language_bcp47: None,
            default_duration_ns: None,
            codec_delay_ns: 0,
            seek_pre_roll_ns: 0,
            track_timestamp_scale: 1.0,
            flag_enabled: true,
            flag_default: true,
            flag_lacing: true,
            video: None,
            audio: None,
            content_encodings: Vec::new(),
            offset,
        })
    }

    pub fn start(&mut self, id: ElementId) {
        match id {
            ids::VIDEO => self.0.video = Some(VideoSettings::default()),
            ids::AUDIO => self.0.audio = Some(AudioSettings::default()),
            ids::CONTENT_ENCODING => self.0.content_encodings.push(ContentEncoding::default()),
            _ => {}
        }
    }

    pub fn leaf(&mut self, id: ElementId, data: &Bytes) {
        let t = &mut self.0;
        let u = value::uint(data).ok();
        let f = value::float(data).ok();
        match id {
            ids::TRACK_NUMBER => t.number = u.unwrap_or(0),
            ids::TRACK_UID => t.uid = u.unwrap_or(0),
            ids::TRACK_TYPE => {
                t.track_type = u.unwrap_or(0);
                t.kind = TrackKind::from_type(t.track_type);
            }
            ids::FLAG_ENABLED => t.flag_enabled = u != Some(0),
            ids::FLAG_DEFAULT => t.flag_default = u != Some(0),
            ids::FLAG_LACING => t.flag_lacing = u != Some(0),
            ids::DEFAULT_DURATION => t.default_duration_ns = u.filter(|&d| d > 0),
            ids::TRACK_TIMESTAMP_SCALE => {
                t.track_timestamp_scale = f.filter(|s| s.is_finite() && *s > 0.0).unwrap_or(1.0)
            }
            ids::NAME => t.name = Some(value::string(data)),
            ids::LANGUAGE => t.language = Some(value::string(data)),
            ids::LANGUAGE_BCP47 => t.language_bcp47 = Some(value::string(data)),
            ids::CODEC_ID => t.codec_id = value::string(data),
            ids::CODEC_PRIVATE => t.codec_private = Some(data.clone()),
            ids::CODEC_NAME => t.codec_name = Some(value::string(data)),
            ids::CODEC_DELAY => t.codec_delay_ns = u.unwrap_or(0),
            ids::SEEK_PRE_ROLL => t.seek_pre_roll_ns = u.unwrap_or(0),
            ids::PIXEL_WIDTH
            | ids::PIXEL_HEIGHT
            | ids::DISPLAY_WIDTH
            | ids::DISPLAY_HEIGHT
            | ids::DISPLAY_UNIT
            | ids::FLAG_INTERLACED
            | ids::STEREO_MODE => {
                let v = t.video.get_or_insert_with(VideoSettings::default);
                match id {
                    ids::PIXEL_WIDTH => v.pixel_width = u,
                    ids::PIXEL_HEIGHT => v.pixel_height = u,
                    ids::DISPLAY_WIDTH => v.display_width = u,
                    ids::DISPLAY_HEIGHT => v.display_height = u,
                    ids::DISPLAY_UNIT => v.display_unit = u.unwrap_or(0),
                    ids::FLAG_INTERLACED => v.flag_interlaced = u.unwrap_or(0),
                    _ => v.stereo_mode = u.unwrap_or(0),
                }
            }
            ids::SAMPLING_FREQUENCY | ids::OUTPUT_SAMPLING_FREQUENCY | ids::CHANNELS | ids::BIT_DEPTH => {
                let a = t.audio.get_or_insert_with(AudioSettings::default);
                match id {
                    ids::SAMPLING_FREQUENCY => a.sampling_frequency = f.filter(|x| *x > 0.0).unwrap_or(8000.0),
                    ids::OUTPUT_SAMPLING_FREQUENCY => a.output_sampling_frequency = f,
                    ids::CHANNELS => a.channels = u.filter(|&c| c > 0).unwrap_or(1),
                    _ => a.bit_depth = u,
                }
            }
            ids::CONTENT_ENCODING_ORDER
            | ids::CONTENT_ENCODING_SCOPE
            | ids::CONTENT_ENCODING_TYPE
            | ids::CONTENT_COMP_ALGO
            | ids::CONTENT_COMP_SETTINGS => {
                if t.content_encodings.is_empty() {
                    t.content_encodings.push(ContentEncoding::default());
                }
                let e = t.content_encodings.last_mut().expect("pushed above");
                match id {
                    ids::CONTENT_ENCODING_ORDER => e.order = u.unwrap_or(0),
                    ids::CONTENT_ENCODING_SCOPE => e.scope = u.unwrap_or(1),
                    ids::CONTENT_ENCODING_TYPE => e.encoding_type = u.unwrap_or(0),
                    ids::CONTENT_COMP_ALGO => e.comp_algo = u.unwrap_or(0),
                    _ => e.comp_settings = Some(data.clone()),
                }
            }
            _ => {}
        }
    }

    pub fn build(mut self) -> Track {
        self.0.content_encodings.sort_by_key(|e| std::cmp::Reverse(e.order));
        self.0
    }
}
