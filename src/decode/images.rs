//! Streams to images: one video track followed through a stream's frames, read through the
//! crate's demuxing adapters (`ReadDemuxer` for a `Read`, `AsyncDemuxer` for an `AsyncRead`).

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use super::{DecodeError, DecodeOptions, DecodedImage, FragmentInfo, VideoDecoder};
use crate::demux::{Demuxer, Event};
use crate::error::Error;
use crate::frame::Frame;
use crate::io::read::ReadDemuxer;
use crate::mkv::{Track, TrackKind};

/// The decoding of one video track, fed frame by frame: picks the track, rebuilds the
/// decoder when the codec or CodecPrivate changes (flushing the old one first), and queues
/// the images and errors in order. The one state machine behind [`ImageExtractor`] and
/// `decode_stream`, which differ only in where the frames come from.
#[derive(Debug)]
struct TrackImages {
    opts: DecodeOptions,
    decoder: Option<(VideoDecoder, Arc<Track>)>,
    out: VecDeque<Result<DecodedImage, DecodeError>>,
    done: bool,
    fragments: u64,
}

impl TrackImages {
    fn new(opts: DecodeOptions) -> Self {
        TrackImages { opts, decoder: None, out: VecDeque::new(), done: false, fragments: 0 }
    }

    /// The next image or error queued.
    fn pop(&mut self) -> Option<Result<DecodedImage, DecodeError>> {
        self.out.pop_front()
    }

    /// Decodes `f` if it belongs to the track followed; `tracks` are the stream's tracks
    /// when it arrived, `info` its fragment's metadata (asked only for a frame decoded).
    fn on_frame(&mut self, f: &Frame, tracks: &[Arc<Track>], info: impl FnOnce() -> FragmentInfo) {
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
        let (dec, _) = self.decoder.as_mut().expect("built above");
        let mut imgs = Vec::new();
        let r = dec.decode(f, info(), &mut imgs);
        self.queue(imgs, r);
    }

    /// An error from the input: truncation is read past; anything else ends the decoding,
    /// after the images of the frames already given to the decoder.
    fn on_error(&mut self, e: Error) {
        if !e.is_truncation() {
            self.flush_decoder();
            self.fail(DecodeError::Input(e));
        }
    }

    /// The input ended: the decoder's last images.
    fn on_end(&mut self) {
        self.done = true;
        self.flush_decoder();
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

/// The metadata of the fragment the demuxer is in.
fn fragment_info(demux: &Demuxer) -> FragmentInfo {
    demux
        .current_fragment()
        .map(|m| FragmentInfo {
            index: m.index,
            fragment_number: m.kvs.fragment_number.clone(),
            server_timestamp_ms: m.kvs.server_timestamp.as_ref().map(|t| t.millis()),
            producer_timestamp_ms: m.kvs.producer_timestamp.as_ref().map(|t| t.millis()),
        })
        .unwrap_or_default()
}

/// Reads a stream and yields the images of one video track, in presentation order per
/// decoder, with the KVS metadata of each frame's fragment.
///
/// Corrupt frames are yielded as [`DecodeError::Corrupt`] items and decoding goes on; an
/// undecodable track ends the iteration with [`DecodeError::Unsupported`] or
/// [`DecodeError::NoVideoTrack`]; a read error ends it with [`DecodeError::Input`], after
/// the images of the frames before it.
#[derive(Debug)]
pub struct ImageExtractor<R> {
    demux: ReadDemuxer<R>,
    images: TrackImages,
}

impl<R: Read> ImageExtractor<R> {
    /// Decodes the stream read from `read`.
    pub fn new(read: R, opts: DecodeOptions) -> Self {
        ImageExtractor { demux: ReadDemuxer::with_options(read, opts.demux), images: TrackImages::new(opts) }
    }

    /// Fragments closed so far.
    pub fn fragments_seen(&self) -> u64 {
        self.images.fragments
    }
}

impl<R: Read> Iterator for ImageExtractor<R> {
    type Item = Result<DecodedImage, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(x) = self.images.pop() {
                return Some(x);
            }
            if self.images.done {
                return None;
            }
            match self.demux.next() {
                Some(Ok(Event::Frame(f))) => {
                    let d = self.demux.demuxer();
                    self.images.on_frame(&f, d.tracks(), || fragment_info(d));
                }
                Some(Ok(Event::FragmentEnd(_))) => self.images.fragments += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => self.images.on_error(e),
                None => self.images.on_end(),
            }
        }
    }
}

#[cfg(feature = "tokio")]
pub use self::stream::{decode_stream, AsyncImages};

#[cfg(feature = "tokio")]
mod stream {
    //! Decoding off the async executor: a tokio task demuxes (`AsyncDemuxer`), a dedicated
    //! thread decodes. Both queues are bounded, so a slow consumer slows the reading down.

    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use futures_core::Stream;
    use futures_util::StreamExt;
    use tokio::io::AsyncRead;
    use tokio::sync::mpsc;

    use super::{fragment_info, TrackImages};
    use crate::decode::{DecodeError, DecodeOptions, DecodedImage, FragmentInfo};
    use crate::demux::Event;
    use crate::error::Error;
    use crate::frame::Frame;
    use crate::io::tokio::AsyncDemuxer;
    use crate::mkv::Track;

    /// Frames waiting for the decode thread (views of the read buffers, so this bounds the
    /// input held too).
    const FRAMES_QUEUED: usize = 16;
    /// Images waiting for the consumer.
    const IMAGES_QUEUED: usize = 4;

    /// What the demuxing task hands the decode thread; the channel's end is the input's.
    enum Demuxed {
        /// A frame, with the tracks and fragment metadata as they were when it arrived.
        Frame(Frame, Arc<[Arc<Track>]>, FragmentInfo),
        FragmentEnd,
        Error(Error),
    }

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

    /// Decodes `read` off the executor (must be called within a tokio runtime): images come
    /// out as a `Stream`, as [`ImageExtractor`](super::ImageExtractor)'s would, with at most
    /// a few frames and a few images queued.
    pub fn decode_stream<R: AsyncRead + Send + Unpin + 'static>(read: R, opts: DecodeOptions) -> AsyncImages {
        let (in_tx, mut in_rx) = mpsc::channel(FRAMES_QUEUED);
        let (out_tx, out_rx) = mpsc::channel(IMAGES_QUEUED);
        tokio::spawn(async move {
            let mut demux = AsyncDemuxer::with_options(read, opts.demux);
            while let Some(ev) = demux.next().await {
                let item = match ev {
                    Ok(Event::Frame(f)) => {
                        let d = demux.demuxer();
                        Demuxed::Frame(f, d.shared_tracks().clone(), fragment_info(d))
                    }
                    Ok(Event::FragmentEnd(_)) => Demuxed::FragmentEnd,
                    Ok(_) => continue,
                    Err(e) => Demuxed::Error(e),
                };
                if in_tx.send(item).await.is_err() {
                    return; // the decoding ended
                }
            }
        });
        std::thread::spawn(move || {
            let mut images = TrackImages::new(opts);
            loop {
                while let Some(item) = images.pop() {
                    if out_tx.blocking_send(item).is_err() {
                        return; // the consumer went away
                    }
                }
                if images.done {
                    return;
                }
                match in_rx.blocking_recv() {
                    Some(Demuxed::Frame(f, tracks, info)) => images.on_frame(&f, &tracks, || info),
                    Some(Demuxed::FragmentEnd) => images.fragments += 1,
                    Some(Demuxed::Error(e)) => images.on_error(e),
                    None => images.on_end(),
                }
            }
        });
        AsyncImages { rx: out_rx }
    }
}
