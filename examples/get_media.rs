//! `get_media --stream NAME [--stream NAME …] [--region R] [--endpoint-url URL]
//!   [--start now|earliest|fragment:NUMBER|token:TOKEN|producer-ts:EPOCH_MS|server-ts:EPOCH_MS]
//!   [--checkpoint FILE] [--max-fragments N] [--frames] [--json]`
//!
//! Consumes Kinesis Video streams live, concurrently (`aws::MultiStreamConsumer`), frame by
//! frame: reconnects with backoff and resumes after the last complete fragment, yielding no
//! frame twice and none missing across reconnects.
//!
//! - `--json`: `inspect`'s `fragment` lines, each with `"stream"`; with `--frames`, a `frame`
//!   line per frame as soon as its block arrived (before its fragment completes), with
//!   `"stream"`, `"fragment_number"` and `"position"` (its place in its fragment). A
//!   fragment's line follows its last frame. Without `--json`, one readable line per fragment.
//! - `--checkpoint FILE`: each stream's resume point is saved durably after each fragment
//!   line; a later run with the same FILE resumes each stream the file names after its last
//!   completed fragment (an explicit `--start` overrides the file; streams it does not name
//!   start at `--start`, default now).
//! - `--max-fragments N` is per stream. Exit 0 once every stream reached N, 1 once every
//!   stream ended and one of them gave up (after printing everything it delivered), 2 on usage
//!   errors.
//!
//! `--endpoint-url` is used for GetDataEndpoint; GetMedia goes to the data endpoint that call
//! returns. Credentials and region come from the usual AWS environment and config chain.
//! Tuning: `--read-timeout-ms`, `--backoff-initial-ms`, `--backoff-max-ms`, `--max-failures`.

#[path = "common/aws_args.rs"]
mod aws_args;
#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;
#[path = "common/lines.rs"]
mod lines;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use kinesis_video_parser::aws::{
    ConsumerError, FileCheckpoints, LiveConsumer, LiveItem, MultiStreamConsumer, StartSelector,
};

/// Consumes Kinesis Video streams live, frame by frame: reconnects with backoff and resumes
/// after the last complete fragment.
#[derive(clap::Parser)]
#[command(name = "get_media")]
struct Args {
    /// A stream's name (repeat for several streams, consumed concurrently).
    #[arg(long, value_name = "NAME", required = true)]
    stream: Vec<String>,
    #[command(flatten)]
    service: aws_args::ServiceArgs,
    /// Where to start: now, earliest, fragment:NUMBER, token:TOKEN, producer-ts:EPOCH_MS or
    /// server-ts:EPOCH_MS (default now; overrides the checkpoint file).
    #[arg(long, value_name = "SELECTOR")]
    start: Option<StartSelector>,
    /// Save each stream's resume point here after each fragment; resume from it.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<std::path::PathBuf>,
    /// Exit 0 once every stream delivered this many fragments.
    #[arg(long, value_name = "N")]
    max_fragments: Option<u64>,
    /// With `--json`, also a `frame` line per frame, as it arrives.
    #[arg(long)]
    frames: bool,
    /// JSON Lines (`inspect`'s `fragment` and `frame` lines, with the stream).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    retry: aws_args::RetryArgs,
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let sdk = args.service.sdk_config().await;
    let store = match &args.checkpoint {
        Some(path) => match FileCheckpoints::open(path) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                eprintln!("get_media: checkpoint file: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let (first_wait, longest_wait) = args.retry.backoff();
    let builders = args.stream.iter().map(|name| {
        let mut b = LiveConsumer::builder(name)
            .start(args.start.clone().unwrap_or(StartSelector::Now))
            .read_timeout(args.retry.read_timeout())
            .backoff(first_wait, longest_wait)
            .max_failures(args.retry.max_failures);
        if let Some(url) = &args.service.endpoint_url {
            b = b.endpoint_url(url);
        }
        if let Some(store) = &store {
            b = b.checkpoints(store.clone()).resume_saved(args.start.is_none());
        }
        b
    });
    let mut all = MultiStreamConsumer::new(builders, &sdk, 256);
    let mut out = std::io::stdout().lock();
    let mut delivered: HashMap<Arc<str>, u64> = HashMap::new();
    let (mut done, mut gave_up) = (0, false);
    if args.max_fragments == Some(0) {
        return ExitCode::SUCCESS;
    }
    while let Some((stream, item)) = all.next().await {
        match item {
            Ok(LiveItem::Frame(f)) => {
                if args.json && args.frames {
                    let line = lines::frame_obj(&f.frame)
                        .str("stream", &stream)
                        .opt_str("fragment_number", f.fragment.fragment_number.as_ref().map(|n| n.as_str()))
                        .u64("position", f.position)
                        .finish();
                    if let Err(e) = emit(&mut out, format_args!("{line}")) {
                        return output_failed(&e);
                    }
                }
            }
            Ok(LiveItem::Fragment(f)) => {
                let written = if args.json {
                    emit(&mut out, format_args!("{}", lines::fragment_obj(&f.meta).str("stream", &stream).finish()))
                } else {
                    emit(&mut out, format_args!("{}: {}", stream, lines::fragment_text(&f.meta)))
                };
                if let Err(e) = written {
                    return output_failed(&e);
                }
                let n = delivered.entry(stream.clone()).or_default();
                *n += 1;
                if args.max_fragments == Some(*n) {
                    // Its point is saved by the next call; then it stops.
                    all.stop(&stream);
                    done += 1;
                }
            }
            Err(e @ ConsumerError::GaveUp { .. }) => {
                eprintln!("get_media: {stream}: {e}");
                gave_up = true;
            }
            Err(e) => eprintln!("get_media: {stream}: {e}"),
        }
    }
    if let Err(e) = all.save_checkpoint().await {
        eprintln!("get_media: {e}");
        return ExitCode::from(1);
    }
    if gave_up || args.max_fragments.is_some_and(|_| done < args.stream.len()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes one line and flushes it, so a reader sees each frame as it arrives.
fn emit(out: &mut impl Write, line: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    out.write_fmt(line)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// A line that could not be written was not processed: exit without saving the checkpoint,
/// so a restart delivers it again. A closed pipe (`| head`) is the reader's choice, not an
/// error.
fn output_failed(e: &std::io::Error) -> ExitCode {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return ExitCode::SUCCESS;
    }
    eprintln!("get_media: writing the output: {e}");
    ExitCode::from(1)
}
