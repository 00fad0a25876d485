//! The decode stage (feature `decode`): frames to `image` images with the system FFmpeg.
//!
//! A decoder is built from a track (CodecID + CodecPrivate), without libavformat: H.264
//! (avcC or Annex-B CodecPrivate, AVCC or Annex-B frames), H.265 (hvcC, header junk
//! tolerated), MJPEG (`V_MJPEG`, and `V_MS/VFW/FOURCC` with an `MJPG` BITMAPINFOHEADER),
//! FFV1 in `V_MS/VFW/FOURCC`, and VP8/VP9/AV1 when the system FFmpeg has them; anything else
//! is [`DecodeError::Unsupported`]. [`ImageExtractor`] reads a stream, picks a video track,
//! rebuilds the decoder when the codec or CodecPrivate changes (flushing the old one first),
//! and yields images with the KVS metadata of the fragment each frame came from.

mod extradata;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;

use crate::demux::Event;
use crate::frame::Frame;
use crate::io::read::ReadDemuxer;
use crate::mkv::{Track, TrackKind};

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

fn ff(e: ffmpeg::Error) -> DecodeError {
    DecodeError::Ffmpeg(e.to_string())
}

/// FFmpeg's decoder and the extradata for a track.
fn codec_for(track: &Track) -> Result<(ffmpeg::codec::Id, Option<Bytes>), DecodeError> {
    use ffmpeg::codec::Id;
    let cp = track.codec_private.clone();
    let unsupported = |c: String| Err(DecodeError::Unsupported { codec: c });
    let id = match track.codec_id.as_str() {
        "V_MPEG4/ISO/AVC" => Id::H264,
        "V_MPEGH/ISO/HEVC" => Id::HEVC,
        "V_MJPEG" => Id::MJPEG,
        "V_VP8" => Id::VP8,
        "V_VP9" => Id::VP9,
        "V_AV1" => Id::AV1,
        "V_MS/VFW/FOURCC" => {
            // BITMAPINFOHEADER: the compression FourCC at offset 16; codec data after 40.
            let Some(bih) = cp.as_ref().filter(|b| b.len() >= 40) else {
                return unsupported("V_MS/VFW/FOURCC without BITMAPINFOHEADER".into());
            };
            let fourcc = String::from_utf8_lossy(&bih[16..20]).to_string();
            let id = match fourcc.as_str() {
                "MJPG" | "mjpg" | "AVRn" | "dmb1" => Id::MJPEG,
                "H264" | "h264" | "X264" | "x264" | "AVC1" | "avc1" => Id::H264,
                "FFV1" => Id::FFV1,
                _ => return unsupported(format!("V_MS/VFW/FOURCC {fourcc}")),
            };
            let extra = (bih.len() > 40).then(|| bih.slice(40..));
            return Ok((id, extra));
        }
        other => return unsupported(other.to_owned()),
    };
    Ok((id, cp))
}

/// A video decoder for one track definition.
pub struct VideoDecoder {
    dec: ffmpeg::decoder::Video,
    opts: DecodeOptions,
    track: u64,
    scaler: Option<((Pixel, u32, u32), scaling::Context)>,
    /// Metadata of frames sent, by pts, until their picture comes out.
    sent: BTreeMap<i64, (bool, FragmentInfo)>,
    last_emitted: Option<i64>,
    waiting_for_key: bool,
    /// Every frame stands alone (MJPEG, FFV1): no waiting for a keyframe after damage.
    intra_only: bool,
}

impl fmt::Debug for VideoDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoDecoder").field("track", &self.track).field("opts", &self.opts).finish()
    }
}

