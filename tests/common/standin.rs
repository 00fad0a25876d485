//! A local stand-in of Kinesis Video Streams on 127.0.0.1, for the whole suite: it speaks the
//! AWS JSON protocol the official SDK clients send (errors named by `x-amzn-ErrorType`) and
//! serves GetDataEndpoint, GetMedia (every start selector), ListFragments (pages short and in
//! no order, a repeat) and GetMediaForFragmentList (fragments without trailing tags; a
//! fragment marked gone answers `ResourceNotFoundException`) from streams of KVS-shaped
//! fragments, under a fault plan: a cut (anywhere, e.g. inside a Cluster or the trailing
//! tags), a stall, a quiet pause between fragments, an error status, throttling, a response
//! that ends early.
//!
//! Media bodies are sent with chunked transfer encoding, one write per frame (so a frame's
//! last byte leaves when it is written), and the time of each frame's last write is recorded
//! for latency measurements.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kinesis_video_parser::mkv::ids;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::build::*;

pub mod put;

/// One fragment as GetMedia serves it.
#[derive(Debug, Clone)]
pub struct ServedFragment {
    /// The whole chunk: EBML header, Segment, tags, Cluster, trailing tags.
    pub bytes: Vec<u8>,
    pub number: String,
    pub producer_ms: u64,
    pub server_ms: u64,
    /// End of each frame's payload in `bytes`.
    pub frame_ends: Vec<usize>,
    /// Each frame's pts in ns (ground truth for the consumer's output).
    pub pts_ns: Vec<i64>,
    /// Where the trailing Tags element starts.
    pub trailing_tags: usize,
}

impl ServedFragment {
    /// Parses a chunk (for captures): frame ends and numbers from the crate itself.
    pub fn from_chunk(bytes: Vec<u8>) -> ServedFragment {
        let mut d = kinesis_video_parser::Demuxer::new();
        d.push(bytes.clone());
        d.finish();
        let evs: Vec<_> = std::iter::from_fn(|| match d.poll() {
            Ok(kinesis_video_parser::Status::Ready(ev)) => Some(Ok(ev)),
            _ => None,
        })
        .collect();
        let frag = &super::fragments(&evs)[0];
        let frames = super::frames(&evs);
        let k = &frag.meta.kvs;
        ServedFragment {
            number: k.fragment_number.as_ref().unwrap().to_string(),
            producer_ms: k.producer_timestamp.as_ref().map_or(0, |t| t.millis()),
            server_ms: k.server_timestamp.as_ref().map_or(0, |t| t.millis()),
            frame_ends: frames.iter().map(|f| f.info.offset as usize + f.len()).collect(),
            pts_ns: frames.iter().map(|f| f.info.pts_ns).collect(),
            trailing_tags: find_last(&bytes, &[0x12, 0x54, 0xC3, 0x67]).unwrap(),
            bytes,
        }
    }

