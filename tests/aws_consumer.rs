//! The live GetMedia consumer against a local HTTP server on 127.0.0.1 that plays
//! GetDataEndpoint and GetMedia from a real GetMedia capture (dummy credentials).
#![cfg(feature = "aws")]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use common::build::*;
use common::*;
use kinesis_video_parser::aws::{ConsumerError, GetMediaConsumer, StartSelector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers to one GetMedia call.
enum Reply {
    /// These bytes; with `cut`, a larger Content-Length is declared and the connection is
    /// closed after them (a dropped connection).
    Media { bytes: Vec<u8>, cut: bool },
    /// An HTTP error status.
    Status(u16),
}

/// The capture, as chunks with their fragment numbers.
struct Capture {
    chunks: Vec<Vec<u8>>,
    numbers: Vec<String>,
}

impl Capture {
    fn load() -> Option<Capture> {
        let data = shared_file("kvs-java", "output_get_media.mkv")?;
        let frags = fragments(&events(&data));
        let chunks = frags.iter().map(|f| data[f.meta.offset as usize..f.meta.end_offset as usize].to_vec()).collect();
        let numbers = frags.iter().map(|f| f.meta.kvs.fragment_number.as_ref().unwrap().to_string()).collect();
        Some(Capture { chunks, numbers })
    }

    /// The chunk index a GetMedia StartSelector asks for.
    fn start_index(&self, selector: &serde_json::Value) -> usize {
        let after = |n: &str| self.numbers.iter().position(|x| x == n).map_or(0, |i| i + 1);
        match selector["StartSelectorType"].as_str().unwrap() {
            "EARLIEST" => 0,
            "NOW" => self.chunks.len() - 1,
            "CONTINUATION_TOKEN" => after(selector["ContinuationToken"].as_str().unwrap()),
            "FRAGMENT_NUMBER" => after(selector["AfterFragmentNumber"].as_str().unwrap()),
            other => panic!("unexpected selector {other}"),
        }
    }

    fn from(&self, i: usize, to: usize) -> Vec<u8> {
        self.chunks[i.min(self.chunks.len())..to.min(self.chunks.len())].concat()
    }
}

/// (path, JSON body) of every request the server saw.
type Log = Arc<Mutex<Vec<(String, serde_json::Value)>>>;
type Script = Arc<dyn Fn(usize, &serde_json::Value) -> Reply + Send + Sync>;

async fn start_server(script: Script) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let (log2, url2) = (log.clone(), url.clone());
    tokio::spawn(async move {
        let media_calls = Arc::new(Mutex::new(0usize));
        loop {
            let Ok((sock, _)) = listener.accept().await else { return };
            let (script, log, url, calls) = (script.clone(), log2.clone(), url2.clone(), media_calls.clone());
            tokio::spawn(async move {
                let _ = serve(sock, script, log, url, calls).await;
            });
        }
    });
    (url, log)
}

/// One keep-alive connection: requests until the peer closes or a reply cuts it.
async fn serve(
    mut sock: TcpStream,
    script: Script,
    log: Log,
    url: String,
    calls: Arc<Mutex<usize>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    loop {
        // Headers.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let mut tmp = [0u8; 4096];
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let mut tmp = [0u8; 4096];
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
        }
        let body: serde_json::Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap_or_default();
        buf.drain(..head_end + len);
        log.lock().unwrap().push((path.clone(), body.clone()));
        if path.starts_with("/getDataEndpoint") {
            let json = format!("{{\"DataEndpoint\":\"{url}\"}}");
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                json.len()
            );
            sock.write_all(resp.as_bytes()).await?;
            continue;
        }
        let n = {
            let mut c = calls.lock().unwrap();
            *c += 1;
            *c
        };
        match script(n, &body["StartSelector"]) {
            Reply::Status(code) => {
                let json = r#"{"message":"scripted failure"}"#;
                let resp = format!(
                    "HTTP/1.1 {code} Error\r\nContent-Type: application/json\r\nx-amzn-ErrorType: ClientLimitExceededException\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                sock.write_all(resp.as_bytes()).await?;
            }
            Reply::Media { bytes, cut } => {
                let declared = if cut { bytes.len() + 100_000 } else { bytes.len() };
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: video/webm\r\nContent-Length: {declared}\r\n\r\n");
                sock.write_all(head.as_bytes()).await?;
                for piece in bytes.chunks(7777) {
                    sock.write_all(piece).await?;
                }
                if cut {
                    sock.shutdown().await?;
                    return Ok(());
                }
            }
        }
    }
}

