//! A reader that fails mid-stream: every read loop of the crate hands out everything valid
//! before the failure, then an error the caller sees (kind, message and offset kept), never
//! what looks like a clean end.

mod common;

use std::io::{self, Read};

use common::*;
use kinesis_video_parser::{Demuxer, ErrorKind, Event, ReadDemuxer, Status};

/// Where the reader fails: inside the third fragment of `kvs_like.mkv`.
const FAIL_AT: usize = 20_000;

/// Hands out `data` in reads of at most 4 KiB, then fails with `ConnectionReset`.
struct FailingReader {
    data: Vec<u8>,
    pos: usize,
}

impl FailingReader {
    fn new(data: &[u8]) -> Self {
        FailingReader { data: data[..FAIL_AT].to_vec(), pos: 0 }
    }
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.data.len() {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "peer went away"));
        }
        let n = buf.len().min(4096).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// What the core hands out for the first `n` bytes, the input not finished: everything that
/// had fully arrived when the reader failed.
fn events_before(data: &[u8], n: usize) -> Vec<Event> {
    let mut d = Demuxer::new();
    d.push(data[..n].to_vec());
    let mut out = Vec::new();
    while let Status::Ready(ev) = d.poll().expect("no truncation before finish") {
        out.push(ev);
    }
    out
}

fn assert_reset(e: &kinesis_video_parser::Error) {
    assert_eq!(e.kind(), ErrorKind::Io(io::ErrorKind::ConnectionReset));
    assert_eq!(e.message(), Some("peer went away"));
    assert_eq!(e.offset(), FAIL_AT as u64, "the error says how far the input was read");
    assert!(e.to_string().contains("peer went away"), "{e}");
}

fn input() -> Vec<u8> {
    let data = own_file("kvs_like.mkv");
    assert!(data.len() > FAIL_AT);
    data
}

#[test]
fn read_demuxer_events_then_the_error() {
    let data = input();
    let want = events_before(&data, FAIL_AT);
    assert!(want.iter().filter(|e| matches!(e, Event::FragmentEnd(_))).count() >= 1);
    let mut got = ReadDemuxer::new(FailingReader::new(&data)).with_read_size(1000);
    for ev in &want {
        assert_eq!(got.next().unwrap().as_ref(), Ok(ev));
    }
    assert_reset(&got.next().unwrap().unwrap_err());
    assert!(got.next().is_none(), "nothing after the I/O error");
}

#[test]
fn read_demuxer_frames_and_fragments_then_the_error() {
    let data = input();
    let want = events_before(&data, FAIL_AT);
    let frames: Vec<_> =
        want.iter().filter_map(|e| if let Event::Frame(f) = e { Some(f.clone()) } else { None }).collect();
    let items: Vec<_> = ReadDemuxer::new(FailingReader::new(&data)).frames().collect();
    let (last, before) = items.split_last().unwrap();
    assert_eq!(before.iter().map(|f| f.clone().unwrap()).collect::<Vec<_>>(), frames);
    assert_reset(last.as_ref().unwrap_err());

    let closed = want.iter().filter(|e| matches!(e, Event::FragmentEnd(_))).count();
    let items: Vec<_> = ReadDemuxer::new(FailingReader::new(&data)).fragments().collect();
    let (last, before) = items.split_last().unwrap();
    assert_eq!(before.len(), closed);
    assert!(before.iter().all(|f| f.as_ref().is_ok_and(|f| f.meta.complete)));
    assert_reset(last.as_ref().unwrap_err());
}

/// A stream of known-size Clusters of blocks larger than a read: the sync adapter reads the
/// rest of each block into one buffer after its start (no watch for a new document applies).
fn large_blocks() -> Vec<u8> {
    use common::build::*;
    use kinesis_video_parser::mkv::ids;
    let clusters: Vec<Vec<u8>> = (0..3u8)
        .map(|c| {
            let blocks: Vec<Vec<u8>> = (0..4u8)
                .map(|b| simple_block(1, i16::from(b) * 40, 0x80, &vec![c * 16 + b; 2500 + 700 * usize::from(b)]))
                .collect();
            cluster(u64::from(c) * 1000, &blocks)
        })
        .collect();
    let body = [vec![info(1_000_000), tracks(&[track(1, 1, "V_TEST", &[])])], clusters].concat().concat();
    [ebml_header("matroska"), el(ids::SEGMENT, &body)].concat()
}

/// Every point of failure or of the end inside those blocks: what had fully arrived, then
/// the error at its offset, or the truncation the core reports for the prefix.
#[test]
fn reads_that_complete_a_block_keep_errors_and_ends() {
    let data = large_blocks();
    for at in (200..data.len()).step_by(331) {
        let want = events_before(&data, at);
        let got = ReadDemuxer::new(FailingReader { data: data[..at].to_vec(), pos: 0 }).with_read_size(1000);
        let got: Vec<_> = got.collect();
        let (last, before) = got.split_last().unwrap();
        assert_eq!(before.iter().map(|e| e.clone().unwrap()).collect::<Vec<_>>(), want, "failing at {at}");
        let e = last.as_ref().unwrap_err();
        assert_eq!((e.kind(), e.offset()), (ErrorKind::Io(io::ErrorKind::ConnectionReset), at as u64), "at {at}");
        assert_eq!(events_read(&data[..at], 1000), events(&data[..at]), "ending at {at}");
    }
}