    /// A byte offset inside the fragment.
    pub fn at(&self, at: At) -> usize {
        match at {
            At::MidCluster => self.frame_ends[self.frame_ends.len() / 2] - 1,
            At::MidTrailingTags => self.trailing_tags + (self.bytes.len() - self.trailing_tags) / 2,
            At::Byte(n) => n.min(self.bytes.len()),
        }
    }
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// `n` synthetic fragments of `frames` 1-track H.264-shaped frames each, `frame_ms` apart,
/// in 2 s… whatever `frames × frame_ms` makes. Fragment numbers start at `first_number` and
/// step by 7919, so that a long stream crosses a change in their count of digits when
/// `first_number` is just below a power of ten. Payloads name their fragment and position.
pub fn synthetic(n: usize, frames: usize, frame_ms: u64, first_number: u128) -> Vec<ServedFragment> {
    synthetic_sized(n, frames, frame_ms, first_number, 0)
}

/// [`synthetic`] with payloads of at least `min_payload` bytes (the naming text repeated).
pub fn synthetic_sized(
    n: usize,
    frames: usize,
    frame_ms: u64,
    first_number: u128,
    min_payload: usize,
) -> Vec<ServedFragment> {
    let start_ms = 1_700_000_000_000u64;
    (0..n)
        .map(|i| {
            let number = (first_number + 7919 * i as u128).to_string();
            let producer_ms = start_ms + i as u64 * frames as u64 * frame_ms;
            let blocks: Vec<Vec<u8>> = (0..frames)
                .map(|j| {
                    let text = format!("frame {j} of fragment {number} ");
                    let payload = text.repeat((1 + j % 5).max(min_payload.div_ceil(text.len())));
                    simple_block(1, (j as u64 * frame_ms) as i16, if j == 0 { 0x80 } else { 0 }, payload.as_bytes())
                })
                .collect();
            let head = [
                info(1_000_000),
                tracks(&[track(
                    1,
                    1,
                    "V_MPEG4/ISO/AVC",
                    &el(ids::VIDEO, &[uint(ids::PIXEL_WIDTH, 64), uint(ids::PIXEL_HEIGHT, 48)].concat()),
                )]),
            ]
            .concat();
            kvs_fragment(&head, &number, producer_ms, &cluster(producer_ms, &blocks), 1000 + i)
        })
        .collect()
}

/// One GetMedia chunk: EBML header, Segment with `head` (Info and Tracks), the fragment's
/// tags (producer timestamp `producer_ms`, the server's 150 ms later), `cluster`, the
/// trailing tags.
pub fn kvs_fragment(head: &[u8], number: &str, producer_ms: u64, cluster: &[u8], behind_ms: usize) -> ServedFragment {
    let secs = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let server_ms = producer_ms + 150;
    let tags_before = tags(&[
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number),
        ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", &secs(server_ms)),
        ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", &secs(producer_ms)),
    ]);
    let trailer = tags(&[
        ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", &behind_ms.to_string()),
        ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", number),
    ]);
    let body = [head, &tags_before, cluster, &trailer].concat();
    ServedFragment::from_chunk([ebml_header("matroska"), unknown(ids::SEGMENT, 8, &body)].concat())
}

/// A real Matroska file served as a stream: each of its fragments (Clusters) a GetMedia
/// chunk with the file's Info and Tracks, its frames written back by the crate's muxer,
/// numbered from `first_number` in steps of 7919.
pub fn from_source(data: &[u8], first_number: u128) -> Vec<ServedFragment> {
    let evs = super::events(data);
    super::fragments(&evs)
        .iter()
        .enumerate()
        .map(|(i, f)| served_from(f, &(first_number + 7919 * i as u128).to_string(), 1000 + i))
        .collect()
}

/// A demuxed fragment as a GetMedia chunk: its Info and Tracks, its frames written back by
/// the crate's muxer, the KVS tags of `number`.
pub fn served_from(f: &kinesis_video_parser::Fragment, number: &str, behind_ms: usize) -> ServedFragment {
    use kinesis_video_parser::{mux, Fragment, FragmentMeta};
    let mut head = Vec::new();
    mux::info(&mut head, &f.meta.info);
    mux::tracks(&mut head, &f.meta.tracks);
    let mut header = Vec::new();
    mux::ebml_header(&mut header, "matroska");
    mux::segment_start(&mut header);
    header.extend_from_slice(&head);
    // The fragment without its tags, written back: the header above, then its Cluster.
    let bare = Fragment {
        meta: FragmentMeta { tags: Vec::new(), ..f.meta.clone() },
        frames: f.frames.clone(),
        damage: Vec::new(),
    };
    let mut doc = mux::Remuxer::new(Vec::new());
    doc.write_fragment(&bare, "matroska").unwrap();
    let doc = doc.into_inner();
    assert!(doc.starts_with(&header));
    let ms = f.meta.cluster_timestamp.unwrap() * f.meta.info.timestamp_scale / 1_000_000;
    kvs_fragment(&head, number, ms, &doc[header.len()..], behind_ms)
}

/// Where in a fragment a fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Inside a frame in the middle of the Cluster.
    MidCluster,
    /// Halfway through the trailing tags (every frame sent, the fragment not complete).
    MidTrailingTags,
    Byte(usize),
}

