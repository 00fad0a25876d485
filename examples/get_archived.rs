//! `get_archived --stream NAME [--region R] [--endpoint-url URL] --from EPOCH_MS --to EPOCH_MS
//!   [--time producer|server] [--parallel N] [--frames] [--json] [--output FILE]`
//!
//! Reads a time range of a Kinesis Video stream from the archive (`aws::ArchiveReader`:
//! ListFragments, then GetMediaForFragmentList in parallel batches), in time order, each
//! fragment exactly once. The range is inclusive at both ends.
//!
//! - `--json`: `get_media`'s lines: a `fragment` line per fragment (with `"stream"`), in time
//!   order, preceded with `--frames` by its `frame` lines (with `"stream"`,
//!   `"fragment_number"` and `"position"`). Without `--json`, one readable line per fragment.
//! - `--output FILE` also writes the range as one playable Matroska file (`-`: stdout; then
//!   the readable lines go to stderr, and `--json` is a usage error). With `--checkpoint`, an
//!   existing FILE is a usage error: a re-run writes only the rest of the range.
//! - Exit 0 when every listed fragment was delivered; 1 when some could not be (each named
//!   on stderr, the others delivered) or the listing failed; 2 on usage errors.
//!
//! `--endpoint-url` is used for GetDataEndpoint, as in `get_media`. Also: `--checkpoint FILE`
//! (a re-run of the same job continues after its last delivered fragment),
//! `--max-fragments N`, `--batch N`, `--calls-per-second N`, `--bytes-per-second N` (0: no
//! limit), `--read-timeout-ms`,
//! `--backoff-initial-ms`, `--backoff-max-ms`, `--max-failures`.

#[path = "common/aws_args.rs"]
mod aws_args;
#[path = "common/json.rs"]
#[allow(dead_code)]
mod json;
#[path = "common/lines.rs"]
mod lines;
#[path = "common/mkv_out.rs"]
mod mkv_out;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use kinesis_video_parser::aws::{ArchiveReader, ConsumerError, FileCheckpoints, LiveItem, TimeKind};

/// Reads a time range of a stream from the archive, in time order, each fragment once.
#[derive(clap::Parser)]
#[command(name = "get_archived")]
struct Args {
    /// The stream's name.
    #[arg(long, value_name = "NAME")]
    stream: String,
    #[command(flatten)]
    service: aws_args::ServiceArgs,
    /// Start of the range, ms since the Unix epoch (inclusive).
    #[arg(long, value_name = "EPOCH_MS")]
    from: u64,
    /// End of the range, ms since the Unix epoch (inclusive).
    #[arg(long, value_name = "EPOCH_MS")]
    to: u64,
    /// The clock of the range: producer or server.
    #[arg(long, value_name = "KIND", default_value = "producer")]
    time: TimeKind,
    /// GetMediaForFragmentList calls in flight.
    #[arg(long, value_name = "N", default_value_t = 3)]
    parallel: usize,
    /// With `--json`, also a `frame` line per frame.
    #[arg(long)]
    frames: bool,
    /// JSON Lines (`get_media`'s `fragment` and `frame` lines).
    #[arg(long)]
    json: bool,
    /// Also write the range as one Matroska file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    output: Option<std::path::PathBuf>,
    /// Save the job's progress here after each fragment; continue from it.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<std::path::PathBuf>,
    /// At most this many fragments, the earliest of the range.
    #[arg(long, value_name = "N")]
    max_fragments: Option<usize>,
    /// Fragments per GetMediaForFragmentList call.
    #[arg(long, value_name = "N", default_value_t = 100)]
    batch: usize,
    /// Calls per second (the service allows 5 per stream).
    #[arg(long, value_name = "N", default_value_t = 5.0)]
    calls_per_second: f64,
    /// Media bytes per second over all calls (the service allows 25 MB/s per stream); 0: no
    /// limit.
    #[arg(long, value_name = "N", default_value_t = 25_000_000)]
    bytes_per_second: u64,
    #[command(flatten)]
    retry: aws_args::RetryArgs,
}

