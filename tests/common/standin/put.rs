//! The stand-in's PutMedia: reads the chunked upload as it arrives, cuts it into fragments
//! with the crate's demuxer (a fragment is whole when the next Cluster starts or the body
//! ends), acknowledges each (RECEIVED, PERSISTED with a fragment number) and stores it, so
//! that GetMedia serves it back. Faults: an error status, an ERROR acknowledgement, a drop
//! after some acknowledgements, slow acknowledgements.

use super::*;

use kinesis_video_parser::{Demuxer, Event, Fragment, Status};

/// One PutMedia call as the stand-in saw it.
#[derive(Debug, Clone, Default)]
pub struct PutCall {
    pub stream: String,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Whether the body began with an EBML header.
    pub fresh_header: bool,
    /// Cluster timecodes of the fragments received whole, in order.
    pub received: Vec<u64>,
    /// Those acknowledged PERSISTED (and stored).
    pub persisted: Vec<u64>,
}

impl PutCall {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

impl StandIn {
    pub(super) async fn put_media(
        &self,
        mut sock: TcpStream,
        mut buf: Vec<u8>,
        head: &str,
        plan: Plan,
    ) -> std::io::Result<()> {
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned())))
            .collect();
        let mut call = PutCall { headers, ..PutCall::default() };
        call.stream = call.header("x-amzn-stream-name").unwrap_or_default().to_owned();
        let stream = call.stream.clone();
        let Some(stored) = self.streams.lock().unwrap().get(&stream).map(|f| f.len()) else {
            return error(&mut sock, 404, "ResourceNotFoundException").await;
        };
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let c = calls.entry(("PutMedia", stream.clone())).or_default();
            *c += 1;
            *c
        };
        self.log.lock().unwrap().push(("/putMedia".into(), serde_json::json!({ "StreamName": stream })));
        let faults = plan(&Call { api: "PutMedia", stream: stream.clone(), n, start: stored });
        if let Some(Fault::Status(code, kind)) = faults.iter().find(|f| matches!(f, Fault::Status(..))) {
            return error(&mut sock, *code, kind).await;
        }
        let relative = call.header("x-amzn-fragment-timecode-type") == Some("RELATIVE");
        let start_ms = call
            .header("x-amzn-producer-start-timestamp")
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0, |s| (s * 1000.0).round() as u64);
        let slow = faults.iter().find_map(|f| if let Fault::SlowAcks(d) = f { Some(*d) } else { None });
        let at = self.puts.lock().unwrap().len();
        self.puts.lock().unwrap().push(call);
        let note = |f: &dyn Fn(&mut PutCall)| f(&mut self.puts.lock().unwrap()[at]);

        // One upload per connection: it is closed after the response.
        sock.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await?;
        let mut demux = Demuxer::new();
        let mut open: Vec<kinesis_video_parser::Frame> = Vec::new();
        let mut whole = 0usize; // fragments received whole on this call
        let mut stored_here = 0usize;
        let mut first = true;
        loop {
            let (data, ended) = dechunk(&mut buf);
            if !data.is_empty() {
                if first {
                    let fresh = data.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]);
                    note(&|c| c.fresh_header = fresh);
                    first = false;
                }
                demux.push(bytes::Bytes::from(data));
            }
            if ended {
                demux.finish();
            }
            loop {
                let ev = match demux.poll() {
                    Ok(Status::Ready(ev)) => ev,
                    Ok(_) => break,
                    Err(e) => panic!("stand-in PutMedia: the upload does not parse: {e}"),
                };
                let meta = match ev {
                    Event::Frame(f) => {
                        open.push(f);
                        continue;
                    }
                    Event::FragmentEnd(meta) => meta,
                    _ => continue,
                };
                let tc = meta.cluster_timestamp.unwrap_or(0);
                let mut fragment = Fragment { meta: *meta, frames: std::mem::take(&mut open), damage: Vec::new() };
                note(&|c| c.received.push(tc));
                if let Some(d) = slow {
                    tokio::time::sleep(d).await;
                }
                if faults.iter().any(|f| matches!(f, Fault::Cut { fragment, .. } if *fragment == whole)) {
                    return hang_up(sock).await;
                }
                let error_id = faults.iter().find_map(|f| match f {
                    Fault::AckError { fragment, id } if *fragment == whole => Some(*id),
                    _ => None,
                });
                if let Some(id) = error_id {
                    ack(&mut sock, &format!(r#"{{"EventType":"ERROR","FragmentTimecode":{tc},"ErrorId":{id}}}"#))
                        .await?;
                    sock.write_all(b"0\r\n\r\n").await?;
                    return hang_up(sock).await;
                }
                whole += 1;
                ack(&mut sock, &format!(r#"{{"EventType":"RECEIVED","FragmentTimecode":{tc}}}"#)).await?;
                if relative {
                    // Served with absolute times, as the service does.
                    fragment.meta.cluster_timestamp = Some(tc + start_ms);
                    for f in &mut fragment.frames {
                        f.info.pts_ns += start_ms as i64 * 1_000_000;
                    }
                }
                stored_here += 1;
                let number = format!("9134385233318143239268206{:017}", stored + stored_here);
                if self.store_uploads.load(std::sync::atomic::Ordering::Relaxed) {
                    let mut streams = self.streams.lock().unwrap();
                    Arc::make_mut(streams.get_mut(&stream).unwrap()).push(served_from(&fragment, &number, 0));
                }
                note(&|c| c.persisted.push(tc));
                let line =
                    format!(r#"{{"EventType":"PERSISTED","FragmentTimecode":{tc},"FragmentNumber":"{number}"}}"#);
                ack(&mut sock, &line).await?;
            }
            if ended {
                sock.write_all(b"0\r\n\r\n").await?;
                return Ok(());
            }
            if read_some(&mut sock, &mut buf).await? == 0 {
                return Ok(());
            }
        }
    }
}

/// The data of the whole chunks at the front of `buf` (taken out of it), and whether the
/// last chunk was among them.
fn dechunk(buf: &mut Vec<u8>) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    let mut at = 0;
    while let Some(eol) = buf[at..].windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&buf[at..at + eol]).to_string();
        let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).expect("a chunk size");
        let body = at + eol + 2;
        if size == 0 {
            // The last chunk; no trailers are sent.
            if buf.len() < body + 2 {
                break;
            }
            buf.drain(..body + 2);
            return (data, true);
        }
        if buf.len() < body + size + 2 {
            break;
        }
        data.extend_from_slice(&buf[body..body + size]);
        at = body + size + 2;
    }
    buf.drain(..at);
    (data, false)
}

/// Closes the connection without losing what was written: the write side first, then the
/// client's bytes are read and dropped until it lets go (closing with unread bytes would
/// reset the connection, and the client would lose the acknowledgements not yet read).
async fn hang_up(mut sock: TcpStream) -> std::io::Result<()> {
    sock.shutdown().await?;
    let mut sink = [0u8; 16 * 1024];
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
    Ok(())
}

/// One acknowledgement line, as its own chunk.
async fn ack(sock: &mut TcpStream, line: &str) -> std::io::Result<()> {
    chunk(sock, format!("{line}\n").as_bytes()).await
}
