//! `put_media --stream NAME [--region R] [--endpoint-url URL] [--fragment-duration SECONDS]
//!   [--json] <INPUT | ->`
//!
//! Uploads a Matroska/WebM file, or stdin (`-`: a pipe from ffmpeg, GStreamer or mkvmerge),
//! into a Kinesis Video stream with PutMedia (`aws::PutMediaClient`): fragments cut on video
//! keyframes, each kept until the service says it is persisted and sent again after a drop
//! or a retriable error.
//!
//! - `--json`: one line per acknowledgement:
//!   `{"type":"ack","event":"PERSISTED"|…,"fragment_timecode":…,"fragment_number":…|null,"error_id":…|null}`.
//!   Without `--json`, one readable line per persisted fragment.
//! - Exit 0 when every fragment is persisted; 1 when the upload failed (stderr says why and
//!   what was persisted); 2 on usage errors.
//!
//! `--endpoint-url` is used for GetDataEndpoint, as in `get_media`. Also:
//! `--backoff-initial-ms`, `--backoff-max-ms`, `--max-failures`, `--ack-timeout-ms`.

#[path = "common/aws_args.rs"]
#[allow(dead_code)]
mod aws_args;
#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use kinesis_video_parser::aws::PutMediaClient;
use kinesis_video_parser::producer::{Ack, AckEvent};

/// Uploads Matroska into a Kinesis Video stream with PutMedia.
#[derive(clap::Parser)]
#[command(name = "put_media")]
struct Args {
    /// The stream's name (or ARN).
    #[arg(long, value_name = "NAME")]
    stream: String,
    #[command(flatten)]
    service: aws_args::ServiceArgs,
    /// Target fragment duration: a fragment ends at the first keyframe this long after its start.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    fragment_duration: f64,
    /// JSON Lines: one `ack` line per acknowledgement.
    #[arg(long)]
    json: bool,
    /// First wait after a failure (doubles per consecutive failure).
    #[arg(long, value_name = "MS", default_value_t = 200)]
    backoff_initial_ms: u64,
    /// Longest wait after a failure.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    backoff_max_ms: u64,
    /// Consecutive failed connections before giving up.
    #[arg(long, value_name = "N", default_value_t = 10)]
    max_failures: u32,
    /// A connection waiting for acknowledgements that stays silent this long is made again.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    ack_timeout_ms: u64,
    /// The Matroska input, `-` for stdin.
    #[arg(value_name = "INPUT")]
    input: String,
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    if !(args.fragment_duration.is_finite() && args.fragment_duration > 0.0 && args.fragment_duration <= 10.0) {
        eprintln!("put_media: --fragment-duration must be above 0 and at most 10 (the service's limit)");
        return ExitCode::from(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let source: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if args.input == "-" {
        Box::new(tokio::io::stdin())
    } else {
        match tokio::fs::File::open(&args.input).await {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("put_media: {}: {e}", args.input);
                return ExitCode::from(2);
            }
        }
    };
    let sdk = args.service.sdk_config().await;
    let mut b = PutMediaClient::builder(&args.stream)
        .fragment_duration(Duration::from_secs_f64(args.fragment_duration))
        .backoff(Duration::from_millis(args.backoff_initial_ms), Duration::from_millis(args.backoff_max_ms))
        .max_failures(args.max_failures)
        .ack_timeout(Duration::from_millis(args.ack_timeout_ms));
    if let Some(url) = &args.service.endpoint_url {
        b = b.endpoint_url(url);
    }
    let json = args.json;
    let on_ack = move |a: &Ack| {
        let mut out = std::io::stdout().lock();
        // A closed stdout does not stop the upload: the acknowledgements are a report.
        let _ = if json {
            writeln!(out, "{}", ack_line(a))
        } else if a.event == AckEvent::Persisted {
            writeln!(
                out,
                "persisted fragment {} (timecode {})",
                a.fragment_number.as_ref().map_or("-", |n| n.as_str()),
                a.fragment_timecode.map_or("-".into(), |t| t.to_string())
            )
        } else {
            Ok(())
        };
        let _ = out.flush();
    };
    // On the runtime's workers, next to the connection's tasks: fewer thread handoffs.
    let client = b.build(&sdk);
    let upload = tokio::spawn(async move { client.put(source, on_ack).await });
    match upload.await.expect("the upload task") {
        Ok(report) => {
            eprintln!("put_media: {} frames, {} fragments persisted", report.frames, report.persisted);
            ExitCode::SUCCESS
        }
        Err(failed) => {
            eprintln!("put_media: {failed}");
            ExitCode::from(1)
        }
    }
}

fn ack_line(a: &Ack) -> String {
    json::Obj::new()
        .str("type", "ack")
        .str("event", a.event.as_str())
        .opt_u64("fragment_timecode", a.fragment_timecode)
        .opt_str("fragment_number", a.fragment_number.as_ref().map(|n| n.as_str()))
        .opt_u64("error_id", a.error_id.map(u64::from))
        .finish()
}