/// What goes wrong during one GetMedia call.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The call fails with this status and `x-amzn-ErrorType`.
    Status(u16, &'static str),
    /// The connection is closed at this place of fragment `fragment` (an index in the
    /// stream), without ending the body. PutMedia: the connection is closed once `fragment`
    /// fragments of the call were acknowledged (the next one received, not acknowledged).
    Cut { fragment: usize, at: At },
    /// Nothing is sent for this long at this place, then sending goes on (if the client is
    /// still there).
    Stall { fragment: usize, at: At, pause: Duration },
    /// Nothing is sent for this long before fragment `fragment` (a quiet producer).
    Quiet { fragment: usize, pause: Duration },
    /// The body ends cleanly before fragment `fragment`.
    EndBefore { fragment: usize },
    /// PutMedia: the `fragment`th fragment of the call (from 0) is answered with an ERROR
    /// acknowledgement of this id instead of PERSISTED, and the connection closed.
    AckError { fragment: usize, id: u32 },
    /// PutMedia: every acknowledgement is sent this long after its fragment was received.
    SlowAcks(Duration),
}

impl Fault {
    pub fn throttle() -> Fault {
        Fault::Status(400, "ClientLimitExceededException")
    }
}

/// One media or listing call, as the fault plan sees it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `GetMedia`, `ListFragments`, `GetMediaForFragmentList` or `PutMedia`.
    pub api: &'static str,
    pub stream: String,
    /// 1 for the stream's first call of this API.
    pub n: usize,
    /// The first fragment it serves.
    pub start: usize,
}

pub type Plan = Arc<dyn Fn(&Call) -> Vec<Fault> + Send + Sync>;

/// (stream, fragment number, position): a frame, across connections.
pub type FrameKey = (String, String, usize);

/// The stand-in: its URL (for `--endpoint-url`), what it was asked, when it sent what.
#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    /// The streams and their fragments; PutMedia appends to them.
    streams: Arc<Mutex<HashMap<String, Arc<Vec<ServedFragment>>>>>,
    /// What each PutMedia call received and acknowledged.
    pub puts: Arc<Mutex<Vec<put::PutCall>>>,
    /// Whether PutMedia keeps what it persists (for GetMedia); off, it only acknowledges
    /// (benchmarks).
    pub store_uploads: Arc<std::sync::atomic::AtomicBool>,
    /// (path, JSON body) of every request.
    pub log: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    calls: Arc<Mutex<HashMap<(&'static str, String), usize>>>,
    /// Fragment numbers listed but no longer to be had (retention expired).
    pub gone: Arc<Mutex<HashSet<String>>>,
    /// (stream, fragment number, position) → when the frame's last byte was last written.
    pub sent: Arc<Mutex<HashMap<FrameKey, Instant>>>,
    /// Frames between sleeps of `pace` (a producer's pace); `None`: as fast as possible.
    pace: Option<Duration>,
}

impl StandIn {
    pub async fn start(streams: HashMap<String, Vec<ServedFragment>>, plan: Plan) -> StandIn {
        Self::start_paced(streams, plan, None).await
    }

