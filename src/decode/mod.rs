//! The decode stage (feature `decode`): frames to `image` images with the system FFmpeg.
//!
//! A decoder is built from a track (CodecID + CodecPrivate), without libavformat: H.264
//! (avcC or Annex-B CodecPrivate, AVCC or Annex-B frames), H.265 (hvcC, header junk
//! tolerated), MJPEG (`V_MJPEG`, and `V_MS/VFW/FOURCC` with an `MJPG` BITMAPINFOHEADER),
//! FFV1 in `V_MS/VFW/FOURCC`, and VP8/VP9/AV1 when the system FFmpeg has them; anything else
//! is [`DecodeError::Unsupported`]. [`ImageExtractor`] reads a stream, picks a video track,
//! rebuilds the decoder when the codec or CodecPrivate changes (flushing the old one first),
//! and yields images with the KVS metadata of the fragment each frame came from.

mod decoder;
mod extradata;
mod images;

use std::fmt;

pub use decoder::VideoDecoder;
pub use images::ImageExtractor;
#[cfg(feature = "tokio")]
pub use images::{decode_stream, AsyncImages};

/// Which frames become images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Every frame.
    #[default]
    All,
    /// Keyframes only; other frames are not decoded at all.
    Keyframes,
    /// At most one image per interval of stream time (ns).
    Every(u64),
}

/// The pixel layout of the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Output {
    /// `image::RgbImage`.
    #[default]
    Rgb,
    /// `image::RgbaImage`.
    Rgba,
    /// `image::GrayImage`.
    Gray,
    /// The decoder's own planes, unconverted (and unscaled).
    Raw,
}

/// Decoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Which frames become images.
    pub mode: Mode,
    /// Pixel layout.
    pub output: Output,
    /// Output width; with only one of width and height, the aspect ratio is kept.
    pub width: Option<u32>,
    /// Output height.
    pub height: Option<u32>,
    /// Decoder threads (0 = FFmpeg's choice).
    pub threads: usize,
    /// Track to decode (default: the first video track).
    pub track: Option<u64>,
    /// How the input is parsed (limits, CRC-32 checking).
    pub demux: crate::DemuxOptions,
}

/// Raw decoder planes (for pipelines that want YUV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPicture {
    /// FFmpeg's name of the pixel format (`yuv420p`, `yuvj422p`, …).
    pub format: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Each plane's bytes and line stride.
    pub planes: Vec<(Vec<u8>, usize)>,
}

/// A decoded picture.
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    /// RGB, 8 bits per channel.
    Rgb(image::RgbImage),
    /// RGBA.
    Rgba(image::RgbaImage),
    /// 8-bit grey.
    Gray(image::GrayImage),
    /// The decoder's planes.
    Raw(RawPicture),
}

impl Picture {
    /// Width and height.
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Picture::Rgb(i) => i.dimensions(),
            Picture::Rgba(i) => i.dimensions(),
            Picture::Gray(i) => i.dimensions(),
            Picture::Raw(r) => (r.width, r.height),
        }
    }
}

/// The fragment a frame came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FragmentInfo {
    /// Index of the fragment in the stream.
    pub index: u64,
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`.
    pub fragment_number: Option<crate::FragmentNumber>,
    /// Server timestamp, ms.
    pub server_timestamp_ms: Option<u64>,
    /// Producer timestamp, ms.
    pub producer_timestamp_ms: Option<u64>,
}

/// One decoded image with its time and origin.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    /// The picture.
    pub picture: Picture,
    /// Presentation time of its frame, ns.
    pub pts_ns: i64,
    /// Its frame was a keyframe.
    pub keyframe: bool,
    /// TrackNumber.
    pub track: u64,
    /// The fragment its frame came from.
    pub fragment: FragmentInfo,
}

/// Why decoding failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The track's codec cannot be decoded here.
    Unsupported {
        /// CodecID (and FourCC, for `V_MS/VFW/FOURCC`).
        codec: String,
    },
    /// No video track to decode.
    NoVideoTrack,
    /// A frame could not be decoded; decoding goes on at the next keyframe.
    Corrupt {
        /// Its pts.
        pts_ns: i64,
        /// FFmpeg's message.
        detail: String,
    },
    /// FFmpeg failed otherwise.
    Ffmpeg(String),
    /// The input could not be read.
    Input(crate::Error),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Unsupported { codec } => write!(f, "cannot decode codec {codec}"),
            DecodeError::NoVideoTrack => f.write_str("no video track"),
            DecodeError::Corrupt { pts_ns, detail } => write!(f, "corrupt frame at {pts_ns} ns: {detail}"),
            DecodeError::Ffmpeg(e) => write!(f, "FFmpeg: {e}"),
            DecodeError::Input(e) => write!(f, "input: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}