impl VideoDecoder {
    /// A decoder for `track`.
    ///
    /// # Errors
    /// [`DecodeError::Unsupported`] for codecs that cannot be decoded here.
    pub fn new(track: &Track, opts: DecodeOptions) -> Result<Self, DecodeError> {
        ffmpeg::init().map_err(ff)?;
        let (id, extra) = codec_for(track)?;
        let codec = ffmpeg::decoder::find(id)
            .ok_or_else(|| DecodeError::Unsupported { codec: format!("{} (not in this FFmpeg)", track.codec_id) })?;
        let mut ctx = ffmpeg::codec::context::Context::new_with_codec(codec);
        if let Some(extra) = extra.filter(|e| !e.is_empty()) {
            extradata::set(&mut ctx, &extra).map_err(ff)?;
        }
        let count = opts.threads;
        ctx.set_threading(ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::Frame,
            count,
            ..Default::default()
        });
        let dec = ctx.decoder().video().map_err(ff)?;
        let intra_only = matches!(id, ffmpeg::codec::Id::MJPEG | ffmpeg::codec::Id::FFV1);
        Ok(VideoDecoder {
            dec,
            opts,
            track: track.number,
            scaler: None,
            sent: BTreeMap::new(),
            last_emitted: None,
            waiting_for_key: false,
            intra_only,
        })
    }

    /// Decodes one frame of the track; finished pictures are appended to `out`.
    ///
    /// # Errors
    /// [`DecodeError::Corrupt`] when FFmpeg rejects the frame (for inter-frame codecs the
    /// frames up to the next keyframe are then skipped, as they cannot be decoded); other
    /// errors are fatal for this decoder.
    pub fn decode(
        &mut self,
        frame: &Frame,
        info: FragmentInfo,
        out: &mut Vec<DecodedImage>,
    ) -> Result<(), DecodeError> {
        if self.opts.mode == Mode::Keyframes && !frame.info.keyframe {
            return Ok(());
        }
        if self.waiting_for_key && !frame.info.keyframe {
            return Ok(());
        }
        self.waiting_for_key = false;
        // libavcodec needs zero padding after the data: this is the one copy.
        let mut packet = ffmpeg::Packet::copy(&frame.payload());
        packet.set_pts(Some(frame.info.pts_ns));
        packet.set_dts(None);
        if frame.info.keyframe {
            packet.set_flags(ffmpeg::packet::Flags::KEY);
        }
        self.sent.insert(frame.info.pts_ns, (frame.info.keyframe, info));
        if let Err(e) = self.dec.send_packet(&packet) {
            self.sent.remove(&frame.info.pts_ns);
            self.waiting_for_key = !self.intra_only;
            return Err(DecodeError::Corrupt { pts_ns: frame.info.pts_ns, detail: e.to_string() });
        }
        self.receive(out)
    }

    /// Drains the decoder at the end of the stream (or before it is replaced).
    ///
    /// # Errors
    /// FFmpeg errors.
    pub fn flush(&mut self, out: &mut Vec<DecodedImage>) -> Result<(), DecodeError> {
        let _ = self.dec.send_eof();
        self.receive(out)
    }

    fn receive(&mut self, out: &mut Vec<DecodedImage>) -> Result<(), DecodeError> {
        let mut decoded = ffmpeg::frame::Video::empty();
        while self.dec.receive_frame(&mut decoded).is_ok() {
            let pts = decoded.pts().or(decoded.timestamp()).unwrap_or(0);
            let (keyframe, fragment) = self.sent.remove(&pts).unwrap_or_else(|| {
                // A pts the decoder made up: take the oldest pending metadata.
                self.sent.pop_first().map(|(_, v)| v).unwrap_or_default()
            });
            // Older entries can no longer come out.
            while self.sent.first_key_value().is_some_and(|(&k, _)| k < pts - 60_000_000_000) {
                self.sent.pop_first();
            }
            if let Mode::Every(interval) = self.opts.mode {
                if self.last_emitted.is_some_and(|last| pts < last.saturating_add(interval as i64)) {
                    continue;
                }
            }
            self.last_emitted = Some(pts);
            let picture = self.convert(&decoded)?;
            out.push(DecodedImage { picture, pts_ns: pts, keyframe, track: self.track, fragment });
        }
        Ok(())
    }

    fn target_size(&self, w: u32, h: u32) -> (u32, u32) {
        let keep = |a: u32, b: u32, x: u32| {
            ((u64::from(x) * u64::from(b) + u64::from(a) / 2) / u64::from(a).max(1)).max(1) as u32
        };
        match (self.opts.width, self.opts.height) {
            (Some(tw), Some(th)) => (tw, th),
            (Some(tw), None) => (tw, keep(w, h, tw)),
            (None, Some(th)) => (keep(h, w, th), th),
            (None, None) => (w, h),
        }
    }

    fn convert(&mut self, f: &ffmpeg::frame::Video) -> Result<Picture, DecodeError> {
        let (w, h) = (f.width(), f.height());
        if self.opts.output == Output::Raw {
            let planes = (0..f.planes()).map(|i| (f.data(i).to_vec(), f.stride(i))).collect();
            let format = format!("{:?}", f.format()).to_lowercase();
            return Ok(Picture::Raw(RawPicture { format, width: w, height: h, planes }));
        }
        let (dst, bpp) = match self.opts.output {
            Output::Rgba => (Pixel::RGBA, 4),
            Output::Gray => (Pixel::GRAY8, 1),
            _ => (Pixel::RGB24, 3),
        };
        let (tw, th) = self.target_size(w, h);
        let key = (f.format(), w, h);
        if self.scaler.as_ref().is_none_or(|(k, _)| *k != key) {
            let ctx = scaling::Context::get(f.format(), w, h, dst, tw, th, scaling::Flags::BILINEAR).map_err(ff)?;
            self.scaler = Some((key, ctx));
        }
        let mut conv = ffmpeg::frame::Video::empty();
        self.scaler.as_mut().expect("set above").1.run(f, &mut conv).map_err(ff)?;
        let (stride, data) = (conv.stride(0), conv.data(0));
        let row = tw as usize * bpp;
        let mut buf = Vec::with_capacity(row * th as usize);
        for y in 0..th as usize {
            buf.extend_from_slice(&data[y * stride..y * stride + row]);
        }
        let bad = || DecodeError::Ffmpeg("converted picture has the wrong size".into());
        Ok(match self.opts.output {
            Output::Rgba => Picture::Rgba(image::RgbaImage::from_raw(tw, th, buf).ok_or_else(bad)?),
            Output::Gray => Picture::Gray(image::GrayImage::from_raw(tw, th, buf).ok_or_else(bad)?),
            _ => Picture::Rgb(image::RgbImage::from_raw(tw, th, buf).ok_or_else(bad)?),
        })
    }
}