fn main() -> ExitCode {
    // Usage errors exit 2 (clap's convention, and this tool's contract); --help exits 0.
    let args = <Args as clap::Parser>::parse();
    let to_stdout = args.output.as_deref() == Some(std::path::Path::new("-"));
    if to_stdout && args.json {
        eprintln!("get_archived: --output - and --json both want stdout");
        return ExitCode::from(2);
    }
    if args.from > args.to
        || args.parallel == 0
        || args.batch == 0
        || args.calls_per_second.is_nan()
        || args.calls_per_second <= 0.0
    {
        eprintln!("get_archived: need --from <= --to, and --parallel, --batch, --calls-per-second above 0");
        return ExitCode::from(2);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let sdk = args.service.sdk_config().await;
    let (first_wait, longest_wait) = args.retry.backoff();
    let mut b = ArchiveReader::builder(&args.stream, args.from, args.to)
        .time(args.time)
        .parallel(args.parallel)
        .batch(args.batch)
        .calls_per_second(args.calls_per_second)
        .bytes_per_second(Some(args.bytes_per_second).filter(|&n| n > 0))
        .read_timeout(args.retry.read_timeout())
        .backoff(first_wait, longest_wait)
        .max_failures(args.retry.max_failures);
    if let Some(url) = &args.service.endpoint_url {
        b = b.endpoint_url(url);
    }
    if let Some(n) = args.max_fragments {
        b = b.max_fragments(n);
    }
    if let Some(path) = &args.checkpoint {
        match FileCheckpoints::open(path) {
            Ok(s) => b = b.checkpoints(Arc::new(s)),
            Err(e) => {
                eprintln!("get_archived: checkpoint file: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut mkv = match args.output.as_deref() {
        Some(p) if p == std::path::Path::new("-") => Some(mkv_out::MkvOutput::new(Box::new(std::io::stdout().lock()))),
        Some(p) => {
            // A re-run from a checkpoint writes only the rest of the range: over the first
            // run's file, that would lose it.
            let file = if args.checkpoint.is_some() { std::fs::File::create_new(p) } else { std::fs::File::create(p) };
            match file {
                Ok(f) => Some(mkv_out::MkvOutput::new(Box::new(std::io::BufWriter::new(f)))),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    eprintln!(
                        "get_archived: {} exists; with --checkpoint a re-run writes only the rest of the range, so give a new --output",
                        p.display()
                    );
                    return ExitCode::from(2);
                }
                Err(e) => {
                    eprintln!("get_archived: {}: {e}", p.display());
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    let mut archive = b.build(&sdk);
    let lines_to: Box<dyn Write> = if mkv.is_some() && args.output.as_deref() == Some(std::path::Path::new("-")) {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let mut out = std::io::BufWriter::new(lines_to);
    let mut failed = false;
    while let Some(item) = archive.next().await {
        if let Some(mkv) = &mut mkv {
            let written = match &item {
                Ok(LiveItem::Frame(f)) => {
                    mkv.frame(f.frame.clone());
                    Ok(())
                }
                Ok(LiveItem::Fragment(f)) => mkv.fragment(&f.meta),
                Err(_) => Ok(()),
            };
            if let Err(e) = written {
                eprintln!("get_archived: writing the Matroska output: {e}");
                return ExitCode::from(1);
            }
        }
        let written = match item {
            Ok(LiveItem::Frame(f)) if args.json && args.frames => {
                let line = lines::frame_obj(&f.frame)
                    .str("stream", &f.stream)
                    .opt_str("fragment_number", f.fragment.fragment_number.as_ref().map(|n| n.as_str()))
                    .u64("position", f.position)
                    .finish();
                writeln!(out, "{line}")
            }
            Ok(LiveItem::Frame(_)) => Ok(()),
            // Flushed with each fragment: its checkpoint is saved on the next call.
            Ok(LiveItem::Fragment(f)) if args.json => {
                writeln!(out, "{}", lines::fragment_obj(&f.meta).str("stream", &f.stream).finish())
                    .and_then(|()| out.flush())
            }
            Ok(LiveItem::Fragment(f)) => {
                writeln!(out, "{}: {}", f.stream, lines::fragment_text(&f.meta)).and_then(|()| out.flush())
            }
            Err(e @ (ConsumerError::Missing { .. } | ConsumerError::GaveUp { .. })) => {
                eprintln!("get_archived: {}: {e}", args.stream);
                failed = true;
                Ok(())
            }
            Err(e) => {
                eprintln!("get_archived: {}: {e}", args.stream);
                Ok(())
            }
        };
        // An unwritten line was not processed: stop before its checkpoint is saved.
        if let Err(e) = written {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("get_archived: writing the output: {e}");
            return ExitCode::from(1);
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("get_archived: writing the output: {e}");
        return ExitCode::from(1);
    }
    if let Some(Err(e)) = mkv.map(mkv_out::MkvOutput::finish) {
        eprintln!("get_archived: writing the Matroska output: {e}");
        return ExitCode::from(1);
    }
    ExitCode::from(u8::from(failed))
}
