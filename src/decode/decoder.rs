//! One video track's decoder: FFmpeg's, built from the track's CodecID and CodecPrivate.

use std::collections::BTreeMap;
use std::fmt;

use bytes::Bytes;
use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;

use super::{extradata, DecodeError, DecodeOptions, DecodedImage, FragmentInfo, Mode, Output, Picture, RawPicture};
use crate::frame::Frame;
use crate::mkv::Track;

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