    /// With `pace`, a frame is written every `pace` (live producer speed).
    pub async fn start_paced(
        streams: HashMap<String, Vec<ServedFragment>>,
        plan: Plan,
        pace: Option<Duration>,
    ) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = StandIn {
            url: format!("http://{}", listener.local_addr().unwrap()),
            streams: Arc::new(Mutex::new(streams.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())),
            puts: Arc::default(),
            store_uploads: Arc::new(true.into()),
            log: Arc::default(),
            calls: Arc::default(),
            gone: Arc::default(),
            sent: Arc::default(),
            pace,
        };
        let s2 = s.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                let _ = sock.set_nodelay(true);
                let (s, plan) = (s2.clone(), plan.clone());
                tokio::spawn(async move {
                    let _ = s.serve(sock, plan).await;
                });
            }
        });
        s
    }

    /// GetMedia calls made so far for `stream`, with their start selectors.
    pub fn media_calls(&self, stream: &str) -> Vec<serde_json::Value> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|(p, b)| p.starts_with("/getMedia") && b["StreamName"] == stream)
            .map(|(_, b)| b["StartSelector"].clone())
            .collect()
    }

    /// The first fragment a start selector asks for.
    fn start_index(frags: &[ServedFragment], sel: &serde_json::Value) -> usize {
        let after = |n: &str| frags.iter().position(|f| f.number == n).map_or(frags.len(), |i| i + 1);
        let ms = |v: &serde_json::Value| (v.as_f64().unwrap() * 1000.0).round() as u64;
        match sel["StartSelectorType"].as_str().unwrap() {
            "EARLIEST" => 0,
            "NOW" => frags.len().saturating_sub(1),
            "CONTINUATION_TOKEN" => after(sel["ContinuationToken"].as_str().unwrap()),
            "FRAGMENT_NUMBER" => after(sel["AfterFragmentNumber"].as_str().unwrap()),
            "PRODUCER_TIMESTAMP" => {
                let t = ms(&sel["StartTimestamp"]);
                frags.iter().rposition(|f| f.producer_ms <= t).unwrap_or(0)
            }
            "SERVER_TIMESTAMP" => {
                let t = ms(&sel["StartTimestamp"]);
                frags.iter().rposition(|f| f.server_ms <= t).unwrap_or(0)
            }
            other => panic!("unexpected selector {other}"),
        }
    }

    /// One keep-alive connection: requests until the peer closes or a reply cuts it.
    async fn serve(&self, mut sock: TcpStream, plan: Plan) -> std::io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let head_end = loop {
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
                if read_some(&mut sock, &mut buf).await? == 0 {
                    return Ok(());
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            if path.starts_with("/putMedia") {
                // One long request: the rest of the connection is its body.
                buf.drain(..head_end);
                return self.put_media(sock, buf, &head, plan).await;
            }
            let len: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            while buf.len() < head_end + len {
                if read_some(&mut sock, &mut buf).await? == 0 {
                    return Ok(());
                }
            }
            let body: serde_json::Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or_default();
            buf.drain(..head_end + len);
            self.log.lock().unwrap().push((path.clone(), body.clone()));
            let stream = body["StreamName"].as_str().unwrap_or("").to_owned();
            let Some(frags) = self.streams.lock().unwrap().get(&stream).cloned() else {
                error(&mut sock, 404, "ResourceNotFoundException").await?;
                continue;
            };
            if path.starts_with("/getDataEndpoint") {
                let json = format!("{{\"DataEndpoint\":\"{}\"}}", self.url);
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                sock.write_all(resp.as_bytes()).await?;
                continue;
            }
            let api = match path.as_str() {
                p if p.starts_with("/getMediaForFragmentList") => "GetMediaForFragmentList",
                p if p.starts_with("/getMedia") => "GetMedia",
                p if p.starts_with("/listFragments") => "ListFragments",
                _ => {
                    error(&mut sock, 400, "InvalidArgumentException").await?;
                    continue;
                }
            };
            let n = {
                let mut calls = self.calls.lock().unwrap();
                let c = calls.entry((api, stream.clone())).or_default();
                *c += 1;
                *c
            };
            let start = if api == "GetMedia" { Self::start_index(&frags, &body["StartSelector"]) } else { 0 };
            let faults = plan(&Call { api, stream: stream.clone(), n, start });
            if let Some(Fault::Status(code, kind)) = faults.iter().find(|f| matches!(f, Fault::Status(..))) {
                error(&mut sock, *code, kind).await?;
                continue;
            }
            if api == "ListFragments" {
                let json = list_page(&frags, &body).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                sock.write_all(resp.as_bytes()).await?;
                continue;
            }
            let (indexes, strip): (Vec<usize>, bool) = if api == "GetMedia" {
                ((start..frags.len()).collect(), false)
            } else {
                let asked: Vec<&str> =
                    body["Fragments"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
                let gone = self.gone.lock().unwrap().clone();
                let found: Option<Vec<usize>> = asked
                    .iter()
                    .map(|n| frags.iter().position(|f| f.number == *n).filter(|_| !gone.contains(*n)))
                    .collect();
                match found {
                    Some(found) => (found, true),
                    None => {
                        error(&mut sock, 404, "ResourceNotFoundException").await?;
                        continue;
                    }
                }
            };
            let head = "HTTP/1.1 200 OK\r\nContent-Type: video/webm\r\nTransfer-Encoding: chunked\r\n\r\n";
            sock.write_all(head.as_bytes()).await?;
            if !self.send_fragments(&mut sock, &stream, &frags, &indexes, strip, &faults).await? {
                return Ok(()); // cut
            }
            sock.write_all(b"0\r\n\r\n").await?;
        }
    }

    /// Sends the fragments at `indexes` under `faults`, without their trailing tags when
    /// `strip` (as GetMediaForFragmentList does); `false` when the connection was cut.
    async fn send_fragments(
        &self,
        sock: &mut TcpStream,
        stream: &str,
        frags: &[ServedFragment],
        indexes: &[usize],
        strip: bool,
        faults: &[Fault],
    ) -> std::io::Result<bool> {
        for &i in indexes {
            let f = &frags[i];
            let len = if strip { f.trailing_tags } else { f.bytes.len() };
            for fault in faults {
                match fault {
                    Fault::EndBefore { fragment } if *fragment == i => return Ok(true),
                    Fault::Quiet { fragment, pause } if *fragment == i => tokio::time::sleep(*pause).await,
                    _ => {}
                }
            }
            // Write boundaries: every frame end, and where faults strike.
            let mut marks: Vec<(usize, Option<&Fault>)> = f.frame_ends.iter().map(|&e| (e, None)).collect();
            for fault in faults {
                match fault {
                    Fault::Cut { fragment, at } | Fault::Stall { fragment, at, .. } if *fragment == i => {
                        marks.push((f.at(*at).min(len), Some(fault)))
                    }
                    _ => {}
                }
            }
            marks.push((len, None));
            marks.sort_by_key(|m| m.0);
            let mut from = 0;
            for (to, fault) in marks {
                if to > from {
                    // Noted just before the write, so that the consumer, which reads it once
                    // the frame came out, never finds it later than its own clock.
                    let frame_end = f.frame_ends.iter().position(|&e| e == to);
                    if let Some(pos) = frame_end {
                        self.sent.lock().unwrap().insert((stream.to_owned(), f.number.clone(), pos), Instant::now());
                    }
                    chunk(sock, &f.bytes[from..to]).await?;
                    if let (Some(pace), Some(_)) = (self.pace, frame_end) {
                        tokio::time::sleep(pace).await;
                    }
                    from = to;
                }
                match fault {
                    Some(Fault::Cut { .. }) => {
                        sock.shutdown().await?;
                        return Ok(false);
                    }
                    Some(Fault::Stall { pause, .. }) => tokio::time::sleep(*pause).await,
                    _ => {}
                }
            }
        }
        Ok(true)
    }
}

