//! One PutMedia connection: a SigV4-signed `POST /putMedia` whose chunked body is fed piece
//! by piece, and whose response is read as acknowledgement lines as they come.

use std::convert::Infallible;
use std::pin::Pin;
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::buf::Chain;
use bytes::{Buf, Bytes};
use futures_core::Stream;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use tokio::sync::mpsc;

use super::held::Chunk;
use crate::producer::{Ack, AckLines, AckParseError};

/// One HTTP chunk of the body: its buffers, written as they are.
pub(super) type ChunkData = Chain<Chain<Bytes, Bytes>, Bytes>;

/// The request body: chunks from a channel, sent as they come.
pub(super) type Body = StreamBody<Pin<Box<dyn Stream<Item = Result<Frame<ChunkData>, Infallible>> + Send>>>;

/// The HTTP client (HTTPS, or HTTP for a local endpoint).
pub(super) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// A client for PutMedia endpoints: native root certificates, HTTP/1.1.
pub(super) fn http_client() -> std::io::Result<HttpClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https))
}

/// What a connection reports, in order.
#[derive(Debug)]
pub(super) enum ConnEvent {
    /// An acknowledgement.
    Ack(Ack),
    /// A response line that is not one.
    BadLine(AckParseError),
    /// The service answered with an error status before any acknowledgement.
    Refused { status: u16, error_type: Option<String>, message: String },
    /// The response ended (`None`: cleanly) or the connection failed.
    Ended(Option<String>),
}

/// What every request of an upload carries.
#[derive(Debug, Clone)]
pub(super) struct RequestParts {
    /// `https://…/putMedia`.
    pub url: String,
    pub region: String,
    /// `x-amzn-stream-name` or `x-amzn-stream-arn`, and the value.
    pub stream_header: (&'static str, String),
    pub timecode_type: &'static str,
    /// `x-amzn-producer-start-timestamp`: seconds since the epoch, with ms.
    pub producer_start: String,
}

/// A live connection: pieces go in through `body`, events come out of `events`. Dropping it
/// closes the connection.
#[derive(Debug)]
pub(super) struct Connection {
    /// `None` once the body was ended.
    pub body: Option<mpsc::Sender<Chunk>>,
    pub events: mpsc::UnboundedReceiver<ConnEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Connection {
    /// Signs and starts the request; the body stays open until [`end_body`](Self::end_body).
    pub fn open(client: &HttpClient, parts: &RequestParts, creds: &Credentials) -> Result<Connection, String> {
        let (tx, mut rx) = mpsc::channel::<Chunk>(256);
        let stream = futures_util::stream::poll_fn(move |cx| {
            rx.poll_recv(cx).map(|o| o.map(|Chunk([a, b, c])| Ok(Frame::data(a.chain(b).chain(c)))))
        });
        let body: Body = StreamBody::new(Box::pin(stream));
        let mut req = http::Request::post(&parts.url)
            .header(parts.stream_header.0, &parts.stream_header.1)
            .header("x-amzn-fragment-timecode-type", parts.timecode_type)
            .header("x-amzn-producer-start-timestamp", &parts.producer_start)
            .header("user-agent", concat!("kinesis-video-parser/", env!("CARGO_PKG_VERSION")))
            .body(body)
            .map_err(|e| format!("building the request: {e}"))?;
        sign_request(&mut req, parts, creds)?;
        let (ev_tx, events) = mpsc::unbounded_channel();
        let call = client.request(req);
        let task = tokio::spawn(async move {
            let end = match call.await {
                Err(e) => Some(format!("connection failed: {}", chain(&e))),
                Ok(resp) if !resp.status().is_success() => {
                    let status = resp.status().as_u16();
                    let error_type = resp
                        .headers()
                        .get("x-amzn-errortype")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.split(':').next().unwrap_or(v).to_owned());
                    let body = resp.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let message = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
                    let _ = ev_tx.send(ConnEvent::Refused { status, error_type, message });
                    return;
                }
                Ok(resp) => read_acks(resp.into_body(), &ev_tx).await,
            };
            let _ = ev_tx.send(ConnEvent::Ended(end));
        });
        Ok(Connection { body: Some(tx), events, task })
    }

    /// Ends the body (the last chunk); acknowledgements still come.
    pub fn end_body(&mut self) {
        self.body = None;
    }
}

/// Acknowledgement lines as they arrive; `Some` when the body failed.
async fn read_acks(mut body: hyper::body::Incoming, tx: &mpsc::UnboundedSender<ConnEvent>) -> Option<String> {
    let mut lines = AckLines::default();
    let send = |line: String| {
        let _ = tx.send(match Ack::parse(&line) {
            Ok(a) => ConnEvent::Ack(a),
            Err(e) => ConnEvent::BadLine(e),
        });
    };
    loop {
        match body.frame().await {
            None => break,
            Some(Err(e)) => return Some(format!("the acknowledgements broke off: {}", chain(&e))),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    lines.push(&data).into_iter().for_each(send);
                }
            }
        }
    }
    lines.finish().into_iter().for_each(send);
    None
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// SigV4 for service `kinesisvideo`, the body unsigned (it is streamed).
fn sign_request(req: &mut http::Request<Body>, parts: &RequestParts, creds: &Credentials) -> Result<(), String> {
    let identity = creds.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&parts.region)
        .name("kinesisvideo")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| format!("signing: {e}"))?
        .into();
    let headers: Vec<(&str, &str)> =
        req.headers().iter().filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?))).collect();
    let signable = SignableRequest::new("POST", parts.url.clone(), headers.into_iter(), SignableBody::UnsignedPayload)
        .map_err(|e| format!("signing: {e}"))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| format!("signing: {e}"))?.into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}