/// Reads a stream and yields the images of one video track, in presentation order per
/// decoder, with the KVS metadata of each frame's fragment.
///
/// Corrupt frames are yielded as [`DecodeError::Corrupt`] items and decoding goes on; an
/// undecodable track ends the iteration with [`DecodeError::Unsupported`] or
/// [`DecodeError::NoVideoTrack`].
#[derive(Debug)]
pub struct ImageExtractor<R> {
    demux: ReadDemuxer<R>,
    opts: DecodeOptions,
    decoder: Option<(VideoDecoder, Arc<Track>)>,
    out: VecDeque<Result<DecodedImage, DecodeError>>,
    done: bool,
    fragments: u64,
}

impl<R: Read> ImageExtractor<R> {
    /// Decodes the stream read from `read`.
    pub fn new(read: R, opts: DecodeOptions) -> Self {
        ImageExtractor {
            demux: ReadDemuxer::with_options(read, opts.demux),
            opts,
            decoder: None,
            out: VecDeque::new(),
            done: false,
            fragments: 0,
        }
    }

    /// Fragments closed so far.
    pub fn fragments_seen(&self) -> u64 {
        self.fragments
    }

    fn on_frame(&mut self, f: Frame) {
        let tracks = self.demux.demuxer().shared_tracks().clone();
        let wanted = match self.opts.track {
            Some(n) => tracks.iter().find(|t| t.number == n),
            None => self
                .decoder
                .as_ref()
                .map(|(_, t)| t)
                .and_then(|cur| tracks.iter().find(|t| t.number == cur.number))
                .or_else(|| tracks.iter().find(|t| t.kind == TrackKind::Video)),
        };
        let Some(track) = wanted.cloned() else {
            if self.decoder.is_none() && !tracks.is_empty() {
                self.fail(if self.opts.track.is_some() {
                    DecodeError::Unsupported { codec: "no such track".into() }
                } else {
                    DecodeError::NoVideoTrack
                });
            }
            return;
        };
        if f.info.track != track.number {
            return;
        }
        // A new codec or CodecPrivate: flush the old decoder, build a new one.
        let changed = self
            .decoder
            .as_ref()
            .is_none_or(|(_, t)| t.codec_id != track.codec_id || t.codec_private != track.codec_private);
        if changed {
            self.flush_decoder();
            match VideoDecoder::new(&track, self.opts) {
                Ok(d) => self.decoder = Some((d, track)),
                Err(e) => return self.fail(e),
            }
        }
        let info = self
            .demux
            .demuxer()
            .current_fragment()
            .map(|m| FragmentInfo {
                index: m.index,
                fragment_number: m.kvs.fragment_number.clone(),
                server_timestamp_ms: m.kvs.server_timestamp.as_ref().map(|t| t.millis()),
                producer_timestamp_ms: m.kvs.producer_timestamp.as_ref().map(|t| t.millis()),
            })
            .unwrap_or_default();
        let (dec, _) = self.decoder.as_mut().expect("built above");
        let mut imgs = Vec::new();
        let r = dec.decode(&f, info, &mut imgs);
        self.queue(imgs, r);
    }