/// One ListFragments page: the fragments of the selector's range (inclusive), in an order
/// that is not time order, the first one listed twice, at most 7 a page whatever was asked.
fn list_page(frags: &[ServedFragment], body: &Value) -> Value {
    // The token carries the query: "offset kind from_ms to_ms".
    let (offset, kind, from, to) = match body["NextToken"].as_str() {
        Some(t) => {
            let p: Vec<&str> = t.split(' ').collect();
            (p[0].parse().unwrap(), p[1].to_owned(), p[2].parse().unwrap(), p[3].parse().unwrap())
        }
        None => {
            let sel = &body["FragmentSelector"];
            let ms = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() as u64;
            let range = &sel["TimestampRange"];
            let kind = sel["FragmentSelectorType"].as_str().unwrap().to_owned();
            (0usize, kind, ms(&range["StartTimestamp"]), ms(&range["EndTimestamp"]))
        }
    };
    let at = |f: &ServedFragment| if kind == "SERVER_TIMESTAMP" { f.server_ms } else { f.producer_ms };
    let mut hits: Vec<&ServedFragment> = frags.iter().filter(|f| (from..=to).contains(&at(f))).collect();
    // No order: by a hash of the number.
    hits.sort_by_key(|f| {
        f.number.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    });
    if let Some(first) = hits.first().copied() {
        hits.push(first);
    }
    let max = body["MaxResults"].as_u64().unwrap_or(1000) as usize;
    let page = max.min(7);
    let end = (offset + page).min(hits.len());
    let secs = |ms: u64| serde_json::Number::from_f64(ms as f64 / 1000.0).unwrap();
    let items: Vec<Value> = hits[offset.min(end)..end]
        .iter()
        .map(|f| {
            serde_json::json!({
                "FragmentNumber": f.number,
                "FragmentSizeInBytes": f.trailing_tags,
                "ProducerTimestamp": secs(f.producer_ms),
                "ServerTimestamp": secs(f.server_ms),
                "FragmentLengthInMilliseconds": f.pts_ns.len() as u64 * 40,
            })
        })
        .collect();
    let mut out = serde_json::json!({ "Fragments": items });
    if end < hits.len() {
        out["NextToken"] = Value::String(format!("{end} {kind} {from} {to}"));
    }
    out
}