#[test]
fn merge_and_clip_fail_with_the_readers_error() {
    let data = input();
    let mut out = Vec::new();
    let e = kinesis_video_parser::merge::merge(FailingReader::new(&data), &mut out, Default::default()).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    assert!(e.to_string().contains("peer went away"), "{e}");

    let opts = kinesis_video_parser::clip::ClipOptions::default();
    let e = kinesis_video_parser::clip::clip(FailingReader::new(&data), Vec::new(), opts).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    assert!(e.to_string().contains("peer went away"), "{e}");
}

#[cfg(feature = "tokio")]
mod asyncs {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures::StreamExt;
    use kinesis_video_parser::{AsyncDemuxer, KvsCodec};
    use tokio::io::{AsyncRead, ReadBuf};

    use super::*;

    impl AsyncRead for FailingReader {
        fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let mut tmp = vec![0; buf.remaining()];
            let n = self.read(&mut tmp)?;
            buf.put_slice(&tmp[..n]);
            Poll::Ready(Ok(()))
        }
    }

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn async_demuxer_events_then_the_error() {
        let data = input();
        let want = events_before(&data, FAIL_AT);
        let items: Vec<_> = block_on(AsyncDemuxer::new(FailingReader::new(&data)).collect());
        let (last, before) = items.split_last().unwrap();
        assert_eq!(before.iter().map(|e| e.clone().unwrap()).collect::<Vec<_>>(), want);
        assert_reset(last.as_ref().unwrap_err());

        let frames = want.iter().filter(|e| matches!(e, Event::Frame(_))).count();
        let items: Vec<_> = block_on(AsyncDemuxer::new(FailingReader::new(&data)).frames().collect());
        assert_eq!(items.len(), frames + 1);
        assert_reset(items.last().unwrap().as_ref().unwrap_err());
        let items: Vec<_> = block_on(AsyncDemuxer::new(FailingReader::new(&data)).fragments().collect());
        assert_reset(items.last().unwrap().as_ref().unwrap_err());
    }

    #[test]
    fn kvs_codec_passes_the_error_on() {
        let data = input();
        let framed = tokio_util::codec::FramedRead::new(FailingReader::new(&data), KvsCodec::new());
        let items: Vec<_> = block_on(framed.collect());
        let want = events_before(&data, FAIL_AT);
        let (last, before) = items.split_last().unwrap();
        assert_eq!(before.iter().map(|e| e.clone().unwrap()).collect::<Vec<_>>(), want);
        let e = last.as_ref().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io(io::ErrorKind::ConnectionReset));
        assert_eq!(e.message(), Some("peer went away"));
    }
}

/// The CLI: a read that fails (a directory as input) is exit 2 with the error, not a clean end.
#[test]
fn inspect_exits_2_on_a_read_error() {
    let dir = std::env::temp_dir();
    let out = std::process::Command::new(example_bin("inspect")).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("end:"), "an I/O error printed as an end: {stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).to_lowercase().contains("directory"));
}

#[cfg(feature = "decode")]
mod decode {
    use kinesis_video_parser::decode::{DecodeError, DecodeOptions, ImageExtractor};

    use super::*;

    /// The pts of the images decoded from the first `FAIL_AT` bytes, ended cleanly.
    fn images_before(data: &[u8]) -> Vec<i64> {
        let prefix = io::Cursor::new(data[..FAIL_AT].to_vec());
        ImageExtractor::new(prefix, DecodeOptions::default()).map(|i| i.unwrap().pts_ns).collect()
    }

    fn assert_input_reset(e: &DecodeError) {
        match e {
            DecodeError::Input(e) => assert_reset(e),
            other => panic!("expected the reader's error, got {other}"),
        }
    }

    #[test]
    fn image_extractor_images_then_the_error() {
        let data = input();
        let want = images_before(&data);
        assert!(want.len() >= 10, "{} images", want.len());
        let items: Vec<_> = ImageExtractor::new(FailingReader::new(&data), DecodeOptions::default()).collect();
        let (last, before) = items.split_last().unwrap();
        assert_eq!(before.iter().map(|i| i.as_ref().unwrap().pts_ns).collect::<Vec<_>>(), want);
        assert_input_reset(last.as_ref().unwrap_err());
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn decode_stream_images_then_the_error() {
        use futures::StreamExt;
        let data = input();
        let want = images_before(&data);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let items: Vec<_> = rt.block_on(async {
            kinesis_video_parser::decode::decode_stream(FailingReader::new(&data), DecodeOptions::default())
                .collect()
                .await
        });
        let (last, before) = items.split_last().expect("the error is not an end");
        assert_eq!(before.iter().map(|i| i.as_ref().unwrap().pts_ns).collect::<Vec<_>>(), want);
        assert_input_reset(last.as_ref().unwrap_err());
    }
}

/// `merge`: a read that fails is exit 2 with the error (never a merged file that looks whole).
#[test]
fn merge_cli_exits_2_on_a_read_error() {
    let out_file = std::env::temp_dir().join(format!("kvp-read-error-{}.mkv", std::process::id()));
    let out =
        std::process::Command::new(example_bin("merge")).arg(std::env::temp_dir()).arg(&out_file).output().unwrap();
    let _ = std::fs::remove_file(&out_file);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).to_lowercase().contains("directory"));
}

/// `extract_frames`: a read that fails ends with the error and exit 1, after the images before it.
#[cfg(feature = "decode")]
#[test]
fn extract_frames_cli_reports_a_read_error() {
    let outdir = std::env::temp_dir().join(format!("kvp-read-error-frames-{}", std::process::id()));
    let out = std::process::Command::new(example_bin("extract_frames"))
        .arg(std::env::temp_dir())
        .arg(&outdir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&outdir);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(stderr.contains("i/o error") && stderr.contains("directory"), "{stderr}");
}