    /// Flushes and drops the current decoder, queueing what it still held.
    fn flush_decoder(&mut self) {
        if let Some((mut d, _)) = self.decoder.take() {
            let mut imgs = Vec::new();
            let r = d.flush(&mut imgs);
            self.queue(imgs, r);
        }
    }

    /// Queues the images a decoder call produced, then its error if it failed.
    fn queue(&mut self, imgs: Vec<DecodedImage>, r: Result<(), DecodeError>) {
        self.out.extend(imgs.into_iter().map(Ok));
        if let Err(e) = r {
            self.out.push_back(Err(e));
        }
    }

    fn fail(&mut self, e: DecodeError) {
        self.out.push_back(Err(e));
        self.done = true;
    }
}

impl<R: Read> Iterator for ImageExtractor<R> {
    type Item = Result<DecodedImage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.out.pop_front() {
                return Some(x);
            }
            if self.done {
                return None;
            }
            match self.demux.next() {
                Some(Ok(Event::Frame(f))) => self.on_frame(f),
                Some(Ok(Event::FragmentEnd(_))) => self.fragments += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) if e.is_truncation() => {}
                Some(Err(e)) => {
                    // The images of the frames already given to the decoder come first.
                    self.flush_decoder();
                    self.fail(DecodeError::Input(e));
                }
                None => {
                    self.done = true;
                    self.flush_decoder();
                }
            }
        }
    }
}

#[cfg(feature = "tokio")]
pub use self::stream::{decode_stream, AsyncImages};

#[cfg(feature = "tokio")]
mod stream {
    //! Decoding off the async executor: a dedicated thread parses and decodes; a tokio task
    //! reads. Both queues are bounded, so a slow consumer slows the reading down.

    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use futures_core::Stream;
    use tokio::io::{AsyncRead, AsyncReadExt};
    use tokio::sync::mpsc;

    use super::{DecodeError, DecodeOptions, DecodedImage, ImageExtractor};

    /// Input pieces waiting for the decode thread, and images waiting for the consumer.
    const QUEUE: usize = 4;

    /// The stream returned by [`decode_stream`].
    #[derive(Debug)]
    pub struct AsyncImages {
        rx: mpsc::Receiver<Result<DecodedImage, DecodeError>>,
    }

    impl Stream for AsyncImages {
        type Item = Result<DecodedImage, DecodeError>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.rx.poll_recv(cx)
        }
    }

    /// A blocking `Read` over the pieces the reading task sends, and the error that ended
    /// them, if one did.
    struct Pieces {
        rx: mpsc::Receiver<std::io::Result<Bytes>>,
        cur: Bytes,
    }

    impl std::io::Read for Pieces {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            while self.cur.is_empty() {
                match self.rx.blocking_recv() {
                    Some(b) => self.cur = b?,
                    None => return Ok(0),
                }
            }
            let n = buf.len().min(self.cur.len());
            buf[..n].copy_from_slice(&self.cur.split_to(n));
            Ok(n)
        }
    }

    /// Decodes `read` off the executor (must be called within a tokio runtime): images come
    /// out as a `Stream`, with at most a few pieces of input and a few images queued.
    pub fn decode_stream<R: AsyncRead + Send + Unpin + 'static>(mut read: R, opts: DecodeOptions) -> AsyncImages {
        let (in_tx, in_rx) = mpsc::channel::<std::io::Result<Bytes>>(QUEUE);
        let (out_tx, out_rx) = mpsc::channel(QUEUE);
        tokio::spawn(async move {
            loop {
                let mut buf = bytes::BytesMut::with_capacity(64 * 1024);
                let piece = match read.read_buf(&mut buf).await {
                    Ok(0) => return, // the end: the channel closes
                    Ok(_) => Ok(buf.freeze()),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    // Passed on, so that the decode thread reports it after the images
                    // before it, instead of seeing an end.
                    Err(e) => Err(e),
                };
                let failed = piece.is_err();
                if in_tx.send(piece).await.is_err() || failed {
                    return;
                }
            }
        });
        std::thread::spawn(move || {
            for item in ImageExtractor::new(Pieces { rx: in_rx, cur: Bytes::new() }, opts) {
                if out_tx.blocking_send(item).is_err() {
                    return; // the consumer went away
                }
            }
        });
        AsyncImages { rx: out_rx }
    }
}