async fn read_some(sock: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut tmp = vec![0u8; 64 * 1024];
    let n = sock.read(&mut tmp).await?;
    buf.extend_from_slice(&tmp[..n]);
    Ok(n)
}

async fn chunk(sock: &mut TcpStream, data: &[u8]) -> std::io::Result<()> {
    let mut v = format!("{:x}\r\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\r\n");
    sock.write_all(&v).await
}

async fn error(sock: &mut TcpStream, code: u16, kind: &str) -> std::io::Result<()> {
    let json = format!(r#"{{"message":"stand-in fault: {kind}"}}"#);
    let resp = format!(
        "HTTP/1.1 {code} Error\r\nContent-Type: application/json\r\nx-amzn-ErrorType: {kind}\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    sock.write_all(resp.as_bytes()).await
}

/// SDK settings for the stand-in: a region and dummy credentials (nothing leaves the host).
pub async fn sdk_config() -> aws_types::SdkConfig {
    let creds = aws_sdk_kinesisvideo::config::Credentials::new("AKIDTESTTESTTEST", "secret", None, None, "test");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await
}

/// The environment a CLI child needs to reach the stand-in with dummy credentials.
pub fn cli_env() -> [(&'static str, &'static str); 5] {
    [
        ("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

/// One stream's lines checked against what was served: every frame line carries its stream,
/// fragment number and position, in order; a fragment line follows the last frame of its
/// fragment. Returns the fragment numbers of its fragment lines.
pub fn check_cli_lines(lines: &[Value], stream: &str, served: &[ServedFragment]) -> Vec<String> {
    let by_number: HashMap<&str, &ServedFragment> = served.iter().map(|f| (f.number.as_str(), f)).collect();
    let mut numbers = Vec::new();
    let mut frames_of_open: Vec<(String, u64)> = Vec::new();
    for l in lines.iter().filter(|l| l["stream"] == stream) {
        match l["type"].as_str().unwrap() {
            "frame" => {
                let n = l["fragment_number"].as_str().unwrap();
                let f = by_number[n];
                let pos = l["position"].as_u64().unwrap();
                assert_eq!(l["pts_ns"].as_i64().unwrap(), f.pts_ns[pos as usize], "{l}");
                assert_eq!(l["fragment"].as_u64().unwrap(), numbers.len() as u64, "{l}");
                frames_of_open.push((n.to_owned(), pos));
            }
            "fragment" => {
                let n = l["fragment_number"].as_str().unwrap().to_owned();
                let f = by_number[n.as_str()];
                let want: Vec<(String, u64)> = (0..f.pts_ns.len() as u64).map(|p| (n.clone(), p)).collect();
                assert_eq!(frames_of_open, want, "{stream}: the frames of {n}, each once, before its line");
                assert_eq!(l["complete"], true);
                assert_eq!(l["index"].as_u64().unwrap(), numbers.len() as u64);
                assert_eq!(l["frames"].as_u64().unwrap(), f.pts_ns.len() as u64);
                frames_of_open.clear();
                numbers.push(n);
            }
            other => panic!("unexpected line type {other}"),
        }
    }
    numbers
}