async fn consumer(url: &str, start: StartSelector, max_failures: u32) -> GetMediaConsumer {
    let creds = aws_sdk_kinesisvideo::config::Credentials::new("AKIDTESTTESTTEST", "secret", None, None, "test");
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(creds)
        .load()
        .await;
    GetMediaConsumer::builder("test-stream")
        .endpoint_url(url)
        .start(start)
        .backoff(Duration::from_millis(5), Duration::from_millis(40))
        .max_failures(max_failures)
        .build(&sdk)
}

async fn take_numbers(c: &mut GetMediaConsumer, n: usize) -> Vec<Result<String, ConsumerError>> {
    let mut out = Vec::new();
    while out.iter().filter(|r: &&Result<String, ConsumerError>| r.is_ok()).count() < n {
        match tokio::time::timeout(Duration::from_secs(20), c.next_fragment()).await.expect("consumer stalled") {
            Some(Ok(f)) => {
                assert!(f.meta.complete && f.meta.is_kvs_complete());
                assert_eq!(f.frames.len(), 60);
                out.push(Ok(f.meta.kvs.fragment_number.unwrap().to_string()));
            }
            Some(Err(e)) => out.push(Err(e)),
            None => break,
        }
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn clean_run() {
    let Some(cap) = Capture::load() else { return };
    let cap = Arc::new(cap);
    let c2 = cap.clone();
    rt().block_on(async move {
        let (url, log) =
            start_server(Arc::new(move |_, sel| Reply::Media { bytes: c2.from(c2.start_index(sel), 5), cut: false }))
                .await;
        let mut c = consumer(&url, StartSelector::Earliest, 5).await;
        let got = take_numbers(&mut c, 5).await;
        let want: Vec<Result<String, ConsumerError>> = cap.numbers.iter().cloned().map(Ok).collect();
        assert_eq!(got, want);
        let log = log.lock().unwrap();
        assert_eq!(log[0].0, "/getDataEndpoint");
        assert_eq!(log[0].1["APIName"], "GET_MEDIA");
        assert_eq!(log[0].1["StreamName"], "test-stream");
        assert_eq!(log[1].1["StartSelector"]["StartSelectorType"], "EARLIEST");
    });
}

#[test]
fn connection_cut_mid_fragment_resumes_after_the_last_complete_one() {
    let Some(cap) = Capture::load() else { return };
    let cap = Arc::new(cap);
    let c2 = cap.clone();
    rt().block_on(async move {
        let script: Script = Arc::new(move |call, sel| {
            let i = c2.start_index(sel);
            if call == 1 {
                // Chunks 0 and 1, then half of chunk 2, then the connection drops.
                let mut b = c2.from(0, 2);
                b.extend_from_slice(&c2.chunks[2][..c2.chunks[2].len() / 2]);
                Reply::Media { bytes: b, cut: true }
            } else {
                Reply::Media { bytes: c2.from(i, 5), cut: false }
            }
        });
        let (url, log) = start_server(script).await;
        let mut c = consumer(&url, StartSelector::Earliest, 5).await;
        let got = take_numbers(&mut c, 5).await;
        assert_eq!(got, cap.numbers.iter().cloned().map(Ok).collect::<Vec<_>>(), "no loss, no duplicates");
        let log = log.lock().unwrap();
        let media: Vec<_> = log.iter().filter(|(p, _)| p.starts_with("/getMedia")).collect();
        assert_eq!(media[1].1["StartSelector"]["StartSelectorType"], "CONTINUATION_TOKEN");
        assert_eq!(media[1].1["StartSelector"]["ContinuationToken"], cap.numbers[1].as_str());
    });
}

#[test]
fn response_ending_cleanly_reconnects() {
    let Some(cap) = Capture::load() else { return };
    let cap = Arc::new(cap);
    let c2 = cap.clone();
    rt().block_on(async move {
        let script: Script = Arc::new(move |call, sel| {
            let i = c2.start_index(sel);
            let to = if call == 1 { 2 } else { 5 };
            Reply::Media { bytes: c2.from(i, to), cut: false }
        });
        let (url, log) = start_server(script).await;
        let mut c = consumer(&url, StartSelector::Earliest, 5).await;
        let got = take_numbers(&mut c, 5).await;
        assert_eq!(got, cap.numbers.iter().cloned().map(Ok).collect::<Vec<_>>());
        assert_eq!(log.lock().unwrap().iter().filter(|(p, _)| p.starts_with("/getMedia")).count(), 2);
        assert_eq!(c.resume_point(), StartSelector::ContinuationToken(cap.numbers[4].clone()));
    });
}

#[test]
fn in_band_error_chunk_is_a_typed_error() {
    let Some(cap) = Capture::load() else { return };
    let cap = Arc::new(cap);
    let c2 = cap.clone();
    let error_chunk = [
        ebml_header("matroska"),
        unknown(
            kinesis_video_parser::mkv::ids::SEGMENT,
            8,
            &tags(&[
                ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &cap.numbers[1]),
                ("AWS_KINESISVIDEO_ERROR_CODE", "FRAGMENT_NOT_FOUND"),
                ("AWS_KINESISVIDEO_ERROR_ID", "4000"),
            ]),
        ),
    ]
    .concat();
    rt().block_on(async move {
        let script: Script = Arc::new(move |call, sel| {
            let i = c2.start_index(sel);
            if call == 1 {
                Reply::Media { bytes: [c2.from(0, 1), error_chunk.clone()].concat(), cut: false }
            } else {
                Reply::Media { bytes: c2.from(i, 5), cut: false }
            }
        });
        let (url, _log) = start_server(script).await;
        let mut c = consumer(&url, StartSelector::Earliest, 5).await;
        let got = take_numbers(&mut c, 5).await;
        assert_eq!(got.len(), 6);
        assert_eq!(got[0], Ok(cap.numbers[0].clone()));
        assert_eq!(
            got[1],
            Err(ConsumerError::InBand {
                code: Some("FRAGMENT_NOT_FOUND".into()),
                id: Some("4000".into()),
                message: None,
                fragment_number: Some(cap.numbers[1].parse().unwrap())
            })
        );
        assert_eq!(got[2..], cap.numbers[1..].iter().cloned().map(Ok).collect::<Vec<_>>()[..]);
    });
}

#[test]
fn a_server_that_keeps_failing_ends_in_a_clear_error_after_backoff() {
    rt().block_on(async {
        let (url, log) = start_server(Arc::new(|_, _| Reply::Status(500))).await;
        let mut c = consumer(&url, StartSelector::Now, 4).await;
        let t = Instant::now();
        let first = tokio::time::timeout(Duration::from_secs(30), c.next_fragment()).await.unwrap();
        let elapsed = t.elapsed();
        match first {
            Some(Err(ConsumerError::GaveUp { attempts, last })) => {
                assert_eq!(attempts, 4);
                assert!(last.contains("GetMedia"), "{last}");
            }
            other => panic!("expected GaveUp, got {other:?}"),
        }
        assert!(c.next_fragment().await.is_none());
        // Backoff between the 4 attempts: 5 + 10 + 20 ms at least.
        assert!(elapsed >= Duration::from_millis(35), "{elapsed:?}");
        let media = log.lock().unwrap().iter().filter(|(p, _)| p.starts_with("/getMedia")).count();
        assert_eq!(media, 4, "one call per attempt: the SDK's own retries are off");
    });
}

#[test]
fn get_media_example_prints_fragment_and_frame_lines() {
    let Some(cap) = Capture::load() else { return };
    let cap = Arc::new(cap);
    let c2 = cap.clone();
    let bin = example_bin("get_media");
    rt().block_on(async move {
        let (url, _log) =
            start_server(Arc::new(move |_, sel| Reply::Media { bytes: c2.from(c2.start_index(sel), 5), cut: false }))
                .await;
        let out = tokio::process::Command::new(bin)
            .args(["--stream", "test-stream", "--region", "us-east-1", "--endpoint-url", &url])
            .args(["--start", "earliest", "--max-fragments", "5", "--frames", "--json"])
            .env("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let frags: Vec<_> = lines.iter().filter(|l| l["type"] == "fragment").collect();
        assert_eq!(frags.len(), 5);
        for (i, f) in frags.iter().enumerate() {
            assert_eq!(f["index"], i);
            assert_eq!(f["fragment_number"], cap.numbers[i].as_str());
            assert_eq!(f["frames"], 60);
            assert_eq!(f["complete"], true);
        }
        assert_eq!(lines.iter().filter(|l| l["type"] == "frame").count(), 300);
        assert_eq!(frags[2]["server_timestamp_ms"], 1_511_852_112_487u64);
        // Usage errors exit 2.
        let st = tokio::process::Command::new(example_bin("get_media")).arg("--frames").output().await.unwrap();
        assert_eq!(st.status.code(), Some(2));
    });
}
